package attack_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratorReproducesCallTable runs the calls generator on the corpus
// again and checks that it writes calls_gen.go byte for byte, so the
// committed table is exactly what the generator makes.
func TestGeneratorReproducesCallTable(t *testing.T) {
	dir := filepath.Join(corpus, "cloudtrail", "traildiscover")
	if _, err := os.Stat(filepath.Join(dir, "events.json")); err != nil {
		t.Skipf("corpus not found at %s: %v", dir, err)
	}
	if testing.Short() {
		t.Skip("skipping generator build in -short mode")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	out := filepath.Join(t.TempDir(), "calls_gen.go")
	cmd := exec.Command(goBin, "run", "./internal/gencalls", "-corpus", dir, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("calls_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("generator output differs from calls_gen.go (%d vs %d bytes); run go generate ./attack/", len(got), len(want))
	}
}
