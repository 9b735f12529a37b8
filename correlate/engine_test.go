package correlate_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/correlate"
)

// TestEngine plays scripts of hits and clock moves and checks every
// result: the step that returned it, correlation, group, window (seconds
// from t0), event ids and value.
func TestEngine(t *testing.T) {
	userCount := func(name string, span int, c correlate.Condition) *correlate.Def {
		return &correlate.Def{Name: name, Type: correlate.EventCount, Rules: []string{"failed"}, GroupBy: []string{"User"},
			Timespan: time.Duration(span) * time.Second, Condition: c}
	}
	tests := []struct {
		name  string
		defs  []*correlate.Def
		opts  correlate.Options
		steps []step
		want  []string
		stats correlate.Stats // checked when non-zero
	}{{
		name: "event_count per group, consumed when fired",
		defs: []*correlate.Def{userCount("brute", 60, correlate.Condition{GTE: num(3)})},
		steps: []step{
			h("failed", "e1", 0, "User=alice"),
			h("failed", "e2", 10, "User=bob"),
			h("failed", "e3", 20, "User=alice"),
			h("failed", "e4", 30, "User=bob"),
			h("failed", "e5", 40, "User=alice"),
			h("failed", "e6", 50, "User=bob"),
			h("failed", "e7", 55, "User=alice"), // alice's first three are spent
			h("failed", "e8", 56, "User=alice"),
			h("failed", "e9", 57, "Host=x"), // no User: skipped
			h("other", "e10", 58, "User=alice"),
			h("failed", "e11", 59, "User=alice"),
		},
		want: []string{
			"4: brute {User=alice} 0..40 [e1 e3 e5] 3",
			"5: brute {User=bob} 10..50 [e2 e4 e6] 3",
			"10: brute {User=alice} 55..59 [e7 e8 e11] 3",
		},
		stats: correlate.Stats{Hits: 11, Unrouted: 1, NoGroup: 1, Results: 3, Groups: 2},
	}, {
		name: "event_count gt, timespan is inclusive",
		defs: []*correlate.Def{userCount("brute", 60, correlate.Condition{GT: num(2)})},
		steps: []step{
			h("failed", "e1", 0, "User=alice"),
			h("failed", "e2", 30, "User=alice"),
			h("failed", "e3", 60, "User=alice"),
		},
		want: []string{"2: brute {User=alice} 0..60 [e1 e2 e3] 3"},
	}, {
		name: "hits further apart than the timespan do not correlate",
		defs: []*correlate.Def{userCount("brute", 60, correlate.Condition{GTE: num(3)})},
		steps: []step{
			h("failed", "e1", 0, "User=alice"),
			h("failed", "e2", 30, "User=alice"),
			h("failed", "e3", 91, "User=alice"), // e1 and e2 have left
			h("failed", "e4", 100, "User=alice"),
			h("failed", "e5", 150, "User=alice"),
		},
		want: []string{"4: brute {User=alice} 91..150 [e3 e4 e5] 3"},
	}, {
		name: "value_count counts distinct values",
		defs: []*correlate.Def{{Name: "fanout", Type: correlate.ValueCount, Rules: []string{"conn"}, GroupBy: []string{"SrcIP"},
			Timespan: time.Minute, Condition: correlate.Condition{Field: "DstIP", GTE: num(3)}}},
		steps: []step{
			h("conn", "e1", 0, "SrcIP=a", "DstIP=1"),
			h("conn", "e2", 5, "SrcIP=a", "DstIP=1"),
			h("conn", "e3", 10, "SrcIP=a", "DstIP=2"),
			h("conn", "e4", 15, "SrcIP=b", "DstIP=3"),
			h("conn", "e5", 20, "SrcIP=a", "DstIP=2"),
			h("conn", "e6", 22, "SrcIP=a"), // no DstIP: skipped
			h("conn", "e7", 25, "SrcIP=a", "DstIP=3"),
		},
		want:  []string{"6: fanout {SrcIP=a} 5..25 [e2 e5 e7] 3"},
		stats: correlate.Stats{Hits: 7, NoValue: 1, Results: 1, Groups: 2},
	}, {
		name: "value_sum over a sliding window",
		defs: []*correlate.Def{{Name: "exfil", Type: correlate.ValueSum, Rules: []string{"upload"}, GroupBy: []string{"User"},
			Timespan: time.Minute, Condition: correlate.Condition{Field: "bytes", GT: num(1000)}}},
		steps: []step{
			h("upload", "e1", 0, "User=alice", "bytes=400"),
			h("upload", "e2", 10, "User=alice", "bytes=lots"), // not a number: skipped
			h("upload", "e3", 20, "User=alice", "bytes=500"),
			h("upload", "e4", 70, "User=alice", "bytes=300"), // e1 has left
			h("upload", "e5", 75, "User=alice", "bytes= 250 "),
		},
		want:  []string{"4: exfil {User=alice} 20..75 [e3 e4 e5] 1050"},
		stats: correlate.Stats{Hits: 5, NonNumeric: 1, Results: 1, Groups: 1},
	}, {
		name: "value_avg is decided when the window closes",
		defs: []*correlate.Def{{Name: "avg", Type: correlate.ValueAvg, Rules: []string{"upload"}, GroupBy: []string{"User"},
			Timespan: time.Minute, Condition: correlate.Condition{Field: "bytes", GT: num(500)}}},
		steps: []step{
			h("upload", "e1", 0, "User=alice", "bytes=400"),
			h("upload", "e2", 10, "User=bob", "bytes=100"),
			h("upload", "e3", 30, "User=alice", "bytes=700"),
			h("upload", "e4", 40, "User=bob", "bytes=200"),
			adv(60), // alice's window [0, 60] may still get a hit at 60
			adv(61),
			adv(80),
			h("upload", "e5", 100, "User=alice", "bytes=900"),
			h("upload", "e6", 170, "User=alice", "bytes=100"), // closes [100, 160]
		},
		want: []string{
			"5: avg {User=alice} 0..60 [e1 e3] 550",
			"8: avg {User=alice} 100..160 [e5] 900",
		},
		stats: correlate.Stats{Hits: 6, Results: 2, Groups: 1},
	}, {
		name: "value_percentile, nearest rank",
		defs: []*correlate.Def{
			{Name: "median", Type: correlate.ValuePercentile, Rules: []string{"req"}, GroupBy: []string{"H"},
				Timespan: time.Minute, Condition: correlate.Condition{Field: "ms", GTE: num(100)}},
			{Name: "p90", Type: correlate.ValuePercentile, Rules: []string{"req"}, GroupBy: []string{"H"},
				Timespan: time.Minute, Condition: correlate.Condition{Field: "ms", GTE: num(100), Percentile: 90}},
		},
		steps: []step{
			h("req", "e1", 0, "H=a", "ms=10"),
			h("req", "e2", 1, "H=b", "ms=10"),
			h("req", "e3", 2, "H=a", "ms=200"),
			h("req", "e4", 3, "H=b", "ms=20"),
			h("req", "e5", 4, "H=a", "ms=150"),
			h("req", "e6", 5, "H=b", "ms=500"),
			h("req", "e7", 6, "H=a", "ms=300"),
			adv(100),
		},
		want: []string{
			"7: median {H=a} 0..60 [e1 e3 e5 e7] 150",
			"7: p90 {H=a} 0..60 [e1 e3 e5 e7] 300",
			"7: p90 {H=b} 1..61 [e2 e4 e6] 500",
		},
	}, {
		name: "temporal: every rule, any order",
		defs: []*correlate.Def{{Name: "recon", Type: correlate.Temporal, Rules: []string{"a", "id-b", "c"}, GroupBy: []string{"H"},
			Timespan: 5 * time.Minute}},
		steps: []step{
			h("a", "e1", 0, "H=x"),
			h("c", "e2", 10, "H=x"),
			h("a", "e3", 20, "H=y"),
			h("b", "e4", 100, "H=x"),
			h("b", "e5", 110, "H=y"),
			h("c", "e6", 500, "H=y"), // a and b of y have left
		},
		want: []string{"3: recon {H=x} 0..100 [e1 e2 e4] 3"},
	}, {
		name: "temporal with a condition: two of three",
		defs: []*correlate.Def{{Name: "two", Type: correlate.Temporal, Rules: []string{"a", "b", "c"}, GroupBy: []string{"H"},
			Timespan: 5 * time.Minute, Condition: correlate.Condition{GTE: num(2)}}},
		steps: []step{
			h("a", "e1", 0, "H=x"),
			h("a", "e2", 10, "H=x"),
			h("c", "e3", 20, "H=x"),
		},
		want: []string{"2: two {H=x} 10..20 [e2 e3] 2"},
	}, {
		name: "temporal_ordered needs the listed order",
		defs: []*correlate.Def{{Name: "ord", Type: correlate.TemporalOrdered, Rules: []string{"a", "b", "c"}, GroupBy: []string{"H"},
			Timespan: 5 * time.Minute}},
		steps: []step{
			h("a", "e1", 0, "H=x"),
			h("b", "e2", 10, "H=x"),
			h("c", "e3", 20, "H=x"),
			h("c", "e4", 30, "H=y"), // reversed: no
			h("b", "e5", 40, "H=y"),
			h("a", "e6", 50, "H=y"),
			h("b", "e7", 60, "H=y"), // now a, b, c follow e6
			h("c", "e8", 70, "H=y"),
			h("a", "e9", 80, "H=z"), // a, c, b: no
			h("c", "e10", 90, "H=z"),
			h("b", "e11", 100, "H=z"),
			h("c", "e12", 500, "H=z"), // a left the window before c came
		},
		want: []string{
			"2: ord {H=x} 0..20 [e1 e2 e3] 3",
			"7: ord {H=y} 50..70 [e6 e7 e8] 3",
		},
	}, {
		name: "lt, lte, eq, neq and ranges are decided at close",
		defs: []*correlate.Def{
			userCount("few", 60, correlate.Condition{LT: num(3)}),
			userCount("rare", 60, correlate.Condition{LTE: num(1)}),
			userCount("range", 60, correlate.Condition{GT: num(1), LTE: num(3)}),
			userCount("exact", 60, correlate.Condition{EQ: num(3)}),
			userCount("not2", 60, correlate.Condition{NEQ: num(2)}),
		},
		steps: []step{
			h("failed", "e1", 0, "User=alice"),
			h("failed", "e2", 10, "User=bob"),
			h("failed", "e3", 20, "User=alice"),
			h("failed", "e4", 30, "User=bob"),
			h("failed", "e5", 40, "User=bob"),
			adv(60),
			adv(61),
			adv(71),
		},
		want: []string{
			"6: few {User=alice} 0..60 [e1 e3] 2",
			"6: range {User=alice} 0..60 [e1 e3] 2",
			"7: range {User=bob} 10..70 [e2 e4 e5] 3",
			"7: exact {User=bob} 10..70 [e2 e4 e5] 3",
			"7: not2 {User=bob} 10..70 [e2 e4 e5] 3",
		},
		stats: correlate.Stats{Hits: 5, Results: 5},
	}, {
		name: "temporal types and value_count decided at close",
		defs: []*correlate.Def{
			{Name: "partial", Type: correlate.TemporalOrdered, Rules: []string{"a", "b", "c"}, GroupBy: []string{"H"},
				Timespan: time.Minute, Condition: correlate.Condition{LT: num(3)}},
			{Name: "some", Type: correlate.Temporal, Rules: []string{"a", "b", "c"}, GroupBy: []string{"H"},
				Timespan: time.Minute, Condition: correlate.Condition{EQ: num(2)}},
			{Name: "distinct", Type: correlate.ValueCount, Rules: []string{"a", "b", "c"}, GroupBy: []string{"H"},
				Timespan: time.Minute, Condition: correlate.Condition{Field: "U", LTE: num(1)}},
		},
		steps: []step{
			h("a", "e1", 0, "H=x", "U=1"),
			h("b", "e2", 10, "H=x", "U=1"),
			h("c", "e3", 20, "H=y", "U=1"),
			h("b", "e4", 21, "H=y", "U=2"),
			h("a", "e5", 22, "H=y", "U=3"),
			adv(100),
		},
		want: []string{
			"5: partial {H=x} 0..60 [e1 e2] 2",
			"5: some {H=x} 0..60 [e1 e2] 2",
			"5: distinct {H=x} 0..60 [e1] 1",
			"5: partial {H=y} 20..80 [e5] 1",
		},
	}, {
		name: "aliases map a group-by name to other fields per rule",
		defs: []*correlate.Def{{Name: "conn", Type: correlate.Temporal,
			Rules: []string{"internal_error", "id-new_network_connection"}, GroupBy: []string{"internal_ip", "remote_ip"},
			Timespan: 10 * time.Second,
			Aliases: map[string]map[string]string{
				"internal_ip": {"internal_error": "destination.ip", "new_network_connection": "source.ip"},
				"remote_ip":   {"internal_error": "source.ip", "new_network_connection": "destination.ip"},
			}}},
		steps: []step{
			h("internal_error", "e1", 0, "destination.ip=10.0.0.5", "source.ip=1.2.3.4"),
			h("new_network_connection", "e2", 3, "source.ip=10.0.0.5", "destination.ip=9.9.9.9"),
			h("new_network_connection", "e3", 5, "source.ip=10.0.0.5", "destination.ip=1.2.3.4"),
			h("internal_error", "e4", 30, "destination.ip=10.0.0.5", "source.ip=1.2.3.4"),
			h("new_network_connection", "e5", 45, "source.ip=10.0.0.5", "destination.ip=1.2.3.4"),
		},
		want: []string{"2: conn {internal_ip=10.0.0.5 remote_ip=1.2.3.4} 0..5 [e1 e3] 2"},
	}, {
		name: "out of order within Lateness is placed by time",
		defs: []*correlate.Def{userCount("burst", 10, correlate.Condition{GTE: num(3)})},
		opts: correlate.Options{Lateness: 30 * time.Second},
		steps: []step{
			h("failed", "e1", 10, "User=alice"),
			h("failed", "e2", 30, "User=alice"),
			h("failed", "e3", 15, "User=alice"), // 15 s late: held
			h("failed", "e4", 18, "User=alice"),
			h("failed", "e5", -5, "User=alice"), // 35 s late: dropped
			adv(50),                             // releases e1, e3, e4
			adv(60),                             // releases e2
		},
		want:  []string{"5: burst {User=alice} 10..18 [e1 e3 e4] 3"},
		stats: correlate.Stats{Hits: 5, Late: 1, Results: 1, Groups: 1},
	}, {
		name: "out of order without Lateness is dropped",
		defs: []*correlate.Def{userCount("burst", 10, correlate.Condition{GTE: num(3)})},
		steps: []step{
			h("failed", "e1", 10, "User=alice"),
			h("failed", "e2", 30, "User=alice"),
			h("failed", "e3", 15, "User=alice"),
			h("failed", "e4", 18, "User=alice"),
			adv(100),
		},
		stats: correlate.Stats{Hits: 4, Late: 2},
	}, {
		name: "MaxGroups evicts the least recently updated group",
		defs: []*correlate.Def{userCount("brute", 60, correlate.Condition{GTE: num(3)})},
		opts: correlate.Options{MaxGroups: 2},
		steps: []step{
			h("failed", "e1", 0, "User=alice"),
			h("failed", "e2", 1, "User=bob"),
			h("failed", "e3", 2, "User=alice"),
			h("failed", "e4", 3, "User=carol"), // evicts bob, not alice
			h("failed", "e5", 4, "User=alice"), // fires: alice is emptied
			h("failed", "e6", 5, "User=bob"),   // evicts carol
			h("failed", "e7", 6, "User=dave"),  // evicts alice, uncounted
			h("failed", "e8", 7, "User=erin"),  // evicts bob
			h("failed", "e9", 8, "User=bob"),   // evicts dave
			h("failed", "e10", 9, "User=bob"),  // bob has 2, not 3
		},
		want:  []string{"4: brute {User=alice} 0..4 [e1 e3 e5] 3"},
		stats: correlate.Stats{Hits: 10, Evicted: 4, Results: 1, Groups: 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustNew(t, tt.defs, tt.opts)
			diff(t, run(t, e, tt.steps), tt.want)
			if tt.stats != (correlate.Stats{}) {
				if got := e.Stats(); got != tt.stats {
					t.Errorf("stats = %+v, want %+v", got, tt.stats)
				}
			}
		})
	}
}

