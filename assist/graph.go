package assist

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/identity"
	"github.com/cairn-cdr/cairn/treeview"
)

// Artifact kinds of the attack path's graph.
const (
	ArtifactDOT     = "graphviz-dot" // the attack graph in Graphviz DOT
	ArtifactMermaid = "mermaid"      // the attack graph as a Mermaid flowchart
)

// Graph is the attack path of a case as a graph: what the attacker ran,
// reached and used, across runtime and cloud, each node and edge with the
// detections (then events) that show it.
type Graph struct {
	Nodes []GraphNode `json:"nodes"`
	Edges []GraphEdge `json:"edges"`
	// Truncated is true when the case held more than the graph shows:
	// more than MaxGraphNodes nodes, MaxGraphEdges edges, or more
	// detections or cloud calls than one graph reads.
	Truncated bool `json:"truncated"`
}

// GraphNode is one thing of an attack: a process, a workload, an
// address, a role, an API call, a resource.
type GraphNode struct {
	// ID is stable across builds: the kind and the value ("process:<exec
	// id>", "external_ip:203.0.113.7").
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
	// First is when the node was first seen: a process's start, a call's
	// time, the earliest detection touching it.
	First time.Time `json:"first"`
	// Tactic is the first ATT&CK tactic (TA0002) of the earliest detection
	// touching the node, "" when it has none.
	Tactic string `json:"tactic"`
	// Evidence are the ids of the detections touching the node, oldest
	// first, then of the events (calls no rule flagged); the first is
	// always a detection.
	Evidence []string `json:"evidence"`
}

// GraphEdge is one step between two nodes.
type GraphEdge struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	Kind   string    `json:"kind"`
	Time   time.Time `json:"time"`
	Tactic string    `json:"tactic"`
	// Evidence is as GraphNode.Evidence.
	Evidence []string `json:"evidence"`
}

// Node kinds.
const (
	NodeExternalIP = "external_ip" // a public address
	NodeWorkload   = "workload"    // a pod: namespace/pod
	NodeContainer  = "container"
	NodeProcess    = "process"
	NodeHost       = "host"       // a node (hostname)
	NodeInstance   = "instance"   // an EC2 instance, whose role session was used
	NodeRole       = "role"       // an IAM role (its ARN)
	NodeIdentity   = "identity"   // another cloud identity: a user, root, a federated principal
	NodeAPIAction  = "api_action" // service:EventName
	NodeResource   = "resource"   // what a call named: bucket, object, secret, instance, ...
)

// NodeKinds lists the node kinds, for legends.
var NodeKinds = []string{NodeExternalIP, NodeWorkload, NodeContainer, NodeProcess, NodeHost, NodeInstance, NodeRole, NodeIdentity, NodeAPIAction, NodeResource}

// Edge kinds.
const (
	// EdgeSpawned: parent process → child, along the lineages.
	EdgeSpawned = "spawned"
	// EdgeConnectedTo: process → external address it connected to; or
	// external address → process that accepted its connection.
	EdgeConnectedTo = "connected_to"
	// EdgeRanOn: process → its container (the topmost process of a
	// lineage inside it), container → workload, workload (or a container
	// outside Kubernetes, or a host process) → host.
	EdgeRanOn = "ran_on"
	// EdgeAssumed: instance or identity → the role whose session it got.
	EdgeAssumed = "assumed"
	// EdgeUsedCredentialsFrom: external address → the role or identity
	// whose credentials were used from it; process → the instance (or
	// role) whose metadata credentials it took.
	EdgeUsedCredentialsFrom = "used_credentials_from"
	// EdgeCalled: role or identity → api_action.
	EdgeCalled = "called"
	// EdgeAccessed: api_action → resource the call named.
	EdgeAccessed = "accessed"
)

// Bounds of one graph.
const (
	MaxGraphNodes = 300
	MaxGraphEdges = 1200
	// maxGraphEvidence caps the ids kept per node or edge.
	maxGraphEvidence = 20
	// maxGraphCloudEvents caps the cloud calls one graph reads.
	maxGraphCloudEvents = 2000
	// maxGraphCallers caps the identity and address pairs whose other
	// calls are read, maxGraphCallerEvents the calls read per pair.
	maxGraphCallers      = 20
	maxGraphCallerEvents = 200
	// maxGraphLabel caps a label's bytes.
	maxGraphLabel = 200
)

// graphBuilder collects nodes and edges.
type graphBuilder struct {
	nodes map[string]*nodeAcc
	edges map[string]*edgeAcc
	order []string // node ids in insertion order, for stable ties
	eord  []string
}

