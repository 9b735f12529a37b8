package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// TestFollowKilled: a writer appends Tetragon lines, rotates the file and
// later truncates it while cairn serve follows it; cairn is killed
// (SIGKILL) in the middle and started again. The store ends with every
// line exactly once (ids derive from the records, so a line read again
// after the kill is stored once).
func TestFollowKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts cairn as a process")
	}
	dir := t.TempDir()
	db, log, cp := filepath.Join(dir, "k.db"), filepath.Join(dir, "tetragon.log"), filepath.Join(dir, "follow.json")
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "--", "serve", "--db", db, "--addr", "127.0.0.1:0", "--sensor=off", "--follow", log, "--checkpoints", cp)
		cmd.Env = append(os.Environ(), "CAIRN_TEST_AS_MAIN=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				break
			}
		}
		go func() {
			for sc.Scan() {
			}
		}()
		return cmd
	}
	n := 0
	write := func(count int) {
		f, err := os.OpenFile(log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		for range count {
			ev := storetest.Tetragon(n, storetest.Base.Add(time.Duration(n)*time.Second))
			f.Write(append(ev.Raw, '\n'))
			n++
			time.Sleep(2 * time.Millisecond)
		}
		f.Close()
	}
	write(50)
	cmd := start()
	write(100)
	os.Rename(log, log+".1") // rotation: the follower finishes the old file, then the new one
	write(100)
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL) // in the middle
	cmd.Wait()
	write(100) // while it is down
	cmd = start()
	write(50)
	time.Sleep(500 * time.Millisecond)
	if err := os.Truncate(log, 0); err != nil { // copytruncate, the copy taken while the writer paused
		t.Fatal(err)
	}
	write(60)
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()

	st, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stats, err := st.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events != n {
		t.Errorf("%d events stored, %d lines written", stats.Events, n)
	}
	// Every line is there: decode each as cairn does and find its id.
	for i := range n {
		var c decode.Collector
		raw := storetest.Tetragon(i, storetest.Base.Add(time.Duration(i)*time.Second)).Raw
		if err := decode.Decode(context.Background(), bytes.NewReader(raw), "x", decode.Auto, &c); err != nil || len(c.Events) != 1 {
			t.Fatalf("line %d does not decode: %v", i, err)
		}
		if _, err := st.GetEvent(context.Background(), c.Events[0].ID); cairn.ErrorCode(err) == cairn.ENOTFOUND {
			t.Errorf("line %d was lost", i)
		}
	}
}
