package assist

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/identity"
)

func buildGraph(t *testing.T, f *answerFixture, c *Case) *Graph {
	t.Helper()
	g, err := BuildGraph(context.Background(), f.env, c)
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, c, g)
	return g
}

// checkGraph asserts what every graph holds: unique nodes in time order,
// edges between its nodes, evidence that starts with a detection of the
// case, and exports that parse.
func checkGraph(t *testing.T, c *Case, g *Graph) {
	t.Helper()
	dets := map[string]bool{}
	for _, d := range c.Detections {
		dets[d.ID] = true
	}
	ids := map[string]bool{}
	for i, n := range g.Nodes {
		if ids[n.ID] {
			t.Errorf("node %s twice", n.ID)
		}
		ids[n.ID] = true
		if !strings.HasPrefix(n.ID, n.Kind+":") || !slices.Contains(NodeKinds, n.Kind) {
			t.Errorf("node %s has kind %q", n.ID, n.Kind)
		}
		if len(n.Evidence) == 0 || !dets[n.Evidence[0]] {
			t.Errorf("node %s: evidence %v does not start with a detection of the case", n.ID, n.Evidence)
		}
		if i > 0 && n.First.Before(g.Nodes[i-1].First) {
			t.Errorf("node %s (%s) after %s (%s)", n.ID, n.First, g.Nodes[i-1].ID, g.Nodes[i-1].First)
		}
	}
	for _, e := range g.Edges {
		if !ids[e.From] || !ids[e.To] {
			t.Errorf("edge %s -> %s: a node is missing", e.From, e.To)
		}
		if len(e.Evidence) == 0 || !dets[e.Evidence[0]] {
			t.Errorf("edge %s %s %s: evidence %v", e.From, e.Kind, e.To, e.Evidence)
		}
	}
	checkDOT(t, g)
	checkMermaid(t, g)
}

// hasEdge reports whether g has the edge.
func hasEdge(g *Graph, from, kind, to string) bool {
	return slices.ContainsFunc(g.Edges, func(e GraphEdge) bool { return e.From == from && e.Kind == kind && e.To == to })
}

// processNodes returns the ids of the process nodes whose label starts
// with prefix.
func processNodes(g *Graph, prefix string) []string {
	var out []string
	for _, n := range g.Nodes {
		if n.Kind == NodeProcess && strings.HasPrefix(n.Label, prefix) {
			out = append(out, n.ID)
		}
	}
	return out
}

