package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/bus"
	"github.com/cairn-cdr/cairn/health"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/metrics"
	"github.com/cairn-cdr/cairn/sigma"
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
	maxBacklog *int64
}

func addBusFlags(fs *flag.FlagSet, e *env) busFlags {
	return busFlags{
		url:        fs.String("bus", e.getenv("CAIRN_BUS"), "scale out over NATS JetStream at this URL (nats://host:4222): ingest publishes there, detect workers consume (env CAIRN_BUS)"),
		partitions: fs.Int("partitions", bus.DefaultPartitions, "the bus's partitions: every node must agree; more than the detect workers you will run"),
		workerID:   fs.String("worker-id", "", "this detect worker's id on the bus (letters, digits, - and _; default: random)"),
		stream:     fs.String("bus-stream", bus.DefaultStream, "the JetStream stream's name (its subjects and lease bucket are named after it)"),
		maxBacklog: fs.Int64("bus-max-backlog", bus.DefaultMaxBacklog, "the most events waiting on the bus; beyond it publishers wait (the ingest API answers 503); every node must agree"),
	}
}

func (f busFlags) config(log *slog.Logger) bus.Config {
	subject := bus.DefaultSubject
	if *f.stream != bus.DefaultStream {
		subject = "cairn." + strings.ToLower(*f.stream)
	}
	return bus.Config{URL: *f.url, Partitions: *f.partitions, Stream: *f.stream, Subject: subject,
		WorkerID: *f.workerID, MaxBacklog: *f.maxBacklog, Logger: log}
}

func (f busFlags) connect(ctx context.Context, log *slog.Logger) (*bus.Bus, error) {
	return bus.Connect(ctx, f.config(log))
}

// connectHits connects to the second stream, of the hits of the
// correlations that are not partitioned like events: it retains a
// rebuild window of hits, which a worker taking one of its partitions
// over replays.
func (f busFlags) connectHits(ctx context.Context, log *slog.Logger, retain time.Duration) (*bus.Bus, error) {
	cfg := f.config(log)
	cfg.Stream += "_HITS"
	cfg.Subject += "-hits"
	cfg.Retain = retain
	return bus.Connect(ctx, cfg)
}

// localCorrelation reports whether a correlation's groups each fall in
// one partition of the bus, so that it runs where the events are: it
// groups by the identity (cloud events are partitioned by identity, and
// the identity key is a function of the ARN) or by the host (runtime
// events). Others are re-keyed: their hits are forwarded to the worker
// of their group.
func localCorrelation(c *sigma.CorrelationDef) bool {
	return slices.Contains(c.GroupBy, "userIdentity.arn") || slices.Contains(c.GroupBy, "Computer")
}

// statefulSources returns the event sources the stateful detectors read
// (nil: all): the correlations' rules and, with the pack, the analytics
// of CloudTrail. A worker taking a partition over replays only those.
func (rs ruleSets) statefulSources() []cairn.Source {
	out := []cairn.Source{}
	if rs.sigma != nil {
		if out = rs.sigma.CorrelatedSources(); out == nil {
			return nil
		}
	}
	if rs.pack && !slices.Contains(out, cairn.SourceCloudTrail) {
		out = append(out, cairn.SourceCloudTrail)
	}
	return out
}

// forwarding reports whether any of the rule sets' correlations is
// re-keyed.
func (rs ruleSets) forwarding() bool {
	if rs.sigma == nil {
		return false
	}
	return slices.ContainsFunc(rs.sigma.Correlations, func(c *sigma.CorrelationDef) bool { return !localCorrelation(c) })
}

// scaleOut connects a node to the bus and, when detect, starts w as its
// detect worker (w's bus fields are set here). It returns the publishers
// of the node's sources, which also keep the sources' health in hm: wait
// for readers, which wait while the bus is full, and direct for the
// ingest API, which answers 503 instead; and what stops it all.
func scaleOut(ctx context.Context, e *env, bf busFlags, detect bool, w *detectWorker, hm *health.Monitor) (wait, direct func(context.Context, []cairn.Event) error, stop func(), err error) {
	var closers []func()
	stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	b, err := bf.connect(ctx, w.log)
	if err != nil {
		return nil, nil, nil, err
	}
	closers = append(closers, b.Close)
	if detect {
		w.b = b
		if w.rs.forwarding() {
			hits, err := bf.connectHits(ctx, w.log, w.rs.rebuildWindow())
			if err != nil {
				stop()
				return nil, nil, nil, err
			}
			closers = append(closers, hits.Close)
			w.hits = hits
		}
		// The worker ends with the node, or when the node gives up early.
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.run(wctx) }()
		closers = append(closers, func() { cancel(); <-done })
		fmt.Fprintf(e.stdout, "cairn serve: detect worker %s on %s (%d partitions)\n", b.WorkerID(), termsafe.String(*bf.url), b.Partitions())
	}
	observed := func(pub func(context.Context, []cairn.Event) error) func(context.Context, []cairn.Event) error {
		return func(ctx context.Context, evs []cairn.Event) error {
			for i := range evs {
				hm.Observe(&evs[i])
			}
			return pub(ctx, evs)
		}
	}
	return observed(waitingPublisher(b)), observed(b.Publish), stop, nil
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
	hits         *bus.Bus // nil when no correlation is re-keyed
	st           cairn.Store
	rs           ruleSets
	im           *metrics.Ingest
	onDetections func([]cairn.Detection)
	log          *slog.Logger

	mu     sync.Mutex
	stages map[int]*partitionStage // nil: to rebuild before the next batch
	// rebuilding lets one partition be rebuilt at a time: a rebuild holds
	// a store connection for its scan and needs others for the process
	// table's lookups, and several at once could take the whole pool.
	rebuilding sync.Mutex
}

