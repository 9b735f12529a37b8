package filter_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/filter"
)

// pgEventDB is a temporary PostgreSQL events table filled as the
// Postgres dialect expects: fields JSONB from field.Flatten, raw_json the
// record when it is valid JSON. Events whose fields hold a NUL character
// are left out: jsonb cannot store \u0000, and what the store does with
// them is the store's choice.
func pgEventDB(t testing.TB, evs []*cairn.Event) (*sql.DB, []*cairn.Event) {
	dsn := os.Getenv("CAIRN_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("CAIRN_TEST_POSTGRES_DSN not set; PostgreSQL SQL not run")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// One connection, so that the temporary table is seen by every query.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TEMPORARY TABLE events(id text PRIMARY KEY, fields jsonb, raw_json text)`); err != nil {
		t.Fatal(err)
	}
	var kept []*cairn.Event
	for _, ev := range evs {
		fields, err := json.Marshal(field.Flatten(ev))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(fields, []byte(`\u0000`)) {
			continue
		}
		var raw any
		if json.Valid(ev.Raw) {
			raw = string(ev.Raw)
		}
		if _, err := db.Exec(`INSERT INTO events(id, fields, raw_json) VALUES ($1, $2, $3)`, ev.ID, string(fields), raw); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, ev)
	}
	return db, kept
}

// TestScriptsPostgres runs the script cases on PostgreSQL, when
// CAIRN_TEST_POSTGRES_DSN names a database.
func TestScriptsPostgres(t *testing.T) {
	db, evs := pgEventDB(t, testEvents())
	runScripts(t, evs, db, filter.Postgres)
}
