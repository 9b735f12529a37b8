package follow_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/follow"
)

const poll = 10 * time.Millisecond

// collector records what a follower emits and rejects.
type collector struct {
	mu      sync.Mutex
	lines   []string
	rejects []string
}

func (c *collector) emit(origin string, line []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, filepath.Base(origin)+"|"+string(line))
	return nil
}

func (c *collector) reject(origin string, offset int64, line []byte, reason error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rejects = append(c.rejects, fmt.Sprintf("%s|%d|%s|%v", filepath.Base(origin), offset, line, reason))
	return nil
}

func (c *collector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// start runs a follower until the returned stop is called; stop checks
// that Run ended with ctx's error.
func start(t *testing.T, opts follow.Options, emit func(string, []byte) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- follow.New(opts).Run(ctx, emit) }()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(poll / 2)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Error(err)
		return
	}
	if _, err := f.WriteString(s); err != nil {
		t.Error(err)
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
}

func line(gen, n int) string { return fmt.Sprintf(`{"gen":%d,"n":%03d}`, gen, n) }

// TestRotationTruncationRestart writes a file through a rename rotation
// and a copytruncate while the follower is stopped and restarted, and
// checks that every line arrives exactly once, in order.
func TestRotationTruncationRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	var logs lockedBuffer
	opts := follow.Options{
		Paths: []string{filepath.Join(dir, "*.log")}, Checkpoints: filepath.Join(dir, "checkpoints.json"), Poll: poll,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	var c collector

	var want []string
	for n := range 150 {
		want = append(want, "app.log|"+line(0, n))
	}
	for n := range 200 {
		want = append(want, "app.log|"+line(1, n))
	}
	for n := range 49 {
		want = append(want, "app.log|"+line(2, n))
	}
	want = append(want, "app.log|"+line(2, 49))

	stop1 := start(t, opts, c.emit)
	var stop2 func()
	followerStopped := make(chan struct{})
	restart := make(chan struct{})
	partialWritten := make(chan struct{})
	partialChecked := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for n := range 100 {
			appendFile(t, path, line(0, n)+"\n")
			time.Sleep(200 * time.Microsecond)
		}
		<-followerStopped
		// While the follower is stopped: more lines, a rotation by
		// rename and the new file's first lines.
		for n := 100; n < 150; n++ {
			appendFile(t, path, line(0, n)+"\n")
		}
		if err := os.Rename(path, path+".1"); err != nil {
			t.Error(err)
		}
		for n := range 30 {
			appendFile(t, path, line(1, n)+"\n")
		}
		restart <- struct{}{}
		for n := 30; n < 200; n++ {
			appendFile(t, path, line(1, n)+"\n")
			if n%20 == 0 {
				time.Sleep(poll)
			}
		}
		// copytruncate, once the follower has read the file: what it
		// had not read by then is lost by design of copytruncate.
		for deadline := time.Now().Add(10 * time.Second); c.count() < 350 && time.Now().Before(deadline); {
			time.Sleep(poll)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(path+".2", data, 0o600); err != nil {
			t.Error(err)
		}
		if err := os.Truncate(path, 0); err != nil {
			t.Error(err)
		}
		time.Sleep(5 * poll)
		for n := range 49 {
			appendFile(t, path, line(2, n)+"\n")
		}
		l := line(2, 49)
		appendFile(t, path, l[:8])
		close(partialWritten)
		<-partialChecked
		appendFile(t, path, l[8:]+"\n")
	}()

	waitFor(t, "60 lines", func() bool { return c.count() >= 60 })
	stop1()
	close(followerStopped)
	<-restart
	stop2 = start(t, opts, c.emit)

	<-partialWritten
	waitFor(t, "399 lines", func() bool { return c.count() >= 399 })
	time.Sleep(5 * poll)
	if got := c.snapshot(); len(got) != 399 || got[398] != "app.log|"+line(2, 48) {
		t.Errorf("before the partial line was completed: %d lines, last %q", len(got), got[len(got)-1])
	}
	close(partialChecked)
	waitFor(t, "400 lines", func() bool { return c.count() >= 400 })
	<-writerDone
	time.Sleep(5 * poll)
	stop2()

	// A third start emits nothing: everything is checkpointed.
	stop3 := start(t, opts, c.emit)
	time.Sleep(10 * poll)
	stop3()

	if got := c.snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %d lines, want %d", len(got), len(want))
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("first difference at %d: got %q, want %q", i, g, w)
				break
			}
		}
	}
	// The scenario took the paths it is meant to test.
	for _, msg := range []string{"reading the rest of a file rotated while stopped", "followed file truncated"} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("the log has no %q:\n%s", msg, logs.String())
		}
	}
	cps, err := follow.LoadCheckpoints(opts.Checkpoints)
	if err != nil {
		t.Fatal(err)
	}
	cp, ok := cps[path]
	if !ok {
		t.Fatalf("no checkpoint for %s: %v", path, cps)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Offset != fi.Size() || cp.Size != fi.Size() || cp.Inode == 0 {
		t.Errorf("checkpoint %+v, want offset and size %d and an inode", cp, fi.Size())
	}
}

