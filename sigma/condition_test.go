package sigma_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/sigma"
)

func TestParseCondition(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"sel", "sel"},
		{"a or b and c", "(a or (b and c))"},
		{"a and b or c", "((a and b) or c)"},
		{"not a and b", "(not a and b)"},
		{"not (a and b)", "not (a and b)"},
		{"a AND NOT b", "(a and not b)"},
		{"1 of selection* and not 1 of filter_*", "(1 of selection* and not 1 of filter_*)"},
		{"all of them", "all of them"},
		{"any of sel_*", "1 of sel_*"},
		{"2 of sel*", "2 of sel*"},
		{"not 1 of filter*", "not 1 of filter*"},
		{"((a))", "a"},
		{"a or b or c", "(a or b or c)"},
		{"all of selection_* and not (filter1 or 1 of filter_opt*)", "(all of selection_* and not (filter1 or 1 of filter_opt*))"},
	} {
		got, err := sigma.ParseCondition(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseCondition(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, err string }{
		{"", "empty"},
		{"a and", "ends too early"},
		{"a b", "unexpected"},
		{"(a", "missing )"},
		{"a)", "unexpected"},
		{"0 of a*", "positive count"},
		{"all of", "of what"},
		{"all of (a)", "pattern or them"},
		{"sel | count() > 5", "aggregations"},
		{"not", "ends too early"},
		{"and a", "unexpected"},
		{strings.Repeat("(", 200) + "a" + strings.Repeat(")", 200), "nests deeper"},
		{strings.Repeat("not ", 200) + "a", "nests deeper"},
	} {
		if _, err := sigma.ParseCondition(c.in); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseCondition(%q) error = %v, want %q", c.in, err, c.err)
		}
	}
}

// TestConditionSemantics evaluates condition forms over selections
// sel_a, sel_b, sel_c, _hidden and filter_x, each matching a command line
// containing its letter ("a", "b", "c", "h", "x").
func TestConditionSemantics(t *testing.T) {
	det := func(cond string) string {
		return "sel_a:\n    CommandLine|contains: ' a'\nsel_b:\n    CommandLine|contains: ' b'\nsel_c:\n    CommandLine|contains: ' c'\n" +
			"_hidden:\n    CommandLine|contains: ' h'\nfilter_x:\n    CommandLine|contains: ' x'\ncondition: " + cond
	}
	for _, c := range []struct {
		cond string
		yes  []string // argument letters of matching events
		no   []string
	}{
		{"sel_a and sel_b", []string{"a b"}, []string{"a", "b", ""}},
		{"sel_a or sel_b", []string{"a", "b", "a b"}, []string{"c", ""}},
		{"not sel_a", []string{"b", ""}, []string{"a", "a b"}},
		{"sel_a or sel_b and sel_c", []string{"a", "b c"}, []string{"b", "c"}},
		{"(sel_a or sel_b) and sel_c", []string{"a c", "b c"}, []string{"a", "b"}},
		{"not sel_a and sel_b", []string{"b"}, []string{"a b", "a"}},
		{"1 of sel_*", []string{"a", "c"}, []string{"x", "h"}},
		{"all of sel_*", []string{"a b c"}, []string{"a b", "a c x"}},
		{"2 of sel_*", []string{"a b", "b c"}, []string{"a", "c x"}},
		{"1 of them", []string{"a", "x"}, []string{"h", ""}},
		{"all of them", []string{"a b c x"}, []string{"a b c", "a b c h"}},
		{"1 of sel_* and not 1 of filter_*", []string{"a", "b c"}, []string{"a x", "x"}},
		{"_hidden", []string{"h"}, []string{"a"}},
	} {
		t.Run(c.cond, func(t *testing.T) {
			rs, err := sigma.Parse([]byte(ruleText(lsProc, det(c.cond))))
			if err != nil {
				t.Fatal(err)
			}
			if len(rs.Rules) != 1 {
				t.Fatalf("not loaded: %+v", rs.Skipped)
			}
			r := rs.Rules[0]
			for _, args := range c.yes {
				if !r.Match(execEv("/bin/x", " "+args, "", "")) {
					t.Errorf("%q did not match", args)
				}
			}
			for _, args := range c.no {
				if r.Match(execEv("/bin/x", " "+args, "", "")) {
					t.Errorf("%q matched", args)
				}
			}
		})
	}
}

