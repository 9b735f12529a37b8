package sigma_test

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/sigma"
)

func loadFile(tb testing.TB, path string) *sigma.RuleSet {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := sigma.Load(sigma.File{Name: path, Data: data})
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

func TestLoadCollection(t *testing.T) {
	rs := loadFile(t, "testdata/collection.yml")
	if len(rs.Rules) != 2 {
		t.Fatalf("rules = %d, skipped %+v", len(rs.Rules), rs.Skipped)
	}
	sh, bash := rs.Rules[0], rs.Rules[1]
	if sh.Name != "web_shell_sh" || bash.Name != "web_shell_bash" || sh.Title != "Shells spawned by web servers" || bash.Level != "high" ||
		fmt.Sprint(bash.Tags) != "[attack.execution]" || sh.Logsource.Category != "process_creation" || sh.Status != "test" {
		t.Errorf("attributes: %+v / %+v", sh, bash)
	}
	nginx := execEv("/bin/sh", "-c id", "/usr/sbin/nginx", "")
	nginxBash := execEv("/bin/bash", "-c id", "/usr/sbin/nginx", "")
	cron := execEv("/bin/sh", "-c id", "/usr/sbin/cron", "")
	if !sh.Match(nginx) || sh.Match(nginxBash) || sh.Match(cron) || !bash.Match(nginxBash) || bash.Match(nginx) {
		t.Error("global detection not merged into the documents")
	}

	if len(rs.Correlations) != 2 {
		t.Fatalf("correlations = %d, skipped %+v", len(rs.Correlations), rs.Skipped)
	}
	c := rs.Correlations[0]
	want := &sigma.CorrelationDef{
		ID: "5a9a9d7e-1d7b-4a34-9b4a-0e2a8b1e0c03", Name: "web_shell_then_download", Title: "Web shells then a download",
		File: "testdata/collection.yml", Status: "experimental", Level: "critical",
		Type: "temporal_ordered", Rules: []string{"web_shell_sh", "5a9a9d7e-1d7b-4a34-9b4a-0e2a8b1e0c02"},
		GroupBy: []string{"Computer", "ParentProcessId"}, Timespan: 90 * time.Minute, TimespanText: "90m",
		Aliases:  map[string]map[string]string{"host": {"web_shell_sh": "Computer", "web_shell_bash": "Computer"}},
		Generate: true,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("correlation:\n got %+v\nwant %+v", c, want)
	}
	vc := rs.Correlations[1]
	if vc.Type != "value_count" || fmt.Sprint(vc.Rules) != "[web_shell_sh]" || fmt.Sprint(vc.GroupBy) != "[Computer]" || vc.Timespan != 24*time.Hour ||
		fmt.Sprint(vc.Condition.Field) != "[CommandLine]" || vc.Condition.String() != "field CommandLine gte 10 lt 100" {
		t.Errorf("value_count: %+v", vc)
	}
	if !vc.Condition.Holds(10) || !vc.Condition.Holds(99) || vc.Condition.Holds(9) || vc.Condition.Holds(100) {
		t.Error("Holds")
	}

	var reasons []string
	for _, s := range rs.Skipped {
		reasons = append(reasons, s.Rule+": "+s.Reason)
	}
	wantSkipped := []string{
		`Bad correlation: correlation: timespan "5x": want a positive number and a unit (s, m, h, d, w)`,
		"Filter admins: Sigma filters (filter:) are not supported",
	}
	if !reflect.DeepEqual(reasons, wantSkipped) {
		t.Errorf("skipped:\n got %q\nwant %q", reasons, wantSkipped)
	}
}

func TestLoadErrorsAndDocuments(t *testing.T) {
	if _, err := sigma.Parse([]byte("title: [unclosed\n")); err == nil || cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("malformed YAML: err = %v", err)
	}
	rs, err := sigma.Parse([]byte(ruleText(lsProc, "sel:\n    Image: x\ncondition: sel") + "---\n" + ruleText(lsProc, "sel:\n    Image: y\ncondition: sel") + "---\n- a list\n---\n{}\n---\ntitle: [1\n"))
	if err == nil {
		t.Errorf("a broken document later in the file must fail the file, got %+v", rs)
	}
	rs, err = sigma.Parse([]byte(ruleText(lsProc, "sel:\n    Image: x\ncondition: sel") + "---\n" + ruleText(lsProc, "sel:\n    Image: y\ncondition: sel") + "---\n- a list\n---\ntitle: no detection\n---\ntitle: [bad, title]\nlogsource: {}\ndetection: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range rs.Skipped {
		got = append(got, s.Rule+": "+s.Reason)
	}
	want := []string{
		`test rule: id 00000000-0000-0000-0000-000000000001 is already used by "test rule"`,
		"document at line 21: document is not a map",
		"no detection: not a Sigma rule: no detection or correlation",
	}
	if len(rs.Rules) != 1 || len(got) != 4 || !reflect.DeepEqual(got[:3], want) || !strings.Contains(got[3], "malformed attributes") {
		t.Errorf("rules %d, skipped:\n%s", len(rs.Rules), strings.Join(got, "\n"))
	}
}

func TestRuleAttributes(t *testing.T) {
	rs, err := sigma.Parse([]byte(`title: Attributes
id: 11111111-2222-3333-4444-555555555555
name: attrs
status: stable
description: |
    Several lines
    of text.
author: Ann, Bob
date: 2024-01-02
modified: 2024-03-04
references:
    - https://example.com/a
tags: [attack.t1059, attack.execution]
logsource:
    category: process_creation
    product: linux
detection:
    sel:
        Image|endswith: /curl
    condition: sel
fields:
    - CommandLine
    - ParentImage
falsepositives: Admins
level: medium
`))
	if err != nil || len(rs.Rules) != 1 {
		t.Fatalf("%v %+v", err, rs)
	}
	r := rs.Rules[0]
	if r.ID != "11111111-2222-3333-4444-555555555555" || r.Name != "attrs" || r.Status != "stable" || r.Description != "Several lines\nof text." ||
		r.Author != "Ann, Bob" || r.Date != "2024-01-02" || r.Modified != "2024-03-04" || fmt.Sprint(r.References) != "[https://example.com/a]" ||
		fmt.Sprint(r.Tags) != "[attack.t1059 attack.execution]" || fmt.Sprint(r.DisplayFields) != "[CommandLine ParentImage]" ||
		fmt.Sprint(r.Falsepositives) != "[Admins]" || r.Level != "medium" || fmt.Sprint(r.Condition) != "[sel]" {
		t.Errorf("attributes: %+v", r)
	}
}

func TestValueAndFields(t *testing.T) {
	r := mustRule(t, lsProc, "sel:\n    Image|endswith: /curl\n    CommandLine|contains: http\ncondition: sel")
	ev := execEv("/usr/bin/curl", "-s http://x", "/bin/bash", "-c run")
	for name, want := range map[string]string{
		"Image": "/usr/bin/curl", "CommandLine": "curl -s http://x", "ParentImage": "/bin/bash", "ParentCommandLine": "bash -c run",
		"User": "root", "ProcessId": "4242", "LogonId": "1000", "Computer": "node-1", "UtcTime": "2024-05-01T22:30:00Z", "ProcessGuid": "ZXhlYy0x",
	} {
		if got, ok := r.Value(ev, name); !ok || got != want {
			t.Errorf("Value(%s) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"TargetFilename", "Nope", "ParentProcessGuid"} {
		if got, ok := r.Value(ev, name); ok {
			t.Errorf("Value(%s) = %q, want none", name, got)
		}
	}
	if got := fmt.Sprint(r.UsedFields()); got != "[Image CommandLine]" {
		t.Errorf("UsedFields = %s", got)
	}
	f := r.Fields(ev)
	if f["Image"] != "/usr/bin/curl" || f["CurrentDirectory"] != "/root" || len(f) != 12 {
		t.Errorf("Fields = %v", f)
	}

	cr := mustRule(t, lsCloud, "sel:\n    eventName: ConsoleLogin\ncondition: sel")
	ct := ctEv(t, `{"eventName":"ConsoleLogin","userIdentity":{"arn":"arn:x","type":"Root"},"resources":[{"ARN":"a"},{"ARN":"b"}],"n":5,"ok":true,"nil":null}`)
	for name, want := range map[string]string{
		"eventName": "ConsoleLogin", "userIdentity.arn": "arn:x", "userIdentity": `{"arn":"arn:x","type":"Root"}`,
		"resources.ARN": `["a","b"]`, "n": "5", "ok": "true",
	} {
		if got, ok := cr.Value(ct, name); !ok || got != want {
			t.Errorf("Value(%s) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := cr.Value(ct, "nil"); ok {
		t.Error("null value reported")
	}
	if f := cr.Fields(ct); len(f) != 1 || f["eventName"] != "ConsoleLogin" {
		t.Errorf("Fields = %v", f)
	}
	// An event without its raw record falls back on the lifted fields.
	bare := &cairn.Event{Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Cloud: &cairn.CloudCall{EventName: "ConsoleLogin"}}
	if !cr.Match(bare) {
		t.Error("lifted eventName not used")
	}
}
