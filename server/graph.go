package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/assist"
)

// The attack graph: GET /api/v1/graph (JSON, DOT or Mermaid) and the UI's
// /graph page, which draws it as SVG on the server (no script, nothing
// from another origin) with every label written by html/template.

// graphTimeout bounds the work of one graph.
const graphTimeout = 30 * time.Second

// graphOf builds the attack graph of the detections a filter selects
// since a time; it also returns the case's number of detection groups.
func (s *server) graphOf(ctx context.Context, filter string, since time.Time) (*assist.Graph, int, error) {
	ctx, cancel := context.WithTimeout(ctx, graphTimeout)
	defer cancel()
	st, ok := s.cfg.Store.(assist.Store)
	if !ok { // every cairn.Store is one; a guard, not a path
		return nil, 0, fmt.Errorf("graph: the store does not read what the assistant reads")
	}
	c, err := assist.Load(ctx, st, assist.Scope{Extra: strings.TrimSpace(filter), Since: since})
	if err != nil {
		return nil, 0, err
	}
	g, err := assist.BuildGraph(ctx, assist.Env{Store: st, Now: s.now()}, c)
	if err != nil {
		return nil, 0, err
	}
	return g, len(c.Detections), nil
}

// getGraph answers GET /api/v1/graph: JSON by default, or the DOT or
// Mermaid text as text/plain (ServeHTTP's JSON Content-Type is replaced).
func (s *server) getGraph(w http.ResponseWriter, r *http.Request, _ Token) error {
	format := r.URL.Query().Get("format")
	switch format {
	case "", "json", "dot", "mermaid":
	default:
		return cairn.Errorf(cairn.EINVALID, "format must be json, dot or mermaid, got %q", format)
	}
	since, _, err := s.timeRange(r)
	if err != nil {
		return err
	}
	g, _, err := s.graphOf(r.Context(), r.URL.Query().Get("filter"), since)
	if err != nil {
		return err
	}
	var text string
	switch format {
	case "dot":
		text = g.DOT()
	case "mermaid":
		text = g.Mermaid()
	default:
		return writeJSON(w, http.StatusOK, g)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(text))
	return err
}

// Layout of the drawing, in pixels.
const (
	gBoxW, gBoxH   = 200, 42
	gGapX, gGapY   = 80, 20
	gMargin        = 16
	gMaxRows       = 12 // nodes per column before a layer spills into the next
	gLabelRunes    = 30 // label shown in a box; the full one is its tooltip
	gEdgeCurvature = 50
)

// svgNode is one box of the drawing; every string is written by the
// template.
type svgNode struct {
	X, Y, TX, TY1, TY2 int
	Kind, Label, Short string
	Title              string
	Link               string // the first detection's page, "" when none
}

// svgEdge is one arrow; D is made of numbers only.
type svgEdge struct {
	D      string
	LX, LY int
	Kind   string
}

// graphRow is one edge in the table under the drawing.
type graphRow struct {
	From, To, Kind, Tactic, Link string
	Time                         time.Time
}

type graphData struct {
	Q, Err     string
	G          *assist.Graph
	Detections int
	W, H       int
	Nodes      []svgNode
	Edges      []svgEdge
	Rows       []graphRow
	Kinds      []string
	FeedURL    string
	BW, BH     int // a box's size
}

// uiGraph draws the attack graph of the feed's filter.
func (s *server) uiGraph(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := graphData{Q: q, Kinds: assist.NodeKinds, FeedURL: "/"}
	if q != "" {
		d.FeedURL = "/?" + url.Values{"q": {q}}.Encode()
	}
	g, n, err := s.graphOf(r.Context(), q, time.Time{})
	if cairn.ErrorCode(err) == cairn.EINVALID {
		d.Err = cairn.ErrorMessage(err)
		d.G = &assist.Graph{}
		return s.render(w, http.StatusOK, "graph.html", page{Title: "Attack graph", Nav: "graph", Sess: sess, Data: d})
	} else if err != nil {
		return err
	}
	d.G, d.Detections = g, n
	layoutGraph(&d)
	return s.render(w, http.StatusOK, "graph.html", page{Title: "Attack graph", Nav: "graph", Sess: sess, Data: d})
}

// layoutGraph places the nodes in layers left to right: a node's layer is
// one past the furthest of the nodes before it (in the graph's time and
// kill-chain order) that point to it, so steps follow their causes; a
// layer taller than gMaxRows spills into more columns.
func layoutGraph(d *graphData) {
	g := d.G
	pos := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		pos[n.ID] = i
	}
	in := make([][]int, len(g.Nodes))
	for _, e := range g.Edges {
		f, okf := pos[e.From]
		t, okt := pos[e.To]
		if okf && okt && f < t {
			in[t] = append(in[t], f)
		}
	}
	layer := make([]int, len(g.Nodes))
	maxLayer := 0
	for i := range g.Nodes {
		for _, f := range in[i] {
			layer[i] = max(layer[i], layer[f]+1)
		}
		maxLayer = max(maxLayer, layer[i])
	}
	byLayer := make([][]int, maxLayer+1)
	for i := range g.Nodes {
		byLayer[layer[i]] = append(byLayer[layer[i]], i)
	}
	x, y := make([]int, len(g.Nodes)), make([]int, len(g.Nodes))
	col, rows := 0, 0
	for _, ids := range byLayer {
		for k, i := range ids {
			if k > 0 && k%gMaxRows == 0 {
				col++
			}
			x[i] = gMargin + col*(gBoxW+gGapX)
			y[i] = gMargin + 14 + (k%gMaxRows)*(gBoxH+gGapY)
			rows = max(rows, k%gMaxRows+1)
		}
		if len(ids) > 0 {
			col++
		}
	}
	d.BW, d.BH = gBoxW, gBoxH
	d.W = 2*gMargin + max(col, 1)*(gBoxW+gGapX) - gGapX
	d.H = 2*gMargin + 14 + max(rows, 1)*(gBoxH+gGapY)
	labelOf := make(map[string]string, len(g.Nodes))
	for i, n := range g.Nodes {
		labelOf[n.ID] = n.Label
		sn := svgNode{X: x[i], Y: y[i], TX: x[i] + 8, TY1: y[i] + 15, TY2: y[i] + 32, Kind: n.Kind, Label: n.Label,
			Short: shortRunes(n.Label, gLabelRunes), Title: n.Kind + ": " + n.Label}
		if len(n.Evidence) > 0 {
			sn.Link = "/detections/" + url.PathEscape(n.Evidence[0])
		}
		d.Nodes = append(d.Nodes, sn)
	}
	for _, e := range g.Edges {
		f, okf := pos[e.From]
		t, okt := pos[e.To]
		if !okf || !okt {
			continue
		}
		x1, y1 := x[f]+gBoxW, y[f]+gBoxH/2
		x2, y2 := x[t], y[t]+gBoxH/2
		d.Edges = append(d.Edges, svgEdge{
			D:  fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", x1, y1, x1+gEdgeCurvature, y1, x2-gEdgeCurvature, y2, x2, y2),
			LX: (x1 + x2) / 2, LY: (y1+y2)/2 - 4, Kind: e.Kind,
		})
		row := graphRow{From: labelOf[e.From], To: labelOf[e.To], Kind: e.Kind, Tactic: e.Tactic, Time: e.Time}
		if len(e.Evidence) > 0 {
			row.Link = "/detections/" + url.PathEscape(e.Evidence[0])
		}
		d.Rows = append(d.Rows, row)
	}
}

// shortRunes cuts s to n runes, with an ellipsis when cut.
func shortRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
