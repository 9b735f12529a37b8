package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-cdr/cairn/ingest"
)

// corpus is the third-party test data, read where it lies.
const corpus = "../../shared/corpus"

// TestCorpusIngestTwice ingests the real Tetragon and CloudTrail files of
// the corpus through the whole pipeline into SQLite: nothing is rejected,
// and a second ingest stores nothing new.
func TestCorpusIngestTwice(t *testing.T) {
	var dirs []string
	for _, d := range []string{"tetragon/testdata", "tetragon/03_chapter", "cloudtrail/stratus", "cloudtrail/traildiscover/logExamples"} {
		p := filepath.Join(corpus, d)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("corpus not found at %s: these conformance checks need ../shared/corpus beside the repository", p)
		}
		dirs = append(dirs, p)
	}
	inputs, err := ingest.Expand(dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := mustStore(t)
	first, err := ingest.Run(context.Background(), inputs, ingest.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if first.Rejected != 0 || len(first.Failures) != 0 || first.ExitCode() != 0 {
		t.Fatalf("corpus ingest: %d rejected, failures %v: %+v", first.Rejected, first.Failures, first.Rejects)
	}
	if first.Accepted < 400 {
		t.Errorf("corpus ingest stored only %d events", first.Accepted)
	}
	second, err := ingest.Run(context.Background(), inputs, ingest.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if second.Accepted != 0 || second.Duplicates != first.Accepted+first.Duplicates {
		t.Fatalf("second ingest: %d accepted, %d duplicates; want 0 and %d", second.Accepted, second.Duplicates, first.Accepted+first.Duplicates)
	}
}
