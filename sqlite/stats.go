package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// Stats returns the number of events, of dead letters, and of events by
// source and kind (largest first). It reads counts kept by WriteEvents, so
// it costs the same for any size of store.
func (s *Store) Stats(ctx context.Context) (cairn.Stats, error) {
	var st cairn.Stats
	rows, err := s.r.QueryContext(ctx, `SELECT source, kind, n FROM event_counts WHERE n > 0 ORDER BY n DESC, source, kind`)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c cairn.Count
		if err := rows.Scan(&c.Source, &c.Kind, &c.N); err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
		st.Events += c.N
		st.ByKind = append(st.ByKind, c)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM dead_letters`).Scan(&st.DeadLetters); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s`).Scan(&st.Bytes); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}

// DeadLetters returns up to limit dead letters, newest first; limit 0
// means DefaultLimit and is capped at MaxLimit. A negative limit is
// EINVALID.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]cairn.DeadLetter, error) {
	limit, err := storeutil.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT time, origin, position, format, reason, raw
FROM dead_letters ORDER BY time DESC, seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	defer rows.Close()
	var out []cairn.DeadLetter
	for rows.Next() {
		var d cairn.DeadLetter
		var t int64
		if err := rows.Scan(&t, &d.Origin, &d.Position, &d.Format, &d.Reason, &d.Raw); err != nil {
			return nil, fmt.Errorf("dead letters: %w", err)
		}
		d.Time = time.Unix(0, t).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	return out, nil
}
