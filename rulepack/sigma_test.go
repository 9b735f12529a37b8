package rulepack_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/rulepack"
	"github.com/cairn-cdr/cairn/sigma"
)

func sigmaDetector(t *testing.T, opts sigma.DetectorOptions) *sigma.Detector {
	t.Helper()
	rs, err := sigma.Load(rulepack.SigmaFiles()...)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Skipped) > 0 {
		t.Fatalf("pack Sigma rules skipped: %+v", rs.Skipped)
	}
	d, err := sigma.NewDetector(rs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// On the demo (any seed), the identity correlations fire on the
// SCARLETEEL attacker's identities only, and the base rules that feed
// them raise nothing on their own.
func TestSigmaPackOnDemo(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		sc, err := demo.Generate(demo.Options{Seed: seed, Now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		var c decode.Collector
		in := append(append([]byte(`{"Records":[`), bytes.Join(sc.CloudTrail, []byte(","))...), "]}"...)
		if err := decode.Decode(context.Background(), bytes.NewReader(in), "demo", decode.CloudTrail, &c); err != nil {
			t.Fatal(err)
		}
		// As a stream in time order, decided at once; and in the
		// records' order, held back and decided when the input ends.
		var got []cairn.Detection
		d := sigmaDetector(t, sigma.DetectorOptions{Lateness: 7 * 24 * time.Hour})
		for i := range c.Events {
			got = append(got, d.Detect(&c.Events[i])...)
		}
		got = append(got, d.Flush()...)
		batch := len(got)
		slices.SortStableFunc(c.Events, func(a, b cairn.Event) int { return a.Time.Compare(b.Time) })
		d = sigmaDetector(t, sigma.DetectorOptions{})
		for i := range c.Events {
			got = append(got, d.Detect(&c.Events[i])...)
		}
		got = append(got, d.Flush()...)
		if batch == 0 || 2*batch != len(got) {
			t.Errorf("seed %d: %d detections held back, %d streamed; want the same, not 0", seed, batch, len(got)-batch)
		}
		rules := map[string][]string{}
		for _, det := range got {
			rules[det.Rule] = append(rules[det.Rule], det.Entities.Identity)
		}
		ses := rules["SES Reconnaissance by One Identity"]
		want := truthIdentity(t, sc, "SES")
		if len(ses) == 0 || slices.ContainsFunc(ses, func(id string) bool { return id != want }) {
			t.Errorf("seed %d: SES reconnaissance detections on %v, want them on the attacker's IAM user only", seed, ses)
		}
		read := rules["S3 Data Read After Logging Was Stopped"]
		want = truthIdentity(t, sc, "confidential objects read")
		if len(read) == 0 || slices.ContainsFunc(read, func(id string) bool { return id != want }) {
			t.Errorf("seed %d: data read after logging stopped on %v, want it on %s only", seed, read, want)
		}
		for rule, ids := range rules {
			switch rule {
			case "SES Reconnaissance by One Identity", "Discovery Burst by One Identity", "S3 Data Read After Logging Was Stopped":
			default:
				t.Errorf("seed %d: %q fired on %v", seed, rule, ids)
			}
		}
		t.Logf("seed %d: %v", seed, rules)
	}
}

// truthIdentity returns the identity of the ground truth's cloud
// detection whose description contains what.
func truthIdentity(t *testing.T, sc *demo.Scenario, what string) string {
	t.Helper()
	for _, st := range sc.Truth.Stories {
		for _, d := range st.Detections {
			if d.Source == "cloudtrail" && strings.Contains(d.What, what) {
				return d.Identity
			}
		}
	}
	t.Fatalf("no truth detection about %q", what)
	return ""
}
