package assist

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/demo"
)

// catalogGaps are SCARLETEEL techniques that neither cairn's rules nor
// TrailDiscover's catalog give for the calls the story makes: the catalog
// maps s3 GetObject to T1048, not T1530, and nothing maps reading the
// Terraform state to T1552.001. TestCatalogGaps keeps this list honest.
var catalogGaps = []string{"T1530", "T1552.001"}

// TestCatalogGaps fails when the catalog starts to map the story's calls
// to a gap, so that catalogGaps can shrink and the tests below check it.
func TestCatalogGaps(t *testing.T) {
	for _, k := range [][2]string{{"s3.amazonaws.com", "GetObject"}, {"s3.amazonaws.com", "ListObjects"}} {
		c, ok := attack.CallTechniques(k[0], k[1])
		if !ok {
			t.Fatalf("%s %s not in the catalog", k[0], k[1])
		}
		for _, id := range catalogGaps {
			if slices.Contains(c.Techniques, id) {
				t.Errorf("the catalog now maps %s to %s: drop it from catalogGaps", k[1], id)
			}
		}
	}
}

// suggestedRe matches a line of the section of techniques the API calls
// suggest, with its technique id and the event ids it cites.
var suggestedRe = regexp.MustCompile(`(?m)^- \*\*(T\d{4}(?:\.\d{3})?) [^*]+\*\* \(.+\): (.+)$`)

