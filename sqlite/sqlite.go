// Package sqlite is cairn's embedded store: events, dead letters and their
// summaries in one SQLite file, through the pure-Go modernc.org/sqlite
// driver so that cairn stays one static binary.
//
// SQLite allows one writer at a time, so the store writes through a single
// connection and reads through a pool; the database runs in WAL mode so
// that readers never wait for the writer.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/internal/storeutil"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Log attribute keys.
const (
	logKeyError     = "error"
	logKeyMigration = "migration"
	logKeyVersion   = "version"
	logKeyApplied   = "applied"
)

// DefaultPath is the database file Open uses when given no path.
const DefaultPath = "./cairn.db"

// Memory is the path of a private in-memory database, for tests.
const Memory = ":memory:"

// Options are the dependencies of a Store.
type Options struct {
	// Logger receives migration and maintenance messages; nil discards
	// them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is an SQLite-backed cairn.Store. It is safe for concurrent use.
type Store struct {
	w      *sql.DB // the one writer connection
	r      *sql.DB // readers; the same as w for an in-memory database
	insert *sql.Stmt
	procs  processStmts
	log    *slog.Logger
	now    func() time.Time
	cols   storeutil.ColumnSet
	ckpt   *checkpointer // nil for an in-memory database

	closeOnce sync.Once
	closeErr  error
}

var _ cairn.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its
// schema up to date. path "" means DefaultPath; Memory opens a private
// in-memory database. A database written by a newer cairn is refused with
// ECONFLICT.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	s := &Store{log: opts.Logger, now: opts.Now, cols: hotColumns()}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if path == "" {
		path = DefaultPath
	}
	if err := s.open(ctx, path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, path string) error {
	const pragmas = "_busy_timeout=10000&_foreign_keys=1&_journal_mode=WAL&_synchronous=NORMAL" +
		"&_pragma=journal_size_limit(67108864)" +
		// 16 KiB pages (set when the file is created): an event row of a
		// few KB fits in one page instead of spilling to overflow pages,
		// and the WAL and checkpoints write a quarter as many pages.
		"&_pragma=page_size(16384)"
	// The page cache is per connection: the writer's 64 MB holds a
	// batch's pages and the indexes' hot pages; each reader gets 16 MB.
	const writerCache, readerCache = "&_pragma=cache_size(-65536)", "&_pragma=cache_size(-16384)"
	var err error
	if path == Memory {
		// Every connection to ":memory:" is a database of its own, so an
		// in-memory store uses one connection for everything. It must
		// never be closed while the store is open.
		if s.w, err = sql.Open("sqlite", "file::memory:?"+pragmas+writerCache); err != nil {
			return fmt.Errorf("open store: %w", err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(0)
		s.w.SetConnMaxIdleTime(0)
		s.r = s.w
	} else {
		name := "file:" + uriEscaper.Replace(path) + "?" + pragmas
		// Checkpoints run in the background (see checkpointer); the
		// writer checkpoints itself only when the WAL passes 64 MB, when they
		// fall behind.
		if s.w, err = sql.Open("sqlite", name+writerCache+"&_txlock=immediate&_pragma=wal_autocheckpoint(16384)"); err != nil {
			return fmt.Errorf("open store: %w", err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		if s.r, err = sql.Open("sqlite", name+readerCache+"&_query_only=1"); err != nil {
			return fmt.Errorf("open store: %w", err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		s.r.SetMaxOpenConns(n)
		s.r.SetMaxIdleConns(n)
		ckpt, err := sql.Open("sqlite", name)
		if err != nil {
			return fmt.Errorf("open store: %w", err)
		}
		ckpt.SetMaxOpenConns(1)
		s.ckpt = startCheckpointer(ckpt, s.log)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if s.insert, err = s.w.PrepareContext(ctx, insertEventSQL); err != nil {
		return fmt.Errorf("open store: prepare insert: %w", err)
	}
	if err := s.procs.prepare(ctx, s.w, s.r); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	return nil
}

// uriEscaper escapes the characters that end or escape the path of an
// SQLite URI filename.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// Close closes the database, leaving the WAL copied into the database
// file. It is safe to call more than once; other methods return an error
// after it.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	var errs []error
	if s.insert != nil {
		errs = append(errs, s.insert.Close())
	}
	errs = append(errs, s.procs.close())
	errs = append(errs, s.ckpt.close())
	if s.w != nil {
		// optimize keeps the planner's statistics fresh and the
		// checkpoint leaves a small WAL; failing them is harmless.
		_, _ = s.w.Exec("PRAGMA optimize")
		_, _ = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, s.w.Close())
	}
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("close store: %w", err)
		}
	}
	return nil
}

// Dialect returns the filter dialect of this store: SQLite's, with the
// fields that have columns of their own mapped to them.
func (s *Store) Dialect() filter.Dialect {
	d := filter.SQLite
	d.Columns = s.cols.DialectColumns()
	return d
}
