package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"

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

// migrateLock is the advisory lock of the schema's migrations: a hash of
// the schema's name, so that stores of different schemas migrate at once
// while two processes starting on the same schema take turns.
func (s *Store) migrateLock() int64 {
	h := fnv.New64a()
	h.Write([]byte("cairn migrate\x00" + s.schema))
	return int64(h.Sum64())
}

// migrate creates the schema (when Options.Schema names one) and applies
// the migrations the database lacks, each in its own transaction that
// records it in schema_migrations. Every transaction first takes the
// schema's advisory lock and reads the version again, so that two stores
// opening at once apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := storeutil.Migrations(migrationFiles)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	latest := storeutil.LatestVersion(ms)
	// current reads the applied version within tx, after the lock.
	current := func(tx pgx.Tx) (int, error) {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.migrateLock()); err != nil {
			return 0, err
		}
		var v int
		err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
		return v, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.migrateLock()); err != nil {
			return err
		}
		if s.schema != "" {
			// Created only when missing: a schema made beforehand needs no
			// CREATE privilege on the database.
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
					return err
				}
			}
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	applied_at bigint  NOT NULL -- unix nanoseconds
)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied := 0
	for _, m := range ms {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			v, err := current(tx)
			switch {
			case err != nil:
				return err
			case v > latest:
				return cairn.Errorf(cairn.ECONFLICT,
					"the database has schema version %d, newer than this cairn knows (%d): upgrade cairn", v, latest)
			case m.Version <= v:
				return nil // applied, perhaps by another store just now
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.Version, s.now().UnixNano()); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			s.log.Info("applied migration", logKeyMigration, m.Name, logKeySchema, s.schema)
			applied++
			return nil
		})
		if err != nil {
			if cairn.ErrorCode(err) == cairn.ECONFLICT {
				return err
			}
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if applied > 0 {
		s.log.Info("schema up to date", logKeyVersion, latest, logKeyApplied, applied, logKeySchema, s.schema)
	}
	return nil
}
