// Package gentest checks that a generated table of facts is exactly what
// its generator makes from the shared corpus, for the packages that ship
// one (attack, iampolicy, posture).
package gentest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Reproduces runs `go run generator -corpus corpus -out TMP args...` in the
// package's directory and fails the test unless TMP equals the committed
// table byte for byte. It skips, saying so, when the corpus lacks need
// (a file under corpus), in -short mode, or without a go command.
func Reproduces(t *testing.T, table, generator, corpus, need string, args ...string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpus, need)); err != nil {
		t.Skipf("corpus not found at %s: %v", corpus, err)
	}
	if testing.Short() {
		t.Skip("skipping generator build in -short mode")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(table))
	cmd := exec.Command(goBin, append([]string{"run", generator, "-corpus", corpus, "-out", out}, args...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("generator output differs from %s (%d vs %d bytes); run go run %s -corpus DIR -out %s", table, len(got), len(want), generator, table)
	}
}
