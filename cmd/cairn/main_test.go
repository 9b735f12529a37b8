package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cli runs cairn in-process and returns the exit code, stdout and stderr.
func cli(t testing.TB, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	if code, _, _ := cli(t, "", "bogus"); code != exitUsage {
		t.Errorf("unknown command exit = %d", code)
	}
	if code, out, _ := cli(t, "", "help"); code != 0 || !strings.Contains(out, "ingest") {
		t.Errorf("help = %d %q", code, out)
	}
	if code, _, _ := cli(t, "", "events", "-o", "yaml"); code != exitUsage {
		t.Errorf("bad -o exit = %d", code)
	}
	if code, _, errs := cli(t, "", "ingest", "--db", filepath.Join(t.TempDir(), "x.db")); code != exitUsage || !strings.Contains(errs, "PATH") {
		t.Errorf("ingest without paths = %d %q", code, errs)
	}
}

func TestDemoThenEvents(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	code, out, errs := cli(t, "", "demo", "--db", db)
	if code != 0 {
		t.Fatalf("demo exit %d: %s %s", code, out, errs)
	}
	for _, want := range []string{"tetragon", "cloudtrail", "process_exec", "cloud_api_call"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	cases := []struct {
		filter string
		check  func(evs []map[string]any) string
	}{
		{"ct.name=StopLogging", func(evs []map[string]any) string {
			if len(evs) == 0 {
				return "no StopLogging event"
			}
			return ""
		}},
		{"proc.name=nc and proc.args contains 9001", func(evs []map[string]any) string {
			if len(evs) == 0 {
				return "no nc reverse shell"
			}
			return ""
		}},
		{`kubernetes.namespace.name=risk-10-aws-bedrock-java and proc.name=easyminer`, func(evs []map[string]any) string {
			pods := map[any]bool{}
			for _, ev := range evs {
				pods[ev["k8s"].(map[string]any)["pod"]] = true
			}
			if len(pods) < 2 {
				return "easyminer on fewer than 2 pods"
			}
			return ""
		}},
	}
	for _, c := range cases {
		code, out, errs := cli(t, "", "events", "--db", db, "--filter", c.filter, "--limit", "0", "-o", "json")
		if code != 0 {
			t.Fatalf("events %q exit %d: %s", c.filter, code, errs)
		}
		var evs []map[string]any
		if err := json.Unmarshal([]byte(out), &evs); err != nil {
			t.Fatalf("events %q: %v", c.filter, err)
		}
		if msg := c.check(evs); msg != "" {
			t.Errorf("%s: %s", c.filter, msg)
		}
	}
	code, _, errs = cli(t, "", "events", "--db", db, "--filter", "proc.nme=nc")
	if code != exitFailure || !strings.Contains(errs, "proc.name") || !strings.Contains(errs, "col") {
		t.Errorf("bad filter: exit %d, %q", code, errs)
	}
	code, out, _ = cli(t, "", "events", "--db", db, "--limit", "5")
	if code != 0 || !strings.Contains(out, "5 events") {
		t.Errorf("events text = %d %q", code, out)
	}
}

func TestIngestExitCodesAndJSON(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "i.db")
	good := `{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2026-11-25T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","eventID":"11111111-2222-3333-4444-555555555555","recipientAccountId":"111122223333"}`
	p := filepath.Join(dir, "ct.json")
	if err := os.WriteFile(p, []byte(good+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, "", "ingest", "--db", db, "-o", "json", p)
	if code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errs)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep["accepted"] != 1.0 || rep["duplicates"] != 0.0 || rep["rejected"] != 0.0 {
		t.Errorf("report = %v", rep)
	}
	code, out, _ = cli(t, good+"\n{broken\n", "ingest", "--db", db, "-o", "json", "-")
	if code != exitPartial {
		t.Errorf("partial ingest exit = %d, want 2", code)
	}
	json.Unmarshal([]byte(out), &rep)
	if rep["accepted"] != 0.0 || rep["duplicates"] != 1.0 || rep["rejected"] != 1.0 {
		t.Errorf("report = %v", rep)
	}
	if code, _, _ := cli(t, "", "ingest", "--db", db, filepath.Join(dir, "absent.json")); code != exitFailure {
		t.Errorf("missing file exit = %d, want 1", code)
	}
	code, out, _ = cli(t, "", "db", "--db", db, "dead-letters")
	if code != 0 || !strings.Contains(out, "line 2") {
		t.Errorf("dead-letters = %d %q", code, out)
	}
}

