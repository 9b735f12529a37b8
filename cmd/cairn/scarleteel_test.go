package main

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/demo"
)

// TestDemoCloudDetections runs the demo through cairn's defaults (Falco
// pack, Sigma correlations, analytics) and checks the SCARLETEEL story's
// cloud detections land on the right identities, and that no CloudTrail
// detection names a background identity.
func TestDemoCloudDetections(t *testing.T) {
	for seed := 1; seed <= 3; seed++ {
		db := filepath.Join(t.TempDir(), "d.db")
		if code, _, errs := cli(t, "", "demo", "--db", db, "--seed", strconv.Itoa(seed)); code != 0 {
			t.Fatalf("demo: %s", errs)
		}
		sc, err := demo.Generate(demo.Options{Seed: int64(seed), Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		truth := map[string]string{} // what → identity
		for _, st := range sc.Truth.Stories {
			for _, d := range st.Detections {
				if d.Source == "cloudtrail" {
					truth[d.What] = d.Identity
				}
			}
		}
		ds := detectionsJSON(t, db, "")
		on := func(rule string) []string {
			var ids []string
			for _, d := range ds {
				if d.Rule == rule {
					ids = append(ids, d.Entities.Identity)
				}
			}
			return ids
		}
		for rule, what := range map[string]string{
			"SES Reconnaissance by One Identity":             "SES",
			"CloudTrail Logging Disabled or Changed":         "CloudTrail logging stopped",
			"S3 Bucket Policy or Access Changed":             "bucket policy",
			"Instance Credentials Used Outside the Instance": "instance role credentials used outside AWS",
		} {
			var want string
			for w, id := range truth {
				if strings.Contains(w, what) {
					want = id
				}
			}
			got := on(rule)
			if want == "" || len(got) == 0 || slices.ContainsFunc(got, func(id string) bool { return id != want }) {
				t.Errorf("seed %d: %q on %v, want on %q", seed, rule, got, want)
			}
		}
		for _, d := range ds {
			if d.Entities.Identity != "" && slices.Contains(sc.Truth.Background.Identities, d.Entities.Identity) {
				t.Errorf("seed %d: %q fired on background identity %s", seed, d.Rule, d.Entities.Identity)
			}
		}
	}
}
