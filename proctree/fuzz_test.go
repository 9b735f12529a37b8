package proctree_test

import (
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/proctree"
)

// FuzzObserve feeds random processes, parent links, exits and keys (few,
// so that they collide, reuse and loop) through a small table backed by a
// map standing in for the store, and checks after every step that the
// table is consistent and within its cap, and that Lineage and Enrich end
// within their bounds.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{0, 1, 2, 1, 0, 2, 1, 1, 0, 1, 2, 1})                      // a chain
	f.Add([]byte{0, 1, 1, 1})                                              // self-parent
	f.Add([]byte{0, 1, 2, 1, 0, 2, 1, 1, 3, 1, 0, 1})                      // two-node loop, then Enrich
	f.Add([]byte{1, 1, 2, 1, 0, 1, 2, 200, 0, 3, 1, 200, 4, 3, 0, 1})      // exit, grace, lineage
	f.Add([]byte{0x10, 1, 2, 1, 0x10, 2, 1, 1, 0x21, 3, 3, 1, 0x40, 4, 0}) // pids, parents carried
	f.Add([]byte{0x60, 5, 6, 1, 0x60, 6, 5, 1, 0x62, 5, 6, 0, 0x03, 6, 5, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxNodes = 8
		store := map[string]cairn.ProcessNode{}
		tbl := proctree.New(proctree.Options{
			MaxNodes: maxNodes,
			Grace:    10 * time.Second,
			Lookup: func(key string) (cairn.ProcessNode, bool) {
				n, ok := store[key]
				return n, ok
			},
		})
		now := t0
		keyOf := func(b byte) string { return string(rune('a' + b%12)) }
		for i := 0; i+4 <= len(data) && i < 4*400; i += 4 {
			op, k, pk, dt := data[i], data[i+1], data[i+2], data[i+3]
			now = now.Add(time.Duration(dt) * time.Second)
			if dt > 250 {
				now = now.Add(-time.Hour) // out of order
			}
			p := &cairn.Process{ExecID: keyOf(k), ParentExecID: keyOf(pk), PID: int64(k % 5), Binary: "/bin/" + keyOf(k%3)}
			if op&0x10 != 0 { // a source with pids only
				p = &cairn.Process{PID: int64(k%6) + 1, PPID: int64(pk % 6), Binary: p.Binary}
				if op&0x80 != 0 {
					p.StartTime = t0.Add(time.Duration(k%3) * time.Second)
				}
			}
			ev := &cairn.Event{ID: "e", Kind: cairn.KindExec, Time: now, Host: host, Process: p}
			switch op & 0x0f {
			case 1, 5:
				ev.Kind = cairn.KindExit
			case 2:
				ev.Kind = cairn.KindFile
			}
			if op&0x20 != 0 { // the parent and ancestors carried
				ev.Parent = &cairn.Process{ExecID: keyOf(pk), ParentExecID: keyOf(dt), PID: int64(pk % 5)}
				for j := range int(op>>6) + 1 {
					ev.Ancestors = append(ev.Ancestors, cairn.Process{ExecID: keyOf(dt + byte(j)), PID: int64(j)})
				}
				if op&0x10 != 0 {
					ev.Parent = &cairn.Process{PID: int64(pk % 6), Name: "p"}
					ev.Ancestors = []cairn.Process{{PID: int64(dt % 6)}}
				}
			}
			switch op & 0x0f {
			case 3:
				tbl.Enrich(ev)
				if ev.Parent == nil && ev.Ancestors != nil || len(ev.Ancestors) > proctree.MaxDepth {
					t.Fatalf("Enrich: parent %v, %d ancestors", ev.Parent, len(ev.Ancestors))
				}
			case 4:
				checkLineage(t, tbl, keyOf(k), int(pk%40)+1)
			default:
				for _, n := range tbl.Observe(ev) {
					if n.Key == "" || n.ParentKey == n.Key {
						t.Fatalf("Observe returned %+v", n)
					}
					store[n.Key] = n
				}
			}
			if tbl.Len() > maxNodes {
				t.Fatalf("Len %d over the cap %d", tbl.Len(), maxNodes)
			}
			mustCheck(t, tbl)
		}
		for k := range byte(12) {
			checkLineage(t, tbl, keyOf(k), 40)
			for pid := range int64(7) {
				checkLineage(t, tbl, proctree.Key(&cairn.Process{PID: pid}, host), 40)
			}
		}
	})
}
