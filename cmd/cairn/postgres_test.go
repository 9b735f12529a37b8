package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// pgDSN returns the test database's URL with a fresh schema for this
// test (dropped at the end), or skips when there is no test database.
func pgDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("CAIRN_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("CAIRN_TEST_POSTGRES_DSN is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): PostgreSQL CLI tests skipped")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "cli_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "schema=" + schema
}

// Two cairn processes against one PostgreSQL: real CloudTrail ingested
// through one is queried, with its detections, through the other (each
// CLI run is a process of its own: its own store, pool and engines).
func TestPostgresTwoProcesses(t *testing.T) {
	dsn := pgDSN(t)
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "cloudtrail", "stratus")
	file := filepath.Join(dir, "aws.defense-evasion.cloudtrail-event-selectors.json")
	if _, err := os.Stat(file); err != nil {
		t.Skipf("Stratus logs not found at %s: %v", dir, err)
	}
	if code, _, errs := cli(t, "", "ingest", "--db", dsn, file); code != 0 {
		t.Fatalf("ingest into PostgreSQL: %d %s", code, errs)
	}
	// Ingesting again stores nothing twice.
	if code, out, errs := cli(t, "", "ingest", "--db", dsn, "-o", "json", file); code != 0 || !strings.Contains(out, `"accepted": 0`) {
		t.Fatalf("second ingest: %d %s %s", code, out, errs)
	}
	ds := detectionsJSON(t, dsn, "rule.name = \"CloudTrail Logging Disabled or Changed\"")
	if len(ds) != 1 || ds[0].Count != 1 {
		t.Fatalf("detections through the second process: %+v", ds)
	}
	if code, out, _ := cli(t, "", "events", "--db", dsn, "--filter", "ct.name = PutEventSelectors"); code != 0 || !strings.Contains(out, "1 events") {
		t.Errorf("events: %d %s", code, out)
	}
}