// TestChained feeds an event_count into a temporal_ordered (the
// specification's example) and into a temporal.
func TestChained(t *testing.T) {
	many := &correlate.Def{ID: "a8418a5a", Name: "multiple_failed_login", Type: correlate.EventCount,
		Rules: []string{"failed_login"}, GroupBy: []string{"User"}, Timespan: 10 * time.Minute,
		Condition: correlate.Condition{GTE: num(3)}}
	then := &correlate.Def{ID: "b180ead8", Title: "Failed logins followed by a success", Level: "high",
		Type: correlate.TemporalOrdered, Rules: []string{"multiple_failed_login", "successful_login"},
		GroupBy: []string{"User"}, Timespan: 10 * time.Minute}
	near := &correlate.Def{Name: "near", Type: correlate.Temporal, Rules: []string{"a8418a5a", "id-new_process"},
		GroupBy: []string{"User"}, Timespan: time.Minute}
	e := mustNew(t, []*correlate.Def{then, near, many}, correlate.Options{
		BaseRules: []string{"failed_login", "successful_login", "id-new_process"}})
	var rs []correlate.Result
	for _, s := range []step{
		h("successful_login", "e1", 0, "User=alice"), // before the failures: no
		h("failed_login", "e2", 10, "User=alice"),
		h("failed_login", "e3", 20, "User=alice", "Host=h1"),
		h("new_process", "e4", 25, "User=alice"),
		h("failed_login", "e5", 30, "User=alice"),
		h("successful_login", "e6", 40, "User=alice"),
	} {
		rs = append(rs, e.Observe(*s.hit)...)
	}
	if len(rs) != 3 {
		t.Fatalf("got %d results, want 3: %+v", len(rs), rs)
	}
	first, withProc, withLogin := rs[0], rs[1], rs[2]
	if first.Def != many || !slices.Equal(first.EventIDs, []string{"e2", "e3", "e5"}) {
		t.Errorf("first result = %s", format(0, first))
	}
	if withProc.Def != near || !slices.Equal(withProc.EventIDs, []string{"e4", first.ID}) ||
		withProc.Start != at(25) || withProc.End != at(30) {
		t.Errorf("temporal result = %s", format(0, withProc))
	}
	if withLogin.Def != then || !slices.Equal(withLogin.EventIDs, []string{first.ID, "e6"}) ||
		withLogin.Group["User"] != "alice" || withLogin.Start != at(30) || withLogin.End != at(40) || withLogin.Value != 2 {
		t.Errorf("temporal_ordered result = %s", format(0, withLogin))
	}
}