type nodeAcc struct {
	n        GraphNode
	detTime  time.Time // the earliest detection touching it
	stage    int
	dets     []string
	evs      []string
	insertAt int
}

type edgeAcc struct {
	e       GraphEdge
	detTime time.Time
	stage   int
	dets    []string
	evs     []string
}

// why is what shows a node or edge: a detection and, for a call no rule
// flagged, the event.
type why struct {
	d     *cairn.Detection
	event string
}

func (w why) tactic() string {
	if ts := detTactics(w.d); len(ts) > 0 {
		return ts[0].ID
	}
	return ""
}

func nodeID(kind, value string) string { return kind + ":" + value }

// node adds or updates a node seen at t, and returns its id.
func (b *graphBuilder) node(kind, value, label string, t time.Time, w why) string {
	id := nodeID(kind, value)
	a := b.nodes[id]
	if a == nil {
		a = &nodeAcc{n: GraphNode{ID: id, Kind: kind, Label: graphLabel(label), First: t}, insertAt: len(b.order)}
		b.nodes[id] = a
		b.order = append(b.order, id)
	}
	if !t.IsZero() && (a.n.First.IsZero() || t.Before(a.n.First)) {
		a.n.First = t
	}
	if a.detTime.IsZero() || w.d.Time.Before(a.detTime) {
		a.detTime, a.n.Tactic, a.stage = w.d.Time, w.tactic(), stage(w.d)
	}
	addCapped(&a.dets, w.d.ID)
	if w.event != "" {
		addCapped(&a.evs, w.event)
	}
	return id
}

// edge adds or updates an edge between two nodes added before.
func (b *graphBuilder) edge(from, to, kind string, t time.Time, w why) {
	if from == to {
		return
	}
	k := kind + "\x00" + from + "\x00" + to
	a := b.edges[k]
	if a == nil {
		a = &edgeAcc{e: GraphEdge{From: from, To: to, Kind: kind, Time: t}}
		b.edges[k] = a
		b.eord = append(b.eord, k)
	}
	if !t.IsZero() && (a.e.Time.IsZero() || t.Before(a.e.Time)) {
		a.e.Time = t
	}
	if a.detTime.IsZero() || w.d.Time.Before(a.detTime) {
		a.detTime, a.e.Tactic, a.stage = w.d.Time, w.tactic(), stage(w.d)
	}
	addCapped(&a.dets, w.d.ID)
	if w.event != "" {
		addCapped(&a.evs, w.event)
	}
}

func addCapped(list *[]string, v string) {
	if len(*list) < maxGraphEvidence {
		addOnce(list, v)
	}
}

