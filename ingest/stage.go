package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/cairn-cdr/cairn"
)

// Stage is the pipeline of one bus partition on a detect worker: Run's
// process table, rules, detectors, exceptions, metrics and notifications,
// with each batch committed to the store before Handle returns, so that
// the bus acknowledges only what is stored. It is not safe for concurrent
// use: a worker keeps one per partition it owns.
type Stage struct {
	s *sink
}

// stageBatch is the most events a Stage stores in one transaction.
const stageBatch = 1000

// NewStage makes the pipeline of one partition. Opts's Progress and
// BatchSize are not used.
func NewStage(ctx context.Context, opts Options) (*Stage, error) {
	opts.BatchSize = stageBatch
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, _, err := newSink(ctx, opts, log, -1)
	if err != nil {
		return nil, err
	}
	return &Stage{s: s}, nil
}

// Handle evaluates evs in order and stores them with their process nodes
// and detections. An event already stored changes nothing in the store,
// and the detectors take a second delivery of an event as the same event,
// so a redelivered batch is handled again safely. After an error the
// stage's state may have seen events the store has not: make a new stage
// (and Rebuild it) before handling them again.
func (st *Stage) Handle(evs []cairn.Event) error {
	for i := range evs {
		if err := st.s.Event(evs[i]); err != nil {
			return err
		}
	}
	return st.s.flush()
}

// Flush ends an input: the windows the detectors hold open for late
// events decide, and their detections are stored.
func (st *Stage) Flush() error {
	st.s.flushDetectors()
	return st.s.flush()
}

// Rebuild gives a new stage the state of partition part of parts: the
// partition's stored events of sources (nil: all) from window before its
// newest one are passed again through the process table and the stateful
// detectors (not the rules, whose detections were stored with the
// events), and the detections they raise are stored; those already stored
// change nothing, and those a dead worker held back (correlation hits
// waiting for late events) are not lost. Sources are those the stateful
// detectors read: the process table reads its stored processes itself,
// and an empty list means nothing to rebuild. It returns how many events
// it read.
func (st *Stage) Rebuild(ctx context.Context, r cairn.PartitionReader, parts, part int, window time.Duration, sources []cairn.Source) (int, error) {
	if sources != nil && len(sources) == 0 {
		return 0, nil
	}
	latest, err := r.LatestPartitionTime(ctx, parts, part)
	if err != nil || latest.IsZero() {
		return 0, err
	}
	// What the replay would forward was forwarded before it was stored.
	st.s.replaying = true
	defer func() { st.s.replaying = false }()
	n := 0
	// The scan must not write to the store: the detections wait until it
	// has ended (a window's worth of correlation results is small).
	var dets []cairn.Detection
	q := cairn.PartitionScan{Parts: parts, Part: part, Since: latest.Add(-window), Sources: sources}
	err = r.ScanPartition(ctx, q, func(ev cairn.Event) error {
		n++
		st.s.evaluate(&ev, false)
		dets = append(dets, st.s.dets...)
		st.s.dets, st.s.nodes = st.s.dets[:0], nil
		return nil
	})
	if err != nil {
		return n, err
	}
	st.s.dets = dets
	return n, st.s.flush()
}