// TestResultIDs checks that replaying hits on a new engine gives the same
// IDs, and that hits delivered twice do not fire twice.
func TestResultIDs(t *testing.T) {
	defs := func() []*correlate.Def {
		return []*correlate.Def{
			{ID: "c1", Name: "brute", Type: correlate.EventCount, Rules: []string{"failed"}, GroupBy: []string{"User"},
				Timespan: time.Minute, Condition: correlate.Condition{GTE: num(2)}},
			{ID: "c2", Name: "few", Type: correlate.EventCount, Rules: []string{"failed"}, GroupBy: []string{"User"},
				Timespan: time.Minute, Condition: correlate.Condition{LT: num(5)}},
		}
	}
	steps := []step{
		h("failed", "e1", 0, "User=alice"),
		h("failed", "e2", 0, "User=alice"),
		h("failed", "e3", 5, "User=bob"),
		h("failed", "e4", 9, "User=bob"),
		h("failed", "e5", 9, "User=carol"),
		adv(200),
	}
	ids := func(e *correlate.Engine, steps []step) []string {
		var ids []string
		play(e, steps, func(_ int, r correlate.Result) { ids = append(ids, r.ID) })
		return ids
	}
	a := ids(mustNew(t, defs(), correlate.Options{}), steps)
	b := ids(mustNew(t, defs(), correlate.Options{}), steps)
	if len(a) != 5 || !slices.Equal(a, b) {
		t.Fatalf("IDs differ between runs or are not 5:\n%v\n%v", a, b)
	}
	if c := slices.Compact(slices.Sorted(slices.Values(a))); len(c) != len(a) {
		t.Errorf("IDs repeat: %v", a)
	}

	// Hits delivered twice, at the watermark and within Lateness.
	for _, late := range []time.Duration{0, time.Hour} {
		e := mustNew(t, defs()[:1], correlate.Options{Lateness: late})
		burst := []step{h("failed", "e1", 0, "User=alice"), h("failed", "e2", 0, "User=alice")}
		first := ids(e, append(burst, adv(int(late.Seconds()))))
		again := ids(e, append(burst, h("failed", "e3", 0, "User=alice"), adv(7200)))
		if len(first) != 1 || len(again) != 0 {
			t.Errorf("lateness %s: first run %v, replay %v; want one result, then none", late, first, again)
		}
		if s := e.Stats(); s.Duplicates != 2 || s.Groups != 0 {
			t.Errorf("lateness %s: stats %+v, want 2 duplicates and no groups", late, s)
		}
	}
}

