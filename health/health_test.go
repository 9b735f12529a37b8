package health_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/health"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/metrics"
)

// A Monitor sees every ingested event as a detector.
var _ ingest.Detector = (*health.Monitor)(nil)

// clock is a controlled clock, safe for concurrent reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newMonitor(t *testing.T, opts health.Options) (*health.Monitor, *clock) {
	t.Helper()
	c := &clock{t: t0}
	opts.Clock = c.now
	return health.New(opts), c
}

func trail(account string, at time.Time) *cairn.Event {
	return &cairn.Event{ID: "ct-" + at.String(), Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Time: at,
		Cloud: &cairn.CloudCall{EventName: "AssumeRole", RecipientAccount: account}}
}

func exec(host string, at time.Time) *cairn.Event {
	return &cairn.Event{ID: "tg-" + at.String(), Source: cairn.SourceTetragon, Kind: cairn.KindExec, Time: at, Host: host}
}

func mustStream(t *testing.T, m *health.Monitor, source cairn.Source, origin string) health.Stream {
	t.Helper()
	for _, s := range m.Streams() {
		if s.Source == source && s.Origin == origin {
			return s
		}
	}
	t.Fatalf("no stream %s/%s in %+v", source, origin, m.Streams())
	return health.Stream{}
}

func TestFlowingIsNotSilent(t *testing.T) {
	m, c := newMonitor(t, health.Options{})
	for range 60 {
		m.Observe(trail("111122223333", c.now().Add(-4*time.Minute)))
		m.Observe(exec("node-1", c.now()))
		c.advance(time.Minute)
	}
	if ds := m.Check(); len(ds) != 0 {
		t.Fatalf("Check on flowing streams = %+v, want none", ds)
	}
	ss := m.Streams()
	if len(ss) != 2 || ss[0].Source != cairn.SourceCloudTrail || ss[0].Origin != "111122223333" ||
		ss[1].Source != cairn.SourceTetragon || ss[1].Origin != "node-1" {
		t.Fatalf("streams = %+v", ss)
	}
	for _, s := range ss {
		if s.Silent || s.SilentFor != time.Minute || s.Count != 60 {
			t.Errorf("%s: silent %v for %s, count %d; want not silent, 1m, 60", s.Source, s.Silent, s.SilentFor, s.Count)
		}
	}
	if ss[0].Expected != 30*time.Minute || ss[1].Expected != 5*time.Minute {
		t.Errorf("expected intervals %s, %s; want 30m, 5m", ss[0].Expected, ss[1].Expected)
	}
}

func TestTrailSilent(t *testing.T) {
	m, c := newMonitor(t, health.Options{})
	m.Observe(trail("111122223333", t0.Add(-5*time.Minute)))
	lastRecord := c.now()
	c.advance(30 * time.Minute)
	if ds := m.Check(); len(ds) != 0 {
		t.Fatalf("Check at exactly 30m = %+v, want none", ds)
	}
	c.advance(time.Minute)
	ds := m.Check()
	if len(ds) != 1 {
		t.Fatalf("Check after 31m = %d detections, want 1", len(ds))
	}
	d := ds[0]
	if d.Rule != "Audit Trail Went Silent" || d.Source != "cairn/health" || d.Priority != "high" || d.Severity != 3 {
		t.Errorf("rule %q source %q priority %q severity %d", d.Rule, d.Source, d.Priority, d.Severity)
	}
	if !slices.Equal(d.Techniques, []string{"T1562.008"}) || !slices.Equal(d.Tactics, []string{"TA0005"}) ||
		!slices.Contains(d.Tags, "T1562.008") || !slices.Contains(d.Tags, "mitre_defense_evasion") {
		t.Errorf("tags %v techniques %v tactics %v", d.Tags, d.Techniques, d.Tactics)
	}
	if !d.Time.Equal(c.now()) || d.EventIDs == nil || len(d.EventIDs) != 0 || d.Count != 1 {
		t.Errorf("time %s event ids %#v count %d; want the check time, empty, 1", d.Time, d.EventIDs, d.Count)
	}
	for _, want := range []string{"CloudTrail", `"111122223333"`, "31m0s", lastRecord.Format(time.RFC3339)} {
		if !strings.Contains(d.Output, want) {
			t.Errorf("output %q lacks %q", d.Output, want)
		}
	}
	if s := mustStream(t, m, cairn.SourceCloudTrail, "111122223333"); !s.Silent || s.SilentFor != 31*time.Minute {
		t.Errorf("stream silent %v for %s, want true for 31m", s.Silent, s.SilentFor)
	}

	// Checking again during the same silence names the same episode.
	c.advance(10 * time.Minute)
	again := m.Check()
	if len(again) != 1 || again[0].ID != d.ID {
		t.Fatalf("second Check = %+v, want the same id %s", again, d.ID)
	}
	if !strings.Contains(again[0].Output, "41m0s") {
		t.Errorf("second output %q lacks 41m0s", again[0].Output)
	}

	// Records resume: the episode ends.
	m.Observe(trail("111122223333", c.now()))
	if ds := m.Check(); len(ds) != 0 {
		t.Fatalf("Check after records resumed = %+v, want none", ds)
	}
	// And stop again: a new episode, a new id.
	c.advance(45 * time.Minute)
	next := m.Check()
	if len(next) != 1 || next[0].ID == d.ID || next[0].Rule != d.Rule {
		t.Fatalf("Check after a second silence = %+v, want one new episode (not %s)", next, d.ID)
	}
}

