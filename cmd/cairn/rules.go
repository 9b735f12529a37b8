package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/internal/termsafe"
)

// lintFile is what `cairn rules lint` reports of one rules file.
type lintFile struct {
	File     string          `json:"file"`
	Loaded   []string        `json:"loaded"`
	Skipped  []falco.Skipped `json:"skipped"`
	Disabled []string        `json:"disabled"`
}

func runRules(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] != "lint" {
		fmt.Fprintln(e.stderr, "usage: cairn rules lint [-o text|json] FILE...")
		return exitUsage
	}
	fs := newFlags(e, "rules lint", "FILE...",
		"Loads Falco rules files in order, later ones amending earlier ones as Falco does, and reports per file the rules\n"+
			"that load and the rules skipped, each with the reason (the fields cairn cannot supply, or the error).")
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
	var files []falco.File
	for _, name := range fs.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			return fail(e, fmt.Errorf("read %s: %w", name, err))
		}
		files = append(files, falco.File{Name: name, Data: data})
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
		lf := lintFile{File: files[i].Name, Loaded: []string{}, Skipped: []falco.Skipped{}, Disabled: []string{}}
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
	if *out == "json" {
		if err := writeJSON(e.stdout, report); err != nil {
			return fail(e, err)
		}
		return exitOK
	}
	for _, lf := range report {
		fmt.Fprintf(e.stdout, "%s: %d loaded, %d skipped, %d disabled\n", termsafe.String(lf.File), len(lf.Loaded), len(lf.Skipped), len(lf.Disabled))
		for _, s := range lf.Skipped {
			reason := s.Reason
			if len(s.Fields) > 0 {
				reason = "needs " + strings.Join(s.Fields, ", ")
			}
			fmt.Fprintf(e.stdout, "  skipped %q: %s\n", termsafe.String(s.Rule), termsafe.String(reason))
		}
	}
	return exitOK
}
