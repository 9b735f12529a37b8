package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var _ cairn.PartitionReader = (*Store)(nil)

// The partition reads scan events_time (newest first for the latest
// time, oldest first for the scan) and filter each row by part: an index
// on part would cost every write, and a worker reads a partition back
// only when it takes it over. Events stored before part existed have it
// NULL and match no partition.
const (
	latestPartitionSQL = `SELECT time FROM events WHERE part % $1 = $2 ORDER BY time DESC, seq DESC LIMIT 1`
	scanPartitionSQL   = `SELECT ` + eventColumns + ` FROM events
WHERE time >= $1 AND part % $2 = $3 AND ($4::text[] IS NULL OR source = ANY($4::text[])) ORDER BY time, seq`
)

// LatestPartitionTime returns the newest time among the stored events of
// partition part of parts, or the zero time when it has none. It returns
// EINVALID unless parts >= 1 and 0 <= part < parts.
func (s *Store) LatestPartitionTime(ctx context.Context, parts, part int) (time.Time, error) {
	if err := storeutil.CheckPartition(parts, part); err != nil {
		return time.Time{}, err
	}
	var ns int64
	err := s.pool.QueryRow(ctx, latestPartitionSQL, int64(parts), int64(part)).Scan(&ns)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("latest partition time: %w", err)
	}
	return time.Unix(0, ns).UTC(), nil
}

// ScanPartition calls fn with every stored event of partition part of
// parts at or after since, in (time, seq) order, rebuilt as QueryEvents
// rebuilds them, and returns fn's first error as is. The rows are
// streamed on one pooled connection, in one snapshot: writers are not
// held up, and events committed during the scan may be missed. fn must
// not write to the store.
func (s *Store) ScanPartition(ctx context.Context, q cairn.PartitionScan, fn func(cairn.Event) error) error {
	if err := storeutil.CheckPartition(q.Parts, q.Part); err != nil {
		return err
	}
	var sources []string // nil (NULL): every source
	for _, src := range q.Sources {
		sources = append(sources, string(src))
	}
	if q.Sources != nil && sources == nil {
		sources = []string{}
	}
	// The zero since is before every time (storeutil.UnixNano).
	rows, err := s.pool.Query(ctx, scanPartitionSQL, storeutil.UnixNano(q.Since), int64(q.Parts), int64(q.Part), sources)
	if err != nil {
		return fmt.Errorf("scan partition: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var row storedRow
		if err := rows.Scan(row.dest()...); err != nil {
			return fmt.Errorf("scan partition: %w", err)
		}
		if err := fn(s.rebuild(&row)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan partition: %w", err)
	}
	return nil
}
