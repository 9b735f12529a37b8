// Command gen writes cairn's ATT&CK Enterprise table (attack/table_gen.go)
// from MITRE ATT&CK STIX 2 objects laid out as in mitre/cti's
// enterprise-attack directory: attack-pattern/, x-mitre-tactic/ and
// x-mitre-matrix/, one bundle per file.
//
// It keeps facts only (ids, short names, names, kill-chain order, the
// tactics of each technique, sub-technique parents) and drops revoked and
// deprecated objects. The output is sorted and gofmt'ed, so running it
// twice on the same corpus gives the same bytes.
//
// Usage:
//
//	go run ./internal/gen -corpus DIR -version 18 -out table_gen.go
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn/internal/genmain"
)

func main() {
	version := flag.String("version", "", "ATT&CK release the corpus was taken from, e.g. 18")
	genmain.Run("gen", "attack-pattern/, x-mitre-tactic/ and x-mitre-matrix/", "table_gen.go", func(corpus string) ([]byte, error) {
		if *version == "" {
			return nil, genmain.UsageError("-corpus and -version are required")
		}
		return generate(corpus, *version)
	})
}

// stixObject holds the fields of a STIX object that the table needs; all
// other fields (descriptions, references, platforms) are ignored on purpose.
type stixObject struct {
	Type               string   `json:"type"`
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Revoked            bool     `json:"revoked"`
	Deprecated         bool     `json:"x_mitre_deprecated"`
	Shortname          string   `json:"x_mitre_shortname"`
	IsSubtechnique     bool     `json:"x_mitre_is_subtechnique"`
	TacticRefs         []string `json:"tactic_refs"`
	Domains            []string `json:"x_mitre_domains"`
	ExternalReferences []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
	} `json:"external_references"`
	KillChainPhases []struct {
		KillChainName string `json:"kill_chain_name"`
		PhaseName     string `json:"phase_name"`
	} `json:"kill_chain_phases"`
}

// attackID returns the object's ATT&CK id (T1059.004, TA0002), the
// external_id of its mitre-attack reference.
func (o *stixObject) attackID() string {
	for _, r := range o.ExternalReferences {
		if r.SourceName == "mitre-attack" {
			return r.ExternalID
		}
	}
	return ""
}

func (o *stixObject) live() bool { return !o.Revoked && !o.Deprecated }

type tactic struct {
	id, shortname, name string
	order               int
}

type technique struct {
	id, name, parent string
	tactics          []string
}

var (
	tacticIDRe    = regexp.MustCompile(`^TA[0-9]{4}$`)
	techniqueIDRe = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	shortnameRe   = regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
)

