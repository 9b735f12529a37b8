package sqlite_test

import (
	"context"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// FuzzProcessTree stores three nodes with arbitrary keys and parents, in
// one batch or one by one, and checks what the reads give: the node
// itself, a lineage that ends, whose nodes are distinct and each the
// parent of the next, and children that name the node as parent.
func FuzzProcessTree(f *testing.F) {
	for _, seed := range []struct {
		a, b, c string
		shape   []byte
	}{
		{"a", "b", "c", []byte{0, 1, 2, 0}},
		{"a", "a", "a", []byte{1, 1, 1, 1}},
		{"self", "x", "y", []byte{1, 4, 3, 1}},
		{"k\xff", "k\xfe", "'; DROP TABLE processes; --", []byte{2, 1, 1, 0}},
		{"", "b", "c", []byte{0, 0, 0, 0}},
		{`"]`, "\x00", "%", []byte{3, 2, 1, 1}},
	} {
		f.Add(seed.a, seed.b, seed.c, seed.shape)
	}
	f.Fuzz(func(t *testing.T, a, b, c string, shape []byte) {
		ctx := context.Background()
		s := mustOpen(t, sqlite.Memory)
		keys := []string{a, b, c}
		parents := append(keys[:3:3], "", "gone")
		var nodes []cairn.ProcessNode
		for i, k := range keys {
			p := ""
			if i < len(shape) {
				p = parents[int(shape[i])%len(parents)]
			}
			n := storetest.Node(k, p, i)
			if i < len(shape) && shape[i]&0x80 != 0 {
				n.Flags = cairn.FlagUnknown
			}
			nodes = append(nodes, n)
		}
		batched := len(shape) > 3 && shape[3]&1 == 1
		for i := range nodes {
			var err error
			switch {
			case batched && i == 0:
				err = s.WriteProcesses(ctx, nodes)
			case !batched:
				err = s.WriteProcesses(ctx, nodes[i:i+1])
			}
			if nodes[i].Key == "" || batched && (a == "" || b == "" || c == "") {
				if cairn.ErrorCode(err) != cairn.EINVALID {
					t.Fatalf("writing a node without a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range keys {
			self, err := s.Process(ctx, k)
			if err != nil {
				t.Fatalf("Process(%q): %v", k, err)
			}
			chain, err := s.Lineage(ctx, k, 0)
			if err != nil {
				t.Fatalf("Lineage(%q): %v", k, err)
			}
			if len(chain) == 0 || len(chain) > 3 || chain[len(chain)-1].Key != self.Key {
				t.Fatalf("Lineage(%q) = %d nodes ending with %q", k, len(chain), chain[len(chain)-1].Key)
			}
			seen := map[string]bool{}
			for i, n := range chain {
				if seen[n.Key] {
					t.Fatalf("Lineage(%q) repeats %q", k, n.Key)
				}
				seen[n.Key] = true
				if i > 0 && chain[i].ParentKey != chain[i-1].Key {
					t.Fatalf("Lineage(%q): %q's parent is %q, not %q", k, n.Key, n.ParentKey, chain[i-1].Key)
				}
				if i > 0 && n.Flags.Has(cairn.FlagLoop) {
					t.Fatalf("Lineage(%q): loop flagged below the top", k)
				}
			}
			if top := chain[0]; top.Flags.Has(cairn.FlagLoop) != seen[top.ParentKey] {
				t.Fatalf("Lineage(%q): top %q with parent %q has flags %v", k, top.Key, top.ParentKey, top.Flags.Names())
			}
			kids, err := s.Children(ctx, k, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, kid := range kids {
				if kid.ParentKey != self.Key {
					t.Fatalf("Children(%q) holds %q, whose parent is %q", k, kid.Key, kid.ParentKey)
				}
			}
		}
	})
}
