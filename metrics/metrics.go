// Package metrics is a small Prometheus instrumentation library: counters,
// counters with one label, histograms with fixed buckets and gauges read
// from a function, all safe for concurrent use, rendered in the Prometheus
// text exposition format 0.0.4. It has no dependency beyond the standard
// library.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ContentType is the media type of the text exposition format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Counter is a count that only goes up.
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// CounterVec is a family of counters told apart by the value of one label.
type CounterVec struct {
	mu sync.RWMutex
	m  map[string]*Counter
}

// With returns the counter of a label value, creating it at zero.
func (v *CounterVec) With(value string) *Counter {
	v.mu.RLock()
	c := v.m[value]
	v.mu.RUnlock()
	if c != nil {
		return c
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if c = v.m[value]; c == nil {
		c = &Counter{}
		v.m[value] = c
	}
	return c
}

// Value returns the count of a label value (0 when never counted).
func (v *CounterVec) Value(value string) uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if c := v.m[value]; c != nil {
		return c.Value()
	}
	return 0
}

// snapshot returns the label values, sorted, and their counts.
func (v *CounterVec) snapshot() ([]string, []uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	keys := make([]string, 0, len(v.m))
	for k := range v.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]uint64, len(keys))
	for i, k := range keys {
		vals[i] = v.m[k].Value()
	}
	return keys, vals
}

// Histogram counts observations into fixed buckets and keeps their sum.
type Histogram struct {
	upper  []float64       // bucket upper bounds, ascending, without +Inf
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Uint64   // float64 bits
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	i := sort.SearchFloat64s(h.upper, v) // first bound >= v; len(upper) is +Inf
	h.counts[i].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Sum returns the sum of the observations.
func (h *Histogram) Sum() float64 { return math.Float64frombits(h.sum.Load()) }

// kind is a metric's TYPE.
type kind string

const (
	kindCounter   kind = "counter"
	kindGauge     kind = "gauge"
	kindHistogram kind = "histogram"
)

// metric is one registered family.
type metric struct {
	name, help string
	kind       kind
	label      string // the CounterVec's label name
	counter    *Counter
	vec        *CounterVec
	hist       *Histogram
	gauge      func() float64
}

// Registry holds metrics and renders them, in registration order. Its
// ServeHTTP answers a Prometheus scrape.
type Registry struct {
	mu      sync.Mutex
	metrics []*metric
	names   map[string]bool
}

var _ http.Handler = (*Registry)(nil)

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{names: map[string]bool{}} }

var nameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
var labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// add registers m; a bad or repeated name is a wiring mistake and panics.
func (r *Registry) add(m *metric) {
	if !nameRE.MatchString(m.name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", m.name))
	}
	if m.label != "" && (!labelRE.MatchString(m.label) || strings.HasPrefix(m.label, "__") || m.label == "le") {
		panic(fmt.Sprintf("metrics: invalid label name %q", m.label))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names[m.name] {
		panic(fmt.Sprintf("metrics: %s registered twice", m.name))
	}
	r.names[m.name] = true
	r.metrics = append(r.metrics, m)
}

// Counter registers and returns a counter.
func (r *Registry) Counter(name, help string) *Counter {
	c := &Counter{}
	r.add(&metric{name: name, help: help, kind: kindCounter, counter: c})
	return c
}

// CounterVec registers and returns a family of counters labelled label.
func (r *Registry) CounterVec(name, help, label string) *CounterVec {
	v := &CounterVec{m: map[string]*Counter{}}
	r.add(&metric{name: name, help: help, kind: kindCounter, label: label, vec: v})
	return v
}

// Histogram registers and returns a histogram with the given bucket upper
// bounds (ascending, finite; +Inf is added).
func (r *Registry) Histogram(name, help string, buckets []float64) *Histogram {
	for i, b := range buckets {
		if math.IsNaN(b) || math.IsInf(b, 0) || (i > 0 && b <= buckets[i-1]) {
			panic(fmt.Sprintf("metrics: %s: buckets must be finite and ascending", name))
		}
	}
	h := &Histogram{upper: append([]float64(nil), buckets...), counts: make([]atomic.Uint64, len(buckets)+1)}
	r.add(&metric{name: name, help: help, kind: kindHistogram, hist: h})
	return h
}

// GaugeFunc registers a gauge whose value fn returns at each scrape.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.add(&metric{name: name, help: help, kind: kindGauge, gauge: fn})
}

// WriteTo renders every metric in the text exposition format 0.0.4.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	ms := append([]*metric(nil), r.metrics...)
	r.mu.Unlock()
	cw := &countWriter{w: w}
	b := bufio.NewWriter(cw)
	for _, m := range ms {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", m.name, escapeHelp(m.help), m.name, m.kind)
		switch {
		case m.counter != nil:
			fmt.Fprintf(b, "%s %d\n", m.name, m.counter.Value())
		case m.vec != nil:
			keys, vals := m.vec.snapshot()
			for i, k := range keys {
				fmt.Fprintf(b, "%s{%s=\"%s\"} %d\n", m.name, m.label, escapeLabel(k), vals[i])
			}
		case m.gauge != nil:
			fmt.Fprintf(b, "%s %s\n", m.name, formatFloat(m.gauge()))
		case m.hist != nil:
			writeHistogram(b, m.name, m.hist)
		}
	}
	err := b.Flush()
	return cw.n, err
}

// writeHistogram writes cumulative buckets, then _sum and _count; _count
// is the +Inf bucket, so the two agree even while observations arrive.
func writeHistogram(w io.Writer, name string, h *Histogram) {
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		le := "+Inf"
		if i < len(h.upper) {
			le = formatFloat(h.upper[i])
		}
		fmt.Fprintf(w, "%s_bucket{le=\"%s\"} %d\n", name, le, cum)
	}
	fmt.Fprintf(w, "%s_sum %s\n%s_count %d\n", name, formatFloat(h.Sum()), name, cum)
}

// ServeHTTP answers a scrape with every metric.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(http.StatusOK)
	r.WriteTo(w) // an error here means the scraper is gone
}

// formatFloat renders a sample value as Prometheus parses it.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// escapeHelp escapes a HELP text: backslash and line feed.
var escapeHelp = strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace

// escapeLabel escapes a label value: backslash, double quote and line
// feed.
var escapeLabel = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