func TestBuildGraph(t *testing.T) {
	for _, seed := range answerSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := openAnswers(t, seed)

			// log4shell: java → sh → nc, nc to the attacker.
			l4j := f.story(t, demo.StoryLog4Shell)
			c := f.load(t, Entity{KindNamespace, l4j.Workloads[0].Namespace})
			g := buildGraph(t, f, c)
			java := processNodes(g, l4j.RootCause.Process+" "+l4j.RootCause.Args)
			sh, nc := processNodes(g, "sh -c "), processNodes(g, "nc ")
			if len(java) != 1 || len(sh) != 1 || len(nc) != 1 {
				t.Fatalf("java %v, sh %v, nc %v: want one each", java, sh, nc)
			}
			if java[0] != "process:"+l4j.RootCause.ExecID {
				t.Errorf("java node %s, want the root cause's exec id %s", java[0], l4j.RootCause.ExecID)
			}
			if !hasEdge(g, java[0], EdgeSpawned, sh[0]) || !hasEdge(g, sh[0], EdgeSpawned, nc[0]) {
				t.Errorf("no java → sh → nc spawned edges: %+v", g.Edges)
			}
			var ncIPs []string
			for _, e := range g.Edges {
				if e.From == nc[0] && e.Kind == EdgeConnectedTo {
					ncIPs = append(ncIPs, strings.TrimPrefix(e.To, NodeExternalIP+":"))
				}
			}
			if len(ncIPs) != 1 || !slices.Contains(l4j.AttackerIPs, ncIPs[0]) {
				t.Errorf("nc connected to %v, want one of the attacker's %v", ncIPs, l4j.AttackerIPs)
			}
			for _, ip := range l4j.AttackerIPs {
				if !slices.ContainsFunc(g.Nodes, func(n GraphNode) bool { return n.ID == NodeExternalIP+":"+ip }) {
					t.Errorf("attacker address %s is not a node", ip)
				}
			}
			w := l4j.Workloads[0]
			wl := NodeWorkload + ":" + w.Cluster + "/" + w.Namespace + "/" + w.Pod
			if !hasEdge(g, wl, EdgeRanOn, NodeHost+":"+w.Node) || !hasEdge(g, NodeContainer+":"+w.ContainerID, EdgeRanOn, wl) {
				t.Errorf("container %s → workload %s → host %s missing", w.ContainerID, wl, w.Node)
			}
			for _, n := range g.Nodes {
				if n.Label == "systemd" || strings.HasPrefix(n.Label, "containerd-shim") {
					t.Errorf("host process %q above the container is drawn", n.Label)
				}
				if n.ID == nc[0] && n.Tactic != "TA0002" {
					t.Errorf("nc's tactic %q, want TA0002 (Execution)", n.Tactic)
				}
			}

			// SCARLETEEL, across everything: the container's metadata read,
			// the instance's role session used from the attacker's address,
			// the role's calls and what they touched.
			sc := f.story(t, demo.StoryScarleteel)
			rc := sc.RootCause
			all := f.load(t)
			g = buildGraph(t, f, all)
			role, inst, ip := NodeRole+":"+rc.Identity, NodeInstance+":"+rc.InstanceID, NodeExternalIP+":"+sc.AttackerIPs[0]
			var readers []string
			for _, id := range processNodes(g, "curl ") {
				n := g.Nodes[slices.IndexFunc(g.Nodes, func(n GraphNode) bool { return n.ID == id })]
				if strings.Contains(n.Label, "security-credentials/"+identity.RoleName(rc.Identity)) && hasEdge(g, id, EdgeUsedCredentialsFrom, inst) {
					readers = append(readers, id)
				}
			}
			if len(readers) != 1 {
				t.Errorf("metadata readers linked to instance %s: %v, want one", rc.InstanceID, readers)
			}
			if !hasEdge(g, inst, EdgeAssumed, role) || !hasEdge(g, ip, EdgeUsedCredentialsFrom, role) {
				t.Errorf("instance %s → role %s ← %s missing", rc.InstanceID, rc.Identity, sc.AttackerIPs[0])
			}
			var calls []string
			for _, e := range g.Edges {
				if e.From == role && e.Kind == EdgeCalled {
					calls = append(calls, strings.TrimPrefix(e.To, NodeAPIAction+":"))
				}
			}
			for _, want := range []string{"sts:GetCallerIdentity", "s3:ListBuckets", "s3:GetObject"} {
				if !slices.Contains(calls, want) {
					t.Errorf("role calls %v lack %s", calls, want)
				}
			}
			if !slices.ContainsFunc(g.Edges, func(e GraphEdge) bool {
				return e.From == NodeAPIAction+":s3:GetObject" && e.Kind == EdgeAccessed && strings.HasPrefix(e.To, NodeResource+":S3 object:")
			}) {
				t.Error("the stolen session's GetObject reaches no S3 object")
			}
			// The reader came before the use, and the use before the calls.
			first := map[string]time.Time{}
			for _, n := range g.Nodes {
				first[n.ID] = n.First
			}
			if len(readers) == 1 && !first[readers[0]].Before(first[ip]) {
				t.Errorf("metadata read at %s, credentials used at %s", first[readers[0]], first[ip])
			}
			for _, id := range sc.Identities {
				if id != rc.Identity && !hasEdge(g, ip, EdgeUsedCredentialsFrom, NodeIdentity+":"+id) {
					t.Errorf("identity %s not used from %s", id, sc.AttackerIPs[0])
				}
			}
			if len(g.Nodes) > MaxGraphNodes || len(g.Nodes) < 40 {
				t.Errorf("%d nodes", len(g.Nodes))
			}

			// The attack path answer carries both exports.
			a, err := answerPath(context.Background(), f.env, c, Parsed{Intent: IntentPath})
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, x := range a.Artifacts {
				kinds = append(kinds, x.Kind)
				if x.Kind == ArtifactDOT && !strings.Contains(x.Content, `"process: nc `) {
					t.Errorf("DOT artifact lacks nc:\n%s", x.Content)
				}
			}
			if !slices.Equal(kinds, []string{ArtifactDOT, ArtifactMermaid}) {
				t.Errorf("artifacts %v", kinds)
			}
		})
	}
}

