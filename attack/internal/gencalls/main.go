// Command gencalls writes cairn's table of CloudTrail API calls mapped to
// ATT&CK (attack/calls_gen.go) from TrailDiscover's catalog, events.json.
//
// It keeps facts only: each call's eventSource and eventName and the
// tactic and technique ids the catalog gives it (techniques and
// sub-techniques together). Descriptions, security implications,
// incidents, links and the catalog's unverified guesses are dropped on
// purpose. Ids that are not in cairn's ATT&CK table (revoked or deprecated
// techniques, a technique written where a tactic belongs) are dropped and
// counted in the output's comment, so the table never names an id
// TechniqueByID or TacticByID cannot resolve. The output is sorted and
// gofmt'ed, so running it twice on the same corpus gives the same bytes.
//
// Usage:
//
//	go run ./internal/gencalls -corpus DIR -out calls_gen.go
package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn/attack"
)

func main() {
	corpus := flag.String("corpus", "", "directory holding TrailDiscover's events.json")
	out := flag.String("out", "calls_gen.go", "file to write")
	flag.Parse()
	if *corpus == "" {
		fmt.Fprintln(os.Stderr, "gencalls: -corpus is required")
		os.Exit(2)
	}
	src, err := generate(*corpus)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencalls:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gencalls:", err)
		os.Exit(1)
	}
}

// entry holds the fields of a catalog entry that the table needs; all
// other fields (descriptions, implications, references) are ignored.
type entry struct {
	EventName     string   `json:"eventName"`
	EventSource   string   `json:"eventSource"`
	Tactics       []string `json:"mitreAttackTactics"`
	Techniques    []string `json:"mitreAttackTechniques"`
	SubTechniques []string `json:"mitreAttackSubTechniques"`
}

type call struct {
	source, name        string
	tactics, techniques []string
}

var (
	// The catalog writes "TA0003 - Persistence", "T1098.001 - Account
	// Manipulation: ..." and variants ("T1562.001: ...", "T1562.001
	// Impair ..."); only the leading id is read.
	tacticIDRe    = regexp.MustCompile(`^(TA[0-9]{4})\b`)
	techniqueIDRe = regexp.MustCompile(`^(T[0-9]{4}(?:\.[0-9]{3})?)\b`)
	sourceRe      = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$`)
	nameRe        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
)

// dropped counts the catalog values the table leaves out: tactic values
// that are not the id of a tactic in the ATT&CK table (the catalog once
// writes a technique there), and technique values whose id is not in it
// (a revoked or deprecated technique).
type dropped struct {
	tactics, techniques int
}

// leadingID returns the id at the start of a catalog value, or "".
func leadingID(re *regexp.Regexp, s string) string {
	m := re.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return ""
	}
	return m[1]
}

// load reads events.json and returns the calls sorted by source then
// name; an entry listed twice (the catalog has such) is merged.
func load(corpus string) ([]call, dropped, error) {
	var dr dropped
	b, err := os.ReadFile(filepath.Join(corpus, "events.json"))
	if err != nil {
		return nil, dr, err
	}
	var entries []entry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, dr, fmt.Errorf("events.json: %w", err)
	}
	if len(entries) == 0 {
		return nil, dr, fmt.Errorf("events.json holds no entries")
	}
	byKey := map[string]*call{}
	var calls []*call
	for i, e := range entries {
		if !sourceRe.MatchString(e.EventSource) || !nameRe.MatchString(e.EventName) {
			return nil, dr, fmt.Errorf("entry %d: bad eventSource %q or eventName %q", i, e.EventSource, e.EventName)
		}
		k := e.EventSource + "\x00" + e.EventName
		c := byKey[k]
		if c == nil {
			c = &call{source: e.EventSource, name: e.EventName}
			byKey[k] = c
			calls = append(calls, c)
		}
		for _, s := range e.Tactics {
			id := leadingID(tacticIDRe, s)
			switch {
			case id == "" || !known(attack.TacticByID(id)):
				dr.tactics++
			case !slices.Contains(c.tactics, id):
				c.tactics = append(c.tactics, id)
			}
		}
		for _, s := range slices.Concat(e.Techniques, e.SubTechniques) {
			id := leadingID(techniqueIDRe, s)
			switch {
			case id == "" || !known(attack.TechniqueByID(id)):
				dr.techniques++
			case !slices.Contains(c.techniques, id):
				c.techniques = append(c.techniques, id)
			}
		}
	}
	out := make([]call, 0, len(calls))
	for _, c := range calls {
		slices.Sort(c.techniques)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b call) int {
		return cmp.Or(strings.Compare(a.source, b.source), strings.Compare(a.name, b.name))
	})
	return out, dr, nil
}

func known[T any](_ T, ok bool) bool { return ok }

// quoted writes ids as the elements of a Go string slice literal.
func quoted(ids []string) string {
	qs := make([]string, len(ids))
	for i, id := range ids {
		qs[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(qs, ", ")
}

// generate returns the gofmt'ed source of calls_gen.go.
func generate(corpus string) ([]byte, error) {
	calls, dr, err := load(corpus)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by attack/internal/gencalls from TrailDiscover's events.json; DO NOT EDIT.\n\n")
	b.WriteString("// The mapping of CloudTrail API calls to ATT&CK ids comes from TrailDiscover\n")
	b.WriteString("// (https://github.com/adanalvarez/TrailDiscover), licensed under CC BY 4.0\n")
	b.WriteString("// (https://creativecommons.org/licenses/by/4.0/); cairn keeps its ids only.\n")
	b.WriteString("// MITRE ATT&CK® is a registered trademark of The MITRE Corporation.\n\n")
	b.WriteString("package attack\n\n")
	fmt.Fprintf(&b, "// callTable holds %d CloudTrail calls, sorted by event source then event\n", len(calls))
	b.WriteString("// name. Values naming no id of the ATT&CK table were dropped:\n")
	fmt.Fprintf(&b, "// %d in the catalog's tactics and %d in its techniques.\n", dr.tactics, dr.techniques)
	b.WriteString("var callTable = [...]Call{\n")
	for _, c := range calls {
		fmt.Fprintf(&b, "{Source: %q, Name: %q, Tactics: []string{%s}, Techniques: []string{%s}},\n",
			c.source, c.name, quoted(c.tactics), quoted(c.techniques))
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
