package posture_test

import (
	"path/filepath"
	"testing"

	"github.com/cairn-cdr/cairn/internal/gentest"
)

// TestGeneratorReproducesTable checks that table_gen.go is exactly what
// the generator makes from the corpus.
func TestGeneratorReproducesTable(t *testing.T) {
	gentest.Reproduces(t, "table_gen.go", "./internal/gen", filepath.Join("..", "..", "shared", "corpus", "iam"), filepath.Join("policy-sentry-data", "privilege-escalation.txt"))
}
