package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairn-cdr/cairn/rulepack"
	"github.com/cairn-cdr/cairn/ruletest"
)

func runRulesTest(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "rules test", "[TESTFILE|DIR...]",
		"Runs rule tests: each case gives records (any input format cairn reads) and says whether a rule fires on them.\n"+
			"Test files are YAML lists of cases, named *_tests.yaml or *_tests.yml; Sigma rules carry cases in their\n"+
			"custom attribute tests. With no arguments, runs the tests of cairn's own pack.")
	var rules rulesFlag
	fs.Var(&rules, "rules", "rules file or directory to load beside cairn's pack; its Sigma rules' tests run too (repeatable)")
	noPack := fs.Bool("no-default-rules", false, "do not load cairn's own rule pack and analytics")
	out := outputFlag(fs, "text", "json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") {
		return exitUsage
	}
	rs, err := loadRuleSets(e, rules, *noPack, "")
	if err != nil {
		return fail(e, err)
	}
	var cases []ruletest.Case
	if fs.NArg() == 0 && len(rules) == 0 {
		for _, f := range rulepack.TestFiles() {
			cs, err := ruletest.Parse(f.Name, f.Data)
			if err != nil {
				return fail(e, err)
			}
			cases = append(cases, cs...)
		}
	}
	if rs.sigma != nil {
		cs := ruletest.FromSigma(rs.sigma.Tests)
		if err := ruletest.Check(cs); err != nil {
			return fail(e, err)
		}
		// The loaded Sigma rules' own tests (the pack's, and those of
		// --rules) always run.
		cases = append(cases, cs...)
	}
	for _, name := range fs.Args() {
		paths, err := testFiles(name)
		if err != nil {
			return fail(e, err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				return fail(e, err)
			}
			cs, err := ruletest.Parse(p, data)
			if err != nil {
				return fail(e, err)
			}
			cases = append(cases, cs...)
		}
	}
	if len(cases) == 0 {
		fmt.Fprintln(e.stderr, "cairn rules test: no test cases found")
		return exitFailure
	}
	var results []ruletest.Result
	for _, c := range cases {
		d, err := rs.detectors()
		if err != nil {
			return fail(e, err)
		}
		results = append(results, ruletest.Run(c, d))
	}
	text, ok := ruletest.Summary(results)
	if *out == "json" {
		if err := writeJSON(e.stdout, results); err != nil {
			return fail(e, err)
		}
	} else {
		fmt.Fprint(e.stdout, text)
	}
	if !ok {
		return exitFailure
	}
	return exitOK
}

// testFiles returns a test file, or a directory's *_tests.yaml and
// *_tests.yml files.
func testFiles(name string) ([]string, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{name}, nil
	}
	var out []string
	for _, pat := range []string{"*_tests.yaml", "*_tests.yml"} {
		m, err := filepath.Glob(filepath.Join(name, pat))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	return out, nil
}
