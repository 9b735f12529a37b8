package correlate_test

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/correlate"
)

// BenchmarkObserve feeds hits of one rule spread over 100,000 users to an
// event_count and a value_count (of DstIP) grouped by user, with a
// timespan of 10 minutes, one millisecond apart, so each user sees a hit
// every 100 s. Timing starts once the windows are full (after 8 hits per
// user). In "quiet" no condition is met, as with most hits in production;
// in "firing" the thresholds are 5 hits and 4 addresses, so that about
// 0.45 results come out per hit. It reports hits per second, of wall and
// of CPU time. Run it with -cpu 1 for one core.
func BenchmarkObserve(b *testing.B) {
	for _, bc := range []struct {
		name          string
		count, values float64
	}{{"quiet", 1000, 100}, {"firing", 5, 4}} {
		b.Run(bc.name, func(b *testing.B) { benchObserve(b, bc.count, bc.values) })
	}
}

func benchObserve(b *testing.B, count, values float64) {
	const users = 100_000
	defs := []*correlate.Def{
		{ID: "brute", Type: correlate.EventCount, Rules: []string{"failed"}, GroupBy: []string{"User"},
			Timespan: 10 * time.Minute, Condition: correlate.Condition{GTE: num(count)}},
		{ID: "spray", Type: correlate.ValueCount, Rules: []string{"failed"}, GroupBy: []string{"User"},
			Timespan: 10 * time.Minute, Condition: correlate.Condition{Field: "DstIP", GTE: num(values)}},
	}
	// One hit per user, reused round robin; DstIP cycles through 13
	// addresses, so each user meets every one of them.
	var dsts [13]string
	for i := range dsts {
		dsts[i] = "10.0.0." + strconv.Itoa(i)
	}
	var dst string
	hits := make([]correlate.Hit, users)
	for i := range hits {
		user := "user" + strconv.Itoa(i)
		hits[i] = correlate.Hit{Rule: "id-failed", RuleName: "failed", EventID: "e" + strconv.Itoa(i),
			Value: func(f string) (string, bool) {
				switch f {
				case "User":
					return user, true
				case "DstIP":
					return dst, true
				}
				return "", false
			}}
	}
	e := mustNew(b, defs, correlate.Options{})
	i, results := 0, 0
	observe := func() {
		h := hits[i%len(hits)]
		dst = dsts[i%len(dsts)]
		h.Time = t0.Add(time.Duration(i) * time.Millisecond)
		results += len(e.Observe(h))
		i++
	}
	for range 8 * users {
		observe()
	}
	if s := e.Stats(); s.Groups != 2*users {
		b.Fatalf("%d groups, want %d", s.Groups, 2*users)
	}
	results = 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		observe()
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hits/s")
	// CPU time does not depend on what else the shared machine runs; it
	// includes the garbage collector's.
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "hits/cpu-s")
	b.ReportMetric(float64(results)/float64(b.N), "results/hit")
	if fires := count < 10; b.N > 10*users && fires != (results > 0) {
		b.Fatalf("%d results", results)
	}
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
