package identity

import (
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	auto := Status{State: StatePotentiallyCompromised, Since: t0, Evidence: []string{"d1"}, By: AutoBy, At: t0.Add(time.Hour)}
	if got := Merge(auto, nil); got.State != StatePotentiallyCompromised || got.By != AutoBy {
		t.Errorf("no verdict: %+v", got)
	}
	flagged := &cairn.IdentityStatus{Identity: "x", State: cairn.IdentityCompromised, By: "ana", At: t0.Add(2 * time.Hour), Note: "confirmed"}
	got := Merge(auto, flagged)
	if got.State != StateCompromised || got.By != "ana" || !got.Since.Equal(t0) || len(got.Evidence) != 1 {
		t.Errorf("compromised: %+v", got)
	}
	cleared := &cairn.IdentityStatus{Identity: "x", State: cairn.IdentityCleared, By: "ana", At: t0.Add(2 * time.Hour)}
	if got := Merge(auto, cleared); got.State != StateCleared {
		t.Errorf("cleared after the evidence: %+v", got)
	}
	later := auto
	later.At = t0.Add(3 * time.Hour)
	if got := Merge(later, cleared); got.State != StatePotentiallyCompromised {
		t.Errorf("new evidence after clearing: %+v", got)
	}
}
