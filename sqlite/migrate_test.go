package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

func TestMigrationsApplyOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cairn.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustWrite(t, s, storetest.Tetragon(1, storetest.Base))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Re-opening applies nothing and keeps the data.
	s = mustOpen(t, path)
	if _, err := s.GetEvent(context.Background(), storetest.Tetragon(1, storetest.Base).ID); err != nil {
		t.Errorf("event lost on re-open: %v", err)
	}
	db := rawDB(t, path)
	var n, max int
	if err := db.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if max != sqlite.SchemaVersion() || n != sqlite.SchemaVersion() {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d rows up to %d", n, max, sqlite.SchemaVersion(), sqlite.SchemaVersion())
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestNewerDatabaseRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cairn.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, sqlite.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(context.Background(), path, sqlite.Options{})
	if cairn.ErrorCode(err) != cairn.ECONFLICT {
		t.Fatalf("opening a newer database: %v, want code %s", err, cairn.ECONFLICT)
	}
}

func TestOpenDefaultPathAndOddNames(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := mustOpen(t, "")
	storetest.MustWrite(t, s, storetest.Tetragon(1, storetest.Base))
	for _, name := range []string{"a?b.db", "a#b.db", "50%.db", "with space.db"} {
		path := filepath.Join(dir, name)
		s := mustOpen(t, path)
		storetest.MustWrite(t, s, storetest.Tetragon(1, storetest.Base))
		if m, _ := filepath.Glob(filepath.Join(dir, "*")); !slices.Contains(m, path) {
			t.Errorf("opening %q created %v", path, m)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); !slices.Contains(m, filepath.Join(dir, "cairn.db")) {
		t.Errorf("Open(\"\") did not create ./cairn.db: %v", m)
	}
}
