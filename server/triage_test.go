package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/server"
)

// hostileFilter selects the seeded shell with the hostile command line.
const hostileFilter = "proc.pid = 500"

// PATCH changes status and assignee for analysts only; the answer and
// later reads show the change, and the audit log records it with its
// before and after.
func TestTriagePatch(t *testing.T) {
	e := newEnv(t, nil)
	d := e.findDetection(t, hostileFilter)
	if d.Status != cairn.StatusNew || d.Assignee != "" {
		t.Fatalf("seeded detection starts %q %q, want new and unassigned", d.Status, d.Assignee)
	}
	path := "/api/v1/detections/" + url.PathEscape(d.ID)

	wantError(t, "no token", e.patch(t, path, "", `{"status":"acknowledged"}`), 401, "unauthorized")
	wantError(t, "viewer", e.patch(t, path, server.RoleViewer, `{"status":"acknowledged"}`), 403, "forbidden")
	wantError(t, "unknown status", e.patch(t, path, server.RoleAnalyst, `{"status":"done"}`), 400, cairn.EINVALID)
	wantError(t, "empty object", e.patch(t, path, server.RoleAnalyst, `{}`), 400, cairn.EINVALID)
	wantError(t, "empty body", e.patch(t, path, server.RoleAnalyst, ``), 400, cairn.EINVALID)
	wantError(t, "unknown field", e.patch(t, path, server.RoleAnalyst, `{"state":"resolved"}`), 400, cairn.EINVALID)
	wantError(t, "long assignee", e.patch(t, path, server.RoleAnalyst, `{"assignee":"`+strings.Repeat("a", cairn.MaxAssignee+1)+`"}`), 400, cairn.EINVALID)
	wantError(t, "unknown id", e.patch(t, "/api/v1/detections/nope", server.RoleAnalyst, `{"status":"acknowledged"}`), 404, cairn.ENOTFOUND)
	if got := e.detection(t, d.ID).Detection; got.Status != cairn.StatusNew || got.Assignee != "" {
		t.Fatalf("refused changes changed the detection: %q %q", got.Status, got.Assignee)
	}
	if n := len(e.auditOf(t, "detection.triage")); n != 0 {
		t.Fatalf("refused changes wrote %d audit entries", n)
	}

	r := e.patch(t, path, server.RoleAnalyst, `{"status":"acknowledged","assignee":"  alice  "}`)
	var got cairn.Detection
	decodeResp(t, "PATCH", r, &got)
	if r.status != 200 || got.ID != d.ID || got.Status != cairn.StatusAcknowledged || got.Assignee != "alice" || got.Rule != d.Rule {
		t.Fatalf("PATCH: %d %+v", r.status, got)
	}
	if v := e.detection(t, d.ID).Detection; v.Status != cairn.StatusAcknowledged || v.Assignee != "alice" {
		t.Fatalf("GET after PATCH: %q %q", v.Status, v.Assignee)
	}
	// Only the status changes; the assignee stays.
	r = e.patch(t, path, server.RoleAdmin, `{"status":"resolved"}`)
	decodeResp(t, "PATCH status", r, &got)
	if r.status != 200 || got.Status != cairn.StatusResolved || got.Assignee != "alice" {
		t.Fatalf("PATCH status only: %d %+v", r.status, got)
	}
	// A change that changes nothing is no audit entry.
	if r := e.patch(t, path, server.RoleAnalyst, `{"status":"resolved"}`); r.status != 200 {
		t.Fatalf("no-op PATCH: %d %s", r.status, r.body)
	}

	audit := e.auditOf(t, "detection.triage")
	if len(audit) != 2 {
		t.Fatalf("triage audit entries: %d, want 2: %+v", len(audit), audit)
	}
	type change struct{ From, To string }
	details := map[string]map[string]change{}
	for _, a := range audit {
		if a.Object != d.ID {
			t.Errorf("audit object %q, want %q", a.Object, d.ID)
		}
		var m map[string]change
		if err := json.Unmarshal([]byte(a.Detail), &m); err != nil {
			t.Fatalf("audit detail %q: %v", a.Detail, err)
		}
		details[a.Actor] = m
	}
	first := details[tokenName(server.RoleAnalyst)]
	if first["status"] != (change{"new", "acknowledged"}) || first["assignee"] != (change{"", "alice"}) {
		t.Errorf("analyst's audit detail: %+v", first)
	}
	second := details[tokenName(server.RoleAdmin)]
	if second["status"] != (change{"acknowledged", "resolved"}) || len(second) != 1 {
		t.Errorf("admin's audit detail: %+v", second)
	}
}

