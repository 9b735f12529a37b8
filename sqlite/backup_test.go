package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// writeBatch writes batch i: ten events and a detection of the first, in
// that order, as the pipeline does.
func writeBatch(ctx context.Context, s *sqlite.Store, i int) error {
	evs := make([]cairn.Event, 10)
	for j := range evs {
		evs[j] = storetest.Tetragon(i*10+j, storetest.Base.Add(time.Duration(i)*time.Second))
	}
	if _, err := s.WriteEvents(ctx, evs); err != nil {
		return err
	}
	d := cairn.Detection{
		ID: fmt.Sprintf("hit-%d", i), Time: evs[0].Time, Rule: "Terminal shell in container", Priority: "CRITICAL",
		Severity: 4, Output: fmt.Sprintf("shell %d", i), EventIDs: []string{evs[0].ID},
		Entities: cairn.Entities{ExecID: evs[0].Process.ExecID},
	}
	return s.WriteDetections(ctx, []cairn.Detection{d}, evs[:1])
}

func storedEvents(t *testing.T, s *sqlite.Store) int {
	t.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Events
}

// TestBackupWhileWriting takes a backup while a writer keeps writing:
// the copy holds a prefix of the writes, whole transactions only.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, filepath.Join(dir, "cairn.db"))

	var batches atomic.Int64
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := writeBatch(ctx, s, i); err != nil {
				done <- err
				return
			}
			batches.Add(1)
		}
	}()
	for batches.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	before := storedEvents(t, s)
	backup := filepath.Join(dir, "backup.db")
	if err := s.Backup(ctx, backup); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	seen := batches.Load()
	for batches.Load() < seen+5 {
		time.Sleep(time.Millisecond)
	}
	after := storedEvents(t, s)
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if after <= before {
		t.Fatalf("the writer wrote nothing during the backup (%d, then %d events): the test proves nothing", before, after)
	}

	// The copy's event count lies between the two, agrees with its
	// counts table, and every batch in it is whole: every detection's
	// event is there, and every event's batch has its detection.
	db := rawDB(t, backup)
	var n, detections, orphans, undetected int
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < before || n > after || n%10 != 0 {
		t.Errorf("backup holds %d events, want a multiple of 10 between %d and %d", n, before, after)
	}
	if err := db.QueryRow(`SELECT count(*) FROM detections`).Scan(&detections); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM detections d
WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_ids ->> '$[0]')`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	// A batch's detection commits after its events: the newest batch
	// may lack it, no other.
	undetected = n/10 - detections
	if orphans != 0 || undetected < 0 || undetected > 1 {
		t.Errorf("backup: %d events, %d detections, %d detections without their event", n, detections, orphans)
	}
	var journal string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&journal); err != nil || journal != "ok" {
		t.Errorf("integrity_check = %q, %v", journal, err)
	}
	b := mustOpen(t, backup)
	if got := storedEvents(t, b); got != n {
		t.Errorf("backup store: Stats.Events = %d, events table %d", got, n)
	}
	page, err := b.QueryDetections(ctx, cairn.DetectionQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Detections) != detections {
		t.Errorf("backup store lists %d detections, table has %d", len(page.Detections), detections)
	}
}

// TestBackupRestoreRoundTrip backs a store up, restores the copy to a new
// file and finds everything there.
func TestBackupRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, src := range []string{"file", "memory"} {
		t.Run(src, func(t *testing.T) {
			dir := t.TempDir()
			path := sqlite.Memory
			if src == "file" {
				path = filepath.Join(dir, "cairn.db")
			}
			s, err := sqlite.Open(ctx, path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := writeBatch(ctx, s, i); err != nil {
					t.Fatal(err)
				}
			}
			c, err := s.AddComment(ctx, "hit-1", cairn.Comment{Author: "alice", Text: "looked at it"}, cairn.AuditEntry{Actor: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.WriteDeadLetters(ctx, []cairn.DeadLetter{{Origin: "-", Position: "line 1", Format: "tetragon", Reason: "bad", Raw: []byte("{"), Time: storetest.Base}}); err != nil {
				t.Fatal(err)
			}
			backup := filepath.Join(dir, "backup.db")
			if err := s.Backup(ctx, backup); err != nil {
				t.Fatalf("Backup: %v", err)
			}
			// Writes after the backup are not in it.
			if err := writeBatch(ctx, s, 3); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			restored := filepath.Join(dir, "restored.db")
			if err := sqlite.Restore(ctx, backup, restored); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			r := mustOpen(t, restored)
			st, err := r.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Events != 30 || st.DeadLetters != 1 {
				t.Errorf("restored stats = %+v, want 30 events and 1 dead letter", st)
			}
			want := storetest.Tetragon(12, storetest.Base.Add(time.Second))
			got, err := r.GetEvent(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Raw) != string(want.Raw) || !got.Time.Equal(want.Time) {
				t.Errorf("restored event %s differs", want.ID)
			}
			if _, err := r.GetEvent(ctx, storetest.Tetragon(30, storetest.Base).ID); cairn.ErrorCode(err) != cairn.ENOTFOUND {
				t.Errorf("an event written after the backup: %v, want ENOTFOUND", err)
			}
			comments, err := r.Comments(ctx, c.DetectionID)
			if err != nil || len(comments) != 1 || comments[0].Text != "looked at it" {
				t.Errorf("restored comments = %+v, %v", comments, err)
			}
			audit, err := r.Audit(ctx, 0)
			if err != nil || len(audit) != 1 || audit[0].Actor != "alice" {
				t.Errorf("restored audit = %+v, %v", audit, err)
			}
			// The restored store takes writes, and the audit log is still
			// append-only.
			if err := writeBatch(ctx, r, 3); err != nil {
				t.Fatal(err)
			}
			if _, err := rawDB(t, restored).Exec(`DELETE FROM audit`); err == nil {
				t.Error("the restored audit log can be deleted from")
			}
		})
	}
}

func TestBackupRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, filepath.Join(dir, "cairn.db"))
	if err := writeBatch(ctx, s, 0); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wantCode := func(what string, err error, code string) {
		t.Helper()
		if got := cairn.ErrorCode(err); got != code {
			t.Errorf("%s: error %v (%s), want %s", what, err, got, code)
		}
	}

	// An existing destination is never overwritten.
	existing := write("existing.db", "keep me")
	wantCode("backup onto a file", s.Backup(ctx, existing), cairn.EINVALID)
	wantCode("backup to nothing", s.Backup(ctx, ""), cairn.EINVALID)
	good := filepath.Join(dir, "good.db")
	if err := s.Backup(ctx, good); err != nil {
		t.Fatal(err)
	}
	wantCode("second backup onto the first", s.Backup(ctx, good), cairn.EINVALID)
	wantCode("restore onto a file", sqlite.Restore(ctx, good, existing), cairn.EINVALID)
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}

	// What is not a cairn database of a known version is refused, and
	// nothing is written.
	notSQLite := write("notes.txt", "SQLite format 3? no, just notes\n")
	other := filepath.Join(dir, "other.db")
	if _, err := rawDB(t, other).Exec(`CREATE TABLE things (x)`); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.db")
	if err := s.Backup(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, newer).Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, sqlite.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(dir, "to.db")
	for _, tt := range []struct {
		name, from, code string
	}{
		{"missing", filepath.Join(dir, "missing.db"), cairn.ENOTFOUND},
		{"not sqlite", notSQLite, cairn.EINVALID},
		{"not cairn", other, cairn.EINVALID},
		{"newer schema", newer, cairn.EINVALID},
	} {
		wantCode(tt.name, sqlite.Restore(ctx, tt.from, to), tt.code)
		if _, err := os.Stat(to); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the refused restore left %s: %v", tt.name, to, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Error("restore created its missing source")
	}
	// The good backup restores.
	if err := sqlite.Restore(ctx, good, to); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := storedEvents(t, mustOpen(t, to)); got != 10 {
		t.Errorf("restored %d events, want 10", got)
	}
}
