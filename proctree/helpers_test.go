package proctree_test

import (
	"bytes"
	"context"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/proctree"
)

// corpus is the third-party test data, read where it lies.
const corpus = "../../shared/corpus"

const host = "node-a"

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// execEv is an exec event of a source with exec ids.
func execEv(id, parent string, pid int64, bin string, sec int) *cairn.Event {
	return procEv(cairn.KindExec, &cairn.Process{ExecID: id, ParentExecID: parent, PID: pid, Name: path.Base(bin), Binary: bin}, sec)
}

// exitEv is the exit event of the process execEv describes.
func exitEv(id, parent string, pid int64, bin string, sec int) *cairn.Event {
	return procEv(cairn.KindExit, &cairn.Process{ExecID: id, ParentExecID: parent, PID: pid, Name: path.Base(bin), Binary: bin}, sec)
}

// pidEv is an event of a source without exec ids.
func pidEv(kind cairn.Kind, pid, ppid int64, start time.Time, bin string, sec int) *cairn.Event {
	return procEv(kind, &cairn.Process{PID: pid, PPID: ppid, StartTime: start, Name: path.Base(bin), Binary: bin}, sec)
}

func procEv(kind cairn.Kind, p *cairn.Process, sec int) *cairn.Event {
	return &cairn.Event{
		ID: string(kind) + "-" + proctree.Key(p, host), Source: cairn.SourceTetragon, Kind: kind,
		Time: at(sec), Host: host, Process: p,
	}
}

// names returns the process names of a lineage, "?" for a placeholder.
func names(nodes []cairn.ProcessNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Process.Name
		if n.Flags.Has(cairn.FlagUnknown) {
			out[i] = "?"
		}
	}
	return out
}

func keys(nodes []cairn.ProcessNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Key
	}
	return out
}

// ancestorNames returns the names of ev's parent and ancestors, nearest
// first.
func ancestorNames(ev *cairn.Event) []string {
	var out []string
	if ev.Parent != nil {
		out = append(out, ev.Parent.Name)
		for _, a := range ev.Ancestors {
			out = append(out, a.Name)
		}
	}
	return out
}

func mustCheck(tb testing.TB, tbl *proctree.Table) {
	tb.Helper()
	if err := tbl.Check(); err != nil {
		tb.Fatal(err)
	}
}

// node returns the table's node for key, as the tail of its lineage.
func node(tb testing.TB, tbl *proctree.Table, key string) cairn.ProcessNode {
	tb.Helper()
	l := tbl.Lineage(key, 1)
	if len(l) != 1 {
		tb.Fatalf("node %q not held", key)
	}
	return l[0]
}

// checkLineage checks what Lineage promises for key: at most max nodes,
// no key twice, each node the parent of the next, key last.
func checkLineage(tb testing.TB, tbl *proctree.Table, key string, max int) []cairn.ProcessNode {
	tb.Helper()
	l := tbl.Lineage(key, max)
	if len(l) > max {
		tb.Fatalf("Lineage(%q, %d): %d nodes", key, max, len(l))
	}
	if len(l) == 0 {
		return l
	}
	if l[len(l)-1].Key != key {
		tb.Fatalf("Lineage(%q) ends with %q", key, l[len(l)-1].Key)
	}
	seen := map[string]bool{}
	for i, n := range l {
		if seen[n.Key] {
			tb.Fatalf("Lineage(%q) repeats %q: %q", key, n.Key, keys(l))
		}
		seen[n.Key] = true
		if i > 0 && l[i].ParentKey != l[i-1].Key {
			tb.Fatalf("Lineage(%q): %q's parent is %q, not %q", key, n.Key, n.ParentKey, l[i-1].Key)
		}
	}
	return l
}

// corpusEvents decodes the Tetragon corpus files under sub, in path order.
func corpusEvents(tb testing.TB, sub string) []cairn.Event {
	tb.Helper()
	dir := filepath.Join(corpus, "tetragon", sub)
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("corpus not found at %s", dir)
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(files)
	var c decode.Collector
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		err = decode.Decode(context.Background(), r, f, decode.Auto, &c)
		r.Close()
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
	}
	if len(c.Rejects) > 0 || len(c.Events) == 0 {
		tb.Fatalf("corpus: %d events, %d rejects", len(c.Events), len(c.Rejects))
	}
	return c.Events
}

// byTime sorts events by time, keeping the order of equal times.
func byTime(evs []cairn.Event) []cairn.Event {
	out := slices.Clone(evs)
	slices.SortStableFunc(out, func(a, b cairn.Event) int { return a.Time.Compare(b.Time) })
	return out
}

var demoNow = time.Date(2026, 11, 25, 12, 0, 7, 250_000_000, time.UTC)

// demoScenario generates the demo of seed and decodes its Tetragon records.
func demoScenario(tb testing.TB, seed int64) (*demo.Scenario, []cairn.Event) {
	tb.Helper()
	s, err := demo.Generate(demo.Options{Seed: seed, Now: demoNow})
	if err != nil {
		tb.Fatal(err)
	}
	var c decode.Collector
	in := bytes.Join(s.Tetragon, []byte("\n"))
	if err := decode.Decode(context.Background(), bytes.NewReader(in), "demo", decode.Tetragon, &c); err != nil {
		tb.Fatal(err)
	}
	if len(c.Rejects) > 0 || len(c.Events) != len(s.Tetragon) {
		tb.Fatalf("demo seed %d: %d events of %d records, %d rejects", seed, len(c.Events), len(s.Tetragon), len(c.Rejects))
	}
	return s, c.Events
}