// Comments round-trip through POST and GET, in order, with the token as
// author, and come with the detection.
func TestTriageComments(t *testing.T) {
	e := newEnv(t, nil)
	d := e.findDetection(t, hostileFilter)
	path := "/api/v1/detections/" + url.PathEscape(d.ID) + "/comments"

	var empty struct {
		Comments []cairn.Comment `json:"comments"`
	}
	r := e.do(t, "GET", path, server.RoleViewer, nil)
	decodeResp(t, "GET comments", r, &empty)
	if r.status != 200 || empty.Comments == nil || len(empty.Comments) != 0 || !strings.Contains(string(r.body), `"comments":[]`) {
		t.Fatalf("no comments yet: %d %s", r.status, r.body)
	}

	wantError(t, "viewer comment", e.postJSON(t, path, server.RoleViewer, map[string]string{"text": "x"}), 403, "forbidden")
	wantError(t, "no token", e.postJSON(t, path, "", map[string]string{"text": "x"}), 401, "unauthorized")
	wantError(t, "blank comment", e.postJSON(t, path, server.RoleAnalyst, map[string]string{"text": "  "}), 400, cairn.EINVALID)
	wantError(t, "unknown detection", e.postJSON(t, "/api/v1/detections/nope/comments", server.RoleAnalyst, map[string]string{"text": "x"}), 404, cairn.ENOTFOUND)
	wantError(t, "GET unknown detection", e.do(t, "GET", "/api/v1/detections/nope/comments", server.RoleViewer, nil), 404, cairn.ENOTFOUND)

	texts := []string{"looked at it <b>hard</b>", "second note"}
	var made []cairn.Comment
	for i, text := range texts {
		role := server.RoleAnalyst
		if i == 1 {
			role = server.RoleAdmin
		}
		r := e.postJSON(t, path, role, map[string]string{"text": text})
		var c cairn.Comment
		decodeResp(t, "POST comment", r, &c)
		if r.status != http.StatusCreated || c.ID == 0 || c.DetectionID != d.ID || c.Author != tokenName(role) || c.Text != text || c.Time.IsZero() {
			t.Fatalf("POST comment: %d %+v", r.status, c)
		}
		made = append(made, c)
	}
	var list struct {
		Comments []cairn.Comment `json:"comments"`
	}
	e.getJSON(t, path, server.RoleViewer, &list)
	if len(list.Comments) != 2 {
		t.Fatalf("comments: %+v", list.Comments)
	}
	for i, c := range list.Comments {
		if c.ID != made[i].ID || c.Text != texts[i] || c.Author != made[i].Author || !c.Time.Equal(made[i].Time) {
			t.Errorf("comment %d: %+v, want %+v", i, c, made[i])
		}
	}
	v := e.detection(t, d.ID)
	if len(v.Comments) != 2 || v.Comments[0].Text != texts[0] || v.Comments[1].Text != texts[1] {
		t.Fatalf("GET detection comments: %+v", v.Comments)
	}
	audit := e.auditOf(t, "detection.comment")
	if len(audit) != 2 || audit[0].Object != d.ID || audit[1].Object != d.ID {
		t.Fatalf("comment audit: %+v", audit)
	}
}

// The stats count what the list shows, for a filter and per status, and
// follow a triage change; the status filter selects the changed one.
func TestTriageStats(t *testing.T) {
	e := newEnv(t, nil)
	count := func(filter string) int {
		t.Helper()
		var p detectionList
		e.getJSON(t, "/api/v1/detections?limit=1000&filter="+url.QueryEscape(filter), server.RoleViewer, &p)
		return len(p.Detections)
	}
	stats := func(filter string) cairn.DetectionFacets {
		t.Helper()
		var f cairn.DetectionFacets
		path := "/api/v1/stats/detections"
		if filter != "" {
			path += "?filter=" + url.QueryEscape(filter)
		}
		e.getJSON(t, path, server.RoleViewer, &f)
		return f
	}

	// The two StopLogging calls are one group.
	all := stats("")
	if all.Total != seedShells+1 || all.Total != count("") || all.ByStatus["new"] != all.Total {
		t.Fatalf("all: %+v, list %d", all, count(""))
	}
	// WARNING ranks medium (2), CRITICAL critical (4).
	if all.BySeverity[2] != seedShells || all.BySeverity[4] != 1 {
		t.Fatalf("by severity: %+v", all.BySeverity)
	}
	shells := stats(`rule.name = "Shell spawned"`)
	if shells.Total != seedShells || shells.Total != count(`rule.name = "Shell spawned"`) {
		t.Fatalf("shells: %+v", shells)
	}
	wantError(t, "bad filter", e.do(t, "GET", "/api/v1/stats/detections?filter="+url.QueryEscape("proc.name = ="), server.RoleViewer, nil), 400, cairn.EINVALID)
	wantError(t, "unknown parameter", e.do(t, "GET", "/api/v1/stats/detections?limit=1", server.RoleViewer, nil), 400, cairn.EINVALID)
	wantError(t, "no token", e.do(t, "GET", "/api/v1/stats/detections", "", nil), 401, "unauthorized")

	d := e.findDetection(t, hostileFilter)
	if r := e.patch(t, "/api/v1/detections/"+url.PathEscape(d.ID), server.RoleAnalyst, `{"status":"acknowledged"}`); r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	after := stats("")
	if after.Total != all.Total || after.ByStatus["new"] != all.Total-1 || after.ByStatus["acknowledged"] != 1 {
		t.Fatalf("after triage: %+v", after)
	}
	if n, s := count("status = new"), stats("status = new"); n != all.Total-1 || s.Total != n {
		t.Fatalf("status = new: list %d, stats %+v, want %d", n, s, all.Total-1)
	}

	var acked detectionList
	e.getJSON(t, "/api/v1/detections?filter=status%3Dacknowledged", server.RoleViewer, &acked)
	if len(acked.Detections) != 1 || acked.Detections[0].ID != d.ID || acked.Detections[0].Status != cairn.StatusAcknowledged {
		t.Fatalf("status=acknowledged: %+v", acked.Detections)
	}
	if s := stats("status = acknowledged"); s.Total != 1 || s.ByStatus["acknowledged"] != 1 || s.BySeverity[2] != 1 {
		t.Fatalf("stats status = acknowledged: %+v", s)
	}
}