func TestFields(t *testing.T) {
	code, out, _ := cli(t, "", "fields", "-o", "json")
	if code != 0 {
		t.Fatal(code)
	}
	var fs []fieldInfo
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fs {
		names[f.Name] = true
	}
	for _, want := range []string{"proc.cmdline", "k8s.ns.name", "container.image.repository", "ct.name", "ct.user.arn", "ct.srcip", "json.value", "cloud.identity", "k8s.cluster.name"} {
		if !names[want] {
			t.Errorf("fields lacks %s", want)
		}
	}
}

// treeNames returns the command names of a tree's lineage, root first.
func treeNames(t *testing.T, db, filter string) ([]string, map[string]any) {
	t.Helper()
	code, out, errs := cli(t, "", "events", "--db", db, "--filter", filter, "--limit", "1", "-o", "json")
	if code != 0 {
		t.Fatalf("events %q: %s", filter, errs)
	}
	var evs []map[string]any
	if err := json.Unmarshal([]byte(out), &evs); err != nil || len(evs) != 1 {
		t.Fatalf("events %q: %d events, %v", filter, len(evs), err)
	}
	code, out, errs = cli(t, "", "tree", "--db", db, "-o", "json", evs[0]["id"].(string))
	if code != 0 {
		t.Fatalf("tree: %s", errs)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range v["lineage"].([]any) {
		cmd, _ := n.(map[string]any)["cmdline"].(string)
		f := strings.Fields(cmd)
		if len(f) == 0 {
			f = []string{"?"}
		}
		names = append(names, f[0])
	}
	return names, v
}

func TestDemoTrees(t *testing.T) {
	for _, seed := range []string{"1", "3"} {
		db := filepath.Join(t.TempDir(), "demo.db")
		if code, _, errs := cli(t, "", "demo", "--db", db, "--seed", seed); code != 0 {
			t.Fatalf("demo: %s", errs)
		}
		// The reverse shell: containerd-shim → java → sh → nc, the pod and
		// image on the container's nodes.
		names, v := treeNames(t, db, "proc.pname=sh and proc.aname[2]=java and evt.type=execve")
		got := strings.Join(names, " ")
		if !strings.Contains(got, "containerd-shim-runc-v2 java sh "+names[len(names)-1]) {
			t.Errorf("seed %s: reverse shell lineage %q", seed, got)
		}
		lineage := v["lineage"].([]any)
		java := lineage[len(lineage)-3].(map[string]any)
		if java["pod"] == nil || java["image"] == nil {
			t.Errorf("seed %s: java node without pod or image: %v", seed, java)
		}
		if len(v["after"].([]any)) == 0 {
			t.Errorf("seed %s: nothing after the reverse shell", seed)
		}
		// The miner: the dropper script above it.
		names, _ = treeNames(t, db, `evt.type=execve and proc.args contains "stratum+tcp"`)
		if len(names) < 2 || !strings.HasSuffix(names[len(names)-2], "bash") {
			t.Errorf("seed %s: miner lineage %q", seed, names)
		}
	}
	db := filepath.Join(t.TempDir(), "demo.db")
	cli(t, "", "demo", "--db", db)
	names, _ := treeNames(t, db, `proc.name=stat and proc.args contains "/etc/shadow"`)
	if len(names) < 2 || names[len(names)-2] != "benchmark-runner" {
		t.Errorf("stat /etc/shadow lineage %q, want benchmark-runner as its parent", names)
	}
	names, _ = treeNames(t, db, `proc.name=easyminer and evt.type=execve`)
	code, out, _ := cli(t, "", "events", "--db", db, "--filter", `proc.name=easyminer and evt.type=execve and proc.pcmdline contains "malicious-bin-event-gen.sh"`, "-o", "json")
	if code != 0 || !strings.Contains(out, "easyminer") {
		t.Errorf("easyminer not under malicious-bin-event-gen.sh (lineage %q)", names)
	}
}

// TestTreeAcrossIngests checks that an ingest starting mid-stream joins
// onto the ancestors an earlier ingest stored: the second input names
// only its parent's exec id.
func TestTreeAcrossIngests(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	first := `{"id":"ev-shim","source":"sensor","kind":"process_exec","type":"execve","time":"2026-11-25T10:00:00Z","host":"n1","process":{"exec_id":"shim","pid":10,"binary":"/usr/bin/containerd-shim-runc-v2"}}
{"id":"ev-java","source":"sensor","kind":"process_exec","type":"execve","time":"2026-11-25T10:00:01Z","host":"n1","process":{"exec_id":"java","parent_exec_id":"shim","pid":20,"binary":"/usr/bin/java","args":"-jar app.jar"},"container":{"id":"abcdef123456","name":"app","image":"shop/app:1"}}
`
	second := `{"id":"ev-sh","source":"sensor","kind":"process_exec","type":"execve","time":"2026-11-25T10:05:00Z","host":"n1","process":{"exec_id":"sh","parent_exec_id":"java","pid":30,"binary":"/bin/sh","args":"-c id"},"container":{"id":"abcdef123456","name":"app","image":"shop/app:1"}}
`
	for _, in := range []string{first, second} {
		if code, _, errs := cli(t, in, "ingest", "--db", db, "-"); code != 0 {
			t.Fatalf("ingest: %d %s", code, errs)
		}
	}
	names, _ := treeNames(t, db, "event.id=ev-sh")
	if got := strings.Join(names, " "); got != "containerd-shim-runc-v2 java sh" {
		t.Errorf("lineage across ingests = %q", got)
	}
	code, out, _ := cli(t, "", "events", "--db", db, "--filter", "proc.pname=java and proc.aname=containerd-shim-runc-v2", "-o", "ndjson")
	if code != 0 || !strings.Contains(out, `"ev-sh"`) {
		t.Errorf("ancestor fields of the second ingest's event not filled from the store: %q", out)
	}
}

func TestRulesLint(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.yaml")
	rules := `- list: shells
  items: [sh, bash]
- macro: spawned
  condition: evt.type=execve and evt.dir=<
- rule: Shell
  desc: a shell
  condition: spawned and proc.name in (shells)
  output: shell %proc.cmdline
  priority: WARNING
- rule: Needs missing field
  desc: x
  condition: spawned and proc.nonexistent_field=1
  output: x
  priority: NOTICE
`
	if err := os.WriteFile(p, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, "", "rules", "lint", "-o", "json", p)
	if code != 0 {
		t.Fatalf("lint: %d %s", code, errs)
	}
	var rep []lintFile
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep) != 1 || len(rep[0].Loaded) != 1 || len(rep[0].Skipped) != 1 || !strings.Contains(strings.Join(rep[0].Skipped[0].Fields, ","), "proc.nonexistent_field") {
		t.Errorf("lint report = %+v", rep)
	}
}

