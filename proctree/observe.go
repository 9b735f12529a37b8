package proctree

import (
	"slices"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
)

// elem is one process an event describes: its process (level 0), its
// parent (1) or an ancestor (2 and above).
type elem struct {
	p    *cairn.Process
	key  string
	slot int32
}

// Observe records what ev says: its process (a full description), its
// parent and ancestors (partial ones, FlagPartial until the process itself
// is described), the container and pod of its process, and its exit. It
// links each process to its parent by parent exec id, or, for sources
// without exec ids, by the running process with the parent pid on the
// same host; a parent never seen gets a placeholder (FlagUnknown), filled
// when it shows up. A key seen again with another pid or binary keeps its
// first description and gets FlagConflict; a link that would make a node
// its own ancestor is cut and the node gets FlagLoop. ev's time moves the
// table's clock forward, and what is due is evicted.
//
// Observe returns the nodes it created or changed, for the caller to
// persist (cairn.ProcessWriter merges them). Their Container and K8s are
// shared with the table and the event: treat them as read-only.
func (t *Table) Observe(ev *cairn.Event) []cairn.ProcessNode {
	if ev == nil || ev.Process == nil {
		return nil
	}
	key := Key(ev.Process, ev.Host)
	if key == "" {
		return nil
	}
	t.begin()
	if ev.Time.After(t.now) {
		t.now = ev.Time
	}
	t.advance()
	t.dirty = t.dirty[:0]
	elems := t.chain(ev, key)
	// Describe the farthest ancestor first, so that parents exist before
	// their children link to them.
	for i := len(elems) - 1; i >= 0; i-- {
		e := &elems[i]
		s, ok := t.get(e.key)
		if !ok && i > 0 {
			s, ok = t.load(e.key)
		}
		if !ok {
			s = t.alloc(e.key, ev.Host)
			t.markDirty(s)
		}
		t.touch(s)
		e.slot = s
		t.describe(s, ev, e.p, i == 0)
	}
	for i := len(elems) - 1; i >= 0; i-- {
		t.linkElem(elems, i, ev)
	}
	for _, s := range t.pending {
		if n := &t.slab[s.slot]; n.used && n.gen == s.gen {
			t.markDirty(s.slot)
		}
	}
	t.pending = t.pending[:0]
	out := make([]cairn.ProcessNode, len(t.dirty))
	for i, s := range t.dirty {
		out[i] = t.slab[s].pn
	}
	clear(elems)
	t.elems = elems[:0]
	t.trim()
	return out
}

// chain returns the processes ev describes, nearest first, at most
// MaxDepth above the process, stopping at one that cannot be keyed or
// that repeats a key already in the chain.
func (t *Table) chain(ev *cairn.Event, key string) []elem {
	elems := append(t.elems[:0], elem{p: ev.Process, key: key})
	if ev.Parent == nil {
		return elems
	}
	for i := -1; i < len(ev.Ancestors) && len(elems) <= MaxDepth; i++ {
		p := ev.Parent
		if i >= 0 {
			p = &ev.Ancestors[i]
		}
		k := t.elemKey(p, ev.Host)
		if k == "" || slices.ContainsFunc(elems, func(e elem) bool { return e.key == k }) {
			break
		}
		elems = append(elems, elem{p: p, key: k})
	}
	return elems
}

// elemKey returns the key of a parent or ancestor p. One without an exec
// id or start time (Falco's proc.aname[N] and proc.apid[N]) is the running
// process with its pid on the host, when the table holds one.
func (t *Table) elemKey(p *cairn.Process, host string) string {
	if p.ExecID == "" && p.PID != 0 && p.StartTime.IsZero() {
		if s, ok := t.runningPID(host, p.PID); ok {
			return t.slab[s].pn.Key
		}
	}
	return Key(p, host)
}

// describe merges p, as ev describes it, into the node s: fully when full
// (the event's own process), partially otherwise.
func (t *Table) describe(s int32, ev *cairn.Event, p *cairn.Process, full bool) {
	n := &t.slab[s]
	pn := &n.pn
	changed := false
	if pn.Host == "" && ev.Host != "" {
		pn.Host, changed = ev.Host, true
	}
	conflict, otherPID := false, pidConflict(&pn.Process, p)
	switch {
	case pn.Flags.Has(cairn.FlagUnknown):
		merged := *p
		fillProcess(&merged, &pn.Process)
		pn.Process = merged
		pn.Flags &^= cairn.FlagUnknown
		if !full {
			pn.Flags |= cairn.FlagPartial
		}
		changed = true
	case conflicts(&pn.Process, p):
		conflict = true
		if !pn.Flags.Has(cairn.FlagConflict) {
			pn.Flags |= cairn.FlagConflict
			changed = true
		}
	case full && pn.Flags.Has(cairn.FlagPartial):
		merged := *p
		fillProcess(&merged, &pn.Process)
		pn.Process = merged
		pn.Flags &^= cairn.FlagPartial
		changed = true
	default:
		changed = fillProcess(&pn.Process, p) || changed
	}
	if full && !conflict {
		if pn.Container == nil && ev.Container != nil {
			pn.Container, changed = ev.Container, true
		}
		if pn.K8s == nil && isPod(ev.K8s) {
			pn.K8s, changed = ev.K8s, true
		}
		switch {
		case ev.ID == "":
		case ev.Kind == cairn.KindExec && !n.execDesc:
			pn.EventID, n.execDesc, changed = ev.ID, true, true
		case pn.EventID == "":
			pn.EventID, changed = ev.ID, true
		}
	}
	// An exit under a reused key with another pid is another process's.
	if full && ev.Kind == cairn.KindExit && !otherPID && t.markExited(s, ev.Time) {
		changed = true
	}
	if ev.Time.After(pn.LastSeen) {
		pn.LastSeen, changed = ev.Time, true
	}
	if !n.exited {
		t.indexPID(s)
	}
	if changed {
		t.markDirty(s)
	}
}

