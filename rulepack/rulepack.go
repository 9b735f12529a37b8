// Package rulepack holds cairn's own rules, embedded in the binary:
// Falco-format runtime rules for Tetragon events and cloud rules for
// CloudTrail, and Sigma rules and correlations for identity analytics,
// each tagged with MITRE ATT&CK technique ids.
package rulepack

import (
	"embed"
	"io/fs"
	"sort"

	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/sigma"
)

//go:embed *.yaml
var files embed.FS

//go:embed sigma/*.yml
var sigmaFiles embed.FS

//go:embed tests/*.yaml
var testFiles embed.FS

// TestFile is a file of rule tests (see package ruletest).
type TestFile struct {
	Name string
	Data []byte
}

// TestFiles returns the pack's rule test files, sorted by name.
func TestFiles() []TestFile {
	names, err := fs.Glob(testFiles, "tests/*.yaml")
	if err != nil {
		return nil // the pattern is constant and valid
	}
	sort.Strings(names)
	out := make([]TestFile, 0, len(names))
	for _, n := range names {
		b, err := testFiles.ReadFile(n)
		if err != nil {
			continue // embedded files always read
		}
		out = append(out, TestFile{Name: n, Data: b})
	}
	return out
}

// SigmaFiles returns the pack's Sigma files, sorted by name, ready for
// sigma.Load.
func SigmaFiles() []sigma.File {
	names, err := fs.Glob(sigmaFiles, "sigma/*.yml")
	if err != nil {
		return nil // the pattern is constant and valid
	}
	sort.Strings(names)
	out := make([]sigma.File, 0, len(names))
	for _, n := range names {
		b, err := sigmaFiles.ReadFile(n)
		if err != nil {
			continue // embedded files always read
		}
		out = append(out, sigma.File{Name: n, Data: b})
	}
	return out
}

// Files returns the pack's rules files, sorted by name, ready for
// falco.Load.
func Files() []falco.File {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil // the pattern is constant and valid
	}
	sort.Strings(names)
	out := make([]falco.File, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			continue // embedded files always read
		}
		out = append(out, falco.File{Name: n, Data: b})
	}
	return out
}
