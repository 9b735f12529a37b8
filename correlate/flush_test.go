package correlate_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/correlate"
)

// farFuture is 170 years after t0 (within what Advance accepts), in
// seconds: Advance to it decides everything, as the end of the input.
const farFuture = 170 * 365 * 24 * 3600

// runNamed is run, with the IDs of earlier results in event ids
// replaced by "@" and the name of their correlation.
func runNamed(tb testing.TB, e *correlate.Engine, steps []step) []string {
	tb.Helper()
	names := map[string]string{}
	var got []string
	play(e, steps, func(i int, r correlate.Result) {
		for j, id := range r.EventIDs {
			if n, ok := names[id]; ok {
				r.EventIDs[j] = n
			}
		}
		names[r.ID] = "@" + r.Def.Name
		got = append(got, format(i, r))
	})
	return got
}

// Flush at the end of a single input decides what Advance to the far
// future did: held-back hits in time order, every window closed,
// chains fed.
func TestFlushLikeAdvance(t *testing.T) {
	count := func(name string, rule string, span int, c correlate.Condition) *correlate.Def {
		return &correlate.Def{ID: "id-" + name, Name: name, Type: correlate.EventCount, Rules: []string{rule},
			GroupBy: []string{"User"}, Timespan: time.Duration(span) * time.Second, Condition: c}
	}
	tests := []struct {
		name  string
		defs  func() []*correlate.Def
		steps []step
		n     int // results
	}{{
		name: "eager and at close, out of order",
		defs: func() []*correlate.Def {
			return []*correlate.Def{
				count("brute", "failed", 60, correlate.Condition{GTE: num(3)}),
				count("few", "failed", 60, correlate.Condition{LT: num(3)}),
				{Name: "avg", Type: correlate.ValueAvg, Rules: []string{"failed"}, GroupBy: []string{"User"},
					Timespan: time.Minute, Condition: correlate.Condition{Field: "n", GT: num(5)}},
			}
		},
		steps: []step{
			h("failed", "e1", 30, "User=alice", "n=10"),
			h("failed", "e2", 0, "User=alice", "n=1"),
			h("failed", "e3", 10, "User=bob", "n=7"),
			h("failed", "e4", 20, "User=alice", "n=9"),
			h("failed", "e5", 300, "User=bob", "n=1"),
			h("failed", "e6", 100, "User=carol", "n=1"),
		},
		n: 6, // brute alice; few bob, bob again, carol; avg alice, bob
	}, {
		name: "chains, out of order",
		defs: func() []*correlate.Def {
			return []*correlate.Def{
				{Name: "then", Type: correlate.TemporalOrdered, Rules: []string{"many", "ok"}, GroupBy: []string{"User"},
					Timespan: 10 * time.Minute},
				{Name: "after", Type: correlate.Temporal, Rules: []string{"quiet", "proc"}, GroupBy: []string{"User"},
					Timespan: 10 * time.Minute},
				count("many", "failed", 60, correlate.Condition{GTE: num(2)}),
				count("quiet", "failed", 60, correlate.Condition{LT: num(5)}),
			}
		},
		steps: []step{
			h("failed", "e1", 10, "User=alice"),
			h("ok", "e2", 40, "User=alice"),
			h("failed", "e3", 0, "User=alice"),
			h("proc", "e4", 65, "User=alice"),
		},
		n: 4, // many, then, quiet, after
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := correlate.Options{Lateness: time.Hour}
			a := mustNew(t, tt.defs(), opts)
			want := runNamed(t, a, append(slices.Clone(tt.steps), adv(farFuture)))
			b := mustNew(t, tt.defs(), opts)
			got := runNamed(t, b, append(slices.Clone(tt.steps), flush))
			if len(want) != tt.n {
				t.Fatalf("Advance gave %d results, want %d:\n%s", len(want), tt.n, strings.Join(want, "\n"))
			}
			diff(t, got, want)
			if s := b.Stats(); s.Pending != 0 || s.Late != 0 || s.Results != uint64(tt.n) {
				t.Errorf("stats after Flush = %+v", s)
			}
		})
	}
}

