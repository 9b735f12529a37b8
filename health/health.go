// Package health watches the sources cairn ingests and reports the ones
// that went quiet. A detection platform is blind exactly where its
// telemetry stops, and stopping telemetry is what an intruder does first
// (ATT&CK T1562, Impair Defenses): a CloudTrail trail that delivers no
// record for half an hour, or a node whose Tetragon stopped sending, is a
// finding in its own right.
//
// A Monitor sees every event (Observe), keeps a little state per stream
// (a source and the host or account it comes from), and on each Check
// returns one detection per stream silent beyond its expected interval.
package health

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/metrics"
)

// Rule names and the detection source of the detections Check raises.
const (
	RuleSourceSilent = "Source Went Silent"
	RuleTrailSilent  = "Audit Trail Went Silent"
	DetectionSource  = "cairn/health"
)

// Window is the span PerMinute averages over.
const Window = 5 * time.Minute

// DefaultMaxStreams bounds the streams a Monitor tracks when Options does
// not: host names come from events, so a flood of invented ones must not
// grow memory without end.
const DefaultMaxStreams = 10000

// DefaultExpected is how long each source may stay quiet before Check
// calls it silent. CloudTrail delivers a file about every 5 minutes and
// may lag up to 15, so 30 minutes without a record is not delivery jitter;
// the runtime sources send continuously from a live node; the host sensor
// is in-process and should never pause for long.
var DefaultExpected = map[string]time.Duration{
	string(cairn.SourceTetragon):   5 * time.Minute,
	string(cairn.SourceFalco):      5 * time.Minute,
	string(cairn.SourceCloudTrail): 30 * time.Minute,
	string(cairn.SourceSensor):     2 * time.Minute,
}

// Options configures a Monitor.
type Options struct {
	// Clock returns the arrival time of what is observed and the time of
	// a check; nil means time.Now.
	Clock func() time.Time
	// Expected overrides DefaultExpected. A key is a source name
	// ("cloudtrail") or a source and origin ("tetragon/node-7",
	// "cloudtrail/123456789012"); the more specific key wins. A value of
	// zero or less turns the check off for that key. A source with no
	// expectation at all (native) is tracked but never called silent.
	Expected map[string]time.Duration
	// MaxStreams bounds the streams tracked; 0 means DefaultMaxStreams.
	// Records of new streams beyond it are counted as dropped, not
	// tracked.
	MaxStreams int
}

// Stream is a snapshot of one stream, for the UI and the API.
type Stream struct {
	Source cairn.Source `json:"source"`
	// Origin is the host (runtime sources) or the AWS account
	// (CloudTrail) the records come from; empty when they name none.
	Origin string `json:"origin"`
	// First and Last are when the first and latest records arrived, by
	// the Monitor's clock; zero when only errors were seen.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
	// LastEventTime is the event time of the latest record to arrive.
	LastEventTime time.Time `json:"last_event_time,omitzero"`
	Count         int64     `json:"count"`
	// PerMinute is the records per minute over the last Window (or since
	// the first record, when that is shorter).
	PerMinute float64 `json:"per_minute"`
	// Lag is the latest record's arrival time less its event time:
	// CloudTrail's delivery delay, a runtime source's queueing.
	Lag    time.Duration `json:"lag"`
	Errors int64         `json:"errors"`
	// Expected is how long the stream may stay quiet; 0 when it is not
	// checked.
	Expected time.Duration `json:"expected"`
	// Silent is true when nothing arrived for longer than Expected;
	// SilentFor is how long nothing has arrived.
	Silent    bool          `json:"silent"`
	SilentFor time.Duration `json:"silent_for"`
}

// bucketWidth and buckets make the sliding window of PerMinute.
const (
	bucketWidth = 10 * time.Second
	buckets     = int(Window / bucketWidth)
)

type key struct {
	source cairn.Source
	origin string
}

// stream is the state of one stream; mu guards it, so that Observes of
// different streams do not contend.
type stream struct {
	mu       sync.Mutex
	created  time.Time
	first    time.Time
	last     time.Time
	lastEv   time.Time
	count    int64
	errors   int64
	expected time.Duration
	// slot[i] counts the records of the bucket that starts at
	// start[i] (Unix time / bucketWidth).
	slot  [buckets]int64
	start [buckets]int64
}

// Monitor tracks streams. It is safe for concurrent use.
type Monitor struct {
	clock    func() time.Time
	expected map[string]time.Duration
	max      int

	mu      sync.RWMutex
	streams map[key]*stream

	dropped atomic.Int64
	errVec  atomic.Pointer[metrics.CounterVec]
}

// New returns a Monitor.
func New(opts Options) *Monitor {
	m := &Monitor{clock: opts.Clock, max: opts.MaxStreams, streams: map[key]*stream{}, expected: map[string]time.Duration{}}
	if m.clock == nil {
		m.clock = time.Now
	}
	if m.max <= 0 {
		m.max = DefaultMaxStreams
	}
	for k, v := range DefaultExpected {
		m.expected[k] = v
	}
	for k, v := range opts.Expected {
		m.expected[k] = v
	}
	return m
}

