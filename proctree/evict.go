package proctree

import (
	"time"

	"github.com/cairn-cdr/cairn"
)

// exitEntry asks for a node to be reconsidered once its grace period has
// passed.
type exitEntry struct {
	slot int32
	gen  uint32
	due  time.Time
}

// exitQueue is a FIFO of exit entries. Entries are pushed with due times
// that never decrease (the table's clock only moves forward), so the head
// is always the next due.
type exitQueue struct {
	buf  []exitEntry
	head int
}

func (q *exitQueue) len() int { return len(q.buf) - q.head }

func (q *exitQueue) push(e exitEntry) { q.buf = append(q.buf, e) }

func (q *exitQueue) peek() (exitEntry, bool) {
	if q.head == len(q.buf) {
		return exitEntry{}, false
	}
	return q.buf[q.head], true
}

func (q *exitQueue) pop() {
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	} else if q.head >= 1024 && q.head*2 >= len(q.buf) {
		n := copy(q.buf, q.buf[q.head:])
		q.buf, q.head = q.buf[:n], 0
	}
}

// filter keeps the entries for which keep is true, in order.
func (q *exitQueue) filter(keep func(exitEntry) bool) {
	out := q.buf[:0]
	for _, e := range q.buf[q.head:] {
		if keep(e) {
			out = append(out, e)
		}
	}
	clear(q.buf[len(out):])
	q.buf, q.head = out, 0
}

// markExited records that s exited at at (or, if at is zero, now) and
// starts its grace period. It reports whether s was running.
func (t *Table) markExited(s int32, at time.Time) bool {
	n := &t.slab[s]
	if n.exited {
		return false
	}
	n.exited = true
	if n.pn.ExitTime.IsZero() {
		if at.IsZero() {
			at = t.now
		}
		n.pn.ExitTime = at
	}
	t.unindexPID(s)
	t.queueExit(s, t.now.Add(t.grace))
	if n.children == 0 {
		t.addLeaf(s)
	}
	return true
}

// queueExit schedules s to be reconsidered at due.
func (t *Table) queueExit(s int32, due time.Time) {
	t.exits.push(exitEntry{slot: s, gen: t.slab[s].gen, due: due})
	// Entries of nodes evicted early (for room) stay in the queue until
	// due; drop them when they outnumber the nodes held, which keeps the
	// queue bounded by the table at amortised O(1) cost per exit.
	if t.exits.len() > 2*t.maxNodes+1024 {
		t.exits.filter(func(e exitEntry) bool { return t.current(e) })
	}
}

// current reports whether e still refers to the held, exited node it was
// queued for.
func (t *Table) current(e exitEntry) bool {
	n := &t.slab[e.slot]
	return n.used && n.gen == e.gen && n.exited
}

// addLeaf puts the exited, childless s at the end of the leaves.
func (t *Table) addLeaf(s int32) {
	if n := &t.slab[s]; !n.inLeaves {
		n.inLeaves = true
		t.leaves.pushBack(t.slab, s, leafOf)
	}
}

// advance evicts the exited nodes whose grace period has passed and that
// have no children.
func (t *Table) advance() {
	for {
		e, ok := t.exits.peek()
		if !ok || e.due.After(t.now) {
			return
		}
		t.exits.pop()
		if !t.current(e) {
			continue
		}
		n := &t.slab[e.slot]
		n.expired = true
		if n.children == 0 {
			t.evictCascade(e.slot)
		}
	}
}

// trim evicts nodes until the table is within its cap: the oldest exited
// leaves first, then the least recently used nodes. Nodes pinned by the
// current call stay.
func (t *Table) trim() {
	for t.held > t.maxNodes {
		s := t.leaves.head
		if s == none || t.slab[s].pin == t.epoch {
			s = t.lru.head
			if s == none || t.slab[s].pin == t.epoch {
				return // everything left is in use by this call
			}
		}
		t.evictCascade(s)
	}
}

// evictCascade evicts s, then each parent left without children that is
// due to go.
func (t *Table) evictCascade(s int32) {
	for s != none {
		s = t.orphaned(t.evict(s))
	}
}

// orphaned looks at p (or none) after it lost a child. It returns p when p
// is left without children and is due to go: exited and past its grace
// period, or a placeholder; otherwise none, after making an exited p a
// leaf.
func (t *Table) orphaned(p int32) int32 {
	if p == none {
		return none
	}
	n := &t.slab[p]
	if n.children != 0 {
		return none
	}
	switch {
	case n.exited:
		t.addLeaf(p)
		if !n.expired {
			return none
		}
		if n.pin == t.epoch {
			// In use by this call: reconsider at the next one.
			t.queueExit(p, t.now)
			return none
		}
		return p
	case n.pn.Flags.Has(cairn.FlagUnknown) && n.pin != t.epoch:
		return p
	}
	return none
}

// evict removes s from the table and returns its held parent, whose
// children count it decrements, or none.
func (t *Table) evict(s int32) int32 {
	n := &t.slab[s]
	p := none
	if n.parent != none {
		if pp := &t.slab[n.parent]; pp.used && pp.gen == n.pgen {
			pp.children--
			p = n.parent
		}
	}
	t.lru.remove(t.slab, s, lruOf)
	if n.inLeaves {
		t.leaves.remove(t.slab, s, leafOf)
	}
	t.unindexPID(s)
	if cur, ok := t.index[n.pn.Key]; ok && cur == s {
		delete(t.index, n.pn.Key)
	}
	*n = node{gen: n.gen + 1, parent: none}
	t.free = append(t.free, s)
	t.held--
	return p
}
