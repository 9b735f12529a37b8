package assist_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/internal/demostore"
)

// TestRisks groups the demo's detections into incidents: one per story
// (SCARLETEEL's container, node role and IAM user joined through the
// role's credentials and the attacker's address), the malicious ones
// ranked above the benign CIS benchmark, each with a filter that selects
// exactly its detections.
func TestRisks(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		fx := demostore.Open(t, seed, demoNow)
		ctx := context.Background()
		c, err := assist.Load(ctx, fx.Store, assist.NewScope())
		if err != nil {
			t.Fatal(err)
		}
		risks := assist.Risks(c)
		tr := fx.Scenario.Truth
		scar, cis := story(t, tr, demo.StoryScarleteel), story(t, tr, demo.StoryCIS)
		var scarRisk, cisRisk = -1, -1
		total := 0
		for i, r := range risks {
			total += len(r.Detections)
			if slices.Contains(r.Workloads, scar.Workloads[0].Namespace+"/"+scar.Workloads[0].Pod) {
				scarRisk = i
			}
			if slices.Contains(r.Workloads, cis.Workloads[0].Namespace+"/"+cis.Workloads[0].Pod) {
				cisRisk = i
			}
			if i > 0 && r.Score > risks[i-1].Score {
				t.Errorf("seed %d: risks not ordered by score at %d", seed, i)
			}
			// The filter selects the incident's detections (and no others).
			got, err := assist.Load(ctx, fx.Store, assist.Scope{Extra: r.Filter})
			if err != nil {
				t.Fatalf("seed %d: filter %q: %v", seed, r.Filter, err)
			}
			if len(got.Detections) != len(r.Detections) {
				t.Errorf("seed %d: %q selects %d detections, the incident has %d", seed, r.Filter, len(got.Detections), len(r.Detections))
			}
		}
		if total != len(c.Detections) {
			t.Errorf("seed %d: incidents hold %d of %d detections", seed, total, len(c.Detections))
		}
		if scarRisk < 0 || cisRisk < 0 {
			t.Fatalf("seed %d: SCARLETEEL at %d, CIS at %d in %+v", seed, scarRisk, cisRisk, risks)
		}
		r := risks[scarRisk]
		for _, id := range scar.Identities {
			if !slices.Contains(r.Identities, id) {
				t.Errorf("seed %d: SCARLETEEL incident lacks identity %s: %v", seed, id, r.Identities)
			}
		}
		if !strings.Contains(strings.Join(r.Exposure, ";"), "credentials") {
			t.Errorf("seed %d: SCARLETEEL exposure %v", seed, r.Exposure)
		}
		if cisRisk < scarRisk || risks[cisRisk].Score >= r.Score {
			t.Errorf("seed %d: the benign CIS benchmark (%.1f) ranks with or above SCARLETEEL (%.1f)", seed, risks[cisRisk].Score, r.Score)
		}
	}
}

func TestWithIdentities(t *testing.T) {
	rs := []assist.Risk{{Title: "a", Score: 10, Identities: []string{"u1"}}, {Title: "b", Score: 12}}
	rs = assist.WithIdentities(rs, map[string]assist.IdentityRisk{"u1": {State: "compromised", Level: "critical", Reasons: []string{"administrator access"}}})
	if rs[0].Title != "a" || rs[0].Score != 20 || len(rs[0].IdentityRisk) != 1 || !strings.Contains(rs[0].IdentityRisk[0], "administrator access") {
		t.Errorf("WithIdentities = %+v", rs)
	}
}
