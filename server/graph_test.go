package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/server"
)

// The graph API: JSON by default, DOT and Mermaid as text, a viewer's
// token required, the hostile command line escaped for each language.
func TestGraphAPI(t *testing.T) {
	e := newEnv(t, nil)
	path := "/api/v1/graph?filter=" + url.QueryEscape(hostileFilter)
	wantError(t, "no token", e.do(t, "GET", path, "", nil), http.StatusUnauthorized, "unauthorized")
	wantError(t, "bad format", e.do(t, "GET", path+"&format=svg", server.RoleViewer, nil), http.StatusBadRequest, "invalid")
	wantError(t, "bad filter", e.do(t, "GET", "/api/v1/graph?filter=proc.name%20%3D%20%3D", server.RoleViewer, nil), http.StatusBadRequest, "invalid")

	var g assist.Graph
	e.getJSON(t, path, server.RoleViewer, &g)
	var proc *assist.GraphNode
	for i, n := range g.Nodes {
		if n.Kind == assist.NodeProcess {
			proc = &g.Nodes[i]
		}
	}
	if proc == nil || !strings.Contains(proc.Label, rawHostile) || strings.ContainsAny(proc.Label, "\x1b\x07") {
		t.Fatalf("process node: %+v", g.Nodes)
	}
	if len(g.Edges) == 0 || g.Edges[0].Kind != assist.EdgeRanOn || g.Edges[0].To != "host:node-a" || len(g.Edges[0].Evidence) != 1 {
		t.Errorf("edges %+v, want the shell ran_on node-a", g.Edges)
	}
	var all assist.Graph
	e.getJSON(t, "/api/v1/graph?format=json", server.RoleViewer, &all)
	if len(all.Nodes) <= len(g.Nodes) || all.Truncated {
		t.Errorf("everything: %d nodes, filtered %d", len(all.Nodes), len(g.Nodes))
	}

	r := e.do(t, "GET", path+"&format=dot", server.RoleViewer, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/plain; charset=utf-8" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("dot: %d %v", r.status, r.header)
	}
	dot := string(r.body)
	if !strings.HasPrefix(dot, "digraph attack_path {\n") || !strings.Contains(dot, `label="process: sh -c <script>alert(1)</script> [31mred `) ||
		strings.ContainsAny(dot, "\x1b\x07") || !strings.HasSuffix(dot, "}\n") {
		t.Errorf("dot:\n%s", dot)
	}
	r = e.do(t, "GET", path+"&format=mermaid", server.RoleViewer, nil)
	mm := string(r.body)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/plain; charset=utf-8" || !strings.HasPrefix(mm, "flowchart LR\n") ||
		!strings.Contains(mm, `#60;script#62;alert(1)#60;/script#62;`) || strings.Contains(mm, "<script") {
		t.Errorf("mermaid %d:\n%s", r.status, mm)
	}
}

// The graph page: a viewer's, drawn as SVG with the UI's headers, the
// hostile label escaped, linked from the nav and from the feed with its
// filter.
func TestUIGraph(t *testing.T) {
	e := newEnv(t, nil)
	r := (&browser{e: e}).get(t, "/graph")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
		t.Fatalf("no session: %d %v", r.status, r.header)
	}
	b := e.login(t, server.RoleViewer)
	d := e.findDetection(t, hostileFilter)
	page := wantPage(t, "graph", b.get(t, "/graph?q="+url.QueryEscape(hostileFilter)))
	for _, want := range []string{"<svg", `class="gnode gk-process"`, `class="gnode gk-host"`, `href="/detections/` + d.ID + `"`, escapedHostile,
		`<td>ran_on</td>`, `value="proc.pid = 500"`, `href="/graph" class="on"`} {
		if !strings.Contains(page, want) {
			t.Errorf("graph page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, " style=") || strings.Contains(page, "<script>") {
		t.Error("inline style or script in the graph page")
	}
	page = wantPage(t, "graph of everything", b.get(t, "/graph"))
	if strings.Count(page, `<g class="gnode`) < 3 {
		t.Errorf("everything: %d nodes drawn", strings.Count(page, `<g class="gnode`))
	}
	page = wantPage(t, "bad filter", b.get(t, "/graph?q=proc.name%20%3D%20%3D"))
	if !strings.Contains(page, `id="filter-error"`) {
		t.Error("a bad filter is not shown")
	}
	page = wantPage(t, "feed", b.get(t, "/?q="+url.QueryEscape(hostileFilter)))
	if !strings.Contains(page, `href="/graph?q=proc.pid%20%3d%20500"`) {
		t.Errorf("the feed does not link to its graph:\n%s", page)
	}
}
