package rulepack_test

import (
	"testing"

	"github.com/cairn-cdr/cairn/rulepack"
	"github.com/cairn-cdr/cairn/ruletest"
	"github.com/cairn-cdr/cairn/sigma"
)

// TestEveryRuleHasTests: every Falco rule of the pack has a case that
// fires and one that stays silent in the pack's test files, and every
// Sigma correlation carries both in its tests. (`cairn rules test` runs
// them; cmd/cairn's tests check that they pass.)
func TestEveryRuleHasTests(t *testing.T) {
	type cover struct{ fire, silent bool }
	got := map[string]*cover{}
	add := func(cs []ruletest.Case) {
		for _, c := range cs {
			cv := got[c.Rule]
			if cv == nil {
				cv = &cover{}
				got[c.Rule] = cv
			}
			if c.Expect == "fire" {
				cv.fire = true
			} else {
				cv.silent = true
			}
		}
	}
	for _, f := range rulepack.TestFiles() {
		cs, err := ruletest.Parse(f.Name, f.Data)
		if err != nil {
			t.Fatal(err)
		}
		add(cs)
	}
	rs, err := sigma.Load(rulepack.SigmaFiles()...)
	if err != nil {
		t.Fatal(err)
	}
	add(ruletest.FromSigma(rs.Tests))
	var rules []string
	for _, r := range load(t).Rules {
		rules = append(rules, r.Name)
	}
	for _, c := range rs.Correlations {
		rules = append(rules, c.Title)
	}
	for _, name := range rules {
		cv := got[name]
		switch {
		case cv == nil:
			t.Errorf("%q has no tests", name)
		case !cv.fire:
			t.Errorf("%q has no case that fires", name)
		case !cv.silent:
			t.Errorf("%q has no case that stays silent", name)
		}
	}
}
