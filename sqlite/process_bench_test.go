package sqlite_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
)

// benchExecID returns an exec id shaped as Tetragon's: base64 of node,
// kernel time and pid, so that keys of one host grow and hosts interleave.
func benchExecID(host, n int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "ip-10-0-%d-%d:%d:%d", host/8, host%8, 13348236718395+n*7919, 1000+n%4000000))
}

// benchNode returns the n-th node of a benchmark tree, a full node of the
// size a Tetragon exec gives (about 900 bytes stored), in the c-th
// container.
func benchNode(key, parent string, n, c int) cairn.ProcessNode {
	node := storetest.Node(key, parent, n)
	node.Process.PID = int64(1000 + n%4000000)
	w := storetest.Node("", "", c)
	node.Container, node.K8s = w.Container, w.K8s
	return node
}

// BenchmarkLineage reads the lineage of random leaves in a file store of
// 1,000,000 processes in chains of 10, and reports the 50th and 99th
// percentile latencies. The store is built once per run with
// WriteProcesses, in batches of 10,000 nodes; the build time is logged.
func BenchmarkLineage(b *testing.B) {
	const chains, depth, batch = 100_000, 10, 10_000
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	s := mustOpen(b, path)
	start := time.Now()
	leaves := make([]string, 0, chains)
	nodes := make([]cairn.ProcessNode, 0, batch)
	n := 0
	for c := range chains {
		host, parent := c%64, ""
		for range depth {
			key := benchExecID(host, n)
			nodes = append(nodes, benchNode(key, parent, n, c))
			parent = key
			n++
		}
		leaves = append(leaves, parent)
		if len(nodes) == batch {
			if err := s.WriteProcesses(ctx, nodes); err != nil {
				b.Fatal(err)
			}
			nodes = nodes[:0]
		}
	}
	var size int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(path + suffix); err == nil {
			size += fi.Size()
		}
	}
	b.Logf("wrote %d processes in %v, %d MB", n, time.Since(start).Round(time.Millisecond), size>>20)

	rng := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	for b.Loop() {
		key := leaves[rng.IntN(len(leaves))]
		t0 := time.Now()
		got, err := s.Lineage(ctx, key, 0)
		lat = append(lat, time.Since(t0))
		if err != nil || len(got) != depth {
			b.Fatalf("Lineage: %d nodes, %v", len(got), err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkWriteProcesses writes the nodes ingest makes of 1,000 exec
// events per transaction: each process, its parent (partial, shared by
// three siblings) and two ancestors (shared by the whole batch), so that
// most nodes of a batch merge into others or into stored ones.
func BenchmarkWriteProcesses(b *testing.B) {
	const events = 1000
	ctx := context.Background()
	s := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
	nodes := make([]cairn.ProcessNode, 0, 4*events)
	var written int
	var elapsed time.Duration
	n := 0
	for b.Loop() {
		nodes = nodes[:0]
		root, shim := benchExecID(0, -1), benchExecID(0, -2)
		for i := range events {
			key, parent := benchExecID(1, n+i), benchExecID(2, (n+i)/3)
			nodes = append(nodes, benchNode(key, parent, n+i, 0),
				partial(benchNode(parent, shim, (n+i)/3, 0)),
				partial(benchNode(shim, root, 0, 0)),
				partial(benchNode(root, "", 1, 0)))
		}
		n += events
		t0 := time.Now()
		if err := s.WriteProcesses(ctx, nodes); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		written += len(nodes)
	}
	b.ReportMetric(float64(written)/elapsed.Seconds(), "nodes/s")
}

// partial returns n as a parent or ancestor element gives it.
func partial(n cairn.ProcessNode) cairn.ProcessNode {
	n.Flags, n.Container, n.K8s, n.EventID = cairn.FlagPartial, nil, nil, ""
	return n
}

// BenchmarkEventsAround reads 10 events either side of an event in the
// middle of 100,000 events of one container, half of them of one busy
// process of the scope (a server that makes a connection a second), the
// scope naming 60 processes.
func BenchmarkEventsAround(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	s := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
	busy := storetest.Tetragon(0, storetest.Base).Process.ExecID
	evs := make([]cairn.Event, 0, benchBatch)
	var keys []string
	for i := range n {
		ev := storetest.Tetragon(i, storetest.Base.Add(time.Duration(i)*time.Second))
		ev.Container.ID = "busy-container"
		if i%2 == 0 {
			ev.Process.ExecID = busy
		} else if len(keys) < 59 && i%101 == 1 {
			keys = append(keys, ev.Process.ExecID)
		}
		evs = append(evs, ev)
		if len(evs) == benchBatch {
			if _, err := s.WriteEvents(ctx, evs); err != nil {
				b.Fatal(err)
			}
			evs = evs[:0]
		}
	}
	keys = append(keys, busy)
	mid := storetest.Tetragon(n/2+1, storetest.Base)
	for _, bc := range []struct {
		name  string
		scope cairn.Scope
	}{
		{"processes", cairn.Scope{ProcessKeys: keys}},
		{"container", cairn.Scope{ContainerID: "busy-container"}},
		{"both", cairn.Scope{ProcessKeys: keys, ContainerID: "busy-container", Host: mid.Host}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				pre, post, err := s.EventsAround(ctx, mid, bc.scope, 10, 10)
				if err != nil || len(pre) != 10 || len(post) != 10 && bc.scope.Host == "" {
					b.Fatalf("EventsAround: %d, %d, %v", len(pre), len(post), err)
				}
			}
		})
	}
}
