package pred_test

import (
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/pred"
)

func TestAndOr(t *testing.T) {
	yes := func(*cairn.Event) bool { return true }
	no := func(*cairn.Event) bool { return false }
	calls := 0
	counted := func(*cairn.Event) bool { calls++; return true }
	ev := &cairn.Event{}
	cases := []struct {
		p    pred.Func
		want bool
	}{
		{pred.And(nil), true}, {pred.Or(nil), false},
		{pred.And([]pred.Func{yes, yes}), true}, {pred.And([]pred.Func{yes, no}), false},
		{pred.Or([]pred.Func{no, yes}), true}, {pred.Or([]pred.Func{no, no}), false},
	}
	for i, c := range cases {
		if got := c.p(ev); got != c.want {
			t.Errorf("case %d = %v, want %v", i, got, c.want)
		}
	}
	pred.And([]pred.Func{no, counted})(ev)
	pred.Or([]pred.Func{yes, counted})(ev)
	if calls != 0 {
		t.Errorf("evaluation did not stop early: %d calls", calls)
	}
}
