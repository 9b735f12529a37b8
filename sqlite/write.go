package sqlite

import (
	"context"
	"fmt"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// insertEventSQL inserts one event; the hot columns follow
// storeutil.HotColumnDefs, and part is cairn.PartitionHash.
const insertEventSQL = `INSERT INTO events (id, time, source, kind,
	type, host, exec_id, parent_exec_id, container_id, k8s_cluster, k8s_ns, k8s_pod, identity, ct_name,
	fields, raw, part)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`

// WriteEvents stores events in one transaction. An event whose id is
// already stored, or repeated earlier in events, is counted as a duplicate
// and changes nothing. An event without an id is EINVALID and nothing is
// written.
func (s *Store) WriteEvents(ctx context.Context, events []cairn.Event) (cairn.WriteResult, error) {
	var res cairn.WriteResult
	if len(events) == 0 {
		return res, nil
	}
	for i := range events {
		if events[i].ID == "" {
			return res, cairn.Errorf(cairn.EINVALID, "event %d of %d has no id", i+1, len(events))
		}
	}
	// Encoding costs about as much as inserting and needs no connection:
	// chunks are encoded on other goroutines while earlier chunks are
	// inserted.
	p := s.encodeAsync(events)
	defer p.wait()

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("write events: %w", err)
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, s.insert)
	counts := map[cairn.Count]int{}
	for c := range p.chunks {
		rows, err := p.get(c)
		if err != nil {
			return cairn.WriteResult{}, err
		}
		for i := range rows {
			r, err := stmt.ExecContext(ctx, rows[i]...)
			if err != nil {
				return cairn.WriteResult{}, fmt.Errorf("write events: %w", err)
			}
			n, err := r.RowsAffected()
			if err != nil {
				return cairn.WriteResult{}, fmt.Errorf("write events: %w", err)
			}
			if n == 0 {
				res.Duplicates++
				continue
			}
			res.Inserted++
			ev := &events[c*chunkSize+i]
			counts[cairn.Count{Source: ev.Source, Kind: ev.Kind}]++
		}
		p.release(c)
	}
	for k, n := range counts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_counts (source, kind, n) VALUES (?, ?, ?)
ON CONFLICT (source, kind) DO UPDATE SET n = n + excluded.n`, string(k.Source), string(k.Kind), n); err != nil {
			return cairn.WriteResult{}, fmt.Errorf("write events: count: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return cairn.WriteResult{}, fmt.Errorf("write events: %w", err)
	}
	s.wrote(res.Inserted)
	return res, nil
}

// WriteDeadLetters stores dead letters; one already stored (same origin,
// position and bytes) is kept once. A dead letter without a time gets the
// store's clock.
func (s *Store) WriteDeadLetters(ctx context.Context, letters []cairn.DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write dead letters: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO dead_letters (id, time, origin, position, format, reason, raw)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("write dead letters: %w", err)
	}
	defer stmt.Close()
	now := s.now()
	for _, d := range letters {
		t := d.Time
		if t.IsZero() {
			t = now
		}
		raw := d.Raw
		if raw == nil {
			raw = []byte{}
		}
		if _, err := stmt.ExecContext(ctx, storeutil.DeadLetterID(d), storeutil.UnixNano(t), d.Origin, d.Position, d.Format, d.Reason, raw); err != nil {
			return fmt.Errorf("write dead letters: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write dead letters: %w", err)
	}
	return nil
}
