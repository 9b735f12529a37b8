// Package ruletest runs tests written next to rules: each case names a
// rule, gives the records it sees (in any input format cairn reads, in
// order) and says whether the rule fires, as Panther's rule tests do.
// Cases live in test files (a YAML list of cases) or inside a Sigma rule
// under its custom attribute tests.
package ruletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/proctree"
	"github.com/cairn-cdr/cairn/sigma"
)

// Case is one test of a rule.
type Case struct {
	Name string `yaml:"name" json:"name"`
	// Rule is the rule's name (Falco), or title, name or id (Sigma).
	Rule string `yaml:"rule" json:"rule"`
	// Expect is "fire" or "silent".
	Expect string `yaml:"expect" json:"expect"`
	// Count, when set with fire, is the exact number of detections.
	Count int `yaml:"count,omitempty" json:"count,omitempty"`
	// Records are the input records, as YAML or JSON mappings.
	Records []any `yaml:"records" json:"-"`
	// File is where the case was read.
	File string `yaml:"-" json:"file"`
}

// Pipeline raises detections from events: a fresh one per case.
type Pipeline interface {
	Detect(ev *cairn.Event) []cairn.Detection
	Flush() []cairn.Detection
}

// Result is the outcome of one case.
type Result struct {
	Case   Case     `json:"case"`
	Pass   bool     `json:"pass"`
	Fired  int      `json:"fired"`
	Others []string `json:"others,omitempty"` // other rules that fired
	Error  string   `json:"error,omitempty"`
}

// Parse reads a test file: a YAML list of cases.
func Parse(name string, data []byte) ([]Case, error) {
	var cs []Case
	if err := yaml.Unmarshal(data, &cs); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	for i := range cs {
		cs[i].File = name
		if err := cs[i].check(); err != nil {
			return nil, fmt.Errorf("%s: case %d: %v", name, i+1, err)
		}
	}
	return cs, nil
}

func (c *Case) check() error {
	switch {
	case c.Rule == "":
		return fmt.Errorf("%q names no rule", c.Name)
	case c.Expect != "fire" && c.Expect != "silent":
		return fmt.Errorf("%q: expect must be fire or silent, not %q", c.Name, c.Expect)
	case len(c.Records) == 0:
		return fmt.Errorf("%q has no records", c.Name)
	}
	return nil
}

// Run decodes the case's records, enriches them with a process table as
// ingest does, passes them to the pipeline and compares what fired.
func Run(c Case, p Pipeline) Result {
	r := Result{Case: c}
	evs, err := decodeRecords(c.Records)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	tree := proctree.New(proctree.Options{})
	var dets []cairn.Detection
	for i := range evs {
		tree.Observe(&evs[i])
		tree.Enrich(&evs[i])
		dets = append(dets, p.Detect(&evs[i])...)
	}
	dets = append(dets, p.Flush()...)
	seen := map[string]bool{}
	for _, d := range dets {
		if d.Rule == c.Rule {
			r.Fired++
		} else if !seen[d.Rule] {
			seen[d.Rule] = true
			r.Others = append(r.Others, d.Rule)
		}
	}
	switch {
	case c.Expect == "silent":
		r.Pass = r.Fired == 0
	case c.Count > 0:
		r.Pass = r.Fired == c.Count
	default:
		r.Pass = r.Fired > 0
	}
	return r
}

// decodeRecords turns each record into events through cairn's decoders,
// the format detected from its content.
func decodeRecords(records []any) ([]cairn.Event, error) {
	var evs []cairn.Event
	for i, rec := range records {
		b, err := json.Marshal(normalize(rec))
		if err != nil {
			return nil, fmt.Errorf("record %d: %v", i+1, err)
		}
		var c decode.Collector
		if err := decode.Decode(context.Background(), bytes.NewReader(b), fmt.Sprintf("record %d", i+1), decode.Auto, &c); err != nil {
			return nil, fmt.Errorf("record %d: %v", i+1, err)
		}
		if len(c.Rejects) > 0 {
			return nil, fmt.Errorf("record %d: %s", i+1, c.Rejects[0].Reason)
		}
		evs = append(evs, c.Events...)
	}
	return evs, nil
}

// normalize turns YAML's map[string]any trees into JSON-encodable values
// (YAML may give map[any]any for non-string keys).
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

// Summary renders results for a terminal: one line per failure.
func Summary(rs []Result) (string, bool) {
	var b strings.Builder
	pass := 0
	for _, r := range rs {
		if r.Pass {
			pass++
			continue
		}
		why := r.Error
		if why == "" {
			why = fmt.Sprintf("%q fired %d times, want %s", r.Case.Rule, r.Fired, r.Case.Expect)
			if r.Case.Count > 0 {
				why += fmt.Sprintf(" (%d)", r.Case.Count)
			}
			if len(r.Others) > 0 {
				why += "; fired instead: " + strings.Join(r.Others, ", ")
			}
		}
		fmt.Fprintf(&b, "FAIL %s: %s: %s\n", r.Case.File, r.Case.Name, why)
	}
	fmt.Fprintf(&b, "%d of %d rule tests pass\n", pass, len(rs))
	return b.String(), pass == len(rs)
}

// FromSigma returns the test cases Sigma rules carry.
func FromSigma(tests []sigma.Test) []Case {
	out := make([]Case, 0, len(tests))
	for _, t := range tests {
		out = append(out, Case{Name: t.Name, Rule: t.Rule, Expect: t.Expect, Count: t.Count, Records: t.Records, File: t.File})
	}
	return out
}

// Check validates cases read from anywhere.
func Check(cs []Case) error {
	for i := range cs {
		if err := cs[i].check(); err != nil {
			return fmt.Errorf("%s: %v", cs[i].File, err)
		}
	}
	return nil
}
