package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/server"
)

// postIngest sends body and decodes a 200 report.
func (e *env) postIngest(t *testing.T, path string, body io.Reader) ingest.Report {
	t.Helper()
	r := e.do(t, "POST", path, server.RoleAnalyst, body)
	var rep ingest.Report
	if r.status != 200 || json.Unmarshal(r.body, &rep) != nil {
		t.Fatalf("POST %s: %d %s", path, r.status, r.body)
	}
	return rep
}

// What is posted is stored and queryable, in every format and gzipped.
func TestIngest(t *testing.T) {
	e := newEnv(t, nil)
	tet := tetExec(700, "/bin/sh", "-c uname", 200) + "\n" + tetExec(701, "/usr/bin/wget", "-q x", 201) + "\nnot json\n"
	rep := e.postIngest(t, "/api/v1/ingest", strings.NewReader(tet))
	if rep.Inputs != 1 || rep.Accepted != 2 || rep.Rejected != 1 || rep.Detections != 1 || rep.BySource["tetragon"] != 2 {
		t.Fatalf("report: %+v", rep)
	}
	if len(rep.Rejects) != 1 || rep.Rejects[0].Origin != "api:"+tokenName(server.RoleAnalyst) {
		t.Fatalf("rejects: %+v", rep.Rejects)
	}
	var p eventList
	e.getJSON(t, "/api/v1/events?filter="+url.QueryEscape("proc.pid in (700, 701)"), server.RoleViewer, &p)
	if len(p.Events) != 2 {
		t.Fatalf("ingested events: %d, want 2", len(p.Events))
	}
	d := e.findDetection(t, "proc.pid = 700")
	if d.Rule != "Shell spawned" {
		t.Fatalf("detection: %+v", d)
	}

	// Again: duplicates, nothing new.
	if rep := e.postIngest(t, "/api/v1/ingest?format=tetragon", strings.NewReader(tet)); rep.Accepted != 0 || rep.Duplicates != 2 {
		t.Fatalf("second ingest: %+v", rep)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"Records":[` + ctRecord(7) + `]}`))
	zw.Close()
	if rep := e.postIngest(t, "/api/v1/ingest?format=cloudtrail", &gz); rep.Accepted != 1 || rep.BySource["cloudtrail"] != 1 {
		t.Fatalf("gzipped CloudTrail: %+v", rep)
	}
	var st cairn.Stats
	e.getJSON(t, "/api/v1/stats", server.RoleViewer, &st)
	if st.Events != seedEvents+3 || st.DeadLetters != seedDeadLetter+1 {
		t.Fatalf("stats: %+v", st)
	}
}

// falcosidekick posts one alert per request, pretty-printed or not.
func TestIngestFalcosidekick(t *testing.T) {
	e := newEnv(t, nil)
	alert := `{
  "uuid": "4cb9a6fa-4d4b-4d28-9b04-4a4bd0f1b6ae",
  "output": "10:00:05.000000000: Warning Shell spawned in a container (user=root container=abc proc=bash)",
  "priority": "Warning",
  "rule": "Terminal shell in container",
  "time": "2026-11-25T10:00:05.123456789Z",
  "output_fields": {"container.id": "abc123def456", "proc.name": "bash", "proc.cmdline": "bash -i", "user.name": "root", "evt.time": 1795600805123456789},
  "source": "syscall",
  "tags": ["container", "shell", "mitre_execution"],
  "hostname": "node-b"
}`
	rep := e.postIngest(t, "/api/v1/ingest/falcosidekick", strings.NewReader(alert))
	if rep.Accepted != 1 || rep.Rejected != 0 || rep.BySource["falco"] != 1 {
		t.Fatalf("report: %+v", rep)
	}
	var p eventList
	e.getJSON(t, "/api/v1/events?filter="+url.QueryEscape("evt.source = syscall and evt.hostname = node-b"), server.RoleViewer, &p)
	if len(p.Events) != 1 || p.Events[0].Alert == nil || p.Events[0].Alert.Rule != "Terminal shell in container" {
		t.Fatalf("alert event: %+v", p.Events)
	}
	// A body that is no alert is dead-lettered, not stored.
	if rep := e.postIngest(t, "/api/v1/ingest/falcosidekick", strings.NewReader(`{"hello":"world"}`)); rep.Accepted != 0 || rep.Rejected != 1 {
		t.Fatalf("non-alert: %+v", rep)
	}
}

// hideLength makes a body of unknown length: the client sends it
// chunked.
type hideLength struct{ r io.Reader }

func (h hideLength) Read(p []byte) (int, error) { return h.r.Read(p) }

func TestIngestErrors(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxIngestBytes = 4096 })
	var big strings.Builder
	for i := 0; big.Len() < 8192; i++ {
		big.WriteString(tetExec(1000+i, "/usr/bin/true", "", 300+i) + "\n")
	}
	msg := wantError(t, "declared too large", e.do(t, "POST", "/api/v1/ingest", server.RoleAnalyst, strings.NewReader(big.String())), 413, "invalid")
	if !strings.Contains(msg, "4096") {
		t.Fatalf("413 message %q", msg)
	}
	var st cairn.Stats
	e.getJSON(t, "/api/v1/stats", server.RoleViewer, &st)
	if st.Events != seedEvents {
		t.Fatalf("a body refused by its length stored %d events", st.Events-seedEvents)
	}
	// Of a chunked body over the cap, what came before the cap is kept.
	msg = wantError(t, "chunked too large", e.do(t, "POST", "/api/v1/ingest?format=tetragon", server.RoleAnalyst, hideLength{strings.NewReader(big.String())}), 413, "invalid")
	if !strings.Contains(msg, "kept") {
		t.Fatalf("413 message %q", msg)
	}

	tests := []struct {
		name, path, body string
		status           int
		code, in         string
	}{
		{"unknown format", "/api/v1/ingest?format=xml", "{}", 400, "invalid", "xml"},
		{"unknown parameter", "/api/v1/ingest?fmt=falco", "{}", 400, "invalid", "fmt"},
		{"undetectable", "/api/v1/ingest", "this is not a log at all\n", 400, "invalid", ""},
		{"alert too large", "/api/v1/ingest/falcosidekick", `{"output":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "invalid", "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := wantError(t, tt.name, e.do(t, "POST", tt.path, server.RoleAnalyst, strings.NewReader(tt.body)), tt.status, tt.code)
			if !strings.Contains(msg, tt.in) {
				t.Fatalf("message %q lacks %q", msg, tt.in)
			}
		})
	}

	off := newEnv(t, func(c *server.Config) { c.Ingest = nil })
	wantError(t, "ingest off", off.do(t, "POST", "/api/v1/ingest", server.RoleAnalyst, strings.NewReader("{}")), 404, "not_found")
}
