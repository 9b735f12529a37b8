package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/server"
)

type backtest struct {
	Detections       int `json:"detections"`
	Suppressed       int `json:"suppressed"`
	Groups           int `json:"groups"`
	GroupsSuppressed int `json:"groups_suppressed"`
	Unreadable       int `json:"unreadable"`
}

type added struct {
	Exception cairn.Exception `json:"exception"`
	Backtest  backtest        `json:"backtest"`
	Stored    bool            `json:"stored"`
}

type exceptionList struct {
	Exceptions []cairn.Exception `json:"exceptions"`
}

// findDetection returns the first detection matching the filter.
func (e *env) findDetection(t *testing.T, filter string) cairn.Detection {
	t.Helper()
	var p detectionList
	e.getJSON(t, "/api/v1/detections?limit=1&filter="+url.QueryEscape(filter), server.RoleViewer, &p)
	if len(p.Detections) != 1 {
		t.Fatalf("no detection matches %s", filter)
	}
	return p.Detections[0]
}

// The exception flow: a dry run backtests and stores nothing; adding
// stores it with the token's name; it suppresses what is ingested next;
// removing it is audited too.
func TestExceptionFlow(t *testing.T) {
	e := newEnv(t, nil)
	d := e.findDetection(t, `rule.name = "Shell spawned" and proc.cmdline = "sh -c id"`)
	wantBacktest := backtest{Detections: seedShells, Suppressed: seedShellsID, Groups: seedShells, GroupsSuppressed: seedShellsID}

	r := e.postJSON(t, "/api/v1/exceptions", server.RoleAnalyst, map[string]any{"from_detection": d.ID, "fields": []string{"proc.cmdline"}, "dry_run": true})
	var dry added
	if r.status != http.StatusOK || json.Unmarshal(r.body, &dry) != nil {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	if dry.Stored || dry.Backtest != wantBacktest || dry.Exception.Rule != "Shell spawned" ||
		!slices.Equal(dry.Exception.Fields, []string{"proc.cmdline"}) || !slices.Equal(dry.Exception.Values[0], []string{"sh -c id"}) {
		t.Fatalf("dry run: %+v, want backtest %+v", dry, wantBacktest)
	}
	var list exceptionList
	e.getJSON(t, "/api/v1/exceptions", server.RoleViewer, &list)
	if list.Exceptions == nil || len(list.Exceptions) != 0 {
		t.Fatalf("dry run stored: %+v", list)
	}

	r = e.postJSON(t, "/api/v1/exceptions", server.RoleAnalyst, map[string]any{
		"from_detection": d.ID, "fields": []string{"proc.cmdline"}, "expires": "30d", "note": "CI runs id"})
	var add added
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &add) != nil {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	x := add.Exception
	if !add.Stored || add.Backtest != wantBacktest || x.Author != tokenName(server.RoleAnalyst) || x.Detection != d.ID ||
		!x.Created.Equal(e.now) || !x.Expires.Equal(e.now.Add(30*24*time.Hour)) || x.Note != "CI runs id" || !strings.HasPrefix(x.Name, "cairn_x_") {
		t.Fatalf("add: %+v", add)
	}
	e.getJSON(t, "/api/v1/exceptions", server.RoleViewer, &list)
	if len(list.Exceptions) != 1 || list.Exceptions[0].ID != x.ID || list.Exceptions[0].Author != x.Author {
		t.Fatalf("list: %+v", list)
	}

	// The next ingest applies it: sh -c id is suppressed, sh -c whoami is not.
	body := tetExec(900, "/bin/sh", "-c id", 100) + "\n" + tetExec(901, "/bin/sh", "-c whoami", 101) + "\n"
	r = e.do(t, "POST", "/api/v1/ingest?format=tetragon", server.RoleAnalyst, strings.NewReader(body))
	var rep ingest.Report
	if r.status != 200 || json.Unmarshal(r.body, &rep) != nil || rep.Accepted != 2 || rep.Detections != 1 || rep.Suppressed != 1 {
		t.Fatalf("ingest under the exception: %d %s", r.status, r.body)
	}

	r = e.do(t, "DELETE", "/api/v1/exceptions/"+url.PathEscape(x.ID), server.RoleAnalyst, nil)
	var rm struct{ Removed cairn.Exception }
	if r.status != 200 || json.Unmarshal(r.body, &rm) != nil || rm.Removed.ID != x.ID {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	e.getJSON(t, "/api/v1/exceptions", server.RoleViewer, &list)
	if len(list.Exceptions) != 0 {
		t.Fatalf("after delete: %+v", list)
	}
	wantError(t, "delete again", e.do(t, "DELETE", "/api/v1/exceptions/"+url.PathEscape(x.ID), server.RoleAnalyst, nil), 404, "not_found")

	var audit struct{ Entries []cairn.AuditEntry }
	e.getJSON(t, "/api/v1/audit?limit=10", server.RoleAdmin, &audit)
	if len(audit.Entries) != 2 {
		t.Fatalf("audit: %+v", audit)
	}
	for i, action := range []string{"exception.rm", "exception.add"} {
		a := audit.Entries[i]
		if a.Action != action || a.Actor != tokenName(server.RoleAnalyst) || a.Object != x.ID || !a.Time.Equal(e.now) {
			t.Errorf("audit entry %d: %+v, want %s of %s by %s", i, a, action, x.ID, tokenName(server.RoleAnalyst))
		}
	}
	e.getJSON(t, "/api/v1/audit?limit=1", server.RoleAdmin, &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].Action != "exception.rm" {
		t.Fatalf("audit limit=1: %+v", audit)
	}
}

// Without fields, an exception takes the defaults of its event's source
// that the event has.
func TestExceptionDefaultFields(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		filter string
		want   []string
	}{
		{`rule.name = "Trail stopped"`, []string{"cloud.identity", "ct.name"}},
		{`rule.name = "Shell spawned"`, []string{"proc.name"}}, // no parent, no container
	}
	for _, tt := range tests {
		d := e.findDetection(t, tt.filter)
		r := e.postJSON(t, "/api/v1/exceptions", server.RoleAnalyst, map[string]any{"from_detection": d.ID, "dry_run": true})
		var a added
		if r.status != 200 || json.Unmarshal(r.body, &a) != nil {
			t.Fatalf("%s: %d %s", tt.filter, r.status, r.body)
		}
		if !slices.Equal(a.Exception.Fields, tt.want) || a.Backtest.Suppressed == 0 || a.Backtest.Suppressed != a.Backtest.Detections {
			t.Errorf("%s: fields %v backtest %+v, want fields %v suppressing all", tt.filter, a.Exception.Fields, a.Backtest, tt.want)
		}
	}
}

func TestExceptionErrors(t *testing.T) {
	e := newEnv(t, nil)
	d := e.findDetection(t, `rule.name = "Shell spawned"`)
	tests := []struct {
		name, body string
		status     int
		code, in   string
	}{
		{"not JSON", `{"from_detection":`, 400, "invalid", "request body"},
		{"empty body", ``, 400, "invalid", "nothing"},
		{"two values", `{"from_detection":"` + d.ID + `"} {}`, 400, "invalid", "more than one"},
		{"unknown field", `{"from_detection":"` + d.ID + `","dryrun":true}`, 400, "invalid", "dryrun"},
		{"no detection", `{"dry_run":true}`, 400, "invalid", "from_detection"},
		{"unknown detection", `{"from_detection":"nope"}`, 404, "not_found", "nope"},
		{"unknown field name", `{"from_detection":"` + d.ID + `","fields":["proc.nmae"]}`, 400, "invalid", "proc.nmae"},
		{"field the event lacks", `{"from_detection":"` + d.ID + `","fields":["ct.name"]}`, 400, "invalid", "ct.name"},
		{"bad expiry", `{"from_detection":"` + d.ID + `","expires":"soon"}`, 400, "invalid", "expires"},
		{"past expiry", `{"from_detection":"` + d.ID + `","expires":"2020-01-01T00:00:00Z"}`, 400, "invalid", "future"},
		{"huge expiry", `{"from_detection":"` + d.ID + `","expires":"99999999d"}`, 400, "invalid", "expires"},
		{"too many fields", `{"from_detection":"` + d.ID + `","fields":[` + strings.Repeat(`"proc.name",`, 16) + `"proc.name"]}`, 400, "invalid", "fields"},
		{"too long a note", `{"from_detection":"` + d.ID + `","note":"` + strings.Repeat("n", 5000) + `"}`, 400, "invalid", "note"},
		{"too large", `{"note":"` + strings.Repeat("n", 2<<20) + `"}`, 413, "invalid", "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := wantError(t, tt.name, e.do(t, "POST", "/api/v1/exceptions", server.RoleAnalyst, strings.NewReader(tt.body)), tt.status, tt.code)
			if !strings.Contains(msg, tt.in) {
				t.Fatalf("message %q lacks %q", msg, tt.in)
			}
		})
	}
	var list exceptionList
	e.getJSON(t, "/api/v1/exceptions", server.RoleViewer, &list)
	if len(list.Exceptions) != 0 {
		t.Fatalf("a failed request stored an exception: %+v", list)
	}
}