// After a Flush, hits of a later input fire again, eager and at close;
// hits older than what was decided are late; a sequence spans inputs;
// a hit delivered again is still a duplicate.
func TestFlushThenMore(t *testing.T) {
	defs := []*correlate.Def{
		{Name: "brute", Type: correlate.EventCount, Rules: []string{"failed"}, GroupBy: []string{"User"},
			Timespan: time.Minute, Condition: correlate.Condition{GTE: num(3)}},
		{Name: "few", Type: correlate.EventCount, Rules: []string{"failed"}, GroupBy: []string{"User"},
			Timespan: time.Minute, Condition: correlate.Condition{LT: num(5)}},
		{Name: "ordered", Type: correlate.TemporalOrdered, Rules: []string{"a", "b"}, GroupBy: []string{"User"},
			Timespan: 2 * time.Minute},
	}
	e := mustNew(t, defs, correlate.Options{Lateness: 30 * time.Second})
	got := run(t, e, []step{
		h("failed", "e1", 0, "User=alice"),
		h("failed", "e2", 20, "User=alice"),
		h("failed", "e3", 10, "User=alice"),
		h("a", "e4", 50, "User=alice"),
		flush,                                // end of the first input: the floor is 50
		h("failed", "e6", 45, "User=alice"),  // 5: within Lateness, but before the floor: late
		h("failed", "e7", 50, "User=alice"),  // at the floor: decided at once
		h("failed", "e8", 60, "User=alice"),  // held back
		h("failed", "e9", 70, "User=alice"),  // held back
		h("b", "e5", 100, "User=alice"),      // 9: releases e8 and e9
		flush,                                // the floor is 100
		h("failed", "e10", 60, "User=alice"), // 11: late
		h("b", "e5", 100, "User=alice"),      // 12: delivered again
	})
	diff(t, got, []string{
		"3: brute {User=alice} 0..20 [e1 e3 e2] 3",
		"4: few {User=alice} 0..60 [e1 e3 e2] 3",
		"9: brute {User=alice} 50..70 [e7 e8 e9] 3",
		"10: ordered {User=alice} 50..100 [e4 e5] 2",
		"10: few {User=alice} 50..110 [e7 e8 e9] 3",
	})
	want := correlate.Stats{Hits: 11, Late: 2, Duplicates: 1, Results: 5, Groups: 2}
	if s := e.Stats(); s != want {
		t.Errorf("stats = %+v, want %+v", s, want)
	}
}

// A chain completes across a Flush; the result of a window closed by
// Flush moves the floor to the window's end, as it is a hit at that
// time for the correlations it feeds.
func TestFlushChained(t *testing.T) {
	defs := []*correlate.Def{
		{Name: "then", Type: correlate.TemporalOrdered, Rules: []string{"many", "success"}, GroupBy: []string{"User"},
			Timespan: 10 * time.Minute},
		{Name: "after", Type: correlate.Temporal, Rules: []string{"quiet", "proc"}, GroupBy: []string{"User"},
			Timespan: 10 * time.Minute},
		{Name: "many", Type: correlate.EventCount, Rules: []string{"failed"}, GroupBy: []string{"User"},
			Timespan: time.Minute, Condition: correlate.Condition{GTE: num(3)}},
		{Name: "quiet", Type: correlate.EventCount, Rules: []string{"failed"}, GroupBy: []string{"User"},
			Timespan: time.Minute, Condition: correlate.Condition{LT: num(10)}},
	}
	e := mustNew(t, defs, correlate.Options{})
	got := runNamed(t, e, []step{
		h("failed", "e1", 0, "User=alice"),
		h("failed", "e2", 10, "User=alice"),
		h("failed", "e3", 20, "User=alice"),
		flush,
		h("proc", "e4", 50, "User=alice"), // 4: before quiet's result at 60: late
		h("proc", "e5", 70, "User=alice"),
		h("success", "e6", 90, "User=alice"),
		flush,
	})
	diff(t, got, []string{
		"2: many {User=alice} 0..20 [e1 e2 e3] 3",
		"3: quiet {User=alice} 0..60 [e1 e2 e3] 3",
		"5: after {User=alice} 60..70 [@quiet e5] 2",
		"6: then {User=alice} 20..90 [@many e6] 2",
	})
	if s := e.Stats(); s.Late != 1 || s.Results != 4 || s.Pending != 0 {
		t.Errorf("stats = %+v", s)
	}
}