// TestPartialLine checks that a line without its newline waits for it,
// also across a restart.
func TestPartialLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	opts := follow.Options{Paths: []string{path}, Checkpoints: filepath.Join(dir, "cp.json"), Poll: poll}
	var c collector
	appendFile(t, path, "one\ntw")
	stop := start(t, opts, c.emit)
	waitFor(t, "first line", func() bool { return c.count() >= 1 })
	time.Sleep(5 * poll)
	stop()
	if got := c.snapshot(); !reflect.DeepEqual(got, []string{"a.json|one"}) {
		t.Fatalf("got %q, want only the complete line", got)
	}
	appendFile(t, path, "o\n\nthree\n")
	start(t, opts, c.emit)
	waitFor(t, "three lines", func() bool { return c.count() >= 3 })
	time.Sleep(3 * poll)
	if got, want := c.snapshot(), []string{"a.json|one", "a.json|two", "a.json|three"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestLongLineAndEmitError checks that a too-long line is rejected
// truncated and that an emit error stops Run at that line, which the
// next start emits again.
func TestLongLineAndEmitError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	cpPath := filepath.Join(dir, "cp.json")
	appendFile(t, path, "short\n"+strings.Repeat("x", 40)+"\nfail\nafter\n")
	var c collector
	opts := follow.Options{Paths: []string{path}, Checkpoints: cpPath, Poll: poll, MaxLine: 16, Reject: c.reject}
	boom := errors.New("boom")
	err := follow.New(opts).Run(context.Background(), func(origin string, l []byte) error {
		if string(l) == "fail" {
			return boom
		}
		return c.emit(origin, l)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Run returned %v, want the emit error", err)
	}
	wantRejects := []string{"a.json|6|" + strings.Repeat("x", 16) + "|line too long"}
	if !reflect.DeepEqual(c.rejects, wantRejects) {
		t.Errorf("rejects %q, want %q", c.rejects, wantRejects)
	}
	cps, err := follow.LoadCheckpoints(cpPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := cps[path].Offset; got != 47 {
		t.Errorf("checkpoint offset %d, want 47 (the start of the failed line)", got)
	}
	start(t, opts, c.emit)
	waitFor(t, "three lines", func() bool { return c.count() >= 3 })
	time.Sleep(3 * poll)
	if got, want := c.snapshot(), []string{"a.json|short", "a.json|fail", "a.json|after"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCheckpointsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp.json")
	got, err := follow.LoadCheckpoints(path)
	if err != nil || len(got) != 0 {
		t.Fatalf("missing file: %v, %v; want an empty map", got, err)
	}
	want := map[string]follow.Checkpoint{
		"/var/log/a.json": {Path: "/var/log/a.json", Inode: 12, Dev: 2049, Offset: 100, Size: 120},
		"/var/log/b.json": {Path: "/var/log/b.json", Inode: 13, Dev: 2049},
	}
	if err := follow.SaveCheckpoints(path, want); err != nil {
		t.Fatal(err)
	}
	if got, err = follow.LoadCheckpoints(path); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{
		`{"version":2,"checkpoints":[]}`,
		`{"version":1,"checkpoints":[{"path":"","offset":1}]}`,
		`{"version":1,"checkpoints":[{"path":"a","offset":-1}]}`,
		`{"version":1,"checkpoints":[{"path":"a"},{"path":"a"}]}`,
		`{"version":1,"checkpoints":[]} {}`,
		`not json`,
	} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := follow.LoadCheckpoints(path); err == nil {
			t.Errorf("LoadCheckpoints(%s) succeeded, want an error", bad)
		}
	}
}

func FuzzLoadCheckpoints(f *testing.F) {
	f.Add([]byte(`{"version":1,"checkpoints":[{"path":"/a","inode":1,"dev":2,"offset":3,"size":4}]}`))
	f.Add([]byte(`{"version":1,"checkpoints":[]}`))
	f.Add([]byte(`{"version":1,"checkpoints":[{"path":"a"},{"path":"a"}]}`))
	f.Add([]byte(`{"version":1,"checkpoints":[{"path":"a","offset":-1}]}`))
	f.Add([]byte(`{"version":1,"checkpoints":null,"x":1}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "cp.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := follow.LoadCheckpoints(path)
		if err != nil {
			return
		}
		for k, c := range m {
			if k != c.Path || k == "" || c.Offset < 0 || c.Size < 0 {
				t.Fatalf("loaded an invalid entry %q: %+v", k, c)
			}
		}
		if err := follow.SaveCheckpoints(path, m); err != nil {
			t.Fatal(err)
		}
		again, err := follow.LoadCheckpoints(path)
		if err != nil {
			t.Fatalf("reloading a saved file: %v", err)
		}
		if len(again) != len(m) || (len(m) > 0 && !reflect.DeepEqual(again, m)) {
			t.Fatalf("round trip changed %v into %v", m, again)
		}
	})
}

// TestLiveRotation rotates the file by rename while the follower runs:
// the writer keeps writing to the renamed file before it creates the new
// one, and the follower reads the old file to its end first.
func TestLiveRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	opts := follow.Options{Paths: []string{filepath.Join(dir, "*.log")}, Checkpoints: filepath.Join(dir, "cp.json"), Poll: poll}
	var c collector
	var want []string
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	write := func(f *os.File, gen, from, to int) {
		for n := from; n < to; n++ {
			if _, err := f.WriteString(line(gen, n) + "\n"); err != nil {
				t.Fatal(err)
			}
			want = append(want, "app.log|"+line(gen, n))
		}
	}
	start(t, opts, c.emit)
	write(w, 0, 0, 50)
	waitFor(t, "50 lines", func() bool { return c.count() >= 50 })
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write(w, 0, 50, 60)
	time.Sleep(3 * poll)
	// The last lines of the old file and the first of the new one come
	// together, as when a writer reopens: the old file is read first.
	write(w, 0, 60, 70)
	w2, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	write(w2, 1, 0, 10)
	waitFor(t, "80 lines", func() bool { return c.count() >= 80 })
	time.Sleep(3 * poll)
	if got := c.snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestCommitGatesSave checks that a checkpoint is saved only once Commit
// confirms the emitted lines are stored: when it fails, the lines are
// emitted again by the next start.
func TestCommitGatesSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	cpPath := filepath.Join(dir, "cp.json")
	appendFile(t, path, "one\ntwo\n")
	var c collector
	notStored := errors.New("not stored")
	opts := follow.Options{Paths: []string{path}, Checkpoints: cpPath, Poll: poll,
		Commit: func(context.Context) error { return notStored }}
	if err := follow.New(opts).Run(context.Background(), c.emit); !errors.Is(err, notStored) {
		t.Fatalf("Run returned %v, want the Commit error", err)
	}
	if _, err := os.Stat(cpPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("checkpoint file saved although Commit failed: %v", err)
	}
	commits := 0
	opts.Commit = func(context.Context) error { commits++; return nil }
	stop := start(t, opts, c.emit)
	waitFor(t, "four lines", func() bool { return c.count() >= 4 })
	time.Sleep(3 * poll)
	stop()
	if got, want := c.snapshot(), []string{"a.json|one", "a.json|two", "a.json|one", "a.json|two"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if commits == 0 {
		t.Error("Commit was never called")
	}
	cps, err := follow.LoadCheckpoints(cpPath)
	if err != nil || cps[path].Offset != 8 {
		t.Errorf("checkpoints %v, %v; want offset 8 for %s", cps, err, path)
	}
}
