package falco_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/falco"
)

// runKnownBugs makes TestRuleCases run the cases of
// testdata/cases/known_bugs instead of skipping them: for whoever fixes
// one of those bugs.
var runKnownBugs = flag.Bool("falco.knownbugs", false, "run testdata/cases/known_bugs instead of skipping them")

// ruleCase is one whole-rules conformance case, a YAML file under
// testdata/cases. Its keys:
//
//	desc: text                  what the case shows (required)
//	rules: |                    one rules file, as Falco YAML
//	rules: [|, |]               or several, loaded in order, so that later
//	                            files amend earlier ones
//	defaults: {map}             top-level keys merged into every event that
//	                            lacks them (give a key null to drop it)
//	events: [ ... ]             events, each with a unique id:
//	  - {cairn.Event JSON/YAML}   an event as cairn.Event's JSON tags spell it
//	                              (unknown keys are an error)
//	  - {id: x, cloudtrail: {...}}  a raw CloudTrail record, turned into an
//	                              event by cairn's CloudTrail decoder (Raw is
//	                              the record); defaults do not apply
//	expect:                     for every event id, the rules it must
//	  id: [Rule A, Rule B]        trigger, exactly: a missing or an extra
//	  id2: []                     match fails; an entry {Rule A: text} also
//	  id3: [{Rule A: text}]       requires the rendered output to be text
//	expect_rules:               loaded rules' attributes; only the keys
//	  Rule A: {priority: X, tags: [..], desc: X, source: X, output: X}
//	                            given are checked (tags compared sorted)
//	expect_skipped:             rules Load must report skipped, exactly:
//	  - {rule: R, field: F}       skipped for lacking field F, or
//	  - {rule: R, reason: S}      with S in the reason
//	expect_load_error: text     Load must fail with text in the error; the
//	                            case then has no events
//	known_bug: text             only under known_bugs/: the engine bug
//	                            (file:line, what is wrong) the case shows;
//	                            the case is skipped unless -falco.knownbugs
type ruleCase struct {
	Desc            string                `yaml:"desc"`
	Rules           yaml.Node             `yaml:"rules"`
	Defaults        map[string]any        `yaml:"defaults"`
	Events          []map[string]any      `yaml:"events"`
	Expect          map[string][]any      `yaml:"expect"`
	ExpectRules     map[string]ruleExpect `yaml:"expect_rules"`
	ExpectSkipped   []skipExpect          `yaml:"expect_skipped"`
	ExpectLoadError string                `yaml:"expect_load_error"`
	KnownBug        string                `yaml:"known_bug"`
}

// ruleExpect lists attributes a loaded rule must have; nil means
// unchecked.
type ruleExpect struct {
	Priority *string  `yaml:"priority"`
	Desc     *string  `yaml:"desc"`
	Source   *string  `yaml:"source"`
	Output   *string  `yaml:"output"`
	Tags     []string `yaml:"tags"`
}

// skipExpect is a rule Load must skip, for lacking Field or with Reason
// in its reason.
type skipExpect struct {
	Rule   string `yaml:"rule"`
	Field  string `yaml:"field"`
	Reason string `yaml:"reason"`
}

// TestRuleCases runs every case of testdata/cases (see ruleCase); those
// of testdata/cases/known_bugs show engine bugs and are skipped.
func TestRuleCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in testdata/cases: %v", err)
	}
	bugs, err := filepath.Glob("testdata/cases/known_bugs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c := readCase(t, file)
			if c.KnownBug != "" {
				t.Fatalf("%s: known_bug is only for cases under known_bugs/", file)
			}
			runCase(t, file, c)
		})
	}
	for _, file := range bugs {
		t.Run("known_bugs/"+filepath.Base(file), func(t *testing.T) {
			c := readCase(t, file)
			if c.KnownBug == "" {
				t.Fatalf("%s: a case under known_bugs/ must name its bug in known_bug", file)
			}
			if !*runKnownBugs {
				t.Skipf("known bug: %s", c.KnownBug)
			}
			runCase(t, file, c)
		})
	}
}

// readCase parses a case file strictly: an unknown key is an error.
func readCase(t *testing.T, file string) *ruleCase {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c ruleCase
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if strings.TrimSpace(c.Desc) == "" {
		t.Fatalf("%s: desc is required", file)
	}
	return &c
}