// callSection returns the text of the section of techniques the API calls
// suggest, "" when there is none.
func callSection(text string) string {
	_, rest, ok := strings.Cut(text, "Techniques the API calls suggest\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// checkCallSection checks the section of the answer: it is labelled as the
// catalog's mapping, names no carried technique and no technique twice,
// and every event it cites is in the evidence, stored, a call of one of
// the identities allowed and none of a background identity. It returns
// the techniques listed.
func (f *answerFixture) checkCallSection(t *testing.T, a Answer, carried map[string]bool, allowed []string) map[string]bool {
	t.Helper()
	sec := callSection(a.Text)
	if sec == "" {
		t.Fatalf("no section of techniques the API calls suggest:\n%s", a.Text)
	}
	if !strings.Contains(sec, "Not from a detection rule") || !strings.Contains(sec, "API calls' catalog mapping") {
		t.Errorf("the section does not say where its techniques come from:\n%s", sec)
	}
	background := f.fx.Scenario.Truth.Background.Identities
	for _, bg := range background {
		if strings.Contains(sec, bg) {
			t.Errorf("the section names background identity %s", bg)
		}
	}
	listed := map[string]bool{}
	for _, m := range suggestedRe.FindAllStringSubmatch(sec, -1) {
		id := m[1]
		if listed[id] {
			t.Errorf("technique %s listed twice", id)
		}
		listed[id] = true
		if carried[id] {
			t.Errorf("technique %s is carried by a detection but listed as suggested by the calls", id)
		}
		tech, ok := attack.TechniqueByID(id)
		if !ok || !strings.Contains(m[0], tech.Name) {
			t.Errorf("technique %s is not named by its ATT&CK name: %s", id, m[0])
		}
		evs := codeSpans(m[2][strings.LastIndex(m[2], "; events "):])
		if len(evs) == 0 {
			t.Errorf("technique %s cites no event: %s", id, m[0])
		}
		for _, eid := range evs {
			if !slices.Contains(a.Evidence, eid) {
				t.Errorf("technique %s: event %s is not in the evidence", id, eid)
			}
			e, err := f.fx.Store.GetEvent(context.Background(), eid)
			if err != nil {
				t.Errorf("technique %s: event %s: %v", id, eid, err)
				continue
			}
			if e.Cloud == nil {
				t.Errorf("technique %s: event %s is not a CloudTrail call", id, eid)
				continue
			}
			if slices.Contains(background, e.Cloud.Identity.Key) || !slices.Contains(allowed, e.Cloud.Identity.Key) {
				t.Errorf("technique %s: event %s is a call of %s", id, eid, e.Cloud.Identity.Key)
			}
			call, ok := attack.CallTechniques(e.Cloud.EventSource, e.Cloud.EventName)
			if !ok || !slices.Contains(call.Techniques, id) {
				t.Errorf("technique %s: event %s is %s %s, which the catalog does not map to it", id, eid, e.Cloud.EventSource, e.Cloud.EventName)
			}
			if e.Cloud.ErrorCode != "" && !slices.Contains(tech.Tactics, "discovery") {
				t.Errorf("technique %s: event %s failed (%s) but counts for a technique that is not discovery", id, eid, e.Cloud.ErrorCode)
			}
			if !strings.Contains(m[2], strings.TrimSuffix(e.Cloud.EventSource, ".amazonaws.com")+":"+e.Cloud.EventName) {
				t.Errorf("technique %s: the call of event %s is not named: %s", id, eid, m[0])
			}
		}
	}
	return listed
}

// named reports whether an ATT&CK answer names technique id: as a carried
// technique (a code span) or as one the calls suggest.
func named(text, id string) bool {
	return strings.Contains(text, "`"+id+"`") || strings.Contains(callSection(text), "**"+id+" ")
}

func TestAnswerAttackCalls(t *testing.T) {
	for _, seed := range answerSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := openAnswers(t, seed)
			st := f.story(t, demo.StoryScarleteel)
			if len(st.Identities) != 2 {
				t.Fatalf("SCARLETEEL identities %v, want the node role and the IAM user", st.Identities)
			}
			var cloudTechs []string
			for _, d := range st.Detections {
				if d.Source == "cloudtrail" {
					for _, id := range d.Techniques {
						addOnce(&cloudTechs, id)
					}
				}
			}

			// The ATT&CK answer for the story's identities.
			var es []Entity
			for _, id := range st.Identities {
				es = append(es, Entity{KindIdentity, id})
			}
			c := f.load(t, es...)
			a := f.ask(t, answerAttack, c, Parsed{Intent: IntentAttack})
			carried := map[string]bool{}
			for _, d := range c.Detections {
				for _, id := range d.Techniques {
					carried[id] = true
				}
			}
			listed := f.checkCallSection(t, a, carried, st.Identities)
			if !listed["T1619"] {
				t.Errorf("T1619 (the Terraform state bucket listed) is not suggested by the calls:\n%s", callSection(a.Text))
			}
			for _, id := range cloudTechs {
				if slices.Contains(catalogGaps, id) {
					continue
				}
				if !named(a.Text, id) {
					t.Errorf("technique %s of the story's cloud detections is not named:\n%s", id, a.Text)
				}
			}

			// The report of everything names every technique of the story.
			all := f.load(t)
			// Not f.ask: the report's other sections quote values (commands
			// it writes, calls of events it does not cite) that the
			// invention check does not know; its ATT&CK section is checked
			// here.
			r, err := answerReport(context.Background(), f.env, all, Parsed{Intent: IntentReport})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Text, "## MITRE ATT&CK mapping") {
				t.Fatalf("no ATT&CK section in the report:\n%s", r.Text)
			}
			carried = map[string]bool{}
			var idents []string
			for _, d := range all.Detections {
				for _, id := range d.Techniques {
					carried[id] = true
				}
				if d.Entities.Identity != "" {
					addOnce(&idents, d.Entities.Identity)
				}
			}
			listed = f.checkCallSection(t, r, carried, idents)
			for _, id := range st.Techniques {
				if slices.Contains(catalogGaps, id) {
					continue
				}
				if !named(r.Text, id) {
					t.Errorf("technique %s of the story is not named in the report", id)
				}
			}
			if !listed["T1619"] && !carried["T1619"] {
				t.Error("the report does not name T1619")
			}
		})
	}
}
