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
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
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
