// Package ingest reads inputs (files, directories, standard input),
// decodes them and stores the events, dead-lettering what cannot be
// decoded. Decoding and storing overlap: the decoder fills batches while
// the store writes the previous one.
package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/metrics"
	"github.com/cairn-cdr/cairn/proctree"
)

// Writer is what ingest needs from a store.
type Writer interface {
	cairn.EventWriter
	cairn.DeadLetterWriter
}

// Options configures an ingest.
type Options struct {
	Store  Writer
	Format decode.Format
	// BatchSize is the number of events written per transaction; 0 means
	// 1,000.
	BatchSize int
	// Progress, if set, is called as input is read with the bytes read so
	// far and the total (-1 when unknown, as for standard input).
	Progress func(read, total int64)
	// Logger receives one line per input that cannot be read; nil
	// discards.
	Logger *slog.Logger
	// Tree, if set, follows the processes of the events: it fills each
	// event's parent and ancestors and its nodes are stored with the
	// events (the store must be a cairn.ProcessWriter). NewTree makes one
	// that joins onto the store's stored ancestors.
	Tree *proctree.Table
	// Rules, if set, evaluates every event (after the process table has
	// enriched it) and the detections are stored with the events (the
	// store must be a cairn.DetectionStore).
	Rules *falco.Engine
	// Detectors raise detections too (Sigma rules and correlations,
	// identity analytics), after Rules, on every event in arrival order;
	// the stored exceptions of Rules apply to their detections. Those
	// that are Flushers are flushed when the inputs end.
	Detectors []Detector
	// OnDetections, if set, is called with each batch of detections once
	// the store has committed them (notifications); it must not block.
	OnDetections func([]cairn.Detection)
	// Publish, if set, is where the decoded events go instead of the
	// store (the bus, in scale-out mode, where detect workers evaluate and
	// store them): Tree, Rules and Detectors must then be nil; dead
	// letters are still stored. It returns once the events are durable,
	// and its error ends the ingest like a store's.
	Publish func(ctx context.Context, evs []cairn.Event) error
	// BeforeStore, if set, is called before each batch is stored (not
	// while a Stage rebuilds): a detect worker publishes the correlation
	// hits its detectors forward, so that what is stored has been
	// forwarded. Its error fails the batch.
	BeforeStore func(ctx context.Context) error
	// Metrics, if set, counts what is stored (events by source,
	// duplicates, dead letters, detections by severity, batches) and
	// times each event's evaluation by Rules and Detectors.
	Metrics *metrics.Ingest
}

// Detector raises detections from events seen in arrival order; a
// stateful detector keeps what it needs between events.
type Detector interface {
	Detect(ev *cairn.Event) []cairn.Detection
}

// Flusher is a Detector holding windows that close when the input ends:
// Flush returns the detections they decide.
type Flusher interface {
	Flush() []cairn.Detection
}

// NewTree returns a process table for ingesting into st: a process the
// table does not hold is looked up among st's stored processes when st can
// read them, so that an ingest starting mid-stream joins onto stored
// ancestors.
func NewTree(ctx context.Context, st any) *proctree.Table {
	opts := proctree.Options{}
	if r, ok := st.(cairn.ProcessReader); ok {
		opts.Lookup = func(key string) (cairn.ProcessNode, bool) {
			n, err := r.Process(ctx, key)
			return n, err == nil
		}
	}
	return proctree.New(opts)
}

// Reject is one dead-lettered record, as the report shows it.
type Reject struct {
	Origin   string `json:"origin"`
	Position string `json:"position"`
	Reason   string `json:"reason"`
}

// Failure is an input that could not be read at all.
type Failure struct {
	Origin string `json:"origin"`
	Reason string `json:"reason"`
}

// maxRejectsShown caps the rejects listed in a report; all are counted
// and all are in the dead-letter table.
const maxRejectsShown = 100

