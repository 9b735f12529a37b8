package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

// ProcessStore is what the process tree tests need of a store. The suite
// type-asserts the store to it and skips those tests when it does not
// keep process trees.
type ProcessStore interface {
	cairn.ProcessWriter
	cairn.ProcessReader
}

// processStore returns s as a ProcessStore, or skips the test.
func processStore(t *testing.T, s cairn.Store) ProcessStore {
	t.Helper()
	ps, ok := s.(ProcessStore)
	if !ok {
		t.Skipf("%T does not keep process trees (cairn.ProcessWriter and cairn.ProcessReader)", s)
	}
	return ps
}

// MustWriteProcesses writes process nodes and fails the test on error.
func MustWriteProcesses(tb testing.TB, s cairn.ProcessWriter, nodes ...cairn.ProcessNode) {
	tb.Helper()
	if err := s.WriteProcesses(context.Background(), nodes); err != nil {
		tb.Fatalf("WriteProcesses: %v", err)
	}
}

// Node returns a full process node, the i-th of a series, with the key and
// parent key given and every part an exec event gives a node: a process
// started at Base plus i seconds, its container and pod. Different i give
// different pids, arguments and pods.
func Node(key, parent string, i int) cairn.ProcessNode {
	uid, priv := int64(1000+i%3), i%5 == 0
	start := Base.Add(time.Duration(i) * time.Second)
	ctr := fmt.Sprintf("%012x", 0x7a02291e1000+i%11)
	return cairn.ProcessNode{
		Key:       key,
		ParentKey: parent,
		Host:      fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i%8, i%31),
		Process: cairn.Process{
			ExecID: key, ParentExecID: parent, PID: int64(20000 + i), PPID: int64(19000 + i),
			Name: "python3", Binary: "/usr/bin/python3", Args: fmt.Sprintf("/app/worker.py --job=%d --queue=batch", i),
			Cwd: "/app", UID: &uid, User: "app", StartTime: start, Flags: "execve clone",
		},
		Container: &cairn.Container{
			ID: ctr, FullID: ctr + "4c1d0e9b2a7f3e8d5c6b1a0f9e8d7c6b5a4f3e2d1c0b9a8f", Runtime: "containerd",
			Name: "worker", Image: "registry.example/worker:3.2", Privileged: &priv, StartTime: Base.Add(-time.Hour),
		},
		K8s: &cairn.K8s{
			Cluster: "prod-eks", Namespace: "jobs", Pod: fmt.Sprintf("worker-%d-5c8d9", i%13),
			Labels: map[string]string{"app": "worker"}, WorkloadKind: "Deployment", WorkloadName: "worker",
		},
		EventID:  fmt.Sprintf("tetragon-exec-%d", i),
		LastSeen: start.Add(time.Minute),
	}
}

// with returns n changed by f; n's pointers are copied first, so that the
// change does not reach other nodes.
func with(n cairn.ProcessNode, f func(n *cairn.ProcessNode)) cairn.ProcessNode {
	n = cloneNode(n)
	f(&n)
	return n
}

// cloneNode returns a deep copy of n.
func cloneNode(n cairn.ProcessNode) cairn.ProcessNode {
	b, err := json.Marshal(n)
	if err != nil {
		panic(err)
	}
	var out cairn.ProcessNode
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// sameNode fails the test unless got equals want, showing both as JSON.
func sameNode(t *testing.T, got, want cairn.ProcessNode) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("node %q differs:\n got %s\nwant %s", want.Key, g, w)
	}
}

// keys returns the keys of nodes in order.
func keys(nodes []cairn.ProcessNode) []string {
	out := make([]string, len(nodes))
	for i := range nodes {
		out[i] = nodes[i].Key
	}
	return out
}

// mustProcess reads one node and fails the test on error.
func mustProcess(t *testing.T, s ProcessStore, key string) cairn.ProcessNode {
	t.Helper()
	n, err := s.Process(context.Background(), key)
	if err != nil {
		t.Fatalf("Process(%q): %v", key, err)
	}
	return n
}

