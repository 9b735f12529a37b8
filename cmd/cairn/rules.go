package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/sigma"
)

// lintFile is what `cairn rules lint` reports of one rules file.
type lintFile struct {
	File   string   `json:"file"`
	Format string   `json:"format"` // falco or sigma
	Loaded []string `json:"loaded"`
	// Correlations are the Sigma correlation rules the file defines.
	Correlations []string        `json:"correlations,omitempty"`
	Skipped      []falco.Skipped `json:"skipped"`
	Disabled     []string        `json:"disabled"`
}

func runRules(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 && args[0] == "test" {
		return runRulesTest(ctx, e, args[1:])
	}
	if len(args) == 0 || args[0] != "lint" {
		fmt.Fprintln(e.stderr, "usage: cairn rules lint [-o text|json] FILE|DIR...\n       cairn rules test [--rules FILE|DIR]... [--no-default-rules] [-o text|json] [TESTFILE|DIR...]")
		return exitUsage
	}
	fs := newFlags(e, "rules lint", "FILE|DIR...",
		"Loads rules files (directories: their .yml and .yaml files): Falco rules files in order, later ones amending\n"+
			"earlier ones as Falco does, and Sigma rules and correlation rules together. Reports per file the rules that\n"+
			"load and the rules skipped, each with the reason (the fields cairn cannot supply, or the error).")
	out := outputFlag(fs, "text", "json")
	if code, ok := parse(fs, args[1:]); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") {
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(e.stderr, "cairn rules lint: name at least one rules file")
		return exitUsage
	}
	files, sigmaFiles, err := ruleFiles(fs.Args())
	if err != nil {
		return fail(e, err)
	}
	// Each file is credited with what loading it adds to the files before
	// it, so an amending file is judged in the context Falco gives it.
	var report []lintFile
	before := map[string]bool{}
	skippedBefore := map[string]bool{}
	disabledBefore := map[string]bool{}
	for i := range files {
		rs, err := falco.Load(files[:i+1]...)
		if err != nil {
			return fail(e, err)
		}
		lf := lintFile{File: files[i].Name, Format: "falco", Loaded: []string{}, Skipped: []falco.Skipped{}, Disabled: []string{}}
		now := map[string]bool{}
		for _, r := range rs.Rules {
			now[r.Name] = true
			if !before[r.Name] {
				lf.Loaded = append(lf.Loaded, r.Name)
			}
		}
		skippedNow := map[string]bool{}
		for _, s := range rs.Skipped {
			skippedNow[s.Rule] = true
			if !skippedBefore[s.Rule] {
				lf.Skipped = append(lf.Skipped, s)
			}
		}
		disabledNow := map[string]bool{}
		for _, d := range rs.Disabled {
			disabledNow[d] = true
			if !disabledBefore[d] {
				lf.Disabled = append(lf.Disabled, d)
			}
		}
		before, skippedBefore, disabledBefore = now, skippedNow, disabledNow
		report = append(report, lf)
	}
	if len(sigmaFiles) > 0 {
		sr, err := lintSigma(sigmaFiles)
		if err != nil {
			return fail(e, err)
		}
		report = append(report, sr...)
	}
	if *out == "json" {
		if err := writeJSON(e.stdout, report); err != nil {
			return fail(e, err)
		}
		return exitOK
	}
	var loaded, skipped int
	for _, lf := range report {
		loaded += len(lf.Loaded) + len(lf.Correlations)
		skipped += len(lf.Skipped)
	}
	for _, lf := range report {
		if lf.Format == "sigma" {
			fmt.Fprintf(e.stdout, "%s: %d loaded, %d correlations, %d skipped\n", termsafe.String(lf.File), len(lf.Loaded), len(lf.Correlations), len(lf.Skipped))
		} else {
			fmt.Fprintf(e.stdout, "%s: %d loaded, %d skipped, %d disabled\n", termsafe.String(lf.File), len(lf.Loaded), len(lf.Skipped), len(lf.Disabled))
		}
		for _, s := range lf.Skipped {
			reason := s.Reason
			if len(s.Fields) > 0 {
				reason = "needs " + strings.Join(s.Fields, ", ")
			}
			fmt.Fprintf(e.stdout, "  skipped %q: %s\n", termsafe.String(s.Rule), termsafe.String(reason))
		}
	}
	if len(report) > 1 {
		fmt.Fprintf(e.stdout, "total: %d files, %d rules loaded, %d skipped\n", len(report), loaded, skipped)
	}
	return exitOK
}

// lintSigma loads the Sigma files together (correlations refer to rules
// of other files) and reports each file's share.
func lintSigma(files []sigma.File) ([]lintFile, error) {
	rs, err := sigma.Load(files...)
	if err != nil {
		return nil, err
	}
	byFile := map[string]*lintFile{}
	var out []*lintFile
	for _, f := range files {
		lf := &lintFile{File: f.Name, Format: "sigma", Loaded: []string{}, Skipped: []falco.Skipped{}, Disabled: []string{}}
		byFile[f.Name] = lf
		out = append(out, lf)
	}
	for _, r := range rs.Rules {
		if lf := byFile[r.File]; lf != nil {
			lf.Loaded = append(lf.Loaded, r.Title)
		}
	}
	for _, c := range rs.Correlations {
		if lf := byFile[c.File]; lf != nil {
			lf.Correlations = append(lf.Correlations, c.Title)
		}
	}
	for _, s := range rs.Skipped {
		if lf := byFile[s.File]; lf != nil {
			lf.Skipped = append(lf.Skipped, falco.Skipped{Rule: s.Rule, Reason: s.Reason, Fields: s.Fields})
		}
	}
	report := make([]lintFile, len(out))
	for i, lf := range out {
		report[i] = *lf
	}
	return report, nil
}