// Report says what an ingest did.
type Report struct {
	Inputs     int            `json:"inputs"`
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	Rejected   int            `json:"rejected"`
	BySource   map[string]int `json:"by_source"`
	Rejects    []Reject       `json:"rejects,omitempty"`
	Failures   []Failure      `json:"failures,omitempty"`
	// Detections counts the detections the rules raised; Suppressed the
	// rule matches stored exceptions suppressed.
	Detections int   `json:"detections"`
	Suppressed int64 `json:"suppressed,omitempty"`
	// Published says the events went to the bus (Options.Publish):
	// Accepted counts those published, and duplicates are dropped where
	// they are stored.
	Published bool `json:"published,omitempty"`
}

// ExitCode is the status a command reports for r: 0 when every record was
// stored or was a duplicate, 2 when some were dead-lettered and the rest
// stored, 1 when an input could not be read.
func (r *Report) ExitCode() int {
	switch {
	case len(r.Failures) > 0:
		return 1
	case r.Rejected > 0:
		return 2
	}
	return 0
}

// Input is one thing to read.
type Input struct {
	Origin string
	Open   func() (io.ReadCloser, error)
	Size   int64 // -1 when unknown
}

// Expand turns command-line arguments into inputs: "-" is standard input,
// a directory is every regular file under it in name order (which is time
// order in CloudTrail's S3 layout), skipping hidden files and CloudTrail
// digest folders. A path that does not exist is an error.
func Expand(args []string, stdin io.Reader) ([]Input, error) {
	var out []Input
	for _, arg := range args {
		if arg == "-" {
			out = append(out, Input{Origin: "-", Size: -1, Open: func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }})
			continue
		}
		info, err := os.Stat(arg)
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "cannot read %s: %v", arg, errors.Unwrap(err))
		}
		if !info.IsDir() {
			out = append(out, fileInput(arg, info.Size()))
			continue
		}
		var files []Input
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if p != arg && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if name == "CloudTrail-Digest" {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, fileInput(p, info.Size()))
			return nil
		})
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "cannot read directory %s: %v", arg, err)
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Origin < files[j].Origin })
		out = append(out, files...)
	}
	return out, nil
}