func testProcessRoundTrip(t *testing.T, st cairn.Store) {
	s := processStore(t, st)
	ctx := context.Background()
	full := with(Node("a2luZC1jb250cm9sLXBsYW5lOjEzMzQ4MjM2NzE4Mzk1OjI", "parent", 7), func(n *cairn.ProcessNode) {
		code, tty := int64(137), int64(0)
		n.Process.ExitCode, n.Process.Signal, n.Process.TTY = &code, "SIGKILL", &tty
		n.ExitTime = Base.Add(time.Hour)
		n.Flags = cairn.FlagPartial | cairn.FlagConflict
	})
	bare := cairn.ProcessNode{Key: "bare"} // nothing known but the key
	odd := []cairn.ProcessNode{
		Node("'; DROP TABLE processes; --", `"]`, 1),
		Node("k\x00ey", "", 2),
		Node("ключ-🔑", "", 3),
		Node("%", "_", 4),
		Node("k", "", 5),
	}
	nodes := append([]cairn.ProcessNode{full, bare}, odd...)
	MustWriteProcesses(t, s, nodes...)
	for _, n := range nodes {
		sameNode(t, mustProcess(t, s, n.Key), n)
	}
	// Writing the same nodes again changes nothing.
	MustWriteProcesses(t, s, nodes...)
	for _, n := range nodes {
		sameNode(t, mustProcess(t, s, n.Key), n)
	}
	for _, key := range []string{"missing", "", "K", "k\x00", "_", "bar%", "k\x00ey\x00"} {
		_, err := s.Process(ctx, key)
		wantCode(t, err, cairn.ENOTFOUND)
	}
	if err := s.WriteProcesses(ctx, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func testProcessInvalid(t *testing.T, st cairn.Store) {
	s := processStore(t, st)
	err := s.WriteProcesses(context.Background(), []cairn.ProcessNode{Node("good", "", 1), {ParentKey: "good"}})
	wantCode(t, err, cairn.EINVALID)
	_, err = s.Process(context.Background(), "good")
	wantCode(t, err, cairn.ENOTFOUND)
}

// testProcessMerge writes nodes with the same key, in one batch and one by
// one, and checks the stored node against the merge rules.
func testProcessMerge(t *testing.T, st cairn.Store) {
	s := processStore(t, st)
	at := func(sec int) time.Time { return Base.Add(time.Duration(sec) * time.Second) }
	// full lacks a cwd and an image, which partial knows.
	full := with(Node("k", "p", 1), func(n *cairn.ProcessNode) { n.Process.Cwd, n.Container.Image = "", "" })
	placeholder := cairn.ProcessNode{Key: "k", Host: full.Host, Process: cairn.Process{PID: full.Process.PID},
		Flags: cairn.FlagUnknown, LastSeen: at(500)}
	partial := cairn.ProcessNode{Key: "k", ParentKey: "p", Host: full.Host, EventID: "child-exec",
		Process:   cairn.Process{PID: full.Process.PID, Binary: full.Process.Binary, Args: "from a child", Cwd: "/from/child"},
		Container: &cairn.Container{ID: full.Container.ID, Image: "registry.example/worker:3.2"},
		Flags:     cairn.FlagPartial, LastSeen: at(300)}
	// What full becomes once partial's values fill its unknown ones.
	filled := with(full, func(n *cairn.ProcessNode) {
		n.Process.Cwd, n.Container.Image, n.LastSeen = "/from/child", "registry.example/worker:3.2", at(300)
	})
	other := with(full, func(n *cairn.ProcessNode) {
		n.Process.PID = 4242
		n.Process.Args = "another process"
		n.LastSeen = at(900)
	})
	flagged := func(n cairn.ProcessNode, f cairn.NodeFlags) cairn.ProcessNode {
		return with(n, func(n *cairn.ProcessNode) { n.Flags = f })
	}
	seen := func(n cairn.ProcessNode, last time.Time) cairn.ProcessNode {
		return with(n, func(n *cairn.ProcessNode) { n.LastSeen = last })
	}
	tests := []struct {
		name   string
		writes []cairn.ProcessNode
		want   cairn.ProcessNode
	}{
		{"placeholder then full", []cairn.ProcessNode{placeholder, full}, seen(full, at(500))},
		{"full then placeholder", []cairn.ProcessNode{full, placeholder}, seen(full, at(500))},
		{"placeholder then placeholder", []cairn.ProcessNode{placeholder, with(placeholder, func(n *cairn.ProcessNode) {
			n.ParentKey, n.LastSeen = "p", at(2)
		})}, with(placeholder, func(n *cairn.ProcessNode) { n.ParentKey = "p" })},
		{"placeholder then partial", []cairn.ProcessNode{placeholder, partial}, seen(partial, at(500))},
		{"partial then full", []cairn.ProcessNode{partial, full}, filled},
		{"full then partial", []cairn.ProcessNode{full, partial}, filled},
		{"partial then partial", []cairn.ProcessNode{partial, with(partial, func(n *cairn.ProcessNode) {
			n.Process.Args, n.Process.User, n.EventID = "other args", "root", "other-exec"
		})}, with(partial, func(n *cairn.ProcessNode) { n.Process.User = "root" })},
		{"full fills a parent key", []cairn.ProcessNode{with(full, func(n *cairn.ProcessNode) { n.ParentKey = "" }), partial}, filled},
		{"conflicting pid keeps the first", []cairn.ProcessNode{full, other}, with(full, func(n *cairn.ProcessNode) {
			n.Flags, n.LastSeen = cairn.FlagConflict, at(900)
		})},
		{"conflicting binary keeps the first", []cairn.ProcessNode{full, with(full, func(n *cairn.ProcessNode) {
			n.Process.Binary, n.Process.Cwd = "/bin/sh", "/tmp"
		})}, flagged(full, cairn.FlagConflict)},
		{"conflict with a partial node keeps it", []cairn.ProcessNode{partial, other}, with(partial, func(n *cairn.ProcessNode) {
			n.Flags, n.LastSeen = cairn.FlagPartial|cairn.FlagConflict, at(900)
		})},
		{"a placeholder with another pid is replaced", []cairn.ProcessNode{placeholder, other}, with(other, func(n *cairn.ProcessNode) {
			n.Flags = cairn.FlagConflict
		})},
		{"unknown pid or binary is no conflict", []cairn.ProcessNode{full, with(partial, func(n *cairn.ProcessNode) {
			n.Process.PID, n.Process.Binary = 0, ""
		})}, with(filled, func(n *cairn.ProcessNode) { n.Process.PID = full.Process.PID })},
		{"flags accumulate", []cairn.ProcessNode{flagged(full, cairn.FlagConflict), full, flagged(full, cairn.FlagLoop)},
			flagged(full, cairn.FlagConflict|cairn.FlagLoop)},
		{"latest exit and last seen", []cairn.ProcessNode{
			with(full, func(n *cairn.ProcessNode) { n.ExitTime, n.LastSeen = at(50), at(50) }),
			with(full, func(n *cairn.ProcessNode) { n.ExitTime, n.LastSeen = at(40), at(60) }),
			with(full, func(n *cairn.ProcessNode) { n.ExitTime, n.LastSeen = time.Time{}, time.Time{} }),
		}, with(full, func(n *cairn.ProcessNode) { n.ExitTime, n.LastSeen = at(50), at(60) })},
		{"an exit seen first is kept", []cairn.ProcessNode{with(partial, func(n *cairn.ProcessNode) { n.ExitTime = at(70) }), full},
			with(filled, func(n *cairn.ProcessNode) { n.ExitTime = at(70) })},
	}
	for i, tt := range tests {
		for _, batched := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/batched=%v", tt.name, batched), func(t *testing.T) {
				key := fmt.Sprintf("k%d-%v", i, batched)
				writes := make([]cairn.ProcessNode, len(tt.writes))
				for j, w := range tt.writes {
					writes[j] = with(w, func(n *cairn.ProcessNode) { n.Key = key })
				}
				before := cloneNode(writes[0])
				if batched {
					MustWriteProcesses(t, s, writes...)
				} else {
					for _, w := range writes {
						MustWriteProcesses(t, s, w)
					}
				}
				want := with(tt.want, func(n *cairn.ProcessNode) { n.Key = key })
				sameNode(t, mustProcess(t, s, key), want)
				sameNode(t, writes[0], before) // the caller's nodes are left alone
			})
		}
	}
}

