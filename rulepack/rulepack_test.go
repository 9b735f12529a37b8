package rulepack_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/proctree"
	"github.com/cairn-cdr/cairn/rulepack"
)

func load(t *testing.T) *falco.RuleSet {
	t.Helper()
	rs, err := falco.Load(rulepack.Files()...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return rs
}

func TestPackLoads(t *testing.T) {
	files := rulepack.Files()
	if len(files) == 0 {
		t.Fatal("no embedded rules files")
	}
	for i := 1; i < len(files); i++ {
		if files[i-1].Name >= files[i].Name {
			t.Errorf("files not sorted: %q before %q", files[i-1].Name, files[i].Name)
		}
	}
	rs := load(t)
	for _, s := range rs.Skipped {
		t.Errorf("rule %q skipped: %s %v", s.Rule, s.Reason, s.Fields)
	}
	if len(rs.Rules) < 20 {
		t.Errorf("got %d rules, want at least 20", len(rs.Rules))
	}
	for _, r := range rs.Rules {
		n := 0
		for _, tag := range r.Tags {
			if strings.HasPrefix(tag, "T") {
				if _, ok := attack.TechniqueByID(tag); !ok {
					t.Errorf("rule %q: tag %q is not a known ATT&CK technique", r.Name, tag)
					continue
				}
				n++
			}
		}
		if n == 0 {
			t.Errorf("rule %q has no ATT&CK technique tag", r.Name)
		}
		if r.Desc == "" || r.Output == "" || r.Priority == "" {
			t.Errorf("rule %q lacks desc, output or priority", r.Name)
		}
	}
}

// fired is one rule match on one event.
type fired struct {
	ev   *cairn.Event
	rule *falco.Rule
}

// run decodes a scenario's records, enriches them in time order through
// a process tree, and evaluates the pack on every event.
func run(t *testing.T, s *demo.Scenario, eng *falco.Engine) ([]cairn.Event, []fired) {
	t.Helper()
	var c decode.Collector
	for _, recs := range [][][]byte{s.Tetragon, s.CloudTrail} {
		for _, b := range recs {
			if err := decode.Decode(context.Background(), bytes.NewReader(b), "demo", decode.Auto, &c); err != nil {
				t.Fatalf("decode: %v", err)
			}
		}
	}
	if len(c.Rejects) > 0 {
		t.Fatalf("%d records rejected, first: %+v", len(c.Rejects), c.Rejects[0])
	}
	tree := proctree.New(proctree.Options{})
	var out []fired
	for i := range c.Events {
		ev := &c.Events[i]
		if ev.Process != nil {
			tree.Observe(ev)
			tree.Enrich(ev)
		}
		for _, m := range eng.Eval(ev) {
			out = append(out, fired{ev, m.Rule})
		}
	}
	return c.Events, out
}

// singleEvent reports whether d names one event: a runtime detection on
// one exec id, or a cloud detection with exactly one CloudTrail event id.
// Cloud detections listing several event ids describe a pattern over many
// calls (bursts, repeated reads) and are left to correlation rules.
func singleEvent(d demo.Detection) bool {
	if baselined[d.What] {
		return false
	}
	if d.Source == "tetragon" {
		return d.ExecID != ""
	}
	return len(d.EventIDs) == 1
}

// baselined lists the single-event detections that only a baseline can
// raise: "new address" means an address the identity has not used before,
// which a stateless rule cannot know. They are left to the behavioural
// analytics.
var baselined = map[string]bool{
	"IAM user keys used from a new address": true,
}

// names reports whether ev is the event d describes: for runtime, an event
// of the named process of the right kind (the connection to DestIP, the
// file File, or else the exec); for cloud, the named CloudTrail event.
func names(d demo.Detection, ev *cairn.Event) bool {
	if d.Source != "tetragon" {
		return ev.Cloud != nil && ev.Cloud.EventID == d.EventIDs[0]
	}
	if ev.Process == nil || ev.Process.ExecID != d.ExecID {
		return false
	}
	if d.ArgsContains != "" && ev.Type == "execve" {
		return true // the detection is on the command line
	}
	switch {
	case d.DestIP != "":
		return ev.Net != nil && ev.Type == "connect" && ev.Net.DstIP == d.DestIP
	case d.File != "" && ev.File != nil:
		return ev.File.Path == d.File
	case d.File != "" && d.ArgsContains == "":
		return false
	default:
		return ev.Type == "execve"
	}
}

func hasTechnique(r *falco.Rule, ids []string) bool {
	if len(ids) == 0 {
		return true
	}
	for _, tag := range r.Tags {
		for _, id := range ids {
			if tag == id {
				return true
			}
		}
	}
	return false
}

// storyEvents returns the events that belong to a story: an event whose
// exec id or CloudTrail event id a story's detection (or root cause) names,
// or whose process descends from such a process (exec ids are unique
// across the fleet, so descent cannot cross hosts). Everything else is
// background.
func storyEvents(tr demo.Truth, events []cairn.Event) map[*cairn.Event]bool {
	roots := map[string]bool{}
	ids := map[string]bool{}
	for _, st := range tr.Stories {
		for _, d := range st.Detections {
			if d.ExecID != "" {
				roots[d.ExecID] = true
			}
			for _, id := range d.EventIDs {
				ids[id] = true
			}
		}
		if st.RootCause.ExecID != "" {
			roots[st.RootCause.ExecID] = true
		}
	}
	// Children inherit membership: the exec events come in time order, so
	// one pass over parent exec ids closes the set of descendants.
	for i := range events {
		p := events[i].Process
		if p != nil && p.ParentExecID != "" && roots[p.ParentExecID] {
			roots[p.ExecID] = true
		}
	}
	out := map[*cairn.Event]bool{}
	for i := range events {
		ev := &events[i]
		if ev.Process != nil && roots[ev.Process.ExecID] {
			out[ev] = true
		}
		if ev.Cloud != nil && ids[ev.Cloud.EventID] {
			out[ev] = true
		}
	}
	return out
}

func TestDemoStories(t *testing.T) {
	rs := load(t)
	eng := falco.NewEngine(rs.Rules)
	now := time.Date(2026, 11, 25, 12, 0, 7, 250_000_000, time.UTC)
	for _, seed := range []int64{1, 2, 3} {
		s, err := demo.Generate(demo.Options{Seed: seed, Now: now})
		if err != nil {
			t.Fatalf("Generate(%d): %v", seed, err)
		}
		events, hits := run(t, s, eng)
		for _, st := range s.Truth.Stories {
			for _, d := range st.Detections {
				if !singleEvent(d) {
					continue
				}
				found, tagged := false, false
				for _, h := range hits {
					if names(d, h.ev) {
						found = true
						if hasTechnique(h.rule, d.Techniques) {
							tagged = true
						}
					}
				}
				switch {
				case !found:
					t.Errorf("seed %d story %s: %q (%s %s) not detected", seed, st.ID, d.What, d.ExecID, strings.Join(d.EventIDs, ","))
				case !tagged:
					t.Errorf("seed %d story %s: %q detected, but no rule tags one of %v", seed, st.ID, d.What, d.Techniques)
				}
			}
		}
		story := storyEvents(s.Truth, events)
		for _, h := range hits {
			if !story[h.ev] {
				t.Errorf("seed %d: rule %q fired on background event %s (%s)", seed, h.rule.Name, h.ev.ID, h.rule.Render(h.ev))
			}
		}
	}
}