// linkElem links the i-th process of the chain to its parent: the one its
// parent exec id names, else the next in the chain, else (for sources
// without exec ids) the running process with its parent pid.
func (t *Table) linkElem(elems []elem, i int, ev *cairn.Event) {
	p := elems[i].p
	var pk string
	var ppid int64
	explicit := false
	switch {
	case p.ParentExecID != "":
		pk, explicit = p.ParentExecID, true
	case i+1 < len(elems):
		pk = elems[i+1].key
	case p.ExecID == "" && p.PPID != 0:
		if s, ok := t.runningPID(ev.Host, p.PPID); ok {
			pk = t.slab[s].pn.Key
		} else {
			pk, ppid = cairn.HostPIDKey(ev.Host, p.PPID, time.Time{}), p.PPID
		}
	}
	t.link(elems[i].slot, pk, explicit, ev, ppid)
}

// link makes pk the parent of s. A node keeps its first parent: another
// one named by exec id is a conflict. A placeholder parent found by pid
// alone gives way to the running process with that pid once it is known.
func (t *Table) link(s int32, pk string, explicit bool, ev *cairn.Event, ppid int64) {
	if pk == "" {
		return
	}
	n := &t.slab[s]
	if pk == n.pn.Key {
		t.flag(s, cairn.FlagLoop)
		return
	}
	switch old := n.pn.ParentKey; {
	case old == pk:
		t.parentRef(s, false)
		return
	case old != "" && !explicit && t.pidPlaceholder(old, pk):
		t.detach(s)
	case old != "":
		if explicit {
			t.flag(s, cairn.FlagConflict)
		}
		return
	}
	ps, ok := t.get(pk)
	if !ok {
		ps, ok = t.load(pk)
	}
	if !ok {
		ps = t.alloc(pk, ev.Host)
		pl := &t.slab[ps]
		pl.pn.Process.PID = ppid
		pl.pn.LastSeen = ev.Time
		t.indexPID(ps)
		t.markDirty(ps)
	}
	t.touch(ps)
	// A node no held node names as parent cannot be its parent's
	// ancestor: a new process links in O(1).
	if t.slab[s].children != 0 && t.reaches(ps, s) {
		t.flag(s, cairn.FlagLoop)
		return
	}
	t.slab[s].pn.ParentKey = pk
	t.attach(s, ps)
	t.markDirty(s)
}

// pidPlaceholder reports whether old, a node's parent key, is a
// placeholder made from a parent pid (no start time) that the held node
// pk, with the same pid, now stands for.
func (t *Table) pidPlaceholder(old, pk string) bool {
	if !strings.HasPrefix(old, "hp:") || !strings.HasSuffix(old, ":0") {
		return false
	}
	ps, ok := t.get(pk)
	if !ok {
		return false
	}
	if os, ok := t.get(old); ok && !t.slab[os].pn.Flags.Has(cairn.FlagUnknown) {
		return false
	}
	return cairn.HostPIDKey(t.slab[ps].pn.Host, t.slab[ps].pn.Process.PID, time.Time{}) == old
}

// detach drops the parent link of s, evicting a placeholder parent left
// without children.
func (t *Table) detach(s int32) {
	ps := t.parentRef(s, false)
	n := &t.slab[s]
	n.pn.ParentKey, n.parent = "", none
	if ps == none {
		return
	}
	t.slab[ps].children--
	if x := t.orphaned(ps); x != none {
		t.evictCascade(x)
	}
}

// reaches reports whether s is ps or one of its held ancestors, within
// maxLinkWalk levels.
func (t *Table) reaches(ps, s int32) bool {
	cur := ps
	for i := 0; i < maxLinkWalk && cur != none; i++ {
		if cur == s {
			return true
		}
		cur = t.parentRef(cur, false)
	}
	return false
}

// flag sets f on s and marks it changed.
func (t *Table) flag(s int32, f cairn.NodeFlags) {
	if n := &t.slab[s]; !n.pn.Flags.Has(f) {
		n.pn.Flags |= f
		t.markDirty(s)
	}
}