// testProcessPlaceholder writes a tree as ingest does, each process with
// placeholders for the parents it names, and then the parents' own
// events.
func testProcessPlaceholder(t *testing.T, st cairn.Store) {
	s := processStore(t, st)
	ctx := context.Background()
	child := Node("child", "parent", 3)
	parentStub := cairn.ProcessNode{Key: "parent", Process: cairn.Process{PID: child.Process.PPID}, Flags: cairn.FlagUnknown, LastSeen: child.LastSeen}
	MustWriteProcesses(t, s, child, parentStub)
	got, err := s.Lineage(ctx, "child", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(got), []string{"parent", "child"}) || got[0].Flags != cairn.FlagUnknown || got[1].Flags != 0 {
		t.Fatalf("lineage with a placeholder: %v, flags %v", keys(got), []cairn.NodeFlags{got[0].Flags, got[len(got)-1].Flags})
	}
	// The parent's own exec arrives, naming its parent; the placeholder is
	// filled in and the grandparent appears as a placeholder.
	parent := with(Node("parent", "grandparent", 2), func(n *cairn.ProcessNode) {
		n.Process.PID, n.LastSeen = child.Process.PPID, Base
	})
	MustWriteProcesses(t, s, parent, cairn.ProcessNode{Key: "grandparent", Flags: cairn.FlagUnknown, LastSeen: Base})
	got, err = s.Lineage(ctx, "child", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(got), []string{"grandparent", "parent", "child"}) {
		t.Fatalf("lineage %v, want grandparent, parent, child", keys(got))
	}
	if got[0].Flags != cairn.FlagUnknown {
		t.Errorf("grandparent flags %v, want unknown", got[0].Flags.Names())
	}
	sameNode(t, got[1], with(parent, func(n *cairn.ProcessNode) { n.LastSeen = child.LastSeen }))
	sameNode(t, got[2], child)
}

