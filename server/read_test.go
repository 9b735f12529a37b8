package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/server"
	"github.com/cairn-cdr/cairn/treeview"
)

type eventList struct {
	Events []cairn.Event `json:"events"`
	Next   string        `json:"next"`
}

type detectionList struct {
	Detections []cairn.Detection `json:"detections"`
	Next       string            `json:"next"`
}

func TestEvents(t *testing.T) {
	e := newEnv(t, nil)
	var all eventList
	e.getJSON(t, "/api/v1/events?limit=1000", server.RoleViewer, &all)
	if len(all.Events) != seedEvents || all.Next != "" {
		t.Fatalf("events: %d, next %q; want %d and no next", len(all.Events), all.Next, seedEvents)
	}
	for i := 1; i < len(all.Events); i++ {
		if all.Events[i].Time.After(all.Events[i-1].Time) {
			t.Fatalf("events not newest first at %d", i)
		}
	}

	var curls eventList
	e.getJSON(t, "/api/v1/events?filter="+url.QueryEscape("proc.name = curl"), server.RoleViewer, &curls)
	if len(curls.Events) != 10 {
		t.Fatalf("curl events: %d, want 10", len(curls.Events))
	}

	// since/until bound the time: the shells ran in the first 12 s.
	var early eventList
	e.getJSON(t, "/api/v1/events?since=2026-11-25T10:00:00Z&until=2026-11-25T10:00:12Z", server.RoleViewer, &early)
	if len(early.Events) != 12 {
		t.Fatalf("events in the first 12 s: %d, want 12", len(early.Events))
	}

	var one cairn.Event
	e.getJSON(t, "/api/v1/events/"+url.PathEscape(curls.Events[0].ID), server.RoleViewer, &one)
	if one.ID != curls.Events[0].ID || one.Process == nil || one.Process.Name != "curl" || len(one.Raw) == 0 {
		t.Fatalf("GET event: %+v", one)
	}

	var empty eventList
	r := e.do(t, "GET", "/api/v1/events?filter="+url.QueryEscape("proc.name = nothing"), server.RoleViewer, nil)
	if err := json.Unmarshal(r.body, &empty); err != nil || !bytes.Contains(r.body, []byte(`"events":[]`)) {
		t.Fatalf("no match should be an empty list, got %s", r.body)
	}
}

// Following next visits every item once, in either order.
func TestPaging(t *testing.T) {
	e := newEnv(t, nil)
	for _, oldest := range []string{"false", "true"} {
		seen := map[string]int{}
		cursor, pages := "", 0
		for {
			var p eventList
			e.getJSON(t, "/api/v1/events?limit=7&oldest="+oldest+"&cursor="+url.QueryEscape(cursor), server.RoleViewer, &p)
			pages++
			if len(p.Events) > 7 {
				t.Fatalf("page of %d events, limit 7", len(p.Events))
			}
			for _, ev := range p.Events {
				seen[ev.ID]++
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
			if pages > 10 {
				t.Fatal("paging does not end")
			}
		}
		if len(seen) != seedEvents || pages != 4 {
			t.Fatalf("oldest=%s: %d events in %d pages, want %d in 4", oldest, len(seen), pages, seedEvents)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("event %s seen %d times", id, n)
			}
		}
	}

	var all detectionList
	e.getJSON(t, "/api/v1/detections?limit=1000", server.RoleViewer, &all)
	want := map[string]bool{}
	for _, d := range all.Detections {
		want[d.ID] = true
	}
	seen := map[string]int{}
	for cursor, pages := "", 0; ; pages++ {
		var p detectionList
		e.getJSON(t, "/api/v1/detections?limit=4&cursor="+url.QueryEscape(cursor), server.RoleViewer, &p)
		for _, d := range p.Detections {
			seen[d.ID]++
		}
		if cursor = p.Next; cursor == "" || pages > 10 {
			break
		}
	}
	if len(seen) != len(want) || len(want) < seedShells {
		t.Fatalf("paged detections %d, all %d (want at least %d)", len(seen), len(want), seedShells)
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Fatalf("detection %s seen %d times (in the full list: %v)", id, n, want[id])
		}
	}
}