func TestRuntimeSilent(t *testing.T) {
	m, c := newMonitor(t, health.Options{Expected: map[string]time.Duration{"tetragon/node-2": 20 * time.Minute, "falco": 0}})
	m.Observe(exec("node-1", t0))
	m.Observe(exec("node-2", t0))
	m.Observe(&cairn.Event{Source: cairn.SourceFalco, Host: "node-1", Time: t0})
	m.Observe(&cairn.Event{Source: cairn.SourceNative, Host: "node-1", Time: t0})
	c.advance(6 * time.Minute)
	ds := m.Check()
	// node-2 has a longer expectation; falco's check is off; native has
	// none.
	if len(ds) != 1 {
		t.Fatalf("Check = %+v, want only tetragon on node-1", ds)
	}
	d := ds[0]
	if d.Rule != "Source Went Silent" || d.Priority != "medium" || d.Severity != 2 || d.Entities.Host != "node-1" ||
		!slices.Equal(d.Techniques, []string{"T1562"}) || !slices.Equal(d.Tactics, []string{"TA0005"}) {
		t.Errorf("detection %+v", d)
	}
	if !strings.Contains(d.Output, "tetragon") || !strings.Contains(d.Output, `"node-1"`) {
		t.Errorf("output %q names neither the source nor the host", d.Output)
	}
	c.advance(15 * time.Minute)
	if ds := m.Check(); len(ds) != 2 || ds[0].Entities.Host != "node-1" || ds[1].Entities.Host != "node-2" || ds[0].ID != d.ID {
		t.Fatalf("Check after 21m = %+v, want node-1 (same id) and node-2", ds)
	}
}

func TestSameSilenceStartDifferentStreams(t *testing.T) {
	m, c := newMonitor(t, health.Options{})
	m.Observe(exec("a", t0))
	m.Observe(exec("b", t0))
	m.Observe(trail("a", t0))
	c.advance(time.Hour)
	ds := m.Check()
	if len(ds) != 3 {
		t.Fatalf("got %d detections, want 3", len(ds))
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.ID] {
			t.Errorf("id %s repeated across streams", d.ID)
		}
		seen[d.ID] = true
	}
}

