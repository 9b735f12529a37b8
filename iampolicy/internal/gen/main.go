// Command gen writes cairn's table of IAM facts (iampolicy/table_gen.go)
// from three public data sets: iamlive's map.json (SDK call → IAM
// actions), trailscraper's known-iam-actions.txt (IAM action names) and
// cloudtracker's cloudtrail_supported_actions.txt (the eventSource:eventName
// pairs CloudTrail records).
//
// It keeps facts only: action names, which event sources use another IAM
// prefix, and which calls need other actions than prefix:EventName. The
// output is sorted and gofmt'ed, so running it twice on the same corpus
// gives the same bytes.
//
// Usage:
//
//	go run ./internal/gen -corpus DIR -out table_gen.go
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn/internal/genmain"
)

func main() {
	genmain.Run("gen", "iamlive-map/, trailscraper/ and duo-labs-cloudtracker/", "table_gen.go", generate)
}

var (
	actionRe = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9]+$`)
	// sourceRe is the part of an event source before .amazonaws.com as
	// cloudtracker writes it (models.lex, data.jobs.iot).
	sourceRe = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)*$`)
	methodRe = regexp.MustCompile(`^[A-Za-z0-9 ]+\.[A-Za-z0-9]+$`)
)

// extraSources are event sources the data sets do not tie to their IAM
// prefix (AWS documents both: SES's v1 API logs as email.amazonaws.com,
// DynamoDB Streams as streams.dynamodb.amazonaws.com).
var extraSources = map[string]string{
	"email":            "ses",
	"streams.dynamodb": "dynamodb",
}

// iamlive is the part of map.json the table needs.
type iamlive struct {
	Methods map[string][]struct {
		Action     string          `json:"action"`
		Conditions json.RawMessage `json:"conditions"`
	} `json:"sdk_method_iam_mappings"`
	SDKService map[string]string   `json:"sdk_service_mappings"`
	ServiceSDK map[string][]string `json:"service_sdk_mappings"`
}

func prefixOf(action string) string { p, _, _ := strings.Cut(action, ":"); return p }

type tables struct {
	known   map[string][]string // prefix → sorted names
	sources map[string]string   // event source → IAM prefix, differences only
	ctSrc   []string            // event sources cloudtracker lists
	actions map[string][]string // "prefix:EventName" → actions, differences only
}

