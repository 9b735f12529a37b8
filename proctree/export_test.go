package proctree

import "fmt"

// Check verifies the table's internal bookkeeping, for tests: the index,
// the lists, the children counts and the pid index agree with the slab.
func (t *Table) Check() error {
	used := 0
	children := map[int32]int32{}
	for i := range t.slab {
		s, n := int32(i), &t.slab[i]
		if !n.used {
			continue
		}
		used++
		if got, ok := t.index[n.pn.Key]; !ok || got != s {
			return fmt.Errorf("node %q at %d: index has %d, %v", n.pn.Key, s, got, ok)
		}
		if n.pn.ParentKey == n.pn.Key {
			return fmt.Errorf("node %q is its own parent", n.pn.Key)
		}
		if n.parent != none {
			if p := &t.slab[n.parent]; p.used && p.gen == n.pgen {
				children[n.parent]++
			}
		}
		if n.exited && n.children == 0 && !n.inLeaves {
			return fmt.Errorf("exited childless node %q is not a leaf", n.pn.Key)
		}
		if n.inLeaves && (!n.exited || n.children != 0) {
			return fmt.Errorf("leaf %q: exited %v, %d children", n.pn.Key, n.exited, n.children)
		}
	}
	if used != t.held || len(t.index) != t.held {
		return fmt.Errorf("held %d, used slots %d, index %d", t.held, used, len(t.index))
	}
	for i := range t.slab {
		s, n := int32(i), &t.slab[i]
		if n.used && n.children != children[s] {
			return fmt.Errorf("node %q counts %d children, has %d", n.pn.Key, n.children, children[s])
		}
	}
	if k, err := t.checkList(&t.lru, lruOf, func(*node) bool { return true }); err != nil || k != t.held {
		return fmt.Errorf("lru: %d of %d nodes: %v", k, t.held, err)
	}
	leaves := 0
	for i := range t.slab {
		if t.slab[i].inLeaves {
			leaves++
		}
	}
	if k, err := t.checkList(&t.leaves, leafOf, func(n *node) bool { return n.inLeaves }); err != nil || k != leaves {
		return fmt.Errorf("leaves: %d of %d: %v", k, leaves, err)
	}
	for hp, s := range t.pids {
		n := &t.slab[s]
		if !n.used || n.exited || n.pn.Host != hp.host || n.pn.Process.PID != hp.pid {
			return fmt.Errorf("pid index %v names %q (used %v, exited %v)", hp, n.pn.Key, n.used, n.exited)
		}
	}
	return nil
}

func (t *Table) checkList(l *list, of func(*node) *link, ok func(*node) bool) (int, error) {
	k, prev := 0, none
	for s := l.head; s != none; s = of(&t.slab[s]).next {
		n := &t.slab[s]
		if !n.used || !ok(n) || of(n).prev != prev {
			return k, fmt.Errorf("bad node %d (%q)", s, n.pn.Key)
		}
		if k++; k > len(t.slab) {
			return k, fmt.Errorf("cycle")
		}
		prev = s
	}
	if l.tail != prev {
		return k, fmt.Errorf("tail %d, last %d", l.tail, prev)
	}
	return k, nil
}
