package correlate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/correlate"
)

// t0 is the time tests count seconds from.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func num(v float64) *float64 { return &v }

// fields returns a Value func over "k=v" pairs.
func fields(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for _, p := range kv {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return func(f string) (string, bool) {
		v, ok := m[f]
		return v, ok
	}
}

// step is one action of a test script: a hit, a Flush, or an Advance
// when hit is nil and flush false.
type step struct {
	hit     *correlate.Hit
	advance int
	flush   bool
}

// h is a hit of rule (its name; its id is "id-"+rule) at second sec.
func h(rule, event string, sec int, kv ...string) step {
	return step{hit: &correlate.Hit{Rule: "id-" + rule, RuleName: rule, Time: at(sec), EventID: event, Value: fields(kv...)}}
}

func adv(sec int) step { return step{advance: sec} }

// flush is a Flush step.
var flush = step{flush: true}

// run plays steps on e and returns the results, one line each: the step
// that returned it, the correlation name, the group, the window in
// seconds from t0, the event ids and the value.
func run(tb testing.TB, e *correlate.Engine, steps []step) []string {
	tb.Helper()
	var got []string
	play(e, steps, func(i int, r correlate.Result) { got = append(got, format(i, r)) })
	return got
}

// play plays steps on e and calls f with each result and the step that
// returned it.
func play(e *correlate.Engine, steps []step, f func(step int, r correlate.Result)) {
	for i, s := range steps {
		var rs []correlate.Result
		switch {
		case s.hit != nil:
			rs = e.Observe(*s.hit)
		case s.flush:
			rs = e.Flush()
		default:
			rs = e.Advance(at(s.advance))
		}
		for _, r := range rs {
			f(i, r)
		}
	}
}

func format(step int, r correlate.Result) string {
	var g []string
	for k, v := range r.Group {
		g = append(g, k+"="+v)
	}
	slices.Sort(g)
	return fmt.Sprintf("%d: %s {%s} %g..%g %v %g", step, r.Def.Name, strings.Join(g, " "),
		r.Start.Sub(t0).Seconds(), r.End.Sub(t0).Seconds(), r.EventIDs, r.Value)
}

// mustNew returns an engine for defs or fails the test.
func mustNew(tb testing.TB, defs []*correlate.Def, opts correlate.Options) *correlate.Engine {
	tb.Helper()
	e, err := correlate.New(defs, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func diff(tb testing.TB, got, want []string) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