func TestConditionList(t *testing.T) {
	r := mustRule(t, lsProc, "sel_a:\n    CommandLine|contains: ' a'\nsel_b:\n    CommandLine|contains: ' b'\ncondition:\n    - sel_a\n    - sel_b")
	for args, want := range map[string]bool{" a": true, " b": true, " c": false} {
		if got := r.Match(execEv("/bin/x", args, "", "")); got != want {
			t.Errorf("%q: %v, want %v", args, got, want)
		}
	}
}

// TestSkipReasons checks that rules cairn cannot evaluate are skipped with
// a reason that says why.
func TestSkipReasons(t *testing.T) {
	for _, c := range []struct{ ls, det, reason string }{
		{"product: linux\nservice: auditd", "sel:\n    type: EXECVE\ncondition: sel", "logsource product: linux, service: auditd not supported: cairn has no such events"},
		{"product: windows\ncategory: process_creation", "sel:\n    Image: x\ncondition: sel", "logsource product: windows, category: process_creation not supported"},
		{lsNet, "sel:\n    DestinationHostname: x\n    Image: y\n    Hashes: z\ncondition: sel", "fields not available in cairn for linux/network_connection: DestinationHostname, Hashes"},
		{lsProc, "sel:\n    TargetFilename: x\ncondition: sel", "fields not available in cairn for linux/process_creation: TargetFilename"},
		{lsProc, "sel:\n    Image|foo: x\ncondition: sel", `unknown modifier "foo"`},
		{lsProc, "sel:\n    Image|re: '(?<=a)b'\ncondition: sel", "regular expression"},
		{lsProc, "sel:\n    Image|base64: 'a*'\ncondition: sel", "cannot encode a value with wildcards"},
		{lsProc, "sel:\n    Image|contains|re: 'a'\ncondition: sel", "cannot be combined"},
		{lsProc, "sel:\n    Image|i: 'a'\ncondition: sel", "sub-modifier of re"},
		{lsProc, "sel:\n    ProcessId|gt: abc\ncondition: sel", "not a number"},
		{lsProc, "sel:\n    Image|cidr: 'x'\ncondition: sel", "cidr"},
		{lsProc, "sel:\n    Image|exists: maybe\ncondition: sel", "exists takes true or false"},
		{lsProc, "sel:\n    Image: x\ncondition: sel and other", "condition names other"},
		{lsProc, "sel:\n    Image: x\ncondition: 1 of filter*", "no search identifier matches filter*"},
		{lsProc, "sel:\n    Image: x\ncondition: sel | count() by User > 3", "aggregations"},
		{lsProc, "sel:\n    Image: x", "detection has no condition"},
		{lsProc, "sel:\n    Image:\n        a: b\ncondition: sel", "values must be strings"},
		{lsProc, "sel: []\ncondition: sel", "empty list"},
		{lsProc, "sel: null\ncondition: sel", "must be a map or a list"},
	} {
		if got := skipReason(t, sigma.Options{}, c.ls, c.det); !strings.Contains(got, c.reason) {
			t.Errorf("%s: reason = %q, want %q", strings.ReplaceAll(c.det, "\n", " "), got, c.reason)
		}
	}
}

func TestSkippedFieldsAreNamed(t *testing.T) {
	rs, err := sigma.Parse([]byte(ruleText(lsNet, "sel:\n    DestinationHostname|endswith: '.ngrok.io'\nsel2:\n    - Hashes: x\n    - Image: y\ncondition: sel or sel2")))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Skipped) != 1 || fmt.Sprint(rs.Skipped[0].Fields) != "[DestinationHostname Hashes]" || rs.Skipped[0].Rule != "test rule" || rs.Skipped[0].File != "rule.yml" {
		t.Fatalf("skipped = %+v", rs.Skipped)
	}
}