// The graph is bounded and says so.
func TestBuildGraphTruncated(t *testing.T) {
	f := openAnswers(t, 1)
	c := f.load(t)
	full := buildGraph(t, f, c)
	if full.Truncated {
		t.Fatal("the demo's graph is truncated")
	}
	b := &graphBuilder{nodes: map[string]*nodeAcc{}, edges: map[string]*edgeAcc{}}
	w := why{d: &c.Detections[0]}
	prev := ""
	for i := range MaxGraphNodes + 50 {
		id := b.node(NodeProcess, fmt.Sprint(i), "p", c.Detections[0].Time.Add(time.Duration(i)*time.Second), w)
		if prev != "" {
			b.edge(prev, id, EdgeSpawned, c.Detections[0].Time, w)
		}
		prev = id
	}
	g := b.finish(&Graph{})
	if !g.Truncated || len(g.Nodes) != MaxGraphNodes || len(g.Edges) != MaxGraphNodes-1 || g.Nodes[0].ID != "process:0" {
		t.Errorf("truncated %v, %d nodes, %d edges, first %s", g.Truncated, len(g.Nodes), len(g.Edges), g.Nodes[0].ID)
	}
}

// hostileLabels would break out of a label in DOT, Mermaid or HTML if
// written raw.
var hostileLabels = []string{
	`sh -c "echo hi"`,
	"line1\nline2\r\nline3",
	`a]; n9["pwned"] --> n1`,
	"x --> y",
	"<script>alert(1)</script>",
	"`markdown` **bold**",
	`trailing\`,
	`\"`,
	`\\" -> evil [label="x"]; "`,
	"#quot; #35; &amp; %s |pipe| {brace} (paren)",
	"bidi \u202e override \u2028 sep \x1b[31m",
	"ünïcødé 名前",
	"\xff\xfe invalid utf8",
	"};\ndigraph x {",
	"",
}

// dotWant is the DOT label of a hostile process label: a label ending
// in a backslash gets a space.
func dotWant(l string) string {
	want := "process: " + cleanLabel(l)
	if strings.HasSuffix(want, `\`) {
		want += " "
	}
	return want
}

func hostileGraph(labels []string) *Graph {
	g := &Graph{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, l := range labels {
		g.Nodes = append(g.Nodes, GraphNode{ID: nodeID(NodeProcess, l+fmt.Sprint(i)), Kind: NodeProcess, Label: l, First: t0})
		if i > 0 {
			g.Edges = append(g.Edges, GraphEdge{From: g.Nodes[i-1].ID, To: g.Nodes[i].ID, Kind: EdgeSpawned})
		}
	}
	return g
}

func TestGraphExportsHostile(t *testing.T) {
	g := hostileGraph(hostileLabels)
	dotLabels := checkDOT(t, g)
	for i, l := range hostileLabels {
		if want := dotWant(l); dotLabels[i] != want {
			t.Errorf("DOT label %d = %q, want %q", i, dotLabels[i], want)
		}
	}
	mm := checkMermaid(t, g)
	for i, l := range hostileLabels {
		if want := "process: " + cleanLabel(l); mm[i] != want {
			t.Errorf("Mermaid label %d = %q, want %q", i, mm[i], want)
		}
	}
	out := g.Mermaid()
	for _, bad := range []string{"<script", "`", "-->|\"x", "pwned\"", "\\\""} {
		if strings.Contains(out, bad) {
			t.Errorf("Mermaid output holds %q:\n%s", bad, out)
		}
	}
}