// Origin returns the origin of an event's stream: the AWS account of a
// CloudTrail record (the account it was delivered for), else the host.
func Origin(ev *cairn.Event) string {
	if c := ev.Cloud; c != nil {
		if c.RecipientAccount != "" {
			return c.RecipientAccount
		}
		return c.Identity.AccountID
	}
	return ev.Host
}

// Observe records the arrival of ev. It is called for every event and
// takes two uncontended locks.
func (m *Monitor) Observe(ev *cairn.Event) {
	now := m.clock()
	s := m.stream(key{ev.Source, Origin(ev)}, now)
	if s == nil {
		return
	}
	b := now.UnixNano() / int64(bucketWidth)
	i := int(b % int64(buckets))
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = now
	}
	// Concurrent Observes read the clock before the lock: keep the
	// latest arrival, not the last to take the lock.
	if !now.Before(s.last) {
		s.last, s.lastEv = now, ev.Time
	}
	s.count++
	if s.start[i] != b {
		s.start[i], s.slot[i] = b, 0
	}
	s.slot[i]++
	s.mu.Unlock()
}

// Detect observes ev and returns nothing, so that a Monitor can be one of
// ingest.Options.Detectors and see every event ingested.
func (m *Monitor) Detect(ev *cairn.Event) []cairn.Detection {
	m.Observe(ev)
	return nil
}

// ObserveError counts an error reading a stream (a delivery that could
// not be fetched or decoded). It does not end a silence: an error is not
// a record.
func (m *Monitor) ObserveError(source, origin string) {
	now := m.clock()
	if s := m.stream(key{cairn.Source(source), origin}, now); s != nil {
		s.mu.Lock()
		s.errors++
		s.mu.Unlock()
	}
	if v := m.errVec.Load(); v != nil {
		v.With(source).Inc()
	}
}

// Forget stops tracking a stream, for a host or account that was retired
// on purpose; its next record starts it anew.
func (m *Monitor) Forget(source, origin string) {
	m.mu.Lock()
	delete(m.streams, key{cairn.Source(source), origin})
	m.mu.Unlock()
}

// stream returns the state of k, creating it; nil when it is new and the
// Monitor is full.
func (m *Monitor) stream(k key, now time.Time) *stream {
	m.mu.RLock()
	s := m.streams[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.streams[k]; s != nil {
		return s
	}
	if len(m.streams) >= m.max {
		m.dropped.Add(1)
		return nil
	}
	s = &stream{created: now, expected: m.expect(k)}
	m.streams[k] = s
	return s
}

// expect returns the expected interval of k, the most specific first.
func (m *Monitor) expect(k key) time.Duration {
	if d, ok := m.expected[string(k.source)+"/"+k.origin]; ok {
		return d
	}
	return m.expected[string(k.source)]
}

// Streams returns a snapshot of every stream, by source then origin.
func (m *Monitor) Streams() []Stream {
	return m.snapshot(m.clock())
}

func (m *Monitor) snapshot(now time.Time) []Stream {
	m.mu.RLock()
	ks := make([]key, 0, len(m.streams))
	ss := make([]*stream, 0, len(m.streams))
	for k, s := range m.streams {
		ks, ss = append(ks, k), append(ss, s)
	}
	m.mu.RUnlock()
	out := make([]Stream, len(ks))
	for i, s := range ss {
		out[i] = s.view(ks[i], now)
	}
	slices.SortFunc(out, func(a, b Stream) int {
		if c := strings.Compare(string(a.Source), string(b.Source)); c != 0 {
			return c
		}
		return strings.Compare(a.Origin, b.Origin)
	})
	return out
}

// view snapshots s at now.
func (s *stream) view(k key, now time.Time) Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := Stream{Source: k.source, Origin: k.origin, First: s.first, Last: s.last, LastEventTime: s.lastEv,
		Count: s.count, Errors: s.errors, Expected: s.expected}
	if !s.last.IsZero() {
		v.Lag = s.last.Sub(s.lastEv)
	}
	// The window is the last Window of buckets, or the time since the
	// first record when shorter, so that a new stream's rate is not
	// diluted by minutes it did not exist; never under a minute, so that
	// a few records do not read as a burst.
	cur := now.UnixNano() / int64(bucketWidth)
	var n int64
	for i := range buckets {
		if s.start[i] > cur-int64(buckets) && s.start[i] <= cur {
			n += s.slot[i]
		}
	}
	span := Window
	if !s.first.IsZero() && now.Sub(s.first) < span {
		span = max(now.Sub(s.first), time.Minute)
	}
	v.PerMinute = float64(n) / span.Minutes()
	since := s.last
	if since.IsZero() {
		since = s.created
	}
	v.SilentFor = max(now.Sub(since), 0)
	v.Silent = s.expected > 0 && v.SilentFor > s.expected
	return v
}