func TestRateAndLag(t *testing.T) {
	m, c := newMonitor(t, health.Options{})
	// 12 records a minute (one every 5s) for 10 minutes, each 90s old
	// when it arrives.
	for range 120 {
		m.Observe(trail("111122223333", c.now().Add(-90*time.Second)))
		c.advance(5 * time.Second)
	}
	s := mustStream(t, m, cairn.SourceCloudTrail, "111122223333")
	if s.Lag != 90*time.Second {
		t.Errorf("lag %s, want 1m30s", s.Lag)
	}
	if s.PerMinute < 11.5 || s.PerMinute > 12.5 {
		t.Errorf("per minute %.2f, want about 12", s.PerMinute)
	}
	if !s.LastEventTime.Equal(c.now().Add(-5*time.Second - 90*time.Second)) {
		t.Errorf("last event time %s", s.LastEventTime)
	}
	if !s.First.Equal(t0) || !s.Last.Equal(c.now().Add(-5*time.Second)) || s.Count != 120 {
		t.Errorf("first %s last %s count %d", s.First, s.Last, s.Count)
	}

	// The window slides: after 3 quiet minutes only the last 2 of the
	// 5 minutes hold records.
	c.advance(3 * time.Minute)
	s = mustStream(t, m, cairn.SourceCloudTrail, "111122223333")
	if s.PerMinute < 4.3 || s.PerMinute > 5.3 {
		t.Errorf("per minute after 3 quiet minutes %.2f, want about 4.8", s.PerMinute)
	}
	c.advance(5 * time.Minute)
	if s = mustStream(t, m, cairn.SourceCloudTrail, "111122223333"); s.PerMinute != 0 {
		t.Errorf("per minute after 8 quiet minutes %.2f, want 0", s.PerMinute)
	}

	// A new stream's rate is over its life, not diluted by the window.
	m2, c2 := newMonitor(t, health.Options{})
	for range 20 {
		m2.Observe(exec("n", c2.now()))
		c2.advance(6 * time.Second)
	}
	if s := mustStream(t, m2, cairn.SourceTetragon, "n"); s.PerMinute != 10 {
		t.Errorf("new stream per minute %.2f, want 10", s.PerMinute)
	}
}

func TestErrors(t *testing.T) {
	m, c := newMonitor(t, health.Options{})
	r := metrics.NewRegistry()
	m.Register(r)
	m.ObserveError("cloudtrail", "111122223333")
	m.ObserveError("cloudtrail", "111122223333")
	s := mustStream(t, m, cairn.SourceCloudTrail, "111122223333")
	if s.Errors != 2 || s.Count != 0 || !s.Last.IsZero() || s.Silent {
		t.Errorf("stream %+v, want 2 errors, no records, not yet silent", s)
	}
	// Errors are no records: the stream falls silent all the same.
	c.advance(31 * time.Minute)
	ds := m.Check()
	if len(ds) != 1 || !strings.Contains(ds[0].Output, "2 errors") || !strings.Contains(ds[0].Output, "never") {
		t.Fatalf("Check = %+v, want one silence naming 2 errors and no record", ds)
	}
	m.Observe(exec("node-1", c.now()))
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`cairn_source_errors_total{source="cloudtrail"} 2`,
		"cairn_source_streams 2\n",
		"cairn_source_silent_streams 1\n",
		"cairn_source_max_silence_seconds 1860\n",
		"cairn_source_streams_dropped 0\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
}

func TestMaxStreams(t *testing.T) {
	m, c := newMonitor(t, health.Options{MaxStreams: 2})
	for i := range 5 {
		m.Observe(exec(fmt.Sprintf("node-%d", i), c.now()))
	}
	m.Observe(exec("node-0", c.now()))
	ss := m.Streams()
	if len(ss) != 2 || ss[0].Origin != "node-0" || ss[0].Count != 2 || ss[1].Origin != "node-1" {
		t.Fatalf("streams %+v, want node-0 (2 records) and node-1", ss)
	}
	m.Forget("tetragon", "node-1")
	m.Observe(exec("node-9", c.now()))
	if ss := m.Streams(); len(ss) != 2 || ss[1].Origin != "node-9" {
		t.Fatalf("after Forget streams %+v, want node-0 and node-9", ss)
	}
}

func TestConcurrentObserve(t *testing.T) {
	m, c := newMonitor(t, health.Options{})
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m.Observe(exec(fmt.Sprintf("node-%d", w%3), c.now()))
				if i%50 == 0 {
					c.advance(time.Second)
					m.Check()
					m.Streams()
					m.ObserveError("tetragon", "node-0")
				}
			}
		})
	}
	wg.Wait()
	var total, errs int64
	for _, s := range m.Streams() {
		total += s.Count
		errs += s.Errors
	}
	if total != workers*each || errs != workers*each/50 {
		t.Fatalf("counted %d records and %d errors, want %d and %d", total, errs, workers*each, workers*each/50)
	}
}
