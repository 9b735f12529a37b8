package metrics

import (
	"runtime"
	"time"
)

// RuleEvalBuckets are the bounds, in seconds, of cairn_rule_eval_seconds:
// evaluating one event takes microseconds, a slow rule set milliseconds.
var RuleEvalBuckets = []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 0.1, 1}

// Ingest are the metrics an ingest updates (see ingest.Options.Metrics).
type Ingest struct {
	// Events counts events written to the store, by source; those already
	// stored are counted here and in Duplicates too.
	Events *CounterVec
	// Duplicates counts events whose id was already stored.
	Duplicates *Counter
	// DeadLetters counts records that did not decode and were kept in the
	// dead-letter table.
	DeadLetters *Counter
	// Detections counts detections stored, by severity name.
	Detections *CounterVec
	// RuleEval is the time taken to evaluate one event against the rules
	// and detectors, in seconds.
	RuleEval *Histogram
	// Batches counts batches written to the store.
	Batches *Counter
}

// NewIngest registers cairn's ingest metrics in r.
func NewIngest(r *Registry) *Ingest {
	return &Ingest{
		Events:      r.CounterVec("cairn_events_ingested_total", "Events written to the store, by source (duplicates included).", "source"),
		Duplicates:  r.Counter("cairn_events_duplicate_total", "Events written whose id was already stored."),
		DeadLetters: r.Counter("cairn_dead_letters_total", "Records that could not be decoded, kept as dead letters."),
		Detections:  r.CounterVec("cairn_detections_total", "Detections stored, by severity.", "severity"),
		RuleEval:    r.Histogram("cairn_rule_eval_seconds", "Time to evaluate one event against the Falco rules and the detectors.", RuleEvalBuckets),
		Batches:     r.Counter("cairn_ingest_batches_total", "Batches of events and dead letters written to the store."),
	}
}

// RegisterProcess registers go_goroutines and process_start_time_seconds
// (start, as Unix seconds) in r.
func RegisterProcess(r *Registry, start time.Time) {
	r.GaugeFunc("go_goroutines", "Number of goroutines that currently exist.", func() float64 { return float64(runtime.NumGoroutine()) })
	secs := float64(start.UnixNano()) / 1e9
	r.GaugeFunc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", func() float64 { return secs })
}
