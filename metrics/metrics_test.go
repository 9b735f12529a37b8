package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The exposition is exactly the text format 0.0.4: HELP and TYPE lines,
// label values escaped (backslash, quote, line feed), label values
// sorted, cumulative histogram buckets ending at +Inf.
func TestExpositionGolden(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("t_plain_total", "A counter.\nSecond line with a \\ backslash.")
	v := r.CounterVec("t_by_source_total", "Counted by source.", "source")
	h := r.Histogram("t_seconds", "A histogram.", []float64{0.001, 0.5, 2})
	r.GaugeFunc("t_gauge", "A gauge.", func() float64 { return 1.5e9 })
	c.Add(3)
	v.With("tetragon").Inc()
	v.With(`say "hi"`).Add(2)
	v.With(`C:\path` + "\nnext").Inc()
	v.With("").Inc()
	for _, x := range []float64{0.0005, 0.001, 0.25, 1, 7} {
		h.Observe(x)
	}
	const want = `# HELP t_plain_total A counter.\nSecond line with a \\ backslash.
# TYPE t_plain_total counter
t_plain_total 3
# HELP t_by_source_total Counted by source.
# TYPE t_by_source_total counter
t_by_source_total{source=""} 1
t_by_source_total{source="C:\\path\nnext"} 1
t_by_source_total{source="say \"hi\""} 2
t_by_source_total{source="tetragon"} 1
# HELP t_seconds A histogram.
# TYPE t_seconds histogram
t_seconds_bucket{le="0.001"} 2
t_seconds_bucket{le="0.5"} 3
t_seconds_bucket{le="2"} 4
t_seconds_bucket{le="+Inf"} 5
t_seconds_sum 8.2515
t_seconds_count 5
# HELP t_gauge A gauge.
# TYPE t_gauge gauge
t_gauge 1.5e+09
`
	var b strings.Builder
	n, err := r.WriteTo(&b)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", b.String(), want)
	}
	if n != int64(b.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, b.Len())
	}
}

// Counters and histograms lose nothing under concurrent updates.
func TestConcurrentUpdates(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("c_total", "c")
	v := r.CounterVec("v_total", "v", "k")
	h := r.Histogram("h_seconds", "h", []float64{1})
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []string{"a", "b"}[w%2]
			for range each {
				c.Inc()
				v.With(key).Inc()
				h.Observe(0.5)
			}
		}()
	}
	// Scrapes run alongside the updates.
	for range 10 {
		r.WriteTo(io.Discard)
	}
	wg.Wait()
	if got := c.Value(); got != workers*each {
		t.Errorf("counter = %d, want %d", got, workers*each)
	}
	if a, b := v.Value("a"), v.Value("b"); a != workers/2*each || b != workers/2*each {
		t.Errorf("vec = %d, %d, want %d each", a, b, workers/2*each)
	}
	if got, sum := h.Count(), h.Sum(); got != workers*each || sum != 0.5*workers*each {
		t.Errorf("histogram count %d sum %g, want %d and %g", got, sum, workers*each, 0.5*workers*each)
	}
}

func TestServeHTTP(t *testing.T) {
	r := NewRegistry()
	RegisterProcess(r, time.Unix(1700000000, 500000000))
	m := NewIngest(r)
	m.Events.With("cloudtrail").Add(4)
	m.RuleEval.Observe(3e-6)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != ContentType {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		"\ncairn_events_ingested_total{source=\"cloudtrail\"} 4\n",
		"\ncairn_events_duplicate_total 0\n",
		"\ncairn_dead_letters_total 0\n",
		"# TYPE cairn_detections_total counter\n",
		"\ncairn_rule_eval_seconds_bucket{le=\"2.5e-06\"} 0\n",
		"\ncairn_rule_eval_seconds_bucket{le=\"5e-06\"} 1\n",
		"\ncairn_rule_eval_seconds_count 1\n",
		"\ncairn_ingest_batches_total 0\n",
		"\nprocess_start_time_seconds 1.7000000005e+09\n",
		"# TYPE go_goroutines gauge\ngo_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
}

// Registering a bad or repeated name is a wiring mistake: it panics.
func TestRegisterPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		reg  func(r *Registry)
	}{
		{"bad name", func(r *Registry) { r.Counter("1bad", "") }},
		{"bad label", func(r *Registry) { r.CounterVec("ok_total", "", "le") }},
		{"twice", func(r *Registry) { r.Counter("x_total", ""); r.Counter("x_total", "") }},
		{"unsorted buckets", func(r *Registry) { r.Histogram("h", "", []float64{2, 1}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.reg(NewRegistry())
		})
	}
}
