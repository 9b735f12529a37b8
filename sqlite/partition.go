package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	latestPartitionSQL = `SELECT time FROM events WHERE part % ? = ? ORDER BY time DESC, seq DESC LIMIT 1`
	scanPartitionSQL   = `SELECT time, id, source, kind, type, host, raw FROM events
WHERE time >= ? AND part % ? = ? AND (? IS NULL OR source IN (SELECT value FROM json_each(?))) ORDER BY time, seq`
)

// LatestPartitionTime returns the newest time among the stored events of
// partition part of parts, or the zero time when it has none. It returns
// EINVALID unless parts >= 1 and 0 <= part < parts.
func (s *Store) LatestPartitionTime(ctx context.Context, parts, part int) (time.Time, error) {
	if err := storeutil.CheckPartition(parts, part); err != nil {
		return time.Time{}, err
	}
	var ns int64
	err := s.r.QueryRowContext(ctx, latestPartitionSQL, parts, part).Scan(&ns)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("latest partition time: %w", err)
	}
	return time.Unix(0, ns).UTC(), nil
}

// ScanPartition calls fn with every stored event of partition part of
// parts at or after since, in (time, seq) order, rebuilt as QueryEvents
// rebuilds them, and returns fn's first error as is. Rows are streamed
// from one read connection. Writers of a file database are not held up:
// reads use their own connections and WAL lets writes go on. An in-memory
// store has one connection for everything, so other writes wait for the
// scan to end; fn must not write to the store (it would never return).
func (s *Store) ScanPartition(ctx context.Context, q cairn.PartitionScan, fn func(cairn.Event) error) error {
	if err := storeutil.CheckPartition(q.Parts, q.Part); err != nil {
		return err
	}
	var sources any // NULL: every source
	if q.Sources != nil {
		names := make([]string, len(q.Sources))
		for i, src := range q.Sources {
			names[i] = string(src)
		}
		sources = jsonWriter.JSONList(names)
	}
	// The zero since is before every time (storeutil.UnixNano).
	rows, err := s.r.QueryContext(ctx, scanPartitionSQL, storeutil.UnixNano(q.Since), q.Parts, q.Part, sources, sources)
	if err != nil {
		return fmt.Errorf("scan partition: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var row storedRow
		if err := rows.Scan(&row.unixNano, &row.id, &row.source, &row.kind, &row.typ, &row.host, &row.raw); err != nil {
			return fmt.Errorf("scan partition: %w", err)
		}
		if err := fn(s.rebuild(row)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan partition: %w", err)
	}
	return nil
}