// TestClock checks that hits without a time take the clock's, and Tick.
func TestClock(t *testing.T) {
	now := at(0)
	e := mustNew(t, []*correlate.Def{{Name: "few", Type: correlate.EventCount, Rules: []string{"r"},
		Timespan: time.Minute, Condition: correlate.Condition{EQ: num(2)}}},
		correlate.Options{Clock: func() time.Time { return now }})
	e.Observe(correlate.Hit{RuleName: "r", EventID: "e1"})
	now = at(30)
	e.Observe(correlate.Hit{RuleName: "r", EventID: "e2"})
	now = at(60)
	if rs := e.Tick(); len(rs) != 0 {
		t.Fatalf("window closed early: %v", rs)
	}
	now = at(61)
	rs := e.Tick()
	if len(rs) != 1 || rs[0].Start != at(0) || rs[0].End != at(60) || rs[0].Value != 2 || len(rs[0].Group) != 0 {
		t.Fatalf("Tick results = %+v", rs)
	}
}

// TestNewErrors checks that New reports bad correlations with EINVALID
// and a message naming the problem.
func TestNewErrors(t *testing.T) {
	ok := func(mod func(d *correlate.Def)) *correlate.Def {
		d := &correlate.Def{ID: "c1", Name: "brute", Type: correlate.EventCount, Rules: []string{"failed"},
			GroupBy: []string{"User"}, Timespan: time.Minute, Condition: correlate.Condition{GTE: num(3)}}
		if mod != nil {
			mod(d)
		}
		return d
	}
	base := []string{"failed", "ok"}
	tests := []struct {
		name string
		defs []*correlate.Def
		base []string
		want string // substring of the error; "" means no error
	}{
		{"valid", []*correlate.Def{ok(nil)}, base, ""},
		{"nil", []*correlate.Def{nil}, nil, "is nil"},
		{"type", []*correlate.Def{ok(func(d *correlate.Def) { d.Type = "event_sum" })}, nil, `unknown type "event_sum"`},
		{"timespan", []*correlate.Def{ok(func(d *correlate.Def) { d.Timespan = 0 })}, nil, "timespan must be positive"},
		{"no rules", []*correlate.Def{ok(func(d *correlate.Def) { d.Rules = nil })}, nil, "references no rules"},
		{"repeated rule", []*correlate.Def{ok(func(d *correlate.Def) { d.Rules = []string{"a", "a"} })}, nil, `"a" is empty or repeated`},
		{"no condition", []*correlate.Def{ok(func(d *correlate.Def) { d.Condition = correlate.Condition{} })}, nil, "event_count needs a condition"},
		{"no field", []*correlate.Def{ok(func(d *correlate.Def) { d.Type = correlate.ValueSum })}, nil, "value_sum needs condition.field"},
		{"stray field", []*correlate.Def{ok(func(d *correlate.Def) { d.Condition.Field = "x" })}, nil, "only used by value_* types"},
		{"percentile", []*correlate.Def{ok(func(d *correlate.Def) {
			d.Type, d.Condition.Field, d.Condition.Percentile = correlate.ValuePercentile, "x", 101
		})}, nil, "must be in (0, 100]"},
		{"same name", []*correlate.Def{ok(nil), ok(func(d *correlate.Def) { d.ID = "c2" })}, nil, `"brute" is also used`},
		{"unknown rule", []*correlate.Def{ok(func(d *correlate.Def) { d.Rules = []string{"fialed"} })}, base, `rule "fialed" is neither`},
		{"alias rule", []*correlate.Def{ok(func(d *correlate.Def) {
			d.Aliases = map[string]map[string]string{"User": {"nope": "user.name"}}
		})}, base, `names rule "nope"`},
		{"alias unused", []*correlate.Def{ok(func(d *correlate.Def) {
			d.Aliases = map[string]map[string]string{"who": {"failed": "user.name"}}
		})}, base, `alias "who" is used neither`},
		{"cycle", []*correlate.Def{
			ok(func(d *correlate.Def) { d.Rules = []string{"c2"} }),
			ok(func(d *correlate.Def) { d.ID, d.Name, d.Rules = "c2", "other", []string{"brute"} }),
		}, nil, "cycle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := correlate.New(tt.defs, correlate.Options{BaseRules: tt.base})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want == "":
			case err == nil:
				t.Fatalf("New accepted the definitions, want error %q", tt.want)
			case cairn.ErrorCode(err) != cairn.EINVALID || !strings.Contains(err.Error(), tt.want):
				t.Fatalf("New error = %q (code %s), want %q with code invalid", err, cairn.ErrorCode(err), tt.want)
			}
		})
	}
}

