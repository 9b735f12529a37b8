package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var _ cairn.Pruner = (*Store)(nil)

// Prune removes the records of kind older than before, at most batch rows
// a transaction (see cairn.Pruner). Each batch holds the writer
// connection for one short transaction only, so ingest's writes take
// turns with it. Event counts (Stats) are lowered with the events.
func (s *Store) Prune(ctx context.Context, kind string, before time.Time, batch int) (int, error) {
	if err := cairn.CheckPrune(kind, batch); err != nil {
		return 0, err
	}
	t := storeutil.UnixNano(before)
	switch kind {
	case cairn.PruneEvents:
		// Dead letters first: they are not what the caller counts.
		if _, err := s.pruneLoop(ctx, kind, func(tx *sql.Tx) (int, int, error) { return pruneDeadLetters(ctx, tx, t, batch) }); err != nil {
			return 0, err
		}
		return s.pruneLoop(ctx, kind, func(tx *sql.Tx) (int, int, error) { return pruneEvents(ctx, tx, t, batch) })
	case cairn.PruneDetections:
		return s.pruneLoop(ctx, kind, func(tx *sql.Tx) (int, int, error) { return pruneDetections(ctx, tx, t, batch) })
	default:
		return s.pruneLoop(ctx, kind, func(tx *sql.Tx) (int, int, error) { return pruneDeadLetters(ctx, tx, t, batch) })
	}
}

// pruneLoop runs step in one transaction after another until a step
// deletes no row. step returns the rows it deleted and how many of them
// the caller counts. It returns the total counted.
func (s *Store) pruneLoop(ctx context.Context, kind string, step func(tx *sql.Tx) (rows, counted int, err error)) (int, error) {
	total := 0
	for {
		rows, counted, err := s.pruneStep(ctx, step)
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", kind, err)
		}
		total += counted
		// Deleting writes the WAL as inserting does: let the background
		// checkpointer keep up.
		s.wrote(rows)
		if rows == 0 {
			return total, nil
		}
	}
}

func (s *Store) pruneStep(ctx context.Context, step func(tx *sql.Tx) (int, int, error)) (int, int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	rows, counted, err := step(tx)
	if err != nil {
		return 0, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	return rows, counted, nil
}

// pruneEvents deletes up to batch events older than t, oldest first, and
// takes them off event_counts.
func pruneEvents(ctx context.Context, tx *sql.Tx, t int64, batch int) (int, int, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM events
WHERE seq IN (SELECT seq FROM events WHERE time < ? ORDER BY time LIMIT ?)
RETURNING source, kind`, t, batch)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	counts := map[cairn.Count]int{}
	n := 0
	for rows.Next() {
		var c cairn.Count
		if err := rows.Scan(&c.Source, &c.Kind); err != nil {
			return 0, 0, err
		}
		counts[c]++
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	rows.Close()
	for c, k := range counts {
		if _, err := tx.ExecContext(ctx, `UPDATE event_counts SET n = n - ? WHERE source = ? AND kind = ?`,
			k, string(c.Source), string(c.Kind)); err != nil {
			return 0, 0, fmt.Errorf("count: %w", err)
		}
	}
	if len(counts) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_counts WHERE n <= 0`); err != nil {
			return 0, 0, fmt.Errorf("count: %w", err)
		}
	}
	return n, n, nil
}

// pruneDeadLetters deletes up to batch dead letters older than t.
func pruneDeadLetters(ctx context.Context, tx *sql.Tx, t int64, batch int) (int, int, error) {
	r, err := tx.ExecContext(ctx, `DELETE FROM dead_letters
WHERE seq IN (SELECT seq FROM dead_letters WHERE time < ? ORDER BY time LIMIT ?)`, t, batch)
	if err != nil {
		return 0, 0, err
	}
	n, err := r.RowsAffected()
	return int(n), int(n), err
}

// pruneDetections deletes up to batch rows of the detection groups last
// seen before t, oldest first: the groups' comments, then their hits,
// then the groups left with neither. A group goes last, so that a group
// whose hits are only partly deleted when the batch is full is still
// there for the next batch (and a hit is never left without its group,
// which would make writing its detection again a no-op).
func pruneDetections(ctx context.Context, tx *sql.Tx, t int64, batch int) (int, int, error) {
	// The same groups each time: the transaction holds the write lock.
	const groups = `(SELECT id FROM detections WHERE last_time < ?1 ORDER BY last_time, seq LIMIT ?2)`
	left := batch
	del := func(q string) (int, error) {
		r, err := tx.ExecContext(ctx, q, t, batch, left)
		if err != nil {
			return 0, err
		}
		n, err := r.RowsAffected()
		left -= int(n)
		return int(n), err
	}
	comments, err := del(`DELETE FROM detection_comments WHERE id IN
(SELECT id FROM detection_comments WHERE detection_id IN ` + groups + ` LIMIT ?3)`)
	if err != nil {
		return 0, 0, fmt.Errorf("comments: %w", err)
	}
	hits := 0
	if left > 0 {
		if hits, err = del(`DELETE FROM detection_hits WHERE id IN
(SELECT id FROM detection_hits WHERE group_id IN ` + groups + ` LIMIT ?3)`); err != nil {
			return 0, 0, fmt.Errorf("hits: %w", err)
		}
	}
	deleted := 0
	if left > 0 {
		if deleted, err = del(`DELETE FROM detections WHERE seq IN
(SELECT seq FROM detections d WHERE d.id IN ` + groups + `
	AND NOT EXISTS (SELECT 1 FROM detection_hits h WHERE h.group_id = d.id)
	AND NOT EXISTS (SELECT 1 FROM detection_comments c WHERE c.detection_id = d.id)
LIMIT ?3)`); err != nil {
			return 0, 0, err
		}
	}
	return comments + hits + deleted, deleted, nil
}