func FuzzGraphExports(f *testing.F) {
	for _, l := range hostileLabels {
		f.Add(l, "x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		g := hostileGraph([]string{a, b})
		dl, ml := checkDOT(t, g), checkMermaid(t, g)
		for i, l := range []string{a, b} {
			want := "process: " + cleanLabel(l)
			if dl[i] != dotWant(l) || ml[i] != want {
				t.Errorf("label %q: DOT %q, Mermaid %q", l, dl[i], ml[i])
			}
		}
	})
}

// dotToken is a token of the DOT subset the exports write.
type dotToken struct {
	quoted bool
	s      string
}

// lexDOT splits DOT text into tokens the way Graphviz's lexer does,
// taking the stricter reading of quoted strings (only \" is an escape; a
// lone backslash stays), and fails on an unterminated string.
func lexDOT(t *testing.T, s string) []dotToken {
	t.Helper()
	var out []dotToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t':
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\n' || s[j] == '\r' {
					t.Fatalf("raw line break in a DOT string at %d:\n%s", j, s)
				}
				if s[j] == '\\' && j+1 < len(s) && s[j+1] == '"' {
					j++
				}
				b.WriteByte(s[j])
			}
			if j == len(s) {
				t.Fatalf("unterminated DOT string:\n%s", s)
			}
			out = append(out, dotToken{true, b.String()})
			i = j + 1
		case strings.IndexByte("{}[];=,", c) >= 0:
			out = append(out, dotToken{false, string(c)})
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '>':
			out = append(out, dotToken{false, "->"})
			i += 2
		default:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			if j == i {
				t.Fatalf("unexpected %q at %d in DOT:\n%s", c, i, s)
			}
			out = append(out, dotToken{false, s[i:j]})
			i = j
		}
	}
	return out
}