// readDir decodes every *.json bundle in dir and returns the objects of the
// given STIX type, sorted by file name so errors are reported in a stable
// order.
func readDir(dir, typ string) ([]stixObject, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json files in %s", dir)
	}
	slices.Sort(files)
	var objs []stixObject
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var bundle struct {
			Objects []stixObject `json:"objects"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, o := range bundle.Objects {
			if o.Type == typ {
				objs = append(objs, o)
			}
		}
	}
	return objs, nil
}

func enterprise(o *stixObject) bool {
	return len(o.Domains) == 0 || slices.Contains(o.Domains, "enterprise-attack")
}

// loadTactics returns the live tactics in the order of the matrix's
// tactic_refs (the kill-chain order), numbered from 1.
func loadTactics(corpus string) ([]tactic, error) {
	matrices, err := readDir(filepath.Join(corpus, "x-mitre-matrix"), "x-mitre-matrix")
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, m := range matrices {
		if m.live() && m.attackID() == "enterprise-attack" {
			if refs != nil {
				return nil, errors.New("more than one live enterprise-attack matrix")
			}
			refs = m.TacticRefs
		}
	}
	if len(refs) == 0 {
		return nil, errors.New("no live enterprise-attack matrix with tactic_refs")
	}
	objs, err := readDir(filepath.Join(corpus, "x-mitre-tactic"), "x-mitre-tactic")
	if err != nil {
		return nil, err
	}
	byRef := make(map[string]stixObject, len(objs))
	for _, o := range objs {
		byRef[o.ID] = o
	}
	var out []tactic
	seen := map[string]bool{}
	for _, ref := range refs {
		o, ok := byRef[ref]
		if !ok {
			return nil, fmt.Errorf("matrix names tactic %s, which is not in the corpus", ref)
		}
		if !o.live() {
			continue
		}
		t := tactic{id: o.attackID(), shortname: o.Shortname, name: o.Name, order: len(out) + 1}
		if !tacticIDRe.MatchString(t.id) || !shortnameRe.MatchString(t.shortname) || t.name == "" {
			return nil, fmt.Errorf("tactic %s: bad id %q, shortname %q or name %q", ref, t.id, t.shortname, t.name)
		}
		if seen[t.id] || seen[t.shortname] {
			return nil, fmt.Errorf("tactic %s listed twice", t.id)
		}
		seen[t.id], seen[t.shortname] = true, true
		out = append(out, t)
	}
	return out, nil
}

// loadTechniques returns the live enterprise techniques sorted by id, each
// with its tactics in kill-chain order.
func loadTechniques(corpus string, tactics []tactic) ([]technique, error) {
	objs, err := readDir(filepath.Join(corpus, "attack-pattern"), "attack-pattern")
	if err != nil {
		return nil, err
	}
	order := make(map[string]int, len(tactics))
	for _, t := range tactics {
		order[t.shortname] = t.order
	}
	var out []technique
	ids := map[string]bool{}
	for _, o := range objs {
		if !o.live() || !enterprise(&o) {
			continue
		}
		t := technique{id: o.attackID(), name: o.Name}
		if !techniqueIDRe.MatchString(t.id) || t.name == "" {
			return nil, fmt.Errorf("technique %s: bad id %q or name %q", o.ID, t.id, t.name)
		}
		if ids[t.id] {
			return nil, fmt.Errorf("technique %s appears twice", t.id)
		}
		ids[t.id] = true
		if parent, _, ok := strings.Cut(t.id, "."); ok {
			t.parent = parent
		}
		if o.IsSubtechnique != (t.parent != "") {
			return nil, fmt.Errorf("technique %s: x_mitre_is_subtechnique is %v", t.id, o.IsSubtechnique)
		}
		for _, p := range o.KillChainPhases {
			if p.KillChainName != "mitre-attack" {
				continue
			}
			if _, ok := order[p.PhaseName]; !ok {
				return nil, fmt.Errorf("technique %s: unknown tactic %q", t.id, p.PhaseName)
			}
			if !slices.Contains(t.tactics, p.PhaseName) {
				t.tactics = append(t.tactics, p.PhaseName)
			}
		}
		if len(t.tactics) == 0 {
			return nil, fmt.Errorf("technique %s has no mitre-attack tactic", t.id)
		}
		slices.SortFunc(t.tactics, func(a, b string) int { return order[a] - order[b] })
		out = append(out, t)
	}
	for _, t := range out {
		if t.parent != "" && !ids[t.parent] {
			return nil, fmt.Errorf("sub-technique %s: parent %s is not a live technique", t.id, t.parent)
		}
	}
	slices.SortFunc(out, func(a, b technique) int { return strings.Compare(a.id, b.id) })
	return out, nil
}

// loadCopyright returns MITRE's copyright designation from the corpus's
// LICENSE.txt, which the ATT&CK license asks every copy to reproduce.
func loadCopyright(corpus string) (string, error) {
	b, err := os.ReadFile(filepath.Join(corpus, "LICENSE.txt"))
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		line = strings.Trim(strings.TrimSpace(line), `"`)
		if strings.HasPrefix(line, "© ") && strings.Contains(line, "MITRE") {
			return line, nil
		}
	}
	return "", errors.New("no MITRE copyright line in LICENSE.txt")
}

// generate returns the gofmt'ed source of table_gen.go.
func generate(corpus, version string) ([]byte, error) {
	if strings.ContainsAny(version, "\n\r\"\\`") {
		return nil, fmt.Errorf("bad version %q", version)
	}
	copyright, err := loadCopyright(corpus)
	if err != nil {
		return nil, err
	}
	tactics, err := loadTactics(corpus)
	if err != nil {
		return nil, err
	}
	techniques, err := loadTechniques(corpus, tactics)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by attack/internal/gen from MITRE ATT&CK Enterprise (STIX) v%s; DO NOT EDIT.\n\n", version)
	b.WriteString("// MITRE ATT&CK® is a registered trademark of The MITRE Corporation.\n")
	fmt.Fprintf(&b, "// %s\n", copyright)
	b.WriteString("// ATT&CK terms of use: https://attack.mitre.org/resources/legal-and-branding/terms-of-use/\n\n")
	b.WriteString("package attack\n\n")
	b.WriteString("// Version is the ATT&CK Enterprise release the table was generated from.\n")
	fmt.Fprintf(&b, "const Version = %q\n\n", version)
	b.WriteString("// tacticTable holds the Enterprise tactics in kill-chain order.\n")
	b.WriteString("var tacticTable = [...]Tactic{\n")
	for _, t := range tactics {
		fmt.Fprintf(&b, "{ID: %q, Shortname: %q, Name: %q, Order: %d},\n", t.id, t.shortname, t.name, t.order)
	}
	b.WriteString("}\n\n")
	b.WriteString("// techniqueTable holds the Enterprise techniques and sub-techniques, sorted by ID.\n")
	b.WriteString("var techniqueTable = [...]Technique{\n")
	for _, t := range techniques {
		fmt.Fprintf(&b, "{ID: %q, Name: %q, Tactics: []string{", t.id, t.name)
		for i, s := range t.tactics {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", s)
		}
		b.WriteString("}")
		if t.parent != "" {
			fmt.Fprintf(&b, ", Parent: %q", t.parent)
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