// TestBoundedIDs checks that a window past MaxEventIDs hits keeps its
// count exact and lists the newest ids.
func TestBoundedIDs(t *testing.T) {
	const n = 2500
	for _, typ := range []string{correlate.EventCount, correlate.ValueSum} {
		d := &correlate.Def{Name: "many", Type: typ, Rules: []string{"r"}, Timespan: time.Hour,
			Condition: correlate.Condition{GTE: num(n)}}
		if typ == correlate.ValueSum {
			d.Condition.Field = "one"
		}
		e := mustNew(t, []*correlate.Def{d}, correlate.Options{})
		var rs []correlate.Result
		for i := range n + 1 {
			rs = append(rs, e.Observe(correlate.Hit{RuleName: "r", EventID: "e" + strconv.Itoa(i),
				Time: at(i), Value: fields("one=1")})...)
		}
		// Only hit n-1 fires; hit n starts a new window.
		if len(rs) != 1 {
			t.Fatalf("%s: %d results, want 1", typ, len(rs))
		}
		r := rs[0]
		if r.Value != n || len(r.EventIDs) != correlate.MaxEventIDs || r.EventIDs[0] != "e1500" ||
			r.EventIDs[len(r.EventIDs)-1] != "e2499" || r.Start != at(0) || r.End != at(n-1) {
			t.Errorf("%s: result value %g, %d ids %s..%s, %s..%s", typ, r.Value, len(r.EventIDs),
				r.EventIDs[0], r.EventIDs[len(r.EventIDs)-1], r.Start, r.End)
		}
	}
}

