package sigma_test

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/sigma"
)

// fuzzEvents are events of every source for fuzzed rules to run on.
func fuzzEvents(tb testing.TB) []*cairn.Event {
	return []*cairn.Event{
		execEv("/usr/bin/curl", "-s http://x -o /tmp/a", "/bin/bash", "-c x"),
		execEv("", "", "", ""),
		fileEv("/usr/bin/tee", "/etc/sudoers.d/x", "write"),
		netEv("/bin/bash", "connect", "10.0.0.1", 1, "203.0.113.9", 4444),
		ctEv(tb, `{"eventName":"ConsoleLogin","eventTime":"2024-05-01T10:00:00Z","userIdentity":{"arn":"a","type":"Root"},"requestParameters":{"a":[1,{"b":null}],"c":"d"},"responseElements":null}`),
		{Source: cairn.SourceCloudTrail, Raw: []byte(`[1,2`)},
		{},
	}
}

// FuzzParse checks that no YAML makes Load, Match, Value or Fields panic.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.yml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	for _, det := range []string{
		"sel:\n    Image|endswith: /curl\n    CommandLine|contains|all: [a, b]\ncondition: sel",
		"sel:\n    CommandLine|windash|base64offset|contains: ' -e '\n    ProcessId|gt: 3\n    UtcTime|hour: 2\ncondition: 1 of sel* and not sel",
		"keywords:\n    '|all': [a, b]\ncondition: keywords",
		"sel:\n    - Image|re|i: '^a'\n    - DestinationIp|cidr: 10.0.0.0/8\ncondition: all of them",
	} {
		f.Add(ruleText(lsProc, det))
	}
	f.Add(ruleText(lsCloud, "sel:\n    eventName: [A, B]\n    userIdentity.arn|fieldref: requestParameters.c\n    requestParameters.a.b: null\ncondition: sel"))
	f.Add("action: global\nlogsource: {product: aws, service: cloudtrail}\n---\naction: repeat\n")
	f.Add("a: &x [*x]\n")
	f.Add("title: t\nlogsource: {product: linux, category: process_creation}\ndetection: &d\n    sel: *d\n    condition: sel\n")
	f.Add("title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    sel: &s\n        eventName: &n [a, *n]\n    condition: sel\n")
	evs := fuzzEvents(f)
	f.Fuzz(func(t *testing.T, data string) {
		rs, err := sigma.Parse([]byte(data))
		if err != nil {
			return
		}
		e := sigma.NewEngine(rs.Rules)
		for _, ev := range evs {
			e.Eval(ev)
			for _, r := range rs.Rules {
				r.Match(ev)
				r.Fields(ev)
				r.Value(ev, "userIdentity.arn")
			}
		}
		_ = rs.Summary().String()
	})
}

// FuzzCondition checks that no condition text makes ParseCondition, Load
// or Match panic, and that a parsed condition's normal form parses to
// itself.
func FuzzCondition(f *testing.F) {
	for _, c := range []string{
		"sel", "sel_a and not (sel_b or 1 of filter*)", "all of them", "2 of sel_*", "not not sel_a",
		"sel_a or sel_b and sel_c", "any of sel*", "(sel_a", "sel_a | count() > 2", "1 of", "x of y",
	} {
		f.Add(c)
	}
	evs := fuzzEvents(f)
	f.Fuzz(func(t *testing.T, cond string) {
		norm, err := sigma.ParseCondition(cond)
		if err == nil {
			again, err := sigma.ParseCondition(norm)
			if err != nil || again != norm {
				t.Fatalf("normal form %q of %q parses to %q, %v", norm, cond, again, err)
			}
		}
		det, err := yaml.Marshal(map[string]any{
			"sel":       map[string]any{"Image|endswith": "/curl"},
			"sel_a":     map[string]any{"CommandLine|contains": "a"},
			"sel_b":     []any{"keyword"},
			"filter_x":  map[string]any{"User": nil},
			"condition": cond,
		})
		if err != nil {
			return
		}
		rs, err := sigma.Parse([]byte(ruleText(lsProc, string(det))))
		if err != nil {
			t.Fatalf("a valid YAML rule failed to load: %v", err)
		}
		for _, r := range rs.Rules {
			for _, ev := range evs {
				r.Match(ev)
			}
		}
	})
}
