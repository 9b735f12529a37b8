package ingest_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/metrics"
)

// An ingest with Metrics counts what it stored: events by source,
// duplicates on a second run, dead letters, detections by severity,
// batches, and one rule evaluation per event.
func TestRunUpdatesMetrics(t *testing.T) {
	st := mustStore(t)
	data := ct(1) + "\nnot json\n" + ct(2) + "\n" + ct(3) + "\n"
	in := ingest.Input{Origin: "t", Size: -1, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(data)), nil
	}}
	reg := metrics.NewRegistry()
	m := metrics.NewIngest(reg)
	opts := ingest.Options{Store: st, BatchSize: 2, Detectors: []ingest.Detector{&countDetector{}}, Metrics: m}
	for run := range 2 {
		rep, err := ingest.Run(context.Background(), []ingest.Input{in}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 && (rep.Accepted != 3 || rep.Rejected != 1) {
			t.Fatalf("first run: %+v", rep)
		}
	}
	source := string(cairn.SourceCloudTrail)
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"events{" + source + "}", m.Events.Value(source), 6},
		{"duplicates", m.Duplicates.Value(), 3},
		{"dead letters", m.DeadLetters.Value(), 2},
		// 3 per event and one flushed per run, all of severity 0.
		{"detections{info}", m.Detections.Value("info"), 8},
		{"rule evaluations", m.RuleEval.Count(), 6},
		// Per run: {ct1, ct2, the bad line}, then {ct3, the flushed
		// detection}.
		{"batches", m.Batches.Value(), 4},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	var b strings.Builder
	reg.WriteTo(&b)
	if !strings.Contains(b.String(), `cairn_events_ingested_total{source="`+source+`"} 6`+"\n") {
		t.Errorf("exposition lacks the events counter:\n%s", b.String())
	}
}

// Without rules or detectors nothing is timed; without Metrics nothing
// is counted (and nothing fails).
func TestRunMetricsOptional(t *testing.T) {
	st := mustStore(t)
	in := ingest.Input{Origin: "t", Size: -1, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(ct(1) + "\n")), nil
	}}
	m := metrics.NewIngest(metrics.NewRegistry())
	if _, err := ingest.Run(context.Background(), []ingest.Input{in}, ingest.Options{Store: st, Metrics: m}); err != nil {
		t.Fatal(err)
	}
	if m.RuleEval.Count() != 0 || m.Events.Value(string(cairn.SourceCloudTrail)) != 1 {
		t.Errorf("rule evaluations %d, events %d; want 0 and 1", m.RuleEval.Count(), m.Events.Value(string(cairn.SourceCloudTrail)))
	}
	if _, err := ingest.Run(context.Background(), []ingest.Input{in}, ingest.Options{Store: st}); err != nil {
		t.Fatal(err)
	}
}
