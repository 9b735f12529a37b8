// Package treeview builds what an analyst sees of one event's process
// tree: the lineage from the root of the host or container down to the
// event's process, its children and siblings, and the events just before
// and after it in the same tree and container; and renders it as text (like
// ps -ef --forest) or JSON.
package treeview

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/proctree"
)

// Store is what a view is built from.
type Store interface {
	cairn.EventReader
	cairn.ProcessReader
	cairn.ContextReader
	GetDetection(ctx context.Context, id string) (cairn.Detection, error)
}

// Options bound a view.
type Options struct {
	// Before and After are the numbers of context events; negative means
	// the default of 5.
	Before, After int
	// MaxDepth caps the lineage; 0 means 64.
	MaxDepth int
	// MaxChildren caps children and siblings each; 0 means 50.
	MaxChildren int
}

// Node is one process of the view.
type Node struct {
	Key       string    `json:"key"`
	ExecID    string    `json:"exec_id,omitempty"`
	PID       int64     `json:"pid,omitempty"`
	PPID      int64     `json:"ppid,omitempty"`
	Exe       string    `json:"exe,omitempty"`
	Cmdline   string    `json:"cmdline,omitempty"`
	User      string    `json:"user,omitempty"`
	UID       *int64    `json:"uid,omitempty"`
	Start     time.Time `json:"start,omitzero"`
	Exit      time.Time `json:"exit,omitzero"`
	Container string    `json:"container,omitempty"`
	Image     string    `json:"image,omitempty"`
	Pod       string    `json:"pod,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	Cluster   string    `json:"cluster,omitempty"`
	Host      string    `json:"host,omitempty"`
	Flags     []string  `json:"flags,omitempty"`
	// Flagged marks the event's own process.
	Flagged bool `json:"flagged,omitempty"`
}

// EventLine is one context event.
type EventLine struct {
	ID      string     `json:"id"`
	Time    time.Time  `json:"time"`
	Kind    cairn.Kind `json:"kind"`
	PID     int64      `json:"pid,omitempty"`
	Summary string     `json:"summary"`
}

// View is one event's process tree and context.
type View struct {
	Event    EventLine   `json:"event"`
	Lineage  []Node      `json:"lineage"`
	Children []Node      `json:"children"`
	Siblings []Node      `json:"siblings"`
	Before   []EventLine `json:"before"`
	After    []EventLine `json:"after"`
}

// Build returns the view of the event with the id, or of the first event
// of the detection with the id. It returns ENOTFOUND for an unknown id and EINVALID for an event that has no process (a
// cloud API call).
func Build(ctx context.Context, st Store, id string, opts Options) (*View, error) {
	if opts.Before < 0 {
		opts.Before = 5
	}
	if opts.After < 0 {
		opts.After = 5
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = 64
	}
	if opts.MaxChildren <= 0 {
		opts.MaxChildren = 50
	}
	ev, err := st.GetEvent(ctx, id)
	if cairn.ErrorCode(err) == cairn.ENOTFOUND {
		// A detection's tree is that of the event that triggered it.
		d, derr := st.GetDetection(ctx, id)
		if derr == nil && len(d.EventIDs) > 0 {
			ev, err = st.GetEvent(ctx, d.EventIDs[0])
		}
	}
	if err != nil {
		return nil, err
	}
	if ev.Process == nil {
		return nil, cairn.Errorf(cairn.EINVALID, "event %s (%s) has no process, so no process tree", id, ev.Kind)
	}
	key := proctree.Key(ev.Process, ev.Host)
	v := &View{Event: line(&ev), Lineage: []Node{}, Children: []Node{}, Siblings: []Node{}}

	lineage, err := st.Lineage(ctx, key, opts.MaxDepth)
	switch {
	case cairn.ErrorCode(err) == cairn.ENOTFOUND:
		// A store without the event's process (ingested before trees
		// were kept) still has what the event itself says.
		lineage = fromEvent(&ev, key)
	case err != nil:
		return nil, err
	}
	for _, n := range lineage {
		v.Lineage = append(v.Lineage, node(n))
	}
	v.Lineage[len(v.Lineage)-1].Flagged = true

	keys := make([]string, 0, len(lineage)+2*opts.MaxChildren)
	for _, n := range lineage {
		keys = append(keys, n.Key)
	}
	children, err := st.Children(ctx, key, opts.MaxChildren)
	if err != nil {
		return nil, fmt.Errorf("children of %s: %w", key, err)
	}
	for _, c := range children {
		if c.Key == key {
			continue // a self-parenting record is not its own child
		}
		v.Children = append(v.Children, node(c))
		keys = append(keys, c.Key)
	}
	if parent := lineage[len(lineage)-1].ParentKey; parent != "" && parent != key {
		sibs, err := st.Children(ctx, parent, opts.MaxChildren+1)
		if err != nil {
			return nil, fmt.Errorf("children of %s: %w", parent, err)
		}
		for _, s := range sibs {
			if s.Key == key || s.Key == parent || len(v.Siblings) == opts.MaxChildren {
				continue
			}
			v.Siblings = append(v.Siblings, node(s))
			keys = append(keys, s.Key)
		}
	}

	scope := cairn.Scope{ProcessKeys: keys, Host: ev.Host}
	if ev.Container != nil {
		scope.ContainerID = ev.Container.ID
	}
	pre, post, err := st.EventsAround(ctx, ev, scope, opts.Before, opts.After)
	if err != nil {
		return nil, fmt.Errorf("events around %s: %w", id, err)
	}
	v.Before, v.After = lines(pre), lines(post)
	return v, nil
}

// fromEvent builds a lineage from the event's own parent and ancestors.
func fromEvent(ev *cairn.Event, key string) []cairn.ProcessNode {
	chain := []cairn.ProcessNode{{Key: key, Host: ev.Host, Process: *ev.Process, Container: ev.Container, K8s: ev.K8s}}
	add := func(p *cairn.Process, flags cairn.NodeFlags) {
		chain = append(chain, cairn.ProcessNode{Key: proctree.Key(p, ev.Host), Host: ev.Host, Process: *p, Flags: flags})
	}
	if ev.Parent != nil {
		add(ev.Parent, cairn.FlagPartial)
	}
	for i := range ev.Ancestors {
		add(&ev.Ancestors[i], cairn.FlagPartial)
	}
	for i := 0; i+1 < len(chain); i++ {
		chain[i].ParentKey = chain[i+1].Key
	}
	// Root first.
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain
}

func node(n cairn.ProcessNode) Node {
	p := &n.Process
	out := Node{
		Key: n.Key, ExecID: p.ExecID, PID: p.PID, PPID: p.PPID, Exe: p.Binary, Cmdline: p.Cmdline(),
		User: p.User, UID: p.UID, Start: p.StartTime, Exit: n.ExitTime, Host: n.Host, Flags: n.Flags.Names(),
	}
	if out.User == "" && p.UID != nil && *p.UID == 0 {
		out.User = "root"
	}
	if c := n.Container; c != nil {
		out.Container = c.Name
		if out.Container == "" {
			out.Container = c.ID
		}
		out.Image = c.Image
	}
	if k := n.K8s; k != nil {
		out.Pod, out.Namespace, out.Cluster = k.Pod, k.Namespace, k.Cluster
	}
	return out
}

func line(ev *cairn.Event) EventLine {
	l := EventLine{ID: ev.ID, Time: ev.Time, Kind: ev.Kind, Summary: ev.Summary()}
	if ev.Process != nil {
		l.PID = ev.Process.PID
	}
	return l
}

func lines(evs []cairn.Event) []EventLine {
	out := make([]EventLine, 0, len(evs))
	for i := range evs {
		out = append(out, line(&evs[i]))
	}
	return out
}