// BuildGraph draws the attack path of a case: the process lineages of its
// runtime detections (read through the process trees), where they ran,
// the addresses they contacted, the cloud calls of its cloud detections
// with the identities, roles, addresses and resources involved, and the
// links between an instance's metadata credentials read in a container
// and their use from outside (see linkCloudToRuntime). Nodes are ordered
// by first sight, then kill-chain stage; a graph holds at most
// MaxGraphNodes nodes and MaxGraphEdges edges and says when it holds
// less than the case.
func BuildGraph(ctx context.Context, env Env, c *Case) (*Graph, error) {
	b := &graphBuilder{nodes: map[string]*nodeAcc{}, edges: map[string]*edgeAcc{}}
	g := &Graph{Truncated: c.Truncated}
	byID := map[string]*cairn.Detection{}
	for i := range c.Detections {
		byID[c.Detections[i].ID] = &c.Detections[i]
	}
	lineages := map[string][]treeview.Node{} // by exec id
	type caller struct{ identity, ip string }
	var callers []caller
	callerDet := map[caller]*cairn.Detection{}
	cloudEvents := 0
	for i := range c.Detections {
		if len(b.nodes) > 2*MaxGraphNodes {
			g.Truncated = true
			break
		}
		d := &c.Detections[i]
		e := c.Event(d)
		if e == nil {
			continue
		}
		w := why{d: d}
		if e.Process != nil {
			var lin []treeview.Node
			if x := d.Entities.ExecID; x != "" {
				l, ok := lineages[x]
				if !ok {
					var err error
					if l, err = lineageOf(ctx, env, d); err != nil {
						return nil, err
					}
					lineages[x] = l
				}
				lin = l
			}
			b.runtime(d, e, lin, w)
		}
		if e.Cloud == nil {
			continue
		}
		evs, err := detectionEvents(ctx, env, c, d)
		if err != nil {
			return nil, err
		}
		for _, ce := range evs {
			if ce.Cloud == nil {
				continue
			}
			if cloudEvents++; cloudEvents > maxGraphCloudEvents {
				g.Truncated = true
				break
			}
			b.cloudCall(ce, w)
			if ip, key := ce.Cloud.SourceIP, ce.Cloud.Identity.Key; key != "" && isExternal(ip) {
				k := caller{key, ip}
				if callerDet[k] == nil {
					callerDet[k] = d
					callers = append(callers, k)
				}
			}
		}
	}
	// The other calls the same identities made from the same outside
	// addresses: what an attacker holding the credentials reached beyond
	// what a rule flagged. They are shown by the detection that revealed
	// the pair, and by their own event.
	if env.Store != nil {
		for i, k := range callers {
			if i == maxGraphCallers {
				g.Truncated = true
				break
			}
			q := cairn.EventQuery{Filter: "cloud.identity = " + filter.Text(k.identity) + " and ct.srcip = " + filter.Text(k.ip),
				Since: c.Scope.Since, Limit: maxGraphCallerEvents, Oldest: true}
			page, err := env.Store.QueryEvents(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("calls of %s from %s: %w", k.identity, k.ip, err)
			}
			for j := range page.Events {
				b.cloudCall(&page.Events[j], why{d: callerDet[k], event: page.Events[j].ID})
			}
		}
	}
	// Cloud steps made with an instance role's credentials follow from the
	// runtime steps that read them from the instance metadata service.
	links := linkCloudToRuntime(c)
	for i := range c.Detections {
		d := &c.Detections[i]
		e := c.Event(d)
		if e == nil || e.Cloud == nil || b.nodes[nodeID(NodeRole, e.Cloud.Identity.Key)] == nil {
			continue
		}
		id := e.Cloud.Identity
		target := nodeID(NodeRole, id.Key)
		if identity.IsInstanceID(id.SessionName) {
			target = nodeID(NodeInstance, id.SessionName)
		}
		for _, l := range links[d.ID] {
			r := byID[l.detID]
			re := c.Event(r)
			if r == nil || re == nil || re.Process == nil {
				continue
			}
			p := b.process(re, r, why{d: r})
			b.edge(p, target, EdgeUsedCredentialsFrom, r.Time, why{d: r})
			b.edge(p, target, EdgeUsedCredentialsFrom, r.Time, why{d: d})
		}
	}
	return b.finish(g), nil
}

// process adds the node of an event's own process.
func (b *graphBuilder) process(e *cairn.Event, d *cairn.Detection, w why) string {
	p := e.Process
	label := p.Cmdline()
	start := p.StartTime
	if start.IsZero() {
		start = e.Time
	}
	return b.node(NodeProcess, processKey(p.ExecID, p.PID, e.Host), label, start, w)
}

// processKey identifies a process: its exec id, or its host and pid.
func processKey(execID string, pid int64, host string) string {
	if execID != "" {
		return execID
	}
	return fmt.Sprintf("%s/%d", host, pid)
}

