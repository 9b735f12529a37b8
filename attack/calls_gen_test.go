package attack_test

import (
	"path/filepath"
	"testing"

	"github.com/cairn-cdr/cairn/internal/gentest"
)

// TestGeneratorReproducesCallTable checks that calls_gen.go is exactly
// what the calls generator makes from the corpus.
func TestGeneratorReproducesCallTable(t *testing.T) {
	gentest.Reproduces(t, "calls_gen.go", "./internal/gencalls", filepath.Join(corpus, "cloudtrail", "traildiscover"), "events.json")
}
