package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// mustOpen opens a store at path and closes it when the test ends.
func mustOpen(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformanceFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cairn.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "cairn.db"))
	})
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cairn.Store {
		return mustOpen(t, sqlite.Memory)
	})
}

// rawDB opens the store's file directly, for checks the store's API does
// not expose.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCloseLeavesNoWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cairn.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// More than one background checkpoint's worth of events.
	evs := storetest.Mixed(5000, storetest.Base)
	for i := 0; i < len(evs); i += 1000 {
		storetest.MustWrite(t, s, evs[i:i+1000]...)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.WriteEvents(context.Background(), evs[:1]); err == nil {
		t.Error("WriteEvents after Close succeeded")
	}
	if _, err := s.QueryEvents(context.Background(), cairn.EventQuery{}); err == nil {
		t.Error("QueryEvents after Close succeeded")
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("WAL of %d bytes left after Close", fi.Size())
	}
	s = mustOpen(t, path)
	if st, err := s.Stats(context.Background()); err != nil || st.Events != len(evs) {
		t.Errorf("after re-open: %+v, %v; want %d events", st, err, len(evs))
	}
}

func TestOptions(t *testing.T) {
	var logs bytes.Buffer
	now := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	s, err := sqlite.Open(context.Background(), sqlite.Memory, sqlite.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(logs.String(), "applied migration") {
		t.Errorf("no migration logged: %q", logs.String())
	}
	// A dead letter without a time gets the store's clock.
	if err := s.WriteDeadLetters(context.Background(), []cairn.DeadLetter{{Origin: "-", Position: "line 1", Reason: "bad", Raw: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	dl, err := s.DeadLetters(context.Background(), 1)
	if err != nil || len(dl) != 1 || !dl[0].Time.Equal(now) {
		t.Errorf("dead letters = %+v, %v; want one at %v", dl, err, now)
	}
}

func TestMemoryStoresAreSeparate(t *testing.T) {
	a, b := mustOpen(t, sqlite.Memory), mustOpen(t, sqlite.Memory)
	storetest.MustWrite(t, a, storetest.Tetragon(1, storetest.Base))
	if page := storetest.MustQuery(t, b, cairn.EventQuery{}); len(page.Events) != 0 {
		t.Errorf("a second in-memory store sees the first's events: %d", len(page.Events))
	}
}

func TestDialectColumns(t *testing.T) {
	s := mustOpen(t, sqlite.Memory)
	d := s.Dialect()
	if d.Name != "sqlite" || d.FieldsColumn != "fields" || d.RawColumn != "raw" {
		t.Errorf("dialect %+v", d)
	}
	for name, col := range map[string]string{
		"evt.hostname": "host", "container.id": "container_id", "k8s.cluster.name": "k8s_cluster",
		"k8s.ns.name": "k8s_ns", "k8s.pod.name": "k8s_pod", "cloud.identity": "identity", "ct.name": "ct_name",
		"proc.exec_id": "exec_id", "proc.pexec_id": "parent_exec_id", "evt.type": "type",
	} {
		if got := d.Columns[name]; got != col {
			t.Errorf("column of %s = %q, want %q", name, got, col)
		}
	}
	// The caller may change the map without changing the store's.
	d.Columns["k8s.ns.name"] = "fields"
	if got := s.Dialect().Columns["k8s.ns.name"]; got != "k8s_ns" {
		t.Errorf("the store's column map changed through a copy: %q", got)
	}
}