// TestOutOfRangeTime checks that hits with absurd times are dropped
// rather than moving the clock.
func TestOutOfRangeTime(t *testing.T) {
	e := mustNew(t, []*correlate.Def{{Name: "two", Type: correlate.EventCount, Rules: []string{"r"},
		Timespan: time.Minute, Condition: correlate.Condition{GTE: num(2)}}}, correlate.Options{})
	e.Observe(correlate.Hit{RuleName: "r", EventID: "e1", Time: at(0)})
	e.Observe(correlate.Hit{RuleName: "r", EventID: "bad", Time: time.Date(2900, 1, 1, 0, 0, 0, 0, time.UTC)})
	e.Advance(time.Date(1066, 10, 14, 0, 0, 0, 0, time.UTC))
	rs := e.Observe(correlate.Hit{RuleName: "r", EventID: "e2", Time: at(1)})
	if len(rs) != 1 || !slices.Equal(rs[0].EventIDs, []string{"e1", "e2"}) {
		t.Fatalf("results %+v, want e1 and e2", rs)
	}
	if s := e.Stats(); s.Late != 1 {
		t.Errorf("stats %+v, want 1 late", s)
	}
}

// TestPercentileSample checks value_percentile past the values a window
// keeps: the median of 1..30000 from a sample of 10,000.
func TestPercentileSample(t *testing.T) {
	e := mustNew(t, []*correlate.Def{{Name: "p", Type: correlate.ValuePercentile, Rules: []string{"r"},
		Timespan: time.Hour, Condition: correlate.Condition{Field: "v", GT: num(0)}}}, correlate.Options{})
	for i := range 30000 {
		v := (i*7919)%30000 + 1 // 1..30000 in a scrambled order
		e.Observe(correlate.Hit{RuleName: "r", EventID: "e" + strconv.Itoa(i), Time: at(0),
			Value: fields("v=" + strconv.Itoa(v))})
	}
	rs := e.Advance(at(4000))
	if len(rs) != 1 || rs[0].Value < 14000 || rs[0].Value > 16000 || len(rs[0].EventIDs) != correlate.MaxEventIDs {
		t.Fatalf("results %v, want one median near 15000", rs)
	}
}