// TestIngestWithUpstreamRules runs the demo's records through the
// upstream Falco rules (those cairn can load) and lists the detections.
func TestIngestWithUpstreamRules(t *testing.T) {
	rulesDir := filepath.Join("..", "..", "..", "shared", "corpus", "rules", "falco")
	stable, cloud := filepath.Join(rulesDir, "falco_rules.yaml"), filepath.Join(rulesDir, "aws_cloudtrail_rules.yaml")
	if _, err := os.Stat(stable); err != nil {
		t.Skipf("corpus not found at %s: this test needs ../shared/corpus beside the repository", rulesDir)
	}
	dir := t.TempDir()
	if code, _, errs := cli(t, "", "demo", "--export", filepath.Join(dir, "in")); code != 0 {
		t.Fatalf("export: %s", errs)
	}
	db := filepath.Join(dir, "d.db")
	code, out, errs := cli(t, "", "ingest", "--db", db, "--rules", stable, "--rules", cloud, "-o", "json",
		filepath.Join(dir, "in", "tetragon"), filepath.Join(dir, "in", "AWSLogs"))
	if code != 0 {
		t.Fatalf("ingest: %d %s", code, errs)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep["detections"].(float64) == 0 {
		t.Fatalf("no detections: %v %s", err, out)
	}
	for _, c := range []struct{ filter, want string }{
		{`rule.name contains "Netcat"`, "104.199.23.243"},
		{`rule.name = "CloudTrail Logging Disabled"`, "logging has been disabled"},
		{`severity >= medium and mitre.tactic = execution`, "Netcat"},
	} {
		code, out, errs := cli(t, "", "detections", "--db", db, "--filter", c.filter, "-o", "json")
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("detections %q: %d %s %s", c.filter, code, errs, out)
		}
	}
	// Ingesting the same records again adds no detection.
	cli(t, "", "ingest", "--db", db, "--rules", stable, "--rules", cloud, filepath.Join(dir, "in", "tetragon"), filepath.Join(dir, "in", "AWSLogs"))
	code, out, _ = cli(t, "", "detections", "--db", db, "--filter", `rule.name contains "Netcat"`, "-o", "json")
	var dets []map[string]any
	json.Unmarshal([]byte(out), &dets)
	if code != 0 || len(dets) != 1 || dets[0]["count"].(float64) != 1 {
		t.Errorf("after a second ingest: %s", out)
	}
}