// runtime adds a runtime detection: its lineage (from the container's
// first process on, or the whole lineage of a host process), where it
// ran and the addresses it exchanged with.
func (b *graphBuilder) runtime(d *cairn.Detection, e *cairn.Event, lin []treeview.Node, w why) {
	inContainer := e.Container != nil || e.K8s != nil
	if inContainer {
		for i, n := range lin {
			if n.Container != "" || n.Pod != "" {
				lin = lin[i:]
				break
			}
		}
	}
	if len(lin) == 0 || lin[len(lin)-1].ExecID == "" || lin[len(lin)-1].ExecID != e.Process.ExecID {
		lin = nil // not this process's lineage
	}
	var ids []string
	for _, n := range lin {
		label := cmp.Or(n.Cmdline, nodeName(n))
		start := n.Start
		if start.IsZero() {
			start = d.Time
		}
		key := n.ExecID
		if key == "" {
			key = n.Key
		}
		ids = append(ids, b.node(NodeProcess, key, label, start, w))
	}
	self := b.process(e, d, w)
	if len(ids) == 0 {
		// No tree: the event's own parent, when it names one.
		if pp := e.Parent; pp != nil && (pp.ExecID != "" || pp.PID != 0) {
			pe := &cairn.Event{Process: pp, Container: e.Container, K8s: e.K8s, Host: e.Host, Time: d.Time}
			ids = append(ids, b.process(pe, d, w))
		}
		ids = append(ids, self)
	}
	for i := 1; i < len(ids); i++ {
		t := b.nodes[ids[i]].n.First
		b.edge(ids[i-1], ids[i], EdgeSpawned, t, w)
	}
	top := ids[0]
	var host string
	if e.Host != "" {
		host = b.node(NodeHost, e.Host, e.Host, d.Time, w)
	}
	below := top // what the next place up ran on
	if c := e.Container; c != nil && c.ID != "" {
		label := cmp.Or(c.Name, c.ID)
		if c.Image != "" {
			label += " (" + c.Image + ")"
		}
		ct := b.node(NodeContainer, cmp.Or(c.FullID, c.ID), label, cmp.Or(c.StartTime, d.Time), w)
		b.edge(below, ct, EdgeRanOn, d.Time, w)
		below = ct
	}
	if k := e.K8s; k != nil && k.Pod != "" {
		wl := b.node(NodeWorkload, k.Cluster+"/"+k.Namespace+"/"+k.Pod, k.Namespace+"/"+k.Pod, d.Time, w)
		b.edge(below, wl, EdgeRanOn, d.Time, w)
		below = wl
	}
	if host != "" {
		b.edge(below, host, EdgeRanOn, d.Time, w)
	}
	if n := e.Net; n != nil {
		switch {
		case n.Op == "accept" && isExternal(n.SrcIP):
			ip := b.node(NodeExternalIP, n.SrcIP, n.SrcIP, e.Time, w)
			b.edge(ip, self, EdgeConnectedTo, e.Time, w)
		case n.Op != "accept" && n.Op != "listen" && isExternal(n.DstIP):
			ip := b.node(NodeExternalIP, n.DstIP, n.DstIP, e.Time, w)
			b.edge(self, ip, EdgeConnectedTo, e.Time, w)
		}
	}
}

// cloudCall adds one cloud call: who made it, from where, with which
// session, and what it named.
func (b *graphBuilder) cloudCall(e *cairn.Event, w why) {
	cl := e.Cloud
	id := cl.Identity
	if id.Key == "" {
		return
	}
	t := e.Time
	var who string
	if identity.RoleName(id.Key) != "" {
		who = b.node(NodeRole, id.Key, id.Key, t, w)
		if identity.IsInstanceID(id.SessionName) {
			inst := b.node(NodeInstance, id.SessionName, id.SessionName, t, w)
			b.edge(inst, who, EdgeAssumed, t, w)
		}
	} else {
		who = b.node(NodeIdentity, id.Key, id.Key, t, w)
	}
	if isExternal(cl.SourceIP) {
		ip := b.node(NodeExternalIP, cl.SourceIP, cl.SourceIP, t, w)
		b.edge(ip, who, EdgeUsedCredentialsFrom, t, w)
	}
	svc := strings.TrimSuffix(cl.EventSource, ".amazonaws.com")
	action := svc + ":" + cl.EventName
	act := b.node(NodeAPIAction, action, action, t, w)
	b.edge(who, act, EdgeCalled, t, w)
	// A role assumed by this call.
	if cl.EventName == "AssumeRole" && cl.ErrorCode == "" {
		if ref, err := field.Lookup("json.value[/requestParameters/roleArn]"); err == nil {
			if v, ok := ref.Get(e); ok {
				if arn, _ := v.(string); identity.RoleName(arn) != "" {
					r := b.node(NodeRole, arn, arn, t, w)
					b.edge(who, r, EdgeAssumed, t, w)
				}
			}
		}
	}
	res := newResources()
	res.add(e)
	for _, r := range res.rows {
		rn := b.node(NodeResource, r.kind+":"+r.name, r.kind+" "+r.name, t, w)
		b.edge(act, rn, EdgeAccessed, t, w)
	}
}

// finish orders and bounds the graph.
func (b *graphBuilder) finish(g *Graph) *Graph {
	accs := make([]*nodeAcc, 0, len(b.nodes))
	for _, id := range b.order {
		accs = append(accs, b.nodes[id])
	}
	slices.SortStableFunc(accs, func(x, y *nodeAcc) int {
		return cmp.Or(x.n.First.Compare(y.n.First), cmp.Compare(x.stage, y.stage), cmp.Compare(x.insertAt, y.insertAt))
	})
	if len(accs) > MaxGraphNodes {
		accs = accs[:MaxGraphNodes]
		g.Truncated = true
	}
	kept := map[string]bool{}
	g.Nodes = make([]GraphNode, 0, len(accs))
	for _, a := range accs {
		a.n.Evidence = append(slices.Clip(a.dets), a.evs...)
		g.Nodes = append(g.Nodes, a.n)
		kept[a.n.ID] = true
	}
	var eaccs []*edgeAcc
	for _, k := range b.eord {
		a := b.edges[k]
		if kept[a.e.From] && kept[a.e.To] {
			eaccs = append(eaccs, a)
		} else {
			g.Truncated = true
		}
	}
	slices.SortStableFunc(eaccs, func(x, y *edgeAcc) int {
		return cmp.Or(x.e.Time.Compare(y.e.Time), cmp.Compare(x.stage, y.stage))
	})
	if len(eaccs) > MaxGraphEdges {
		eaccs = eaccs[:MaxGraphEdges]
		g.Truncated = true
	}
	g.Edges = make([]GraphEdge, 0, len(eaccs))
	for _, a := range eaccs {
		a.e.Evidence = append(slices.Clip(a.dets), a.evs...)
		g.Edges = append(g.Edges, a.e)
	}
	return g
}

