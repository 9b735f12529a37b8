// Package postgres is cairn's PostgreSQL store: events, dead letters,
// process trees, detections, exceptions and the audit log in one
// PostgreSQL database (or one schema of it), through pgx. It behaves as
// the SQLite store does (the conformance suite in internal/storetest is
// the definition), and several cairn processes may write to one database
// at once.
//
// Every write is one transaction. Events are deduplicated by the unique
// index on their id (ON CONFLICT DO NOTHING); the read-merge-write of
// process nodes and detection groups holds a transaction-level advisory
// lock per key, taken in a fixed order so that writers never deadlock; a
// transaction that still fails with a deadlock or a serialization failure
// is retried.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// Log attribute keys.
const (
	logKeyError     = "error"
	logKeyMigration = "migration"
	logKeyVersion   = "version"
	logKeyApplied   = "applied"
	logKeySchema    = "schema"
)

// Page sizes of the queries that return lists.
const (
	DefaultLimit = storeutil.DefaultLimit
	MaxLimit     = storeutil.MaxLimit
)

// Options are the dependencies and settings of a Store.
type Options struct {
	// Schema, when set, is the schema every table lives in: Open creates
	// it if needed and sets it as the search path of every connection.
	// "" uses the DSN's search path (public by default).
	Schema string
	// Logger receives migration messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is a PostgreSQL-backed cairn.Store. It is safe for concurrent use,
// and other stores (in this process or others) may use the same database
// at the same time.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	log    *slog.Logger
	now    func() time.Time
	cols   storeutil.ColumnSet

	closeOnce sync.Once
}

var _ cairn.Store = (*Store)(nil)

// Open connects to the database dsn names (a postgres:// URL or key=value
// string) and brings its schema up to date. A database written by a newer
// cairn is refused with ECONFLICT.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s := &Store{schema: opts.Schema, log: opts.Logger, now: opts.Now, cols: hotColumns()}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, cairn.Errorf(cairn.EINVALID, "open store: malformed PostgreSQL DSN: %v", err)
	}
	if s.schema != "" {
		// Sent in the startup message of every connection: no round trip.
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{s.schema}.Sanitize()
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connections. It is safe to call more than once; other
// methods return an error after it.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// Dialect returns the filter dialect of the events table: PostgreSQL's,
// with the fields that have columns of their own mapped to them.
func (s *Store) Dialect() filter.Dialect {
	d := filter.Postgres
	d.Columns = s.cols.DialectColumns()
	return d
}

// maxAttempts is how many times a transaction that fails with a deadlock
// or a serialization failure is run.
const maxAttempts = 5

// inTx runs fn in a transaction and commits it, retrying when PostgreSQL
// aborted it to break a deadlock or a serialization failure. fn must not
// keep state between attempts.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
}

// retryable reports whether err aborted a transaction that may succeed
// when run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// lockKeys takes a transaction-level advisory lock on each of keys (of
// the class, in the store's schema), in a fixed order, so that two
// transactions that lock overlapping keys never wait for each other in a
// cycle. Keys are hashed; a collision only makes one writer wait for
// another.
func (s *Store) lockKeys(ctx context.Context, tx pgx.Tx, class string, keys []string) error {
	ids := make([]int64, 0, len(keys))
	for _, k := range keys {
		h := fnv.New64a()
		h.Write([]byte(s.schema))
		h.Write([]byte{0})
		h.Write([]byte(class))
		h.Write([]byte{0})
		h.Write([]byte(k))
		ids = append(ids, int64(h.Sum64()))
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	// Ordered by ordinality, the locks are taken in the array's order.
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, i) ORDER BY i`, ids)
	return err
}

// nullTime is t in unix nanoseconds, or nil (NULL) when t is zero.
func nullTime(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := storeutil.UnixNano(t)
	return &n
}

// fromNull is the time of unix nanoseconds n in UTC, zero for NULL.
func fromNull(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}