func TestDetectionsAndTrees(t *testing.T) {
	e := newEnv(t, nil)
	var shells detectionList
	e.getJSON(t, "/api/v1/detections?limit=100&filter="+url.QueryEscape(`rule.name = "Shell spawned"`), server.RoleViewer, &shells)
	if len(shells.Detections) != seedShells {
		t.Fatalf("shell detections: %d, want %d", len(shells.Detections), seedShells)
	}
	var sh cairn.Detection
	for _, d := range shells.Detections {
		if d.Output == "shell ran (cmd=sh -c id)" {
			sh = d
		}
	}
	if sh.ID == "" {
		t.Fatalf("no detection of sh -c id among %+v", shells.Detections)
	}

	var dv struct {
		Detection cairn.Detection `json:"detection"`
		Tree      *treeview.View  `json:"tree"`
		TreeNote  string          `json:"tree_note"`
	}
	e.getJSON(t, "/api/v1/detections/"+url.PathEscape(sh.ID), server.RoleViewer, &dv)
	if dv.Detection.ID != sh.ID || dv.Tree == nil || dv.Tree.Event.ID != sh.EventIDs[0] || len(dv.Tree.Lineage) == 0 {
		t.Fatalf("detection view: %+v", dv)
	}
	if last := dv.Tree.Lineage[len(dv.Tree.Lineage)-1]; !last.Flagged || last.Cmdline != "sh -c id" {
		t.Fatalf("flagged node: %+v", last)
	}

	// The tree of the detection is the tree of its event.
	var byDet, byEvent treeview.View
	e.getJSON(t, "/api/v1/trees/"+url.PathEscape(sh.ID)+"?before=2&after=2", server.RoleViewer, &byDet)
	e.getJSON(t, "/api/v1/trees/"+url.PathEscape(sh.EventIDs[0])+"?before=2&after=2", server.RoleViewer, &byEvent)
	if byDet.Event.ID != sh.EventIDs[0] || byEvent.Event.ID != byDet.Event.ID || len(byDet.Before) != len(byEvent.Before) {
		t.Fatalf("trees differ: %+v vs %+v", byDet, byEvent)
	}
	if len(byDet.Before) > 2 || len(byDet.After) > 2 || len(byDet.Before)+len(byDet.After) == 0 {
		t.Fatalf("context: %d before, %d after; want 1-2 each side", len(byDet.Before), len(byDet.After))
	}

	// A cloud detection has no process tree: the detection still shows,
	// with a note; its tree alone is invalid.
	var trails detectionList
	e.getJSON(t, "/api/v1/detections?filter="+url.QueryEscape(`rule.name = "Trail stopped"`), server.RoleViewer, &trails)
	if len(trails.Detections) == 0 {
		t.Fatal("no Trail stopped detection")
	}
	cloud := trails.Detections[0]
	var cv map[string]json.RawMessage
	e.getJSON(t, "/api/v1/detections/"+url.PathEscape(cloud.ID), server.RoleViewer, &cv)
	if string(cv["tree"]) != "null" || !strings.Contains(string(cv["tree_note"]), "no process") {
		t.Fatalf("cloud detection view: tree %s note %s", cv["tree"], cv["tree_note"])
	}
	wantError(t, "cloud tree", e.do(t, "GET", "/api/v1/trees/"+url.PathEscape(cloud.EventIDs[0]), server.RoleViewer, nil), 400, "invalid")
}

func TestStatsAndDeadLetters(t *testing.T) {
	e := newEnv(t, nil)
	var st cairn.Stats
	e.getJSON(t, "/api/v1/stats", server.RoleViewer, &st)
	n := 0
	for _, c := range st.ByKind {
		n += c.N
	}
	if st.Events != seedEvents || st.DeadLetters != seedDeadLetter || n != seedEvents {
		t.Fatalf("stats: %+v", st)
	}
	var dl struct {
		DeadLetters []cairn.DeadLetter `json:"dead_letters"`
	}
	e.getJSON(t, "/api/v1/dead-letters?limit=10", server.RoleViewer, &dl)
	if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].Origin != "seed-tetragon" || !bytes.Contains(dl.DeadLetters[0].Raw, []byte(`"pid":1,`)) {
		t.Fatalf("dead letters: %+v", dl)
	}
	var h map[string]string
	e.getJSON(t, "/healthz", "", &h)
	if h["status"] != "ok" || h["version"] != "test-1" {
		t.Fatalf("healthz: %v", h)
	}
}