// graphLabel makes a value fit for a label: valid UTF-8, control and
// invisible formatting characters (newlines, bidirectional overrides)
// as spaces, at most maxGraphLabel bytes.
func graphLabel(s string) string {
	s = cleanLabel(s)
	if len(s) > maxGraphLabel {
		cut := maxGraphLabel
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// cleanLabel is graphLabel without the length cap, for the exports of a
// graph built elsewhere.
func cleanLabel(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// DOT writes the graph in Graphviz's DOT language, left to right. Node
// names are generated (n1, n2, ...); labels and tooltips are quoted
// strings with quotes and backslashes escaped and no line breaks, so no
// value can leave its string.
func (g *Graph) DOT() string {
	var b strings.Builder
	b.WriteString("digraph attack_path {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	names := make(map[string]string, len(g.Nodes))
	for i, n := range g.Nodes {
		name := fmt.Sprintf("n%d", i+1)
		names[n.ID] = name
		fmt.Fprintf(&b, "  %s [label=%s, tooltip=%s, fillcolor=%s];\n", name, dotString(n.Kind+": "+n.Label), dotString(n.ID), dotString(nodeColor(n.Kind)))
	}
	for _, e := range g.Edges {
		from, to := names[e.From], names[e.To]
		if from == "" || to == "" {
			continue
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", from, to, dotString(e.Kind))
	}
	b.WriteString("}\n")
	return b.String()
}

// dotString quotes s for DOT: backslash and quote escaped, line breaks
// and other control characters as spaces. A string never ends in a
// backslash (older Graphviz lexers would read \\" as \ and \"), so one
// that would gets a trailing space.
func dotString(s string) string {
	s = cleanLabel(s)
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
	if strings.HasSuffix(s, `\`) {
		s += " "
	}
	return `"` + s + `"`
}

// nodeColor is the fill of a node kind in DOT and Mermaid.
func nodeColor(kind string) string {
	switch kind {
	case NodeExternalIP:
		return "#f8d7da"
	case NodeWorkload, NodeContainer:
		return "#d0ebff"
	case NodeProcess:
		return "#fff3bf"
	case NodeHost, NodeInstance:
		return "#e9ecef"
	case NodeRole, NodeIdentity:
		return "#e5dbff"
	case NodeAPIAction:
		return "#d3f9d8"
	case NodeResource:
		return "#ffe8cc"
	}
	return "#ffffff"
}

// Mermaid writes the graph as a Mermaid flowchart, left to right: one
// line per node (n1["kind: label"]:::kind) and per edge. Labels are in
// quotes with every character but letters, digits, space and plain
// punctuation written as an entity code (#quot;, #60;), so no value can
// end its label, start a link, open markup or a Markdown string.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, k := range NodeKinds {
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:#555\n", k, nodeColor(k))
	}
	names := make(map[string]string, len(g.Nodes))
	for i, n := range g.Nodes {
		name := fmt.Sprintf("n%d", i+1)
		names[n.ID] = name
		class := n.Kind
		if !slices.Contains(NodeKinds, class) {
			class = "resource"
		}
		fmt.Fprintf(&b, "  %s[%s]:::%s\n", name, mermaidString(n.Kind+": "+n.Label), class)
	}
	for _, e := range g.Edges {
		from, to := names[e.From], names[e.To]
		if from == "" || to == "" {
			continue
		}
		fmt.Fprintf(&b, "  %s -->|%s| %s\n", from, mermaidString(e.Kind), to)
	}
	return b.String()
}

// mermaidString quotes s for a Mermaid label.
func mermaidString(s string) string {
	s = cleanLabel(s)
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString("#quot;")
		case r == ' ' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("._-/:,@=+()?!*~$%'", r):
			b.WriteRune(r)
		case r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "#%d;", r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