func load(corpus string) (*tables, error) {
	b, err := os.ReadFile(filepath.Join(corpus, "iamlive-map", "map.json"))
	if err != nil {
		return nil, err
	}
	var il iamlive
	if err := json.Unmarshal(b, &il); err != nil {
		return nil, fmt.Errorf("map.json: %w", err)
	}
	if len(il.Methods) == 0 {
		return nil, fmt.Errorf("map.json: no sdk_method_iam_mappings")
	}
	knownLines, err := genmain.ReadLines(filepath.Join(corpus, "trailscraper", "known-iam-actions.txt"), actionRe)
	if err != nil {
		return nil, err
	}
	ctLines, err := genmain.ReadLines(filepath.Join(corpus, "duo-labs-cloudtracker", "cloudtrail_supported_actions.txt"),
		regexp.MustCompile(`^[a-z0-9.-]+:[A-Za-z0-9]+$`))
	if err != nil {
		return nil, err
	}

	t := &tables{known: map[string][]string{}, sources: map[string]string{}, actions: map[string][]string{}}
	add := func(action string) {
		p, name, _ := strings.Cut(action, ":")
		if !slices.Contains(t.known[p], name) {
			t.known[p] = append(t.known[p], name)
		}
	}
	for _, a := range knownLines {
		add(a)
	}
	// iamlive names actions trailscraper's older list lacks
	// (secretsmanager, ...); they are IAM action names too.
	for _, m := range slices.Sorted(maps.Keys(il.Methods)) {
		if !methodRe.MatchString(m) {
			return nil, fmt.Errorf("map.json: malformed method %q", m)
		}
		for _, a := range il.Methods[m] {
			if !actionRe.MatchString(a.Action) {
				return nil, fmt.Errorf("map.json: %s: malformed action %q", m, a.Action)
			}
			add(a.Action)
		}
	}
	for _, names := range t.known {
		slices.Sort(names)
	}

	// The IAM prefix of each SDK service: iamlive's own mapping, else the
	// prefix most of the service's actions use.
	sdkPrefix := func(svc string) string {
		if p, ok := il.SDKService[svc]; ok {
			return p
		}
		votes := map[string]int{}
		for m, as := range il.Methods {
			if s, _, _ := strings.Cut(m, "."); s == svc {
				for _, a := range as {
					votes[prefixOf(a.Action)]++
				}
			}
		}
		best := ""
		for _, p := range slices.Sorted(maps.Keys(votes)) {
			if best == "" || votes[p] > votes[best] {
				best = p
			}
		}
		return best
	}

	// Actions per "prefix:Method"; when two SDK services of one prefix
	// name the same method (S3 and S3Control), the one iamlive lists first
	// for the prefix wins.
	type cand struct {
		rank    int
		actions []string
	}
	best := map[string]cand{}
	byName := map[string]map[string]bool{} // method name → action prefixes
	for _, m := range slices.Sorted(maps.Keys(il.Methods)) {
		svc, name, _ := strings.Cut(m, ".")
		p := sdkPrefix(svc)
		if p == "" {
			continue
		}
		var plain, byDefault, all []string
		for _, a := range il.Methods[m] {
			all = append(all, a.Action)
			if byName[name] == nil {
				byName[name] = map[string]bool{}
			}
			byName[name][prefixOf(a.Action)] = true
			var c struct{ Op, RHS string }
			if len(a.Conditions) > 0 {
				if err := json.Unmarshal(a.Conditions, &c); err != nil {
					return nil, fmt.Errorf("map.json: %s: %w", m, err)
				}
			}
			switch {
			case len(a.Conditions) == 0:
				plain = append(plain, a.Action)
			case c.Op == "NotExists":
				// The action when an optional parameter (VersionId) is
				// absent, the common call.
				byDefault = append(byDefault, a.Action)
			}
		}
		acts := append(plain, byDefault...)
		if len(acts) == 0 {
			// Every action depends on the request's content (PartiQL,
			// SQL statements): keep them all.
			acts = all
		}
		slices.Sort(acts)
		acts = slices.Compact(acts)
		key := p + ":" + name
		rank := slices.Index(il.ServiceSDK[p], svc)
		if rank < 0 {
			rank = len(il.ServiceSDK[p])
		}
		if c, ok := best[key]; ok && c.rank <= rank {
			continue
		}
		best[key] = cand{rank, acts}
	}
	for key, c := range best {
		if !actionRe.MatchString(key) {
			continue
		}
		if len(c.actions) == 1 && c.actions[0] == key {
			continue
		}
		t.actions[key] = c.actions
	}

	// Event sources: cloudtracker lists eventSource:eventName pairs. A
	// source that is not an IAM prefix takes the prefix its event names
	// map to in iamlive, when the names agree.
	perSource := map[string][]string{}
	for _, l := range ctLines {
		src, name, _ := strings.Cut(l, ":")
		if !sourceRe.MatchString(src) {
			return nil, fmt.Errorf("cloudtrail_supported_actions.txt: malformed source %q", src)
		}
		perSource[src] = append(perSource[src], name)
	}
	t.ctSrc = slices.Sorted(maps.Keys(perSource))
	for _, src := range t.ctSrc {
		if _, ok := t.known[src]; ok {
			continue
		}
		votes := map[string]int{}
		for _, name := range perSource[src] {
			if ps := byName[name]; len(ps) == 1 {
				for p := range ps {
					votes[p]++
				}
			}
		}
		var first, second string
		for _, p := range slices.Sorted(maps.Keys(votes)) {
			switch {
			case first == "" || votes[p] > votes[first]:
				first, second = p, first
			case second == "" || votes[p] > votes[second]:
				second = p
			}
		}
		if first != "" && (second == "" || votes[first] >= 2*votes[second]) {
			t.sources[src] = first
		}
	}
	for src, p := range extraSources {
		t.sources[src] = p
	}
	for src, p := range t.sources {
		if _, ok := t.known[p]; !ok {
			return nil, fmt.Errorf("event source %s maps to unknown IAM prefix %s", src, p)
		}
	}
	return t, nil
}

func quoted(b *bytes.Buffer, ss []string) {
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "%q", s)
	}
}

// generate returns the gofmt'ed source of table_gen.go.
func generate(corpus string) ([]byte, error) {
	t, err := load(corpus)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by iampolicy/internal/gen from iamlive's map.json, trailscraper's\n")
	b.WriteString("// known-iam-actions.txt and cloudtracker's cloudtrail_supported_actions.txt; DO NOT EDIT.\n\n")
	b.WriteString("// The IAM action facts come from the AWS documentation as collected by\n")
	b.WriteString("// iann0036/iamlive (MIT), flosell/trailscraper (Apache-2.0) and\n")
	b.WriteString("// duo-labs/cloudtracker (BSD-3-Clause).\n\n")
	b.WriteString("package iampolicy\n\n")
	b.WriteString("// knownActions maps an IAM service prefix to its known action names, sorted.\n")
	b.WriteString("var knownActions = map[string][]string{\n")
	for _, p := range slices.Sorted(maps.Keys(t.known)) {
		fmt.Fprintf(&b, "%q: {", p)
		quoted(&b, t.known[p])
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n")
	b.WriteString("// cloudTrailSources lists the event sources (the part before\n")
	b.WriteString("// .amazonaws.com) CloudTrail is known to record, sorted.\n")
	b.WriteString("var cloudTrailSources = []string{\n")
	for _, s := range t.ctSrc {
		fmt.Fprintf(&b, "%q,\n", s)
	}
	b.WriteString("}\n\n")
	b.WriteString("// sourcePrefixes maps an event source to its IAM prefix where the two differ.\n")
	b.WriteString("var sourcePrefixes = map[string]string{\n")
	for _, s := range slices.Sorted(maps.Keys(t.sources)) {
		fmt.Fprintf(&b, "%q: %q,\n", s, t.sources[s])
	}
	b.WriteString("}\n\n")
	b.WriteString("// callActions maps prefix:EventName to the IAM actions the call needs where\n")
	b.WriteString("// they are not prefix:EventName itself.\n")
	b.WriteString("var callActions = map[string][]string{\n")
	for _, k := range slices.Sorted(maps.Keys(t.actions)) {
		fmt.Fprintf(&b, "%q: {", k)
		quoted(&b, t.actions[k])
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
