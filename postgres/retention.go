package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var _ cairn.Pruner = (*Store)(nil)

// Prune removes the records of kind older than before, at most batch rows
// a transaction (see cairn.Pruner). Rows are taken oldest first with
// SKIP LOCKED, so a batch never waits for rows another transaction
// holds; event counts (Stats) are lowered with the events, in the order
// writers raise them. Detection groups are locked as WriteDetections
// locks them, so a group that gains a detection while it is pruned is
// either pruned before or kept whole after.
func (s *Store) Prune(ctx context.Context, kind string, before time.Time, batch int) (int, error) {
	if err := cairn.CheckPrune(kind, batch); err != nil {
		return 0, err
	}
	t := storeutil.UnixNano(before)
	switch kind {
	case cairn.PruneEvents:
		// Dead letters first: they are not what the caller counts.
		if _, err := s.pruneLoop(ctx, kind, func(tx pgx.Tx) (int, int, error) { return pruneDeadLetters(ctx, tx, t, batch) }); err != nil {
			return 0, err
		}
		return s.pruneLoop(ctx, kind, func(tx pgx.Tx) (int, int, error) { return pruneEvents(ctx, tx, t, batch) })
	case cairn.PruneDetections:
		return s.pruneLoop(ctx, kind, func(tx pgx.Tx) (int, int, error) { return s.pruneDetections(ctx, tx, t, batch) })
	default:
		return s.pruneLoop(ctx, kind, func(tx pgx.Tx) (int, int, error) { return pruneDeadLetters(ctx, tx, t, batch) })
	}
}

// pruneLoop runs step in one transaction after another until a step
// deletes no row. step returns the rows it deleted and how many of them
// the caller counts. It returns the total counted.
func (s *Store) pruneLoop(ctx context.Context, kind string, step func(tx pgx.Tx) (rows, counted int, err error)) (int, error) {
	total := 0
	for {
		var rows, counted int
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			rows, counted, err = step(tx)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", kind, err)
		}
		total += counted
		if rows == 0 {
			return total, nil
		}
	}
}

// pruneEvents deletes up to batch events older than t, oldest first, and
// takes them off event_counts.
func pruneEvents(ctx context.Context, tx pgx.Tx, t int64, batch int) (int, int, error) {
	rows, err := tx.Query(ctx, `DELETE FROM events WHERE seq IN
(SELECT seq FROM events WHERE time < $1 ORDER BY time, seq LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING source, kind`, t, batch)
	if err != nil {
		return 0, 0, err
	}
	counts := map[cairn.Count]int{}
	n := 0
	var c cairn.Count
	_, err = pgx.ForEachRow(rows, []any{&c.Source, &c.Kind}, func() error {
		counts[cairn.Count{Source: c.Source, Kind: c.Kind}]++
		n++
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	if len(counts) == 0 {
		return 0, 0, nil
	}
	// In (source, kind) order, as addCounts takes the rows.
	keys := make([]cairn.Count, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b cairn.Count) int {
		return cmp.Or(strings.Compare(string(a.Source), string(b.Source)), strings.Compare(string(a.Kind), string(b.Kind)))
	})
	sources, kinds, ns := make([]string, len(keys)), make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		sources[i], kinds[i], ns[i] = string(k.Source), string(k.Kind), int64(counts[k])
	}
	_, err = tx.Exec(ctx, `UPDATE event_counts c SET n = c.n - u.n
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(source, kind, n)
WHERE c.source = u.source AND c.kind = u.kind`, sources, kinds, ns)
	if err != nil {
		return 0, 0, fmt.Errorf("count: %w", err)
	}
	return n, n, nil
}

// pruneDeadLetters deletes up to batch dead letters older than t.
func pruneDeadLetters(ctx context.Context, tx pgx.Tx, t int64, batch int) (int, int, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM dead_letters WHERE seq IN
(SELECT seq FROM dead_letters WHERE time < $1 ORDER BY time, seq LIMIT $2 FOR UPDATE SKIP LOCKED)`, t, batch)
	if err != nil {
		return 0, 0, err
	}
	n := int(tag.RowsAffected())
	return n, n, nil
}

// pruneDetections deletes up to batch rows of the detection groups last
// seen before t, oldest first: the groups' comments, then their hits,
// then the groups left with neither. A group goes last, so that a group
// whose hits are only partly deleted when the batch is full is still
// there for the next batch (and a hit is never left without its group,
// which would make writing its detection again a no-op).
func (s *Store) pruneDetections(ctx context.Context, tx pgx.Tx, t int64, batch int) (int, int, error) {
	groups, err := s.oldGroups(ctx, tx, t, batch)
	if err != nil || len(groups) == 0 {
		return 0, 0, err
	}
	left := batch
	del := func(q string) (int, error) {
		tag, err := tx.Exec(ctx, q, groups, left)
		if err != nil {
			return 0, err
		}
		left -= int(tag.RowsAffected())
		return int(tag.RowsAffected()), nil
	}
	comments, err := del(`DELETE FROM detection_comments WHERE id IN
(SELECT id FROM detection_comments WHERE detection_id = ANY($1) LIMIT $2)`)
	if err != nil {
		return 0, 0, fmt.Errorf("comments: %w", err)
	}
	hits := 0
	if left > 0 {
		if hits, err = del(`DELETE FROM detection_hits WHERE id IN
(SELECT id FROM detection_hits WHERE group_id = ANY($1) LIMIT $2)`); err != nil {
			return 0, 0, fmt.Errorf("hits: %w", err)
		}
	}
	deleted := 0
	if left > 0 {
		if deleted, err = del(`DELETE FROM detections WHERE seq IN
(SELECT seq FROM detections d WHERE d.id = ANY($1)
	AND NOT EXISTS (SELECT 1 FROM detection_hits h WHERE h.group_id = d.id)
	AND NOT EXISTS (SELECT 1 FROM detection_comments c WHERE c.detection_id = d.id)
LIMIT $2)`); err != nil {
			return 0, 0, err
		}
	}
	return comments + hits + deleted, deleted, nil
}

// oldGroups returns up to batch detection groups last seen before t,
// oldest first, locked as WriteDetections locks them. A candidate is read
// again once locked, since a writer may have moved it on meanwhile; when
// every candidate moved on, others are read.
func (s *Store) oldGroups(ctx context.Context, tx pgx.Tx, t int64, batch int) ([]string, error) {
	for {
		rows, err := tx.Query(ctx, `SELECT id FROM detections WHERE last_time < $1 ORDER BY last_time, seq LIMIT $2`, t, batch)
		if err != nil {
			return nil, err
		}
		candidates, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(candidates) == 0 {
			return nil, err
		}
		if err := s.lockKeys(ctx, tx, lockGroups, candidates); err != nil {
			return nil, err
		}
		rows, err = tx.Query(ctx, `SELECT id FROM detections WHERE id = ANY($1) AND last_time < $2`, candidates, t)
		if err != nil {
			return nil, err
		}
		groups, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(groups) > 0 {
			return groups, err
		}
	}
}
