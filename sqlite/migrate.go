package sqlite

import (
	"context"
	"embed"
	"fmt"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// migrationFiles are the schema changes, named NNNN_description.sql and
// applied in the order of NNNN. A released migration is never edited: a
// change to the schema is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// SchemaVersion returns the schema version this binary brings a database
// to: the version of its newest migration.
func SchemaVersion() int { return storeutil.SchemaVersion(migrationFiles) }

// migrate applies the migrations the database lacks, all in one
// transaction, and records each in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := storeutil.Migrations(migrationFiles)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL -- unix nanoseconds
) STRICT`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	latest := storeutil.LatestVersion(ms)
	if current > latest {
		return cairn.Errorf(cairn.ECONFLICT,
			"the database has schema version %d, newer than this cairn knows (%d): upgrade cairn", current, latest)
	}
	applied := 0
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			m.Version, s.now().UnixNano()); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
		s.log.Info("applied migration", logKeyMigration, m.Name)
		applied++
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if applied > 0 {
		s.log.Info("schema up to date", logKeyVersion, latest, logKeyApplied, applied)
	}
	return nil
}
