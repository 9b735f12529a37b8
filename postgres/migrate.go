package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
)

// migrationFiles are the schema changes, named NNNN_description.sql and
// applied in the order of NNNN. A released migration is never edited: a
// change to the schema is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version and _", base)
		}
		text, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(text)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// SchemaVersion returns the schema version this binary brings a database
// to: the version of its newest migration.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

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
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
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
			case m.version <= v:
				return nil // applied, perhaps by another store just now
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.version, s.now().UnixNano()); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			s.log.Info("applied migration", logKeyMigration, m.name, logKeySchema, s.schema)
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