// Check returns one detection for each stream silent beyond its expected
// interval. A detection's id derives from the stream and the time its
// silence began (its last record), so checking again during the same
// silence gives the same id, which a store keeps once; a stream that
// resumes and falls silent again starts a new episode with a new id.
// Every open episode is returned on every Check, so that a write that
// failed is retried by the next; a caller that notifies people should
// remember the ids it has notified.
//
// The detection's Time is the check's; its EventIDs is empty, because a
// silence has no event.
func (m *Monitor) Check() []cairn.Detection {
	now := m.clock()
	var ds []cairn.Detection
	for _, s := range m.snapshot(now) {
		if s.Silent {
			ds = append(ds, detection(s, now))
		}
	}
	return ds
}

// detection describes the silence of s at now.
func detection(s Stream, now time.Time) cairn.Detection {
	since := now.Add(-s.SilentFor)
	rule, prio, tags := RuleSourceSilent, "medium",
		[]string{"cairn", "health", "mitre_defense_evasion", "T1562"}
	what, origin := "source "+string(s.Source), "host"
	ent := cairn.Entities{Host: s.Origin}
	if s.Source == cairn.SourceCloudTrail {
		rule, prio = RuleTrailSilent, "high"
		tags = []string{"cairn", "health", "aws", "mitre_defense_evasion", "T1562.008"}
		what, origin = "CloudTrail", "account"
		// Entities has no account; Identity is an identity's key (an
		// ARN), and the account's root is not who went silent.
		ent = cairn.Entities{}
	}
	last := "never (no record since " + since.UTC().Format(time.RFC3339) + ")"
	if !s.Last.IsZero() {
		last = s.Last.UTC().Format(time.RFC3339)
	}
	output := fmt.Sprintf("%s delivered no record for %s from %s %q (expected one every %s; last record received %s; %d records, %d errors before)",
		what, s.SilentFor.Truncate(time.Second), origin, s.Origin, s.Expected, last, s.Count, s.Errors)
	sev, _ := field.SeverityRank(prio)
	d := cairn.Detection{
		ID: episodeID(s.Source, s.Origin, since), Time: now, LastTime: now,
		Rule: rule, Source: DetectionSource, Priority: prio, Severity: sev,
		Output: output, Tags: tags, EventIDs: []string{}, Entities: ent, Count: 1,
	}
	d.Techniques, d.Tactics = attack.IDs(tags)
	return d
}

// episodeID hashes the stream and the start of its silence, each string
// after its length so that no two streams share an encoding.
func episodeID(source cairn.Source, origin string, since time.Time) string {
	b := binary.AppendUvarint(nil, uint64(len(source)))
	b = append(b, source...)
	b = binary.AppendUvarint(b, uint64(len(origin)))
	b = append(b, origin...)
	b = binary.BigEndian.AppendUint64(b, uint64(since.UnixNano()))
	sum := sha256.Sum256(append([]byte(RuleSourceSilent+"\x00"), b...))
	return "dt-" + hex.EncodeToString(sum[:16])
}

// Register adds the Monitor's metrics to r. The registry has no labelled
// gauges, so the streams are summed: how many, how many silent, the
// longest silence and the largest lag; errors are counted by source.
// Records by source are already counted by ingest
// (cairn_events_ingested_total). Register once per registry.
func (m *Monitor) Register(r *metrics.Registry) {
	m.errVec.Store(r.CounterVec("cairn_source_errors_total", "Errors reading a source, by source.", "source"))
	agg := func(f func([]Stream) float64) func() float64 {
		return func() float64 { return f(m.Streams()) }
	}
	r.GaugeFunc("cairn_source_streams", "Streams (source and host or account) that delivered records or errors.",
		agg(func(ss []Stream) float64 { return float64(len(ss)) }))
	r.GaugeFunc("cairn_source_silent_streams", "Streams silent beyond their expected interval.",
		agg(func(ss []Stream) float64 {
			n := 0
			for _, s := range ss {
				if s.Silent {
					n++
				}
			}
			return float64(n)
		}))
	r.GaugeFunc("cairn_source_max_silence_seconds", "Longest time any checked stream has gone without a record.",
		agg(func(ss []Stream) float64 {
			var d time.Duration
			for _, s := range ss {
				if s.Expected > 0 {
					d = max(d, s.SilentFor)
				}
			}
			return d.Seconds()
		}))
	r.GaugeFunc("cairn_source_max_lag_seconds", "Largest delay between a stream's latest event time and its arrival.",
		agg(func(ss []Stream) float64 {
			var d time.Duration
			for _, s := range ss {
				d = max(d, s.Lag)
			}
			return d.Seconds()
		}))
	r.GaugeFunc("cairn_source_streams_dropped", "Records of new streams not tracked because the stream limit was reached.",
		func() float64 { return float64(m.dropped.Load()) })
}