// checkDOT parses g's DOT: one digraph with balanced braces and
// brackets, a statement per node and edge, every edge between declared
// nodes. It returns the nodes' labels as Graphviz shows them (\\ read
// as \), in order.
func checkDOT(t *testing.T, g *Graph) []string {
	t.Helper()
	src := g.DOT()
	toks := lexDOT(t, src)
	if len(toks) < 4 || toks[0].s != "digraph" || toks[2].s != "{" || toks[len(toks)-1].s != "}" {
		t.Fatalf("not one digraph:\n%s", src)
	}
	depth := 0
	for i, tk := range toks {
		if tk.quoted {
			continue
		}
		switch tk.s {
		case "{", "[":
			depth++
		case "}", "]":
			depth--
		}
		if depth < 0 || depth == 0 && i < len(toks)-1 && i > 2 {
			t.Fatalf("unbalanced braces at token %d:\n%s", i, src)
		}
	}
	if depth != 0 {
		t.Fatalf("unbalanced braces:\n%s", src)
	}
	declared := map[string]bool{}
	var labels []string
	nodes, edges := 0, 0
	body := toks[3 : len(toks)-1]
	for len(body) > 0 {
		end := slices.IndexFunc(body, func(tk dotToken) bool { return !tk.quoted && tk.s == ";" })
		if end < 0 {
			t.Fatalf("statement without ;: %v", body)
		}
		st := body[:end]
		body = body[end+1:]
		attrs := map[string]string{}
		if k := slices.IndexFunc(st, func(tk dotToken) bool { return !tk.quoted && tk.s == "[" }); k >= 0 {
			a := st[k+1 : len(st)-1]
			if st[len(st)-1].s != "]" {
				t.Fatalf("attribute list not closed: %v", st)
			}
			for len(a) >= 3 {
				if a[1].s != "=" || a[0].quoted {
					t.Fatalf("bad attribute in %v", st)
				}
				attrs[a[0].s] = a[2].s
				a = a[3:]
				if len(a) > 0 && a[0].s == "," {
					a = a[1:]
				}
			}
			if len(a) != 0 {
				t.Fatalf("bad attribute list %v", st)
			}
			st = st[:k]
		}
		switch {
		case len(st) == 3 && st[1].s == "=": // rankdir=LR
		case len(st) == 1 && (st[0].s == "node" || st[0].s == "edge"):
		case len(st) == 1 && !st[0].quoted && regexp.MustCompile(`^n\d+$`).MatchString(st[0].s):
			if declared[st[0].s] {
				t.Errorf("node %s declared twice", st[0].s)
			}
			declared[st[0].s] = true
			labels = append(labels, strings.ReplaceAll(attrs["label"], `\\`, `\`))
			nodes++
		case len(st) == 3 && st[1].s == "->":
			if !declared[st[0].s] || !declared[st[2].s] {
				t.Errorf("edge %s -> %s between undeclared nodes", st[0].s, st[2].s)
			}
			edges++
		default:
			t.Fatalf("unexpected statement %v in:\n%s", st, src)
		}
	}
	if nodes != len(g.Nodes) || edges != len(g.Edges) {
		t.Errorf("DOT has %d nodes and %d edges, the graph %d and %d", nodes, edges, len(g.Nodes), len(g.Edges))
	}
	return labels
}

var (
	mermaidNode = regexp.MustCompile(`^  (n\d+)\["([^"]*)"\]:::([a-z_]+)$`)
	mermaidEdge = regexp.MustCompile(`^  (n\d+) -->\|"([a-z_]+)"\| (n\d+)$`)
	mermaidDef  = regexp.MustCompile(`^  classDef [a-z_]+ fill:#[0-9a-f]{6},stroke:#555$`)
	mermaidCode = regexp.MustCompile(`#(quot|\d+);`)
)

// checkMermaid checks one line per node and edge, every label in quotes
// with none inside, and returns the node labels decoded.
func checkMermaid(t *testing.T, g *Graph) []string {
	t.Helper()
	src := g.Mermaid()
	lines := strings.Split(strings.TrimSuffix(src, "\n"), "\n")
	if lines[0] != "flowchart LR" {
		t.Fatalf("Mermaid header %q", lines[0])
	}
	declared := map[string]bool{}
	var labels []string
	nodes, edges := 0, 0
	for _, l := range lines[1:] {
		if m := mermaidNode.FindStringSubmatch(l); m != nil {
			declared[m[1]] = true
			labels = append(labels, mermaidCode.ReplaceAllStringFunc(m[2], func(c string) string {
				if c == "#quot;" {
					return `"`
				}
				var r rune
				fmt.Sscanf(c, "#%d;", &r)
				return string(r)
			}))
			if strings.ContainsAny(mermaidCode.ReplaceAllString(m[2], ""), "<>`[]{}|#\\;&\"\n") {
				t.Errorf("unsafe character in Mermaid label %q", m[2])
			}
			nodes++
			continue
		}
		if m := mermaidEdge.FindStringSubmatch(l); m != nil {
			if !declared[m[1]] || !declared[m[3]] {
				t.Errorf("Mermaid edge %q before its nodes", l)
			}
			edges++
			continue
		}
		if !mermaidDef.MatchString(l) {
			t.Errorf("Mermaid line %q is no node, edge or class", l)
		}
	}
	if nodes != len(g.Nodes) || edges != len(g.Edges) {
		t.Errorf("Mermaid has %d nodes and %d edges, the graph %d and %d", nodes, edges, len(g.Nodes), len(g.Edges))
	}
	return labels
}
