package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// seedDB writes five events of 40 days ago, three of now, and a dead
// letter of each age, to a new SQLite store.
func seedDB(t *testing.T, path string) []cairn.Event {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, now := time.Now().Add(-40*24*time.Hour), time.Now()
	var evs []cairn.Event
	for i := range 8 {
		at := old
		if i >= 5 {
			at = now
		}
		evs = append(evs, storetest.Tetragon(i, at.Add(time.Duration(i)*time.Millisecond)))
	}
	if _, err := s.WriteEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteDeadLetters(ctx, []cairn.DeadLetter{
		{Origin: "-", Position: "line 1", Format: "tetragon", Reason: "bad", Raw: []byte("{"), Time: old},
		{Origin: "-", Position: "line 2", Format: "tetragon", Reason: "bad", Raw: []byte("["), Time: now},
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

func dbStats(t *testing.T, db string) string {
	t.Helper()
	code, out, errs := cli(t, "", "db", "--db", db, "stats")
	if code != exitOK {
		t.Fatalf("db stats = %d %s", code, errs)
	}
	return out
}

func TestDBBackupRestore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "cairn.db")
	seedDB(t, db)
	backup := filepath.Join(dir, "backup.db")
	// Flags after the subcommand, as the usage shows them.
	if code, out, errs := cli(t, "", "db", "backup", "--db", db, backup); code != exitOK || !strings.Contains(out, backup) {
		t.Fatalf("db backup = %d %q %q", code, out, errs)
	}
	if code, _, errs := cli(t, "", "db", "--db", db, "backup", backup); code != exitFailure || !strings.Contains(errs, "already exists") {
		t.Errorf("backup onto an existing file = %d %q", code, errs)
	}
	restored := filepath.Join(dir, "restored.db")
	if code, _, errs := cli(t, "", "db", "restore", backup, restored); code != exitOK {
		t.Fatalf("db restore = %d %q", code, errs)
	}
	if got := dbStats(t, restored); !strings.Contains(got, "8 events, 2 dead letters") {
		t.Errorf("restored store stats:\n%s", got)
	}
	if code, _, errs := cli(t, "", "db", "restore", backup, db); code != exitFailure || !strings.Contains(errs, "refusing to overwrite") {
		t.Errorf("restore onto the live store = %d %q", code, errs)
	}
	if got := dbStats(t, db); !strings.Contains(got, "8 events") {
		t.Errorf("the refused restore changed the store:\n%s", got)
	}
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli(t, "", "db", "restore", notes, filepath.Join(dir, "x.db")); code != exitFailure || !strings.Contains(errs, "not an SQLite database") {
		t.Errorf("restore of a text file = %d %q", code, errs)
	}
	pg := "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	if code, _, errs := cli(t, "", "db", "--db", pg, "backup", backup+"2"); code != exitFailure || !strings.Contains(errs, "pg_dump") {
		t.Errorf("backup of PostgreSQL = %d %q", code, errs)
	}
	if code, _, errs := cli(t, "", "db", "restore", backup, pg); code != exitFailure || !strings.Contains(errs, "pg_restore") {
		t.Errorf("restore to PostgreSQL = %d %q", code, errs)
	}
	for _, args := range [][]string{{"db", "backup"}, {"db", "restore", backup}, {"db", "stats", "extra"}, {"db", "vacuum"}} {
		if code, _, _ := cli(t, "", args...); code != exitUsage {
			t.Errorf("%v = %d, want a usage error", args, code)
		}
	}
}

func TestDBPrune(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "cairn.db")
	evs := seedDB(t, db)
	if code, _, errs := cli(t, "", "db", "--db", db, "prune"); code != exitUsage || !strings.Contains(errs, "--events") {
		t.Errorf("prune without ages = %d %q", code, errs)
	}
	if code, _, errs := cli(t, "", "db", "--db", db, "prune", "--events", "soon"); code != exitFailure || !strings.Contains(errs, "--events") {
		t.Errorf("prune --events soon = %d %q", code, errs)
	}
	code, out, errs := cli(t, "", "db", "prune", "--db", db, "--events", "30d", "--detections", "180d", "--batch", "2")
	if code != exitOK {
		t.Fatalf("db prune = %d %q", code, errs)
	}
	for _, want := range []string{"deleted 1 dead letters", "deleted 5 events", "deleted 0 detection groups"} {
		if !strings.Contains(out, want) {
			t.Errorf("prune output lacks %q:\n%s", want, out)
		}
	}
	if got := dbStats(t, db); !strings.Contains(got, "3 events, 1 dead letters") {
		t.Errorf("stats after pruning:\n%s", got)
	}
	code, out, _ = cli(t, "", "events", "--db", db, "-o", "json")
	if code != exitOK || strings.Contains(out, evs[0].ID) || !strings.Contains(out, evs[7].ID) {
		t.Errorf("events after pruning = %d, want the newest kept and the oldest gone:\n%.500s", code, out)
	}
}
