package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/bus"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/metrics"
)

// components are the parts of the pipeline one cairn serve runs. One node
// runs them all; scaled out, ingest nodes publish to the bus, detect
// workers consume it and any node serves the API.
type components struct {
	ingest, detect, api bool
}

func parseComponents(s string) (components, error) {
	var c components
	for _, part := range strings.Split(s, ",") {
		switch strings.TrimSpace(part) {
		case "ingest":
			c.ingest = true
		case "detect":
			c.detect = true
		case "api":
			c.api = true
		case "all":
			c = components{true, true, true}
		default:
			return c, cairn.Errorf(cairn.EINVALID, "--components: %q is not one of ingest, detect, api, all", part)
		}
	}
	if !c.ingest && !c.detect && !c.api {
		return c, cairn.Errorf(cairn.EINVALID, "--components: name at least one of ingest, detect, api")
	}
	return c, nil
}

// busFlags are the flags of the scale-out bus.
type busFlags struct {
	url        *string
	partitions *int
	workerID   *string
	stream     *string
}

func addBusFlags(fs *flag.FlagSet, e *env) busFlags {
	return busFlags{
		url:        fs.String("bus", e.getenv("CAIRN_BUS"), "scale out over NATS JetStream at this URL (nats://host:4222): ingest publishes there, detect workers consume (env CAIRN_BUS)"),
		partitions: fs.Int("partitions", bus.DefaultPartitions, "the bus's partitions: every node must agree; more than the detect workers you will run"),
		workerID:   fs.String("worker-id", "", "this detect worker's id on the bus (letters, digits, - and _; default: random)"),
		stream:     fs.String("bus-stream", bus.DefaultStream, "the JetStream stream's name (its subjects and lease bucket are named after it)"),
	}
}

func (f busFlags) connect(ctx context.Context, log *slog.Logger) (*bus.Bus, error) {
	subject := bus.DefaultSubject
	if *f.stream != bus.DefaultStream {
		subject = "cairn." + strings.ToLower(*f.stream)
	}
	return bus.Connect(ctx, bus.Config{URL: *f.url, Partitions: *f.partitions, Stream: *f.stream, Subject: subject,
		WorkerID: *f.workerID, Logger: log})
}

// waitingPublisher publishes to b and, while the bus is full, waits and
// tries again: the file reader and the sources slow down instead of
// failing or growing memory.
func waitingPublisher(b *bus.Bus) func(context.Context, []cairn.Event) error {
	return func(ctx context.Context, evs []cairn.Event) error {
		wait := 100 * time.Millisecond
		for {
			err := b.Publish(ctx, evs)
			if cairn.ErrorCode(err) != cairn.EUNAVAILABLE {
				return err
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			wait = min(2*wait, 2*time.Second)
		}
	}
}

// rebuildWindow is how much of a partition's stored history a worker taking
// it over reads again: the correlations hold hits back for sigmaLateness
// and look back their longest timespan before that.
func (rs ruleSets) rebuildWindow() time.Duration {
	w := sigmaLateness
	var longest time.Duration
	if rs.sigma != nil {
		for _, c := range rs.sigma.Correlations {
			longest = max(longest, c.Timespan)
		}
	}
	return w + longest
}

// detectWorker consumes the bus's partitions this worker owns: one
// pipeline per partition, rebuilt from the store when it is taken over,
// each batch acknowledged once stored.
type detectWorker struct {
	b            *bus.Bus
	st           cairn.Store
	rs           ruleSets
	im           *metrics.Ingest
	onDetections func([]cairn.Detection)
	log          *slog.Logger

	mu     sync.Mutex
	stages map[int]*ingest.Stage // nil: to rebuild before the next batch
	// rebuilding lets one partition be rebuilt at a time: a rebuild holds
	// a store connection for its scan and needs others for the process
	// table's lookups, and several at once could take the whole pool.
	rebuilding sync.Mutex
}

func (w *detectWorker) run(ctx context.Context) error {
	w.stages = map[int]*ingest.Stage{}
	return w.b.Work(ctx, bus.Handler{
		OnAcquire: func(ctx context.Context, p int) error {
			_, err := w.stage(ctx, p)
			return err
		},
		OnRelease: func(p int) { w.set(p, nil) },
		Handle: func(ctx context.Context, p int, evs []cairn.Event) error {
			stg, err := w.stage(ctx, p)
			if err != nil {
				return err
			}
			if err := stg.Handle(evs); err != nil {
				// The stage has seen events the store has not: rebuild
				// it from the store before they come again.
				w.set(p, nil)
				return err
			}
			return nil
		},
		Idle: func(ctx context.Context, p int) error {
			stg, err := w.stage(ctx, p)
			if err != nil {
				return err
			}
			if err := stg.Flush(); err != nil {
				w.set(p, nil)
				return err
			}
			return nil
		},
	})
}

func (w *detectWorker) set(p int, stg *ingest.Stage) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if stg == nil {
		delete(w.stages, p)
		return
	}
	w.stages[p] = stg
}

// stage returns partition p's pipeline, making and rebuilding it first if
// there is none.
func (w *detectWorker) stage(ctx context.Context, p int) (*ingest.Stage, error) {
	w.mu.Lock()
	stg := w.stages[p]
	w.mu.Unlock()
	if stg != nil {
		return stg, nil
	}
	dets, err := w.rs.detectors()
	if err != nil {
		return nil, err
	}
	stg, err = ingest.NewStage(ctx, ingest.Options{Store: w.st, Tree: ingest.NewTree(ctx, w.st), Rules: dets.falco,
		Detectors: dets.other, Metrics: w.im, OnDetections: w.onDetections, Logger: w.log})
	if err != nil {
		return nil, err
	}
	w.rebuilding.Lock()
	defer w.rebuilding.Unlock()
	start := time.Now()
	n, err := stg.Rebuild(ctx, w.st, w.b.Partitions(), p, w.rs.rebuildWindow())
	if err != nil {
		return nil, fmt.Errorf("rebuild partition %d: %w", p, err)
	}
	w.log.Info("detect: partition taken", "partition", p, "events_replayed", n, "took", time.Since(start).Round(time.Millisecond))
	w.set(p, stg)
	return stg, nil
}
