package proctree_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/proctree"
)

// BenchmarkChurn runs a million short-lived processes (exec, then exit
// 50ms later, 100ms apart, each under one long-lived parent, the parent
// carried in each record as Tetragon does) through Observe, and reports
// the table's size and the heap in use after the first 10,000 and at the
// end: with the default 5-minute grace period both stay flat.
func BenchmarkChurn(b *testing.B) {
	const procs = 1_000_000
	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapInuse) / (1 << 20)
	}
	parent := cairn.Process{ExecID: "shim", PID: 100, Name: "containerd-shim", Binary: "/usr/bin/containerd-shim"}
	runs := 0
	for b.Loop() {
		runs++
		tbl := proctree.New(proctree.Options{})
		tbl.Observe(&cairn.Event{ID: "shim", Kind: cairn.KindExec, Time: t0, Host: host, Process: &parent})
		var nodes10k, heap10k float64
		for i := range procs {
			if i == 10_000 {
				b.StopTimer()
				nodes10k, heap10k = float64(tbl.Len()), heap()
				b.StartTimer()
			}
			id := strconv.Itoa(i)
			p := &cairn.Process{ExecID: id, ParentExecID: "shim", PID: int64(1000 + i%30000), Name: "sh", Binary: "/bin/sh", Args: "-c true"}
			start := t0.Add(time.Duration(i) * 100 * time.Millisecond)
			tbl.Observe(&cairn.Event{ID: "x" + id, Kind: cairn.KindExec, Time: start, Host: host, Process: p, Parent: &parent})
			tbl.Observe(&cairn.Event{ID: "e" + id, Kind: cairn.KindExit, Time: start.Add(50 * time.Millisecond), Host: host, Process: p, Parent: &parent})
		}
		b.StopTimer()
		b.ReportMetric(nodes10k, "nodes@10k")
		b.ReportMetric(float64(tbl.Len()), "nodes@1M")
		b.ReportMetric(heap10k, "heapMB@10k")
		b.ReportMetric(heap(), "heapMB@1M")
		runtime.KeepAlive(tbl)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(runs)/procs, "ns/process")
		b.StartTimer()
	}
}

// BenchmarkLineage looks up the lineage of the deepest process of one of
// 1,000 chains 10 deep.
func BenchmarkLineage(b *testing.B) {
	const chains, depth = 1000, 10
	tbl := proctree.New(proctree.Options{})
	for c := range chains {
		parent := ""
		for d := range depth {
			id := strconv.Itoa(c) + "/" + strconv.Itoa(d)
			tbl.Observe(execEv(id, parent, int64(c*depth+d+1), "/bin/sh", d))
			parent = id
		}
	}
	leaves := make([]string, chains)
	for c := range leaves {
		leaves[c] = strconv.Itoa(c) + "/" + strconv.Itoa(depth-1)
	}
	i := 0
	for b.Loop() {
		if l := tbl.Lineage(leaves[i%chains], 32); len(l) != depth {
			b.Fatalf("lineage of %d", len(l))
		}
		i++
	}
}

// BenchmarkEnrich fills the parent and ancestors of an event whose source
// carries none, in the same table.
func BenchmarkEnrich(b *testing.B) {
	tbl := proctree.New(proctree.Options{})
	parent := ""
	for d := range 10 {
		id := "c/" + strconv.Itoa(d)
		tbl.Observe(execEv(id, parent, int64(d+1), "/bin/sh", d))
		parent = id
	}
	p := &cairn.Process{ExecID: "c/9", PID: 10}
	for b.Loop() {
		ev := cairn.Event{Host: host, Process: p}
		tbl.Enrich(&ev)
		if len(ev.Ancestors) != 8 {
			b.Fatalf("%d ancestors", len(ev.Ancestors))
		}
	}
}
