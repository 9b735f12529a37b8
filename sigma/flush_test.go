package sigma_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/sigma"
)

// flushRules is a base rule with an eager correlation (gte) and one
// decided when its window closes (lt).
const flushRules = `title: Shell
id: 00000000-0000-0000-0000-0000000000a1
name: shell
logsource:
    product: linux
    category: process_creation
detection:
    sel:
        Image|endswith: '/sh'
    condition: sel
---
title: Many shells
name: many_shells
correlation:
    type: event_count
    rules: shell
    group-by: Computer
    timespan: 10m
    condition:
        gte: 3
---
title: Few shells
name: few_shells
correlation:
    type: event_count
    rules: shell
    group-by: Computer
    timespan: 1h
    condition:
        lt: 10
`

// A detector serves input after input, each ended by Flush (as ingest
// does for every request): correlations must keep firing on the later
// inputs, with held-back events too.
func TestDetectorFlushBetweenInputs(t *testing.T) {
	rs, err := sigma.Parse([]byte(flushRules))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 1 || len(rs.Correlations) != 2 {
		t.Fatalf("rules %d, correlations %d, skipped %+v", len(rs.Rules), len(rs.Correlations), rs.Skipped)
	}
	for _, late := range []time.Duration{0, 5 * time.Minute} {
		d, err := sigma.NewDetector(rs, sigma.DetectorOptions{Lateness: late})
		if err != nil {
			t.Fatal(err)
		}
		// input feeds three shells a minute apart from start (the last
		// two swapped when they may be out of order) and flushes; it
		// returns the correlations fired.
		order := []int{0, 1, 2}
		if late > 0 {
			order = []int{0, 2, 1}
		}
		input := func(start time.Time, tag string) []string {
			var got []cairn.Detection
			for _, i := range order {
				ev := execEv("/bin/sh", "-c id", "", "")
				ev.ID, ev.Time = fmt.Sprintf("%s-%d", tag, i), start.Add(time.Duration(i)*time.Minute)
				got = append(got, d.Detect(ev)...)
			}
			got = append(got, d.Flush()...)
			var out []string
			for _, det := range got {
				out = append(out, fmt.Sprintf("%s %s..%s %v", det.Rule,
					det.Time.Sub(t0), det.LastTime.Sub(t0), det.EventIDs))
			}
			slices.Sort(out)
			return out
		}
		first := input(t0, "a")
		second := input(t0.Add(2*time.Hour), "b")
		wantFirst := []string{
			"Few shells 0s..1h0m0s [a-0 a-1 a-2]",
			"Many shells 0s..2m0s [a-0 a-1 a-2]",
		}
		wantSecond := []string{
			"Few shells 2h0m0s..3h0m0s [b-0 b-1 b-2]",
			"Many shells 2h0m0s..2h2m0s [b-0 b-1 b-2]",
		}
		if !slices.Equal(first, wantFirst) || !slices.Equal(second, wantSecond) {
			t.Errorf("lateness %s:\nfirst input  %q\nwant         %q\nsecond input %q\nwant         %q",
				late, first, wantFirst, second, wantSecond)
		}
	}
}
