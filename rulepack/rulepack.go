// Package rulepack holds cairn's own Falco-format rules, embedded in the
// binary: runtime rules for Tetragon events and cloud rules for
// CloudTrail, each tagged with MITRE ATT&CK technique ids.
package rulepack

import (
	"embed"
	"io/fs"
	"sort"

	"github.com/cairn-cdr/cairn/falco"
)

//go:embed *.yaml
var files embed.FS

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