// Memory is an input of data in memory, named origin.
func Memory(origin string, data []byte) Input {
	return Input{Origin: origin, Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

func fileInput(path string, size int64) Input {
	return Input{Origin: path, Size: size, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// Run reads every input, stores what decodes and dead-letters the rest.
// It returns an error only when the store fails or ctx ends; inputs that
// cannot be read are listed in the report's Failures.
func Run(ctx context.Context, inputs []Input, opts Options) (*Report, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	queue := runQueue
	if opts.Publish != nil {
		// The bus absorbs the pauses a store makes; a publisher blocked
		// on a full bus holds no more than it must.
		queue = 1
	}
	s, rep, err := newSink(ctx, opts, log, queue)
	if err != nil {
		return rep, err
	}
	w := s.w
	var total, base int64
	for _, in := range inputs {
		if in.Size < 0 {
			total = -1
			break
		}
		total += in.Size
	}
	for _, in := range inputs {
		if ctx.Err() != nil {
			break
		}
		rep.Inputs++
		rc, err := in.Open()
		if err != nil {
			log.Warn("cannot open input", "origin", in.Origin, "err", err)
			rep.Failures = append(rep.Failures, Failure{Origin: in.Origin, Reason: err.Error()})
			continue
		}
		var r io.Reader = rc
		if opts.Progress != nil {
			r = &countingReader{r: rc, fn: func(n int64) { opts.Progress(base+n, total) }}
		}
		err = decode.Decode(ctx, r, in.Origin, opts.Format, s)
		rc.Close()
		if in.Size > 0 {
			base += in.Size
		}
		if err != nil {
			if werr := w.err(); werr != nil {
				break
			}
			if ctx.Err() != nil {
				break
			}
			log.Warn("cannot read input", "origin", in.Origin, "err", err)
			rep.Failures = append(rep.Failures, Failure{Origin: in.Origin, Reason: cairn.ErrorMessage(err)})
		}
	}
	if err := s.end(); err != nil {
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// runQueue is how many batches Run lets wait for the writer: enough for
// decoding to run ahead of a store that pauses (a checkpoint).
const runQueue = 8

// newSink checks that opts.Store keeps what opts asks for (process trees,
// detections), loads the stored exceptions into opts.Rules and starts the
// writer, which lets queue batches wait. Run and Live share it, so that a
// file and a live source go through the same path. The report is never
// nil.
func newSink(ctx context.Context, opts Options, log *slog.Logger, queue int) (*sink, *Report, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	rep := &Report{BySource: map[string]int{}, Published: opts.Publish != nil}
	if opts.Publish != nil && (opts.Tree != nil || opts.Rules != nil || len(opts.Detectors) > 0) {
		return nil, rep, fmt.Errorf("ingest: events that are published are evaluated where they are consumed")
	}
	var procs cairn.ProcessWriter
	if opts.Tree != nil {
		var ok bool
		if procs, ok = opts.Store.(cairn.ProcessWriter); !ok {
			return nil, rep, fmt.Errorf("ingest: the store keeps no process trees")
		}
	}
	var dets cairn.DetectionStore
	if opts.Rules != nil || len(opts.Detectors) > 0 {
		var ok bool
		if dets, ok = opts.Store.(cairn.DetectionStore); !ok {
			return nil, rep, fmt.Errorf("ingest: the store keeps no detections")
		}
	}
	var excepts *exceptionRefresher
	var suppressed func() int64
	if opts.Rules != nil {
		if xs, ok := opts.Store.(cairn.ExceptionStore); ok {
			excepts = &exceptionRefresher{ctx: ctx, store: xs, engine: opts.Rules, log: log}
			if err := excepts.load(); err != nil {
				return nil, rep, err
			}
			before := opts.Rules.Suppressed()
			suppressed = func() int64 { return opts.Rules.Suppressed() - before }
		}
	}
	w := newWriter(ctx, opts.Store, procs, dets, rep, opts.Metrics, queue)
	w.onDetections = opts.OnDetections
	w.publish = opts.Publish
	// One sink for every input: batches span small files (CloudTrail
	// delivers many files of a few records each), so a transaction is
	// never spent on a handful of events.
	s := &sink{w: w, batch: opts.BatchSize, rep: rep, tree: opts.Tree, rules: opts.Rules, detectors: opts.Detectors, excepts: excepts, suppressed: suppressed}
	s.beforeStore = opts.BeforeStore
	if opts.Metrics != nil && (opts.Rules != nil || len(opts.Detectors) > 0) {
		s.ruleEval = opts.Metrics.RuleEval
	}
	return s, rep, nil
}

// end closes the input: it flushes the detectors' windows and the last
// batch, waits for the writer and counts the suppressed rule matches.
func (s *sink) end() error {
	s.flushDetectors()
	s.flush()
	err := s.w.close()
	if s.suppressed != nil {
		s.rep.Suppressed = s.suppressed()
	}
	return err
}

// sink collects decoded events into batches for the writer.
type sink struct {
	w         *writer
	batch     int
	events    []cairn.Event
	letters   []cairn.DeadLetter
	rep       *Report
	tree      *proctree.Table
	rules     *falco.Engine
	detectors []Detector
	excepts   *exceptionRefresher
	dets      []cairn.Detection
	// suppressed, if set, counts the rule matches exceptions suppressed
	// since the sink started.
	suppressed func() int64
	// ruleEval, if set, times each event's evaluation by rules and
	// detectors.
	ruleEval *metrics.Histogram
	// nodes are the process nodes the batch's events created or
	// changed, by key (the latest state of each).
	nodes map[string]cairn.ProcessNode
	// beforeStore is Options.BeforeStore; replaying turns it off.
	beforeStore func(ctx context.Context) error
	replaying   bool
}

func (s *sink) Event(ev cairn.Event) error {
	s.evaluate(&ev, true)
	s.events = append(s.events, ev)
	if len(s.events) >= s.batch {
		return s.flush()
	}
	return nil
}

// evaluate passes ev through the process table, Rules (when rules) and
// the detectors, adding the detections to the batch.
func (s *sink) evaluate(ev *cairn.Event, rules bool) {
	if s.tree != nil {
		for _, n := range s.tree.Observe(ev) {
			if s.nodes == nil {
				s.nodes = map[string]cairn.ProcessNode{}
			}
			s.nodes[n.Key] = n
		}
		s.tree.Enrich(ev)
	}
	var start time.Time
	if s.ruleEval != nil {
		start = time.Now()
	}
	if s.rules != nil && rules {
		for _, m := range s.rules.Eval(ev) {
			s.dets = append(s.dets, m.Detection(ev))
		}
	}
	for _, d := range s.detectors {
		for _, det := range d.Detect(ev) {
			if s.rules == nil || !s.rules.Excepted(det.Rule, ev) {
				s.dets = append(s.dets, det)
			}
		}
	}
	if s.ruleEval != nil {
		s.ruleEval.Observe(time.Since(start).Seconds())
	}
}

// flushDetectors adds what the Flusher detectors' windows decide to the
// batch: the end of an input.
func (s *sink) flushDetectors() {
	for _, d := range s.detectors {
		if f, ok := d.(Flusher); ok {
			s.dets = append(s.dets, f.Flush()...)
		}
	}
}

func (s *sink) Reject(dl cairn.DeadLetter) error {
	s.letters = append(s.letters, dl)
	if len(s.letters) >= s.batch {
		return s.flush()
	}
	return nil
}

func (s *sink) flush() error {
	if len(s.events) == 0 && len(s.letters) == 0 && len(s.dets) == 0 {
		return s.w.err()
	}
	if s.beforeStore != nil && !s.replaying {
		if err := s.beforeStore(s.w.ctx); err != nil {
			return err
		}
	}
	b := batch{events: s.events, letters: s.letters, dets: s.dets}
	for _, n := range s.nodes {
		b.nodes = append(b.nodes, n)
	}
	err := s.w.send(b)
	s.events = make([]cairn.Event, 0, s.batch)
	s.letters, s.nodes, s.dets = nil, nil, nil
	if s.excepts != nil && err == nil {
		err = s.excepts.refresh()
	}
	return err
}

// exceptionRefresher keeps the engine's exceptions those of the store: an
// exception added while a long ingest runs applies within
// exceptionRefresh.
type exceptionRefresher struct {
	ctx    context.Context
	store  cairn.ExceptionStore
	engine *falco.Engine
	log    *slog.Logger
	last   time.Time
}

const exceptionRefresh = 2 * time.Second

func (r *exceptionRefresher) load() error {
	xs, err := r.store.Exceptions(r.ctx)
	if err != nil {
		return fmt.Errorf("ingest: read exceptions: %w", err)
	}
	r.last = time.Now()
	// An exception that no longer compiles (a field renamed since) is
	// left out; the others apply.
	if err := r.engine.SetExceptions(xs); err != nil {
		r.log.Warn("exceptions left out", "err", err)
	}
	return nil
}

func (r *exceptionRefresher) refresh() error {
	if time.Since(r.last) < exceptionRefresh {
		return nil
	}
	return r.load()
}

type batch struct {
	events  []cairn.Event
	letters []cairn.DeadLetter
	nodes   []cairn.ProcessNode
	dets    []cairn.Detection
}

// writer stores batches in a goroutine of its own, so that decoding the
// next batch overlaps with writing this one.
type writer struct {
	sync bool // send writes the batch itself (newWriter's queue < 0)
	ch   chan batch
	done chan struct{}
	mu   sync.Mutex
	fail error
	// onDetections and publish are set before the first batch is sent.
	onDetections func([]cairn.Detection)
	publish      func(context.Context, []cairn.Event) error
	// written, if set (before the first batch is sent), is called once
	// the writer is done with each batch: ok when it was stored, not when
	// it was dropped after a failure.
	written func(b batch, ok bool)

	ctx   context.Context
	st    Writer
	procs cairn.ProcessWriter
	dets  cairn.DetectionStore
	rep   *Report
	m     *metrics.Ingest
}

// newWriter starts a writer that lets queue batches wait for it; with a
// negative queue the writer is synchronous: send stores the batch and
// returns its error, which does not stop later sends.
func newWriter(ctx context.Context, st Writer, procs cairn.ProcessWriter, dets cairn.DetectionStore, rep *Report, m *metrics.Ingest, queue int) *writer {
	w := &writer{done: make(chan struct{}), ctx: ctx, st: st, procs: procs, dets: dets, rep: rep, m: m}
	if queue < 0 {
		w.sync = true
		close(w.done)
		return w
	}
	w.ch = make(chan batch, queue)
	go func() {
		defer close(w.done)
		for b := range w.ch {
			ok := false
			if w.err() == nil {
				if err := w.write(b); err != nil {
					w.setErr(err)
				} else {
					ok = true
				}
			}
			if w.written != nil {
				w.written(b, ok)
			}
		}
	}()
	return w
}

// write stores one batch and counts it in the report and the metrics.
func (w *writer) write(b batch) error {
	ctx, st, rep, m := w.ctx, w.st, w.rep, w.m
	if len(b.letters) > 0 {
		if err := st.WriteDeadLetters(ctx, b.letters); err != nil {
			return fmt.Errorf("store dead letters: %w", err)
		}
		if m != nil {
			m.DeadLetters.Add(uint64(len(b.letters)))
		}
		w.mu.Lock()
		rep.Rejected += len(b.letters)
		for _, dl := range b.letters {
			if len(rep.Rejects) < maxRejectsShown {
				rep.Rejects = append(rep.Rejects, Reject{Origin: dl.Origin, Position: dl.Position, Reason: dl.Reason})
			}
		}
		w.mu.Unlock()
	}
	if len(b.nodes) > 0 {
		if err := w.procs.WriteProcesses(ctx, b.nodes); err != nil {
			return fmt.Errorf("store processes: %w", err)
		}
	}
	var res cairn.WriteResult
	switch {
	case len(b.events) == 0:
	case w.publish != nil:
		if err := w.publish(ctx, b.events); err != nil {
			return err
		}
		res.Inserted = len(b.events) // published: duplicates are dropped where they are stored
	default:
		var err error
		if res, err = st.WriteEvents(ctx, b.events); err != nil {
			return fmt.Errorf("store events: %w", err)
		}
	}
	// Without events, detections decided at the end of the input (windows
	// that close) in a batch of their own.
	if len(b.dets) > 0 {
		if err := w.dets.WriteDetections(ctx, b.dets, b.events); err != nil {
			return fmt.Errorf("store detections: %w", err)
		}
	}
	w.committed(b.dets)
	w.mu.Lock()
	rep.Detections += len(b.dets)
	rep.Accepted += res.Inserted
	rep.Duplicates += res.Duplicates
	for _, ev := range b.events {
		rep.BySource[string(ev.Source)]++
	}
	w.mu.Unlock()
	if w.publish == nil {
		countStored(m, b.events, res, b.dets)
	}
	if m != nil {
		m.Batches.Inc()
	}
	return nil
}

func (w *writer) committed(ds []cairn.Detection) {
	if w.onDetections != nil && len(ds) > 0 {
		w.onDetections(ds)
	}
}

func (w *writer) send(b batch) error {
	if w.sync {
		err := w.write(b)
		if w.written != nil {
			w.written(b, err == nil)
		}
		return err
	}
	if err := w.err(); err != nil {
		return err
	}
	w.ch <- b
	return nil
}

func (w *writer) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fail
}

func (w *writer) setErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail == nil {
		w.fail = err
	}
}

func (w *writer) close() error {
	if w.sync {
		return nil
	}
	close(w.ch)
	<-w.done
	return w.err()
}

// countStored counts a batch's stored events and detections in m (nil:
// none).
func countStored(m *metrics.Ingest, evs []cairn.Event, res cairn.WriteResult, dets []cairn.Detection) {
	if m == nil {
		return
	}
	for _, ev := range evs {
		m.Events.With(string(ev.Source)).Inc()
	}
	m.Duplicates.Add(uint64(res.Duplicates))
	for _, d := range dets {
		m.Detections.With(field.SeverityName(d.Severity)).Inc()
	}
}

type countingReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.fn(c.n)
	return n, err
}
