package attack_test

import (
	"path/filepath"
	"testing"

	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/internal/gentest"
)

// TestGeneratorReproducesTable runs the generator on the corpus again and
// checks that it writes table_gen.go byte for byte, so the committed table is
// exactly what the generator makes.
func TestGeneratorReproducesTable(t *testing.T) {
	gentest.Reproduces(t, "table_gen.go", "./internal/gen", filepath.Join(corpus, "attack"), "attack-pattern", "-version", attack.Version)
}