// Every malformed request is a 400 naming the problem; an unknown id is
// a 404; neither route nor method of one is a JSON error too.
func TestReadErrors(t *testing.T) {
	e := newEnv(t, nil)
	badFilter := "proc.name = = sh"
	_, storeErr := e.st.QueryEvents(context.Background(), cairn.EventQuery{Filter: badFilter})
	if cairn.ErrorCode(storeErr) != cairn.EINVALID {
		t.Fatalf("the store takes %q: %v", badFilter, storeErr)
	}
	msg := wantError(t, "bad filter", e.do(t, "GET", "/api/v1/events?filter="+url.QueryEscape(badFilter), server.RoleViewer, nil), 400, "invalid")
	if msg != cairn.ErrorMessage(storeErr) {
		t.Fatalf("bad filter message %q, want the store's %q", msg, cairn.ErrorMessage(storeErr))
	}
	tests := []struct {
		name, path string
		status     int
		code, in   string // in: a part of the message
	}{
		{"bad detection filter", "/api/v1/detections?filter=" + url.QueryEscape("rule.name ="), 400, "invalid", ""},
		{"bad cursor", "/api/v1/events?cursor=garbage", 400, "invalid", "cursor"},
		{"bad detection cursor", "/api/v1/detections?cursor=garbage", 400, "invalid", "cursor"},
		{"bad limit", "/api/v1/events?limit=ten", 400, "invalid", "limit"},
		{"negative limit", "/api/v1/dead-letters?limit=-1", 400, "invalid", "limit"},
		{"bad since", "/api/v1/events?since=yesterday", 400, "invalid", "since"},
		{"bad until", "/api/v1/detections?until=soon", 400, "invalid", "until"},
		{"overflowing since", "/api/v1/events?since=99999999d", 400, "invalid", "since"},
		{"bad oldest", "/api/v1/events?oldest=maybe", 400, "invalid", "oldest"},
		{"unknown parameter", "/api/v1/events?filer=x", 400, "invalid", `"filer"`},
		{"repeated parameter", "/api/v1/events?limit=1&limit=2", 400, "invalid", "limit"},
		{"tree context too large", "/api/v1/trees/x?before=1000", 400, "invalid", "before"},
		{"unknown event", "/api/v1/events/nope", 404, "not_found", "nope"},
		{"unknown detection", "/api/v1/detections/nope", 404, "not_found", "nope"},
		{"unknown tree", "/api/v1/trees/nope", 404, "not_found", "nope"},
		{"unknown endpoint", "/api/v1/nope", 404, "not_found", ""},
		{"outside the API", "/index.html", 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := wantError(t, tt.name, e.do(t, "GET", tt.path, server.RoleAdmin, nil), tt.status, tt.code)
			if !strings.Contains(msg, tt.in) {
				t.Fatalf("message %q lacks %q", msg, tt.in)
			}
		})
	}
	r := e.do(t, "PUT", "/api/v1/events", server.RoleAdmin, strings.NewReader("{}"))
	wantError(t, "PUT events", r, http.StatusMethodNotAllowed, "invalid")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Fatalf("405 Allow %q", allow)
	}
}

// Every response, errors included, is JSON that browsers may not sniff
// or cache.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct{ method, path, role string }{
		{"GET", "/api/v1/events", server.RoleViewer},
		{"GET", "/api/v1/events", ""},
		{"GET", "/api/v1/events/nope", server.RoleViewer},
		{"GET", "/api/v1/audit", server.RoleViewer},
		{"GET", "/nope", ""},
		{"DELETE", "/api/v1/events", server.RoleAdmin},
		{"GET", "/healthz", ""},
		{"GET", "/api/v1/openapi.json", ""},
	} {
		r := e.do(t, c.method, c.path, c.role, nil)
		for k, v := range map[string]string{"Content-Type": "application/json", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s %s (%d): %s %q, want %q", c.method, c.path, r.status, k, got, v)
			}
		}
		if !json.Valid(r.body) {
			t.Errorf("%s %s: body is not JSON: %s", c.method, c.path, r.body)
		}
	}
}

// A command line with markup and terminal escapes comes back only
// JSON-escaped: no raw <script> and no control bytes anywhere in the
// body, and the string decodes to exactly what was ingested.
func TestHostileData(t *testing.T) {
	e := newEnv(t, nil)
	var p eventList
	e.getJSON(t, "/api/v1/events?filter=proc.pid=500", server.RoleViewer, &p)
	if len(p.Events) != 1 {
		t.Fatalf("hostile event: %d", len(p.Events))
	}
	ev := p.Events[0]
	var want string
	if err := json.Unmarshal([]byte(`"`+hostileArgs+`"`), &want); err != nil {
		t.Fatal(err)
	}
	if ev.Process.Args != want {
		t.Fatalf("args %q, want %q", ev.Process.Args, want)
	}
	var dets detectionList
	e.getJSON(t, "/api/v1/detections?filter=proc.pid=500", server.RoleViewer, &dets)
	if len(dets.Detections) != 1 || !strings.Contains(dets.Detections[0].Output, "<script>alert(1)</script>\x1b[31m") {
		t.Fatalf("hostile detection: %+v", dets.Detections)
	}
	for _, path := range []string{
		"/api/v1/events?filter=proc.pid=500",
		"/api/v1/events/" + url.PathEscape(ev.ID),
		"/api/v1/detections?filter=proc.pid=500",
		"/api/v1/detections/" + url.PathEscape(dets.Detections[0].ID),
		"/api/v1/trees/" + url.PathEscape(ev.ID),
	} {
		r := e.do(t, "GET", path, server.RoleViewer, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if bytes.Contains(r.body, []byte("<script>")) || bytes.ContainsAny(r.body, "<>&\x1b\x07") {
			t.Errorf("%s: raw markup or control bytes in the body:\n%q", path, r.body)
		}
		if !bytes.Contains(r.body, []byte(`\u003cscript\u003ealert(1)\u003c/script\u003e\u001b[31m`)) {
			t.Errorf("%s: the escaped command line is missing:\n%s", path, r.body)
		}
	}
	// The raw record is kept whole under the escaping.
	var raw struct {
		Exec struct {
			Process struct {
				Arguments string `json:"arguments"`
			} `json:"process"`
		} `json:"process_exec"`
	}
	if err := json.Unmarshal(ev.Raw, &raw); err != nil || raw.Exec.Process.Arguments != want {
		t.Fatalf("raw record: %v %q", err, raw.Exec.Process.Arguments)
	}
}
