// Package demostore loads a demo scenario into a fresh SQLite store
// through the whole pipeline (decoders, process table, cairn's rule pack,
// Sigma correlations and analytics), for the tests of the packages that
// read what the pipeline stores.
package demostore

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/analytics"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/rulepack"
	"github.com/cairn-cdr/cairn/sigma"
	"github.com/cairn-cdr/cairn/sqlite"
)

// Fixture is a store holding one demo scenario and the rules that ran.
type Fixture struct {
	Store    *sqlite.Store
	Scenario *demo.Scenario
	Falco    *falco.RuleSet
	Sigma    *sigma.RuleSet
	Report   *ingest.Report
}

// Open generates the scenario of seed anchored at now, ingests it into a
// new store in a temporary directory and closes the store when the test
// ends.
func Open(tb testing.TB, seed int64, now time.Time) *Fixture {
	tb.Helper()
	ctx := context.Background()
	sc, err := demo.Generate(demo.Options{Seed: seed, Now: now})
	if err != nil {
		tb.Fatalf("demo.Generate(%d): %v", seed, err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "demo.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	fs, err := falco.Load(rulepack.Files()...)
	if err != nil {
		tb.Fatal(err)
	}
	ss, err := sigma.Load(rulepack.SigmaFiles()...)
	if err != nil {
		tb.Fatal(err)
	}
	sd, err := sigma.NewDetector(ss, sigma.DetectorOptions{Lateness: 7 * 24 * time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	inputs := []ingest.Input{
		ingest.Memory("demo:tetragon", bytes.Join(sc.Tetragon, []byte("\n"))),
		ingest.Memory("demo:cloudtrail", demo.CloudTrailFile(sc.CloudTrail)),
	}
	rep, err := ingest.Run(ctx, inputs, ingest.Options{Store: st, Format: decode.Auto, Tree: ingest.NewTree(ctx, st),
		Rules: falco.NewEngine(fs.Rules), Detectors: []ingest.Detector{&analytics.InstanceCredentials{}, sd}})
	if err != nil {
		tb.Fatalf("ingest demo %d: %v", seed, err)
	}
	return &Fixture{Store: st, Scenario: sc, Falco: fs, Sigma: ss, Report: rep}
}

var _ cairn.Store = (*sqlite.Store)(nil)
