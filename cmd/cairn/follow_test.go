package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/internal/storetest"
)

// TestServeFollow: cairn serve follows a Tetragon export file; lines
// appended while it runs are stored; after a restart nothing is read
// twice and lines appended while it was stopped are not lost.
func TestServeFollow(t *testing.T) {
	dir := t.TempDir()
	db, log, cp := filepath.Join(dir, "f.db"), filepath.Join(dir, "tetragon.log"), filepath.Join(dir, "follow.json")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	write := func(from, to int) {
		for i := from; i < to; i++ {
			ev := storetest.Tetragon(i, storetest.Base.Add(time.Duration(i)*time.Second))
			f.Write(append(ev.Raw, '\n'))
		}
	}
	count := func(srv *served, admin string) int {
		code, body := srv.call(t, "GET", "/api/v1/stats", admin, "")
		if code != 200 {
			t.Fatalf("stats: %d %s", code, body)
		}
		var st struct {
			Events int `json:"events"`
		}
		json.Unmarshal([]byte(body), &st)
		return st.Events
	}
	write(0, 5)
	srv := startServe(t, "--db", db, "--follow", log, "--checkpoints", cp)
	admin := printedSecret(srv.printed, "admin token (shown once): ")
	if !strings.Contains(strings.Join(srv.printed, "\n"), "following 1 path") {
		t.Errorf("serve does not say it follows: %q", srv.printed)
	}
	srv.waitEvents(t, admin, 5)
	write(5, 8)
	srv.waitEvents(t, admin, 8)
	srv.stop()
	write(8, 12) // while stopped
	srv = startServe(t, "--db", db, "--follow", log, "--checkpoints", cp)
	srv.waitEvents(t, admin, 12)
	time.Sleep(500 * time.Millisecond)
	if got := count(srv, admin); got != 12 {
		t.Errorf("%d events after the restart, want 12", got)
	}
	// The restarted server read only the four new lines: it wrote no
	// event twice (the store would count it as a duplicate).
	code, body := srv.call(t, "GET", "/metrics", "", "")
	if code != 200 || !strings.Contains(body, "cairn_events_duplicate_total 0") || !strings.Contains(body, `cairn_events_ingested_total{source="tetragon"} 4`) {
		t.Errorf("after the restart, metrics:\n%s", body)
	}
}
