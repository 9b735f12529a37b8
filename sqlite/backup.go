package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/cairn-cdr/cairn"
)

// Backup writes a consistent copy of the database to path, a file that
// must not exist yet (EINVALID otherwise), while the store keeps working.
// VACUUM INTO reads one snapshot (WAL readers never block the writer, nor
// it them), so the copy holds every transaction committed before it
// started and none after; it is also compacted. The copy is an ordinary
// cairn database: Open it, or put it in place with Restore.
func (s *Store) Backup(ctx context.Context, path string) error {
	if path == "" || path == Memory {
		return cairn.Errorf(cairn.EINVALID, "backup: give a file to write the backup to")
	}
	if err := refuseExisting("backup", path); err != nil {
		return err
	}
	// The readers are query_only, which refuses VACUUM INTO, and the
	// writer must stay free for ingest: a file store is copied on a
	// connection of its own. An in-memory store has only its one.
	if s.r == s.w {
		if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		return nil
	}
	var file string
	if err := s.r.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+uriEscaper.Replace(file)+"?_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore copies the cairn database at from to to, a file that must not
// exist yet: restoring never overwrites a store (EINVALID; remove it
// first, with the cairn that uses it stopped). from is opened read-only
// and must be a cairn database whose schema is not newer than this
// cairn's (EINVALID otherwise); it is checked for damage before it is
// copied. The copy is brought up to date when a store next opens it.
func Restore(ctx context.Context, from, to string) error {
	if from == "" || to == "" || from == Memory || to == Memory {
		return cairn.Errorf(cairn.EINVALID, "restore: give the backup file and the database file to restore it to")
	}
	if _, err := os.Stat(from); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return cairn.Errorf(cairn.ENOTFOUND, "restore: %s does not exist", from)
		}
		return fmt.Errorf("restore: %w", err)
	}
	if err := refuseExisting("restore", to); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+uriEscaper.Replace(from)+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := checkCairnDB(ctx, db, from); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, to); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// refuseExisting returns EINVALID when path exists.
func refuseExisting(op, path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return cairn.Errorf(cairn.EINVALID, "%s: %s already exists: refusing to overwrite it (remove it first, or choose another file)", op, path)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// checkCairnDB returns EINVALID unless db is an undamaged cairn database
// of a schema version this cairn knows.
func checkCairnDB(ctx context.Context, db *sql.DB, name string) error {
	var tables int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema
WHERE type = 'table' AND name IN ('schema_migrations', 'events')`).Scan(&tables)
	if err != nil {
		// Not a database at all ("file is not a database"), or unreadable.
		return cairn.Errorf(cairn.EINVALID, "restore: %s is not an SQLite database: %v", name, err)
	}
	if tables != 2 {
		return cairn.Errorf(cairn.EINVALID, "restore: %s is not a cairn database (it has no schema_migrations or events table)", name)
	}
	var version int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return cairn.Errorf(cairn.EINVALID, "restore: %s: reading its schema version: %v", name, err)
	}
	if latest := SchemaVersion(); version > latest {
		return cairn.Errorf(cairn.EINVALID, "restore: %s has schema version %d, newer than this cairn knows (%d): restore it with a newer cairn", name, version, latest)
	}
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check(1)`).Scan(&check); err != nil {
		return cairn.Errorf(cairn.EINVALID, "restore: %s is damaged: %v", name, err)
	}
	if check != "ok" {
		return cairn.Errorf(cairn.EINVALID, "restore: %s is damaged: %s", name, check)
	}
	return nil
}