func testLineage(t *testing.T, st cairn.Store) {
	s := processStore(t, st)
	ctx := context.Background()
	var chain []cairn.ProcessNode
	for i := range 6 {
		parent := ""
		if i > 0 {
			parent = chain[i-1].Key
		}
		chain = append(chain, Node(fmt.Sprintf("n%d", i), parent, i))
	}
	orphan := Node("orphan", "never-stored", 9)
	// Written leaf first and in two batches: order does not matter.
	rev := slices.Clone(chain)
	slices.Reverse(rev)
	MustWriteProcesses(t, s, rev[:3]...)
	MustWriteProcesses(t, s, append(rev[3:], orphan)...)
	tests := []struct {
		key  string
		max  int
		want []string
	}{
		{"n5", 0, []string{"n0", "n1", "n2", "n3", "n4", "n5"}},
		{"n5", 6, []string{"n0", "n1", "n2", "n3", "n4", "n5"}},
		{"n5", 1000000, []string{"n0", "n1", "n2", "n3", "n4", "n5"}},
		{"n5", 3, []string{"n3", "n4", "n5"}},
		{"n5", 1, []string{"n5"}},
		{"n2", 0, []string{"n0", "n1", "n2"}},
		{"n0", 5, []string{"n0"}},
		{"orphan", 0, []string{"orphan"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/max=%d", tt.key, tt.max), func(t *testing.T) {
			got, err := s.Lineage(ctx, tt.key, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys(got), tt.want) {
				t.Fatalf("lineage %v, want %v", keys(got), tt.want)
			}
			for _, n := range got {
				want := orphan
				if n.Key != "orphan" {
					want = chain[n.Key[1]-'0']
				}
				sameNode(t, n, want)
			}
		})
	}
	_, err := s.Lineage(ctx, "missing", 0)
	wantCode(t, err, cairn.ENOTFOUND)
	_, err = s.Lineage(ctx, "never-stored", 0)
	wantCode(t, err, cairn.ENOTFOUND)
	_, err = s.Lineage(ctx, "n5", -1)
	wantCode(t, err, cairn.EINVALID)
}

// testLineageLoops stores parent chains that loop, which attacker-made
// records can do, and checks that Lineage ends, cut where the chain would
// repeat.
func testLineageLoops(t *testing.T, st cairn.Store) {
	s := processStore(t, st)
	ctx := context.Background()
	MustWriteProcesses(t, s,
		Node("self", "self", 1),
		Node("a", "b", 2), Node("b", "a", 3),
		Node("x", "c", 4), Node("c", "d", 5), Node("d", "e", 6), Node("e", "c", 7),
	)
	tests := []struct {
		key  string
		max  int
		want []string
		loop string // the node flagged, "" for none
	}{
		{"self", 0, []string{"self"}, "self"},
		{"a", 0, []string{"b", "a"}, "b"},
		{"b", 0, []string{"a", "b"}, "a"},
		{"x", 0, []string{"e", "d", "c", "x"}, "e"},
		{"x", 4, []string{"e", "d", "c", "x"}, "e"},
		{"x", 2, []string{"c", "x"}, ""},
		{"a", 1, []string{"a"}, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/max=%d", tt.key, tt.max), func(t *testing.T) {
			var got []cairn.ProcessNode
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				got, err = s.Lineage(ctx, tt.key, tt.max)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Lineage of a loop does not end")
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys(got), tt.want) {
				t.Fatalf("lineage %v, want %v", keys(got), tt.want)
			}
			for _, n := range got {
				if n.Flags.Has(cairn.FlagLoop) != (n.Key == tt.loop) {
					t.Errorf("node %s has flags %v; want loop only on %q", n.Key, n.Flags.Names(), tt.loop)
				}
			}
		})
	}
	// The flag belongs to the lineage read, not to the stored node.
	if n := mustProcess(t, s, "e"); n.Flags != 0 {
		t.Errorf("stored node e has flags %v after a lineage read", n.Flags.Names())
	}
}