// partitionStage is the pipeline of one partition and its Sigma detector,
// whose forwarded hits are published before each batch is stored.
type partitionStage struct {
	*ingest.Stage
	sigma *sigma.Detector
}

func (w *detectWorker) run(ctx context.Context) error {
	w.stages = map[int]*partitionStage{}
	if w.hits != nil {
		done := make(chan error, 1)
		go func() { done <- w.correlate(ctx) }()
		defer func() { <-done }()
	}
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

func (w *detectWorker) set(p int, stg *partitionStage) {
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
func (w *detectWorker) stage(ctx context.Context, p int) (*partitionStage, error) {
	w.mu.Lock()
	stg := w.stages[p]
	w.mu.Unlock()
	if stg != nil {
		return stg, nil
	}
	opts := sigma.DetectorOptions{Lateness: sigmaLateness}
	if w.hits != nil {
		opts.Local = localCorrelation
	}
	dets, err := w.rs.detectorsWith(opts)
	if err != nil {
		return nil, err
	}
	stg = &partitionStage{sigma: dets.sigma}
	var forward func(context.Context) error
	if w.hits != nil && dets.sigma != nil {
		forward = func(ctx context.Context) error { return w.forward(ctx, dets.sigma.TakeForwarded()) }
	}
	stg.Stage, err = ingest.NewStage(ctx, ingest.Options{Store: w.st, Tree: ingest.NewTree(ctx, w.st), Rules: dets.falco,
		Detectors: dets.other, Metrics: w.im, OnDetections: w.onDetections, Logger: w.log, BeforeStore: forward})
	if err != nil {
		return nil, err
	}
	w.rebuilding.Lock()
	defer w.rebuilding.Unlock()
	start := time.Now()
	n, err := stg.Rebuild(ctx, w.st, w.b.Partitions(), p, w.rs.rebuildWindow(), w.rs.statefulSources())
	if err != nil {
		return nil, fmt.Errorf("rebuild partition %d: %w", p, err)
	}
	if stg.sigma != nil {
		// The replayed events' hits were forwarded before they were
		// stored.
		stg.sigma.TakeForwarded()
	}
	w.log.Info("detect: partition taken", "partition", p, "events_replayed", n, "took", time.Since(start).Round(time.Millisecond))
	w.set(p, stg)
	return stg, nil
}

// forward publishes the hits of re-keyed correlations to the hits stream.
func (w *detectWorker) forward(ctx context.Context, fs []sigma.Forward) error {
	if len(fs) == 0 {
		return nil
	}
	msgs := make([]bus.Message, len(fs))
	for i := range fs {
		data, err := json.Marshal(&fs[i])
		if err != nil {
			return err
		}
		msgs[i] = bus.Message{ID: fs[i].ID, Key: fs[i].Key, Data: data}
	}
	return w.hits.PublishMessages(ctx, msgs)
}

// correlate consumes the hits stream's partitions this worker owns: one
// Correlator per partition, rebuilt by the replay of the partition's
// retained hits when it is taken over.
func (w *detectWorker) correlate(ctx context.Context) error {
	type part struct {
		c *sigma.Correlator
		// pending are results the store refused: the hits that made
		// them come again and are dropped as seen, so the results are
		// kept until they are stored.
		pending []cairn.Detection
	}
	var mu sync.Mutex
	parts := map[int]*part{}
	get := func(p int) (*part, error) {
		mu.Lock()
		defer mu.Unlock()
		if pt := parts[p]; pt != nil {
			return pt, nil
		}
		c, err := sigma.NewCorrelator(w.rs.sigma, sigma.DetectorOptions{Lateness: sigmaLateness, Local: localCorrelation})
		if err != nil {
			return nil, err
		}
		parts[p] = &part{c: c}
		return parts[p], nil
	}
	store := func(ctx context.Context, pt *part, ds []cairn.Detection) error {
		ds = append(pt.pending, ds...)
		if len(ds) == 0 {
			return nil
		}
		if err := w.st.WriteDetections(ctx, ds, nil); err != nil {
			pt.pending = ds
			return err
		}
		pt.pending = nil
		if w.onDetections != nil {
			w.onDetections(ds)
		}
		return nil
	}
	return w.hits.Work(ctx, bus.Handler{
		OnRelease: func(p int) {
			mu.Lock()
			defer mu.Unlock()
			delete(parts, p)
		},
		Messages: func(ctx context.Context, p int, msgs []bus.Message) error {
			pt, err := get(p)
			if err != nil {
				return err
			}
			var ds []cairn.Detection
			for _, m := range msgs {
				var f sigma.Forward
				if err := json.Unmarshal(m.Data, &f); err != nil {
					w.log.Error("detect: undecodable forwarded hit dropped", "id", m.ID, "err", err)
					continue
				}
				ds = append(ds, pt.c.Observe(f)...)
			}
			return store(ctx, pt, ds)
		},
		Idle: func(ctx context.Context, p int) error {
			pt, err := get(p)
			if err != nil {
				return err
			}
			return store(ctx, pt, pt.c.Flush())
		},
	})
}
