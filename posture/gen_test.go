package posture_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// iamCorpus is the shared third-party corpus; the generator test skips
// when it is absent.
var iamCorpus = filepath.Join("..", "..", "shared", "corpus", "iam")

// TestGeneratorReproducesTable runs the generator on the corpus again and
// checks that it writes table_gen.go byte for byte, so the committed table
// is exactly what the generator makes.
func TestGeneratorReproducesTable(t *testing.T) {
	if _, err := os.Stat(filepath.Join(iamCorpus, "policy-sentry-data", "privilege-escalation.txt")); err != nil {
		t.Skipf("corpus not found at %s: %v", iamCorpus, err)
	}
	if testing.Short() {
		t.Skip("skipping generator build in -short mode")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	out := filepath.Join(t.TempDir(), "table_gen.go")
	cmd := exec.Command(goBin, "run", "./internal/gen", "-corpus", iamCorpus, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("table_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("generator output differs from table_gen.go (%d vs %d bytes); run go generate ./posture/", len(got), len(want))
	}
}