func testChildren(t *testing.T, st cairn.Store) {
	s := processStore(t, st)
	ctx := context.Background()
	at := func(sec int) time.Time { return Base.Add(time.Duration(sec) * time.Second) }
	child := func(key string, start time.Time) cairn.ProcessNode {
		return with(Node(key, "p", 1), func(n *cairn.ProcessNode) { n.Process.StartTime = start })
	}
	MustWriteProcesses(t, s, Node("p", "", 0), child("c1", at(30)), child("c2", at(10)), child("c3", time.Time{}))
	MustWriteProcesses(t, s, child("c4", at(20)), child("c5", at(10)), Node("other", "c1", 2),
		// A placeholder that learns its parent later.
		cairn.ProcessNode{Key: "c6", Flags: cairn.FlagUnknown})
	MustWriteProcesses(t, s, child("c6", at(40)))
	tests := []struct {
		key   string
		limit int
		want  []string
	}{
		{"p", 0, []string{"c2", "c5", "c4", "c1", "c6", "c3"}},
		{"p", 2, []string{"c2", "c5"}},
		{"p", 100000, []string{"c2", "c5", "c4", "c1", "c6", "c3"}},
		{"c1", 0, []string{"other"}},
		{"c2", 0, nil},
		{"missing", 0, nil},
		{"", 0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/limit=%d", tt.key, tt.limit), func(t *testing.T) {
			got, err := s.Children(ctx, tt.key, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys(got), tt.want) {
				t.Errorf("children %v, want %v", keys(got), tt.want)
			}
		})
	}
	got, err := s.Children(ctx, "p", 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Children(p, 1) = %v, %v", keys(got), err)
	}
	sameNode(t, got[0], child("c2", at(10)))
	_, err = s.Children(ctx, "p", -1)
	wantCode(t, err, cairn.EINVALID)
}

// testTreeRandom stores random parent graphs, with loops, self-parents
// and parents never stored, and checks Lineage and Children against a
// plain walk over the same graph.
func testTreeRandom(t *testing.T, st cairn.Store) {
	s := processStore(t, st)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	const n = 150
	parents := make(map[string]string, n)
	starts := rng.Perm(n)
	var nodes []cairn.ProcessNode
	for i := range n {
		key, parent := fmt.Sprintf("r%d", i), ""
		switch r := rng.IntN(10); {
		case r == 0: // a root
		case r == 1:
			parent = key
		case r == 2:
			parent = fmt.Sprintf("gone%d", i)
		default:
			parent = fmt.Sprintf("r%d", rng.IntN(n))
		}
		parents[key] = parent
		nodes = append(nodes, with(Node(key, parent, i), func(n *cairn.ProcessNode) {
			n.Process.StartTime = Base.Add(time.Duration(starts[i]) * time.Second)
		}))
	}
	for i := 0; i < n; i += 40 {
		MustWriteProcesses(t, s, nodes[i:min(i+40, n)]...)
	}
	for i := range n {
		key := fmt.Sprintf("r%d", i)
		for _, max := range []int{0, 1, 3, 7} {
			// The walk: nearest first, cut at max, at a parent not stored,
			// or at a parent already in the chain, which flags the loop.
			var want []string
			seen := map[string]bool{}
			loop := ""
			for k := key; ; {
				want, seen[k] = append(want, k), true
				p, stored := parents[k]
				if seen[p] {
					loop = k
					break
				}
				if max > 0 && len(want) == max || p == "" || !stored {
					break
				}
				_, stored = parents[p]
				if !stored {
					break
				}
				k = p
			}
			slices.Reverse(want)
			got, err := s.Lineage(ctx, key, max)
			if err != nil {
				t.Fatalf("Lineage(%s, %d): %v", key, max, err)
			}
			if !slices.Equal(keys(got), want) {
				t.Fatalf("Lineage(%s, %d) = %v, want %v", key, max, keys(got), want)
			}
			for _, g := range got {
				if g.Flags.Has(cairn.FlagLoop) != (g.Key == loop) {
					t.Fatalf("Lineage(%s, %d): node %s flags %v, want loop only on %q", key, max, g.Key, g.Flags.Names(), loop)
				}
			}
		}
		var want []cairn.ProcessNode
		for _, nd := range nodes {
			if nd.ParentKey == key {
				want = append(want, nd)
			}
		}
		slices.SortFunc(want, func(a, b cairn.ProcessNode) int { return a.Process.StartTime.Compare(b.Process.StartTime) })
		got, err := s.Children(ctx, key, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(keys(got), keys(want)) {
			t.Fatalf("Children(%s) = %v, want %v", key, keys(got), keys(want))
		}
	}
}