// ruleFiles returns the case's rules files, named rules-1.yaml, ...
func ruleFiles(t *testing.T, file string, n *yaml.Node) []falco.File {
	t.Helper()
	var texts []string
	switch n.Kind {
	case yaml.ScalarNode:
		texts = []string{n.Value}
	case yaml.SequenceNode:
		for _, f := range n.Content {
			if f.Kind != yaml.ScalarNode {
				t.Fatalf("%s: line %d: each rules file is a string", file, f.Line)
			}
			texts = append(texts, f.Value)
		}
	default:
		t.Fatalf("%s: rules must be a string or a list of strings", file)
	}
	out := make([]falco.File, len(texts))
	for i, s := range texts {
		out[i] = falco.File{Name: fmt.Sprintf("rules-%d.yaml", i+1), Data: []byte(s)}
	}
	return out
}

func runCase(t *testing.T, file string, c *ruleCase) {
	rs, err := falco.Load(ruleFiles(t, file, &c.Rules)...)
	if c.ExpectLoadError != "" {
		if err == nil || !strings.Contains(err.Error(), c.ExpectLoadError) {
			t.Errorf("%s: Load error %v, want one containing %q", file, err, c.ExpectLoadError)
		}
		if len(c.Events)+len(c.Expect)+len(c.ExpectRules)+len(c.ExpectSkipped) > 0 {
			t.Errorf("%s: a case with expect_load_error has nothing else to check", file)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: Load: %v", file, err)
	}
	checkSkipped(t, file, rs, c.ExpectSkipped)
	loaded := map[string]*falco.Rule{}
	for _, r := range rs.Rules {
		loaded[r.Name] = r
	}
	checkRules(t, file, loaded, c.ExpectRules)

	if len(c.Events) == 0 && len(c.ExpectSkipped) == 0 && len(c.ExpectRules) == 0 {
		t.Fatalf("%s: a case needs events or another expectation", file)
	}
	engine := falco.NewEngine(rs.Rules)
	seen := map[string]bool{}
	for i, m := range c.Events {
		ev := caseEvent(t, file, i, m, c.Defaults)
		if seen[ev.ID] {
			t.Fatalf("%s: event id %q used twice", file, ev.ID)
		}
		seen[ev.ID] = true
		want, ok := c.Expect[ev.ID]
		if !ok {
			t.Errorf("%s: event %s has no entry in expect (write %s: [] when no rule may match)", file, ev.ID, ev.ID)
			continue
		}
		checkMatches(t, file, ev, engine.Eval(ev), want, loaded)
	}
	for id := range c.Expect {
		if !seen[id] {
			t.Errorf("%s: expect names event %s, which events lacks", file, id)
		}
	}
}

// checkMatches compares the rules ev triggered with the expected entries:
// rule names, or {rule: output} maps.
func checkMatches(t *testing.T, file string, ev *cairn.Event, got []falco.Match, want []any, loaded map[string]*falco.Rule) {
	t.Helper()
	outputs := map[string]*string{} // expected rule -> exact output, or nil
	for _, w := range want {
		switch w := w.(type) {
		case string:
			outputs[w] = nil
		case map[string]any:
			for name, out := range w {
				s, ok := out.(string)
				if !ok {
					t.Fatalf("%s: event %s: output of rule %q must be a string, not %v", file, ev.ID, name, out)
				}
				outputs[name] = &s
			}
		default:
			t.Fatalf("%s: event %s: expect entry %v is neither a rule name nor {rule: output}", file, ev.ID, w)
		}
	}
	for name := range outputs {
		if loaded[name] == nil {
			t.Errorf("%s: event %s: expected rule %q is not among the loaded rules", file, ev.ID, name)
		}
	}
	matched := map[string]bool{}
	for _, m := range got {
		name := m.Rule.Name
		if matched[name] {
			t.Errorf("%s: event %s: rule %q matched twice", file, ev.ID, name)
		}
		matched[name] = true
		out, ok := outputs[name]
		switch {
		case !ok:
			t.Errorf("%s: event %s: rule %q matched but is not expected (output %q)", file, ev.ID, name, m.Output)
		case out != nil && *out != m.Output:
			t.Errorf("%s: event %s: rule %q output\n got: %q\nwant: %q", file, ev.ID, name, m.Output, *out)
		}
	}
	var missing []string
	for name := range outputs {
		if !matched[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		t.Errorf("%s: event %s: rule %q expected but did not match", file, ev.ID, name)
	}
}

// caseEvent builds the i-th event of a case.
func caseEvent(t *testing.T, file string, i int, m, defaults map[string]any) *cairn.Event {
	t.Helper()
	id, _ := m["id"].(string)
	if id == "" {
		t.Fatalf("%s: event %d has no id", file, i+1)
	}
	if rec, ok := m["cloudtrail"]; ok {
		if len(m) != 2 {
			t.Fatalf("%s: event %s: a cloudtrail event has only id and cloudtrail", file, id)
		}
		return cloudTrailEvent(t, file, id, rec)
	}
	merged := make(map[string]any, len(m)+len(defaults))
	for k, v := range defaults {
		merged[k] = v
	}
	for k, v := range m {
		merged[k] = v
	}
	data, err := json.Marshal(merged)
	if err != nil {
		t.Fatalf("%s: event %s: %v", file, id, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ev cairn.Event
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: event %s is not a cairn.Event: %v", file, id, err)
	}
	return &ev
}

// cloudTrailEvent decodes one raw CloudTrail record with cairn's decoder.
func cloudTrailEvent(t *testing.T, file, id string, rec any) *cairn.Event {
	t.Helper()
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatalf("%s: event %s: %v", file, id, err)
	}
	var c decode.Collector
	if err := decode.Decode(context.Background(), bytes.NewReader(data), file, decode.CloudTrail, &c); err != nil {
		t.Fatalf("%s: event %s: %v", file, id, err)
	}
	if len(c.Rejects) > 0 || len(c.Events) != 1 {
		t.Fatalf("%s: event %s: decoded %d events, rejected %+v", file, id, len(c.Events), c.Rejects)
	}
	ev := c.Events[0]
	ev.ID = id
	return &ev
}

// checkSkipped compares Load's skipped rules with the expected ones.
func checkSkipped(t *testing.T, file string, rs *falco.RuleSet, want []skipExpect) {
	t.Helper()
	used := make([]bool, len(want))
	for _, s := range rs.Skipped {
		found := false
		for i, w := range want {
			if w.Rule != s.Rule {
				continue
			}
			found, used[i] = true, true
			if w.Field != "" && !contains(s.Fields, w.Field) {
				t.Errorf("%s: rule %q skipped for fields %v (%s), want a skip naming field %s", file, s.Rule, s.Fields, s.Reason, w.Field)
			}
			if w.Reason != "" && !strings.Contains(s.Reason, w.Reason) {
				t.Errorf("%s: rule %q skipped because %q, want a reason containing %q", file, s.Rule, s.Reason, w.Reason)
			}
		}
		if !found {
			t.Errorf("%s: rule %q skipped (fields %v: %s) but expect_skipped does not list it", file, s.Rule, s.Fields, s.Reason)
		}
	}
	for i, w := range want {
		if !used[i] {
			t.Errorf("%s: rule %q expected to be skipped but was not", file, w.Rule)
		}
	}
}

// checkRules compares loaded rules' attributes with expect_rules.
func checkRules(t *testing.T, file string, loaded map[string]*falco.Rule, want map[string]ruleExpect) {
	t.Helper()
	for name, w := range want {
		r := loaded[name]
		if r == nil {
			t.Errorf("%s: expect_rules names rule %q, which is not loaded", file, name)
			continue
		}
		str := func(what string, got string, want *string) {
			if want != nil && got != *want {
				t.Errorf("%s: rule %q: %s %q, want %q", file, name, what, got, *want)
			}
		}
		str("priority", r.Priority, w.Priority)
		str("desc", r.Desc, w.Desc)
		str("source", r.Source, w.Source)
		str("output", r.Output, w.Output)
		if w.Tags != nil {
			got := append([]string(nil), r.Tags...)
			wantTags := append([]string(nil), w.Tags...)
			sort.Strings(got)
			sort.Strings(wantTags)
			if strings.Join(got, "\x00") != strings.Join(wantTags, "\x00") {
				t.Errorf("%s: rule %q: tags %q, want %q", file, name, got, wantTags)
			}
		}
	}
}
