package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/proctree"
	"github.com/cairn-cdr/cairn/rulepack"
	"github.com/cairn-cdr/cairn/sqlite"
)

const sensitiveRule = "Read Sensitive File by Command"

// liveExec is a Tetragon exec of binary with args, its own process (exec
// id and pid from i) under one shell.
func liveExec(tb testing.TB, i int, binary, args string) cairn.Event {
	tb.Helper()
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	line := fmt.Sprintf(`{"process_exec":{"process":{"exec_id":"live-%d","pid":%d,"uid":0,"cwd":"/","binary":%q,"arguments":%q,"flags":"execve","start_time":%q,"auid":4294967295,"parent_exec_id":"live-shell"}},"node_name":"node-a","time":%q}`,
		i, 1000+i, binary, args, at.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
	var c collect
	if err := decode.Decode(context.Background(), strings.NewReader(line), "live", decode.Tetragon, &c); err != nil || len(c.events) != 1 {
		tb.Fatalf("decode %s: %d events, %v", line, len(c.events), err)
	}
	return c.events[0]
}

type collect struct{ events []cairn.Event }

func (c *collect) Event(ev cairn.Event) error { c.events = append(c.events, ev); return nil }
func (c *collect) Reject(dl cairn.DeadLetter) error {
	return fmt.Errorf("rejected: %s", dl.Reason)
}

func packEngine(tb testing.TB) *falco.Engine {
	tb.Helper()
	rs, err := falco.Load(rulepack.Files()...)
	if err != nil {
		tb.Fatal(err)
	}
	return falco.NewEngine(rs.Rules)
}

// detectionID is the id the engine gives the detection of rule on ev.
func detectionID(tb testing.TB, e *falco.Engine, rule string, ev *cairn.Event) string {
	tb.Helper()
	r := e.Rule(rule)
	if r == nil {
		tb.Fatalf("no rule %q in the pack", rule)
	}
	return falco.Match{Rule: r}.Detection(ev).ID
}

// liveOptions are cairn ingest's: process table, cairn's rules, metrics
// off.
func liveOptions(st *sqlite.Store, e *falco.Engine) ingest.Options {
	return ingest.Options{Store: st, Tree: ingest.NewTree(context.Background(), st), Rules: e}
}

// visible polls until the event and the detection are readable in st, and
// returns how long that took, or fails after limit.
func visible(tb testing.TB, st *sqlite.Store, evID, detID string, limit time.Duration) time.Duration {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	for {
		_, evErr := st.GetEvent(ctx, evID)
		d, detErr := st.GetDetection(ctx, detID)
		if evErr == nil && detErr == nil {
			if d.Rule != sensitiveRule || !slices.Contains(d.EventIDs, evID) {
				tb.Fatalf("detection %s: rule %q, events %v", detID, d.Rule, d.EventIDs)
			}
			return time.Since(start)
		}
		if time.Since(start) > limit {
			tb.Fatalf("not readable after %v: event %v, detection %v", limit, evErr, detErr)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// An event is stored, and its detection readable, within a second of
// Add, without Close: the batch is written when its oldest event has
// waited maxDelay, not when BatchSize events have come.
func TestLiveVisibleWithoutClose(t *testing.T) {
	st, e := mustStore(t), packEngine(t)
	var notified atomic.Int64
	opts := liveOptions(st, e)
	opts.OnDetections = func(ds []cairn.Detection) { notified.Add(int64(len(ds))) }
	l, err := ingest.NewLive(context.Background(), opts, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	quiet := liveExec(t, 1, "/bin/ls", "-l /tmp")
	shadow := liveExec(t, 2, "/bin/cat", "/etc/shadow")
	for _, ev := range []cairn.Event{quiet, shadow} {
		if err := l.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	took := visible(t, st, shadow.ID, detectionID(t, e, sensitiveRule, &shadow), time.Second)
	t.Logf("readable after %v", took)
	if _, err := st.GetEvent(context.Background(), quiet.ID); err != nil {
		t.Errorf("the event without a detection: %v", err)
	}
	// The process table ran: the process node is stored.
	if n, err := st.Process(context.Background(), proctree.Key(shadow.Process, shadow.Host)); err != nil || n.Key == "" {
		t.Errorf("process of the event not stored: %+v, %v", n, err)
	}
	s := l.Stats()
	if s.Added != 2 || s.Pending != 0 || s.Written < 1 {
		t.Errorf("stats = %+v, want 2 added, none pending, a batch written", s)
	}
	if notified.Load() != 1 {
		t.Errorf("OnDetections saw %d detections, want 1", notified.Load())
	}
	rep, err := l.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 2 || rep.Detections != 1 {
		t.Errorf("report = %+v, want 2 accepted and 1 detection", rep)
	}
	if err := l.Add(quiet); err == nil {
		t.Error("Add after Close accepted")
	}
}

// 10,000 events added in a burst from several goroutines are all stored
// by Close, with one detection per sensitive command.
func TestLiveBurst(t *testing.T) {
	st, e := mustStore(t), packEngine(t)
	const n, adders = 10000, 4
	events := make([]cairn.Event, n)
	wantDets := 0
	for i := range events {
		if i%100 == 7 {
			events[i] = liveExec(t, i, "/bin/cat", fmt.Sprintf("/etc/shadow /tmp/%d", i))
			wantDets++
		} else {
			events[i] = liveExec(t, i, "/bin/ls", fmt.Sprintf("/tmp/%d", i))
		}
	}
	l, err := ingest.NewLive(context.Background(), liveOptions(st, e), 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, adders)
	for a := range adders {
		wg.Go(func() {
			for i := a; i < n; i += adders {
				if err := l.Add(events[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, err := l.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != n || rep.Duplicates != 0 || rep.Detections != wantDets || rep.BySource[string(cairn.SourceTetragon)] != n {
		t.Fatalf("report = %+v, want %d accepted, %d detections", rep, n, wantDets)
	}
	stats, err := st.Stats(context.Background())
	if err != nil || stats.Events != n {
		t.Fatalf("stored %d events, %v; want %d", stats.Events, err, n)
	}
	page, err := st.QueryDetections(context.Background(), cairn.DetectionQuery{Limit: 1000})
	if err != nil || len(page.Detections) != wantDets {
		t.Fatalf("stored %d detections, %v; want %d", len(page.Detections), err, wantDets)
	}
	s := l.Stats()
	if s.Added != n || s.Pending != 0 || s.Written < n/1000 {
		t.Errorf("stats = %+v, want %d added, none pending, at least %d batches", s, n, n/1000)
	}
}

// Events from one goroutine are evaluated in Add order: the detector
// sees them as they were added.
func TestLiveOrder(t *testing.T) {
	st := mustStore(t)
	var seen []string
	det := detectorFunc(func(ev *cairn.Event) []cairn.Detection {
		seen = append(seen, ev.ID)
		return nil
	})
	l, err := ingest.NewLive(context.Background(), ingest.Options{Store: st, BatchSize: 7, Detectors: []ingest.Detector{det}}, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 200 {
		ev := liveExec(t, i, "/bin/ls", "-l")
		want = append(want, ev.ID)
		if err := l.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("detector saw %d events out of Add order", len(seen))
	}
}

type detectorFunc func(ev *cairn.Event) []cairn.Detection

func (f detectorFunc) Detect(ev *cairn.Event) []cairn.Detection { return f(ev) }

// Add after ctx is cancelled returns ctx's error at once, even when it
// would otherwise block on a store that is behind.
func TestLiveCancel(t *testing.T) {
	st := &slowStore{Store: mustStore(t), delay: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	l, err := ingest.NewLive(ctx, ingest.Options{Store: st, BatchSize: 1}, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the pipeline so that the next Add blocks.
	events := make([]cairn.Event, 100)
	for i := range events {
		events[i] = liveExec(t, i, "/bin/ls", "-l")
	}
	blocked := make(chan error, 1)
	go func() {
		for _, ev := range events {
			if err := l.Add(ev); err != nil {
				blocked <- err
				return
			}
		}
		blocked <- nil
	}()
	time.Sleep(50 * time.Millisecond)
	if s := l.Stats(); s.Added >= int64(len(events)) || s.Added < s.Bound {
		t.Fatalf("stats = %+v: Add should block with the pipeline full", s)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-blocked:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("blocked Add returned %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("blocked Add did not return after cancel")
	}
	if err := l.Add(liveExec(t, 99999, "/bin/ls", "-l")); !errors.Is(err, context.Canceled) {
		t.Errorf("Add after cancel = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("Add took %v to return after cancel", took)
	}
	if _, err := l.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close after cancel = %v, want context.Canceled", err)
	}
}

// slowStore is a store that takes delay to write each batch of events.
type slowStore struct {
	*sqlite.Store
	delay  time.Duration
	writes atomic.Int64
}

func (s *slowStore) WriteEvents(ctx context.Context, evs []cairn.Event) (cairn.WriteResult, error) {
	s.writes.Add(1)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return cairn.WriteResult{}, ctx.Err()
	}
	return s.Store.WriteEvents(ctx, evs)
}

// A store that is behind makes Add block: the events waiting in memory
// never exceed the bound, and adding takes as long as the store needs.
func TestLiveBackPressure(t *testing.T) {
	st := &slowStore{Store: mustStore(t), delay: 20 * time.Millisecond}
	const n, batch = 400, 10
	l, err := ingest.NewLive(context.Background(), ingest.Options{Store: st, BatchSize: batch}, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	bound := l.Stats().Bound
	if bound <= 0 || bound >= n/2 {
		t.Fatalf("bound = %d, want between 0 and %d for the test to mean something", bound, n/2)
	}
	events := make([]cairn.Event, n)
	for i := range events {
		events[i] = liveExec(t, i, "/bin/ls", fmt.Sprint(i))
	}
	stop := make(chan struct{})
	var peak atomic.Int64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			if p := l.Stats().Pending; p > peak.Load() {
				peak.Store(p)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	})
	start := time.Now()
	for _, ev := range events {
		if err := l.Add(ev); err != nil {
			t.Fatal(err)
		}
		if p := l.Stats().Pending; p > bound {
			t.Fatalf("pending %d > bound %d", p, bound)
		}
	}
	adding := time.Since(start)
	close(stop)
	sampler.Wait()
	// Add could only return once all but bound events were written, in
	// batches of at most batch events of 20 ms each.
	minimum := time.Duration((n-int(bound))/batch) * st.delay
	if adding < minimum*9/10 {
		t.Errorf("adding %d events took %v; a store this slow needs at least %v, so Add did not block", n, adding, minimum)
	}
	if p := peak.Load(); p > bound || p < bound/2 {
		t.Errorf("peak pending = %d, want up to the bound %d and near it", p, bound)
	}
	rep, err := l.Close()
	if err != nil || rep.Accepted != n {
		t.Fatalf("stored %d of %d, %v", rep.Accepted, n, err)
	}
	t.Logf("adding took %v (minimum %v), peak pending %d of %d, %d writes", adding, minimum, peak.Load(), bound, st.writes.Load())
}

// BenchmarkLiveLatency measures, with cairn's rules and the process
// table on a SQLite file, the time from Add to the detection being
// readable in the store, one event at a time as a quiet host emits them,
// with the default maxDelay and a short one.
func BenchmarkLiveLatency(b *testing.B) {
	for _, c := range []struct {
		name     string
		maxDelay time.Duration
	}{{"maxDelay=default", 0}, {"maxDelay=20ms", 20 * time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			e := packEngine(b)
			l, err := ingest.NewLive(context.Background(), liveOptions(st, e), c.maxDelay)
			if err != nil {
				b.Fatal(err)
			}
			events := make([]cairn.Event, b.N)
			ids := make([]string, b.N)
			for i := range events {
				events[i] = liveExec(b, i, "/bin/cat", fmt.Sprintf("/etc/shadow /tmp/%d", i))
				ids[i] = detectionID(b, e, sensitiveRule, &events[i])
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if err := l.Add(events[i]); err != nil {
					b.Fatal(err)
				}
				visible(b, st, events[i].ID, ids[i], 5*time.Second)
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			if _, err := l.Close(); err != nil {
				b.Fatal(err)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
