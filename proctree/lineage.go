package proctree

import (
	"slices"

	"github.com/cairn-cdr/cairn"
)

// Lineage returns the node keyed key and its ancestors, root first and the
// node last, at most max nodes (the nearest ones), or nil when neither the
// table nor Options.Lookup knows key. A chain that loops is cut where it
// would repeat a node, and that node gets FlagLoop (the next Observe
// returns it, for the caller to persist).
func (t *Table) Lineage(key string, max int) []cairn.ProcessNode {
	if max <= 0 || key == "" {
		return nil
	}
	t.begin()
	defer t.trim()
	s, ok := t.get(key)
	if !ok {
		if s, ok = t.load(key); !ok {
			return nil
		}
	}
	chain := t.walk(s, max)
	out := make([]cairn.ProcessNode, len(chain))
	for i, c := range chain {
		out[len(chain)-1-i] = t.slab[c].pn
	}
	return out
}

// Enrich fills ev.Parent and ev.Ancestors (nearest first) from the table
// when the event carries none or fewer than the table knows, up to
// MaxDepth levels, so that parent and ancestor fields work for every
// source. What the event carries is kept; the table's ancestors are added
// above it only when the farthest one the event carries is the table's at
// that level. Placeholders that say nothing but their key end the chain.
// Enrich also sets ev.Process.PPID when it is unknown.
func (t *Table) Enrich(ev *cairn.Event) {
	if ev == nil || ev.Process == nil {
		return
	}
	key := Key(ev.Process, ev.Host)
	if key == "" {
		return
	}
	t.begin()
	defer t.trim()
	s, ok := t.get(key)
	if !ok {
		if s, ok = t.load(key); !ok {
			return
		}
	}
	anc := t.walk(s, MaxDepth+1)[1:]
	for i, a := range anc {
		if !informative(&t.slab[a].pn.Process) {
			anc = anc[:i]
			break
		}
	}
	have := 0
	if ev.Parent != nil {
		have = 1 + len(ev.Ancestors)
	}
	if len(anc) <= have {
		return
	}
	copyOf := func(s int32) cairn.Process {
		p := t.slab[s].pn.Process
		p.ExitCode, p.Signal = nil, "" // the ancestor's own exit is not this event's
		return p
	}
	if have == 0 {
		parent := copyOf(anc[0])
		ev.Parent = &parent
		if ev.Process.PPID == 0 {
			ev.Process.PPID = parent.PID
		}
		anc = anc[1:]
		ev.Ancestors = nil
		if len(anc) == 0 {
			return
		}
	} else {
		last := ev.Parent
		if have > 1 {
			last = &ev.Ancestors[have-2]
		}
		if !t.matches(last, anc[have-1]) {
			return
		}
		anc = anc[have:]
	}
	out := make([]cairn.Process, len(ev.Ancestors), len(ev.Ancestors)+len(anc))
	copy(out, ev.Ancestors)
	for _, a := range anc {
		out = append(out, copyOf(a))
	}
	ev.Ancestors = out
}

// matches reports whether p, as an event carries it, is the node s.
func (t *Table) matches(p *cairn.Process, s int32) bool {
	pn := &t.slab[s].pn
	if p.ExecID != "" {
		return p.ExecID == pn.Key
	}
	return p.PID != 0 && p.PID == pn.Process.PID
}

// walk returns s and its ancestors, nearest first, at most max, looking up
// parents the table does not hold. Where a node would repeat, the chain is
// cut and that node gets FlagLoop. The nodes are not pinned: nothing is
// evicted before the caller's trim, which comes after it has copied them.
func (t *Table) walk(s int32, max int) []int32 {
	const linear = 32 // chains up to this long are checked without a map
	buf := append(t.walkb[:0], s)
	t.used(s)
	useMap := false
	for cur := s; len(buf) < max; {
		ps := t.parentRef(cur, true)
		if ps == none {
			break
		}
		if !useMap && len(buf) > linear {
			if t.seen == nil {
				t.seen = map[int32]struct{}{}
			}
			clear(t.seen)
			for _, x := range buf {
				t.seen[x] = struct{}{}
			}
			useMap = true
		}
		var repeat bool
		if useMap {
			_, repeat = t.seen[ps]
		} else {
			repeat = slices.Contains(buf, ps)
		}
		if repeat {
			t.flagLater(ps, cairn.FlagLoop)
			break
		}
		buf = append(buf, ps)
		if useMap {
			t.seen[ps] = struct{}{}
		}
		t.used(ps)
		cur = ps
	}
	t.walkb = buf
	return buf
}

// flagLater sets f on s outside Observe; the next Observe returns s.
func (t *Table) flagLater(s int32, f cairn.NodeFlags) {
	n := &t.slab[s]
	if n.pn.Flags.Has(f) {
		return
	}
	n.pn.Flags |= f
	if len(t.pending) < t.maxNodes {
		t.pending = append(t.pending, ref{slot: s, gen: n.gen})
	}
}
