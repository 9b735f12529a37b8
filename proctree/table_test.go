package proctree_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/proctree"
)

func TestKey(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC)
	tests := []struct {
		p    *cairn.Process
		want string
	}{
		{nil, ""},
		{&cairn.Process{}, ""},
		{&cairn.Process{ExecID: "x", PID: 4}, "x"},
		{&cairn.Process{PID: 4}, "hp:h:4:0"},
		{&cairn.Process{PID: 4, StartTime: start}, cairn.HostPIDKey("h", 4, start)},
	}
	for _, tt := range tests {
		if got := proctree.Key(tt.p, "h"); got != tt.want {
			t.Errorf("Key(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestObserveReturnsChanges(t *testing.T) {
	tbl := proctree.New(proctree.Options{})
	got := tbl.Observe(execEv("c", "p", 20, "/bin/sh", 1))
	if k := keys(got); !slices.Equal(k, []string{"c", "p"}) {
		t.Fatalf("first Observe returned %q, want the child and its placeholder", k)
	}
	if p := got[1]; !p.Flags.Has(cairn.FlagUnknown) || p.Host != host || p.LastSeen != at(1) {
		t.Errorf("placeholder %+v", p)
	}
	if c := got[0]; c.ParentKey != "p" || c.Flags != 0 || c.EventID != "process_exec-c" || c.LastSeen != at(1) {
		t.Errorf("child %+v", c)
	}
	// The same event again changes nothing.
	if got := tbl.Observe(execEv("c", "p", 20, "/bin/sh", 1)); len(got) != 0 {
		t.Errorf("repeat returned %q", keys(got))
	}
	// A later event moves LastSeen only.
	got = tbl.Observe(procEv(cairn.KindFile, &cairn.Process{ExecID: "c", ParentExecID: "p", PID: 20, Binary: "/bin/sh"}, 5))
	if len(got) != 1 || got[0].LastSeen != at(5) || got[0].EventID != "process_exec-c" {
		t.Errorf("later event returned %+v", got)
	}
	mustCheck(t, tbl)
}

func TestOutOfOrder(t *testing.T) {
	tbl := proctree.New(proctree.Options{})
	tbl.Observe(execEv("nc", "sh", 30, "/usr/bin/nc", 3))
	if l := tbl.Lineage("nc", 10); !slices.Equal(names(l), []string{"?", "nc"}) || !l[0].Flags.Has(cairn.FlagUnknown) {
		t.Fatalf("before the parent: %q", names(l))
	}
	got := tbl.Observe(execEv("sh", "java", 20, "/bin/sh", 2))
	if !slices.Equal(keys(got), []string{"sh", "java"}) {
		t.Errorf("parent's exec returned %q", keys(got))
	}
	tbl.Observe(execEv("java", "shim", 10, "/usr/bin/java", 1))
	l := tbl.Lineage("nc", 10)
	if !slices.Equal(names(l), []string{"?", "java", "sh", "nc"}) {
		t.Fatalf("after the parents: %q", names(l))
	}
	for _, n := range l[1:] {
		if n.Flags != 0 {
			t.Errorf("%s flags %v", n.Key, n.Flags.Names())
		}
	}
	if got := tbl.Lineage("nc", 2); !slices.Equal(names(got), []string{"sh", "nc"}) {
		t.Errorf("Lineage max 2: %q", names(got))
	}
	mustCheck(t, tbl)
}

func TestMissingParent(t *testing.T) {
	tbl := proctree.New(proctree.Options{})
	ev := execEv("c", "gone", 20, "/bin/sh", 1)
	tbl.Observe(ev)
	tbl.Observe(execEv("c2", "gone", 21, "/bin/ls", 2))
	tbl.Enrich(ev)
	if ev.Parent != nil || ev.Ancestors != nil {
		t.Errorf("Enrich filled %+v %+v from a placeholder", ev.Parent, ev.Ancestors)
	}
	l := tbl.Lineage("c", 10)
	if len(l) != 2 || l[0].Key != "gone" || l[0].Flags != cairn.FlagUnknown || l[1].ParentKey != "gone" {
		t.Fatalf("lineage %+v", l)
	}
	if tbl.Len() != 3 {
		t.Errorf("Len %d, want 3", tbl.Len())
	}
	mustCheck(t, tbl)
}

func TestPartialThenFull(t *testing.T) {
	tbl := proctree.New(proctree.Options{})
	ev := execEv("c", "p", 20, "/bin/sh", 2)
	ev.Parent = &cairn.Process{ExecID: "p", ParentExecID: "g", PID: 10, Name: "bash", Binary: "/bin/bash"}
	ev.Ancestors = []cairn.Process{{ExecID: "g", PID: 1, Name: "init", Binary: "/sbin/init"}}
	tbl.Observe(ev)
	l := tbl.Lineage("c", 10)
	if !slices.Equal(names(l), []string{"init", "bash", "sh"}) {
		t.Fatalf("lineage %q", names(l))
	}
	if !l[0].Flags.Has(cairn.FlagPartial) || !l[1].Flags.Has(cairn.FlagPartial) || l[2].Flags != 0 {
		t.Errorf("flags %v %v %v", l[0].Flags.Names(), l[1].Flags.Names(), l[2].Flags.Names())
	}
	full := execEv("p", "g", 10, "/bin/bash", 1)
	full.Process.Args = "-l"
	full.Container = &cairn.Container{ID: "abc"}
	full.K8s = &cairn.K8s{Cluster: "c1", Namespace: "ns", Pod: "pod"}
	got := tbl.Observe(full)
	if len(got) != 1 || got[0].Flags != 0 || got[0].Process.Args != "-l" || got[0].Container.ID != "abc" || got[0].K8s.Pod != "pod" {
		t.Errorf("filled parent %+v", got)
	}
	// A host process keeps no Kubernetes context that names no pod.
	host := execEv("g", "", 1, "/sbin/init", 0)
	host.K8s = &cairn.K8s{Cluster: "c1"}
	if got := tbl.Observe(host); len(got) != 1 || got[0].K8s != nil || got[0].Container != nil {
		t.Errorf("host node %+v", got)
	}
	mustCheck(t, tbl)
}

func TestConflict(t *testing.T) {
	tbl := proctree.New(proctree.Options{})
	tbl.Observe(execEv("x", "p", 20, "/bin/sh", 1))
	tests := []struct {
		name string
		ev   *cairn.Event
		want cairn.NodeFlags
	}{
		{"same", execEv("x", "p", 20, "/bin/sh", 2), 0},
		{"another binary", execEv("x", "p", 20, "/usr/bin/7z", 3), cairn.FlagConflict},
		{"another pid", execEv("x", "p", 21, "/bin/sh", 4), cairn.FlagConflict},
		{"another parent", execEv("x", "q", 20, "/bin/sh", 5), cairn.FlagConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := proctree.New(proctree.Options{})
			tbl.Observe(execEv("x", "p", 20, "/bin/sh", 1))
			tbl.Observe(tt.ev)
			n := node(t, tbl, "x")
			if n.Flags != tt.want || n.Process.Binary != "/bin/sh" || n.Process.PID != 20 || n.ParentKey != "p" {
				t.Errorf("node %+v flags %v", n.Process, n.Flags.Names())
			}
			mustCheck(t, tbl)
		})
	}
	// An exit under a reused key with another pid is not the first
	// process's exit.
	tbl.Observe(exitEv("x", "p", 99, "/usr/bin/7z", 6))
	if n := node(t, tbl, "x"); !n.ExitTime.IsZero() || !n.Flags.Has(cairn.FlagConflict) {
		t.Errorf("after a foreign exit: %+v", n)
	}
}

func TestLoops(t *testing.T) {
	t.Run("self", func(t *testing.T) {
		tbl := proctree.New(proctree.Options{})
		got := tbl.Observe(execEv("a", "a", 5, "/bin/sh", 1))
		if len(got) != 1 || got[0].Flags != cairn.FlagLoop || got[0].ParentKey != "" {
			t.Fatalf("self-parent: %+v", got)
		}
		if l := checkLineage(t, tbl, "a", 10); len(l) != 1 {
			t.Errorf("lineage %q", keys(l))
		}
	})
	t.Run("self in the record's parent", func(t *testing.T) {
		tbl := proctree.New(proctree.Options{})
		ev := execEv("a", "b", 5, "/bin/sh", 1)
		ev.Parent = &cairn.Process{ExecID: "a", ParentExecID: "b", PID: 5, Binary: "/bin/sh"}
		tbl.Observe(ev)
		if l := checkLineage(t, tbl, "a", 10); !slices.Equal(keys(l), []string{"b", "a"}) {
			t.Errorf("lineage %q", keys(l))
		}
	})
	t.Run("two", func(t *testing.T) {
		tbl := proctree.New(proctree.Options{})
		tbl.Observe(execEv("a", "b", 5, "/bin/sh", 1))
		tbl.Observe(execEv("b", "a", 6, "/bin/sh", 2))
		if n := node(t, tbl, "b"); n.Flags != cairn.FlagLoop || n.ParentKey != "" {
			t.Errorf("b: %+v", n)
		}
		if l := checkLineage(t, tbl, "a", 10); !slices.Equal(keys(l), []string{"b", "a"}) {
			t.Errorf("lineage %q", keys(l))
		}
		mustCheck(t, tbl)
	})
	t.Run("pid", func(t *testing.T) {
		tbl := proctree.New(proctree.Options{})
		start := at(0)
		tbl.Observe(pidEv(cairn.KindExec, 7, 7, start, "/bin/sh", 1))
		tbl.Observe(pidEv(cairn.KindFile, 7, 7, start, "/bin/sh", 2))
		key := cairn.HostPIDKey(host, 7, start)
		if n := node(t, tbl, key); !n.Flags.Has(cairn.FlagLoop) || n.ParentKey == key {
			t.Errorf("pid self-parent: %+v", n)
		}
		checkLineage(t, tbl, key, 10)
		mustCheck(t, tbl)
	})
}

func TestPIDReuse(t *testing.T) {
	tbl := proctree.New(proctree.Options{})
	s1, s2 := at(0), at(100)
	tbl.Observe(pidEv(cairn.KindExec, 1, 0, at(-1000), "/sbin/init", 0))
	tbl.Observe(pidEv(cairn.KindExec, 100, 1, s1, "/bin/bash", 1))
	tbl.Observe(pidEv(cairn.KindExec, 200, 100, at(2), "/bin/ls", 2))
	tbl.Observe(pidEv(cairn.KindExit, 100, 1, s1, "/bin/bash", 50))
	tbl.Observe(pidEv(cairn.KindExec, 100, 1, s2, "/usr/sbin/nginx", 100))
	tbl.Observe(pidEv(cairn.KindExec, 300, 100, at(101), "/bin/cat", 101))

	first, second := cairn.HostPIDKey(host, 100, s1), cairn.HostPIDKey(host, 100, s2)
	if first == second {
		t.Fatal("pid reuse keys collide")
	}
	if l := tbl.Lineage(cairn.HostPIDKey(host, 200, at(2)), 10); !slices.Equal(names(l), []string{"init", "bash", "ls"}) || l[1].Key != first {
		t.Errorf("first child: %q", names(l))
	}
	if l := tbl.Lineage(cairn.HostPIDKey(host, 300, at(101)), 10); !slices.Equal(names(l), []string{"init", "nginx", "cat"}) || l[1].Key != second {
		t.Errorf("second child: %q", names(l))
	}
	if n := node(t, tbl, first); n.ExitTime != at(50) || n.Flags != 0 {
		t.Errorf("first: %+v", n)
	}
	if n := node(t, tbl, second); !n.ExitTime.IsZero() || n.Flags != 0 {
		t.Errorf("second: %+v", n)
	}
	mustCheck(t, tbl)
}

func TestPIDWithoutStartTime(t *testing.T) {
	// Falco-like: pids and parent pids only. A child seen before its
	// parent gets a placeholder for the parent pid, which the parent's own
	// event fills.
	tbl := proctree.New(proctree.Options{})
	var zero time.Time
	child := pidEv(cairn.KindExec, 200, 100, zero, "/bin/ls", 1)
	tbl.Observe(child)
	if l := tbl.Lineage(cairn.HostPIDKey(host, 200, zero), 10); len(l) != 2 || !l[0].Flags.Has(cairn.FlagUnknown) || l[0].Process.PID != 100 {
		t.Fatalf("placeholder: %+v", l)
	}
	tbl.Observe(pidEv(cairn.KindExec, 100, 1, zero, "/bin/bash", 2))
	tbl.Observe(pidEv(cairn.KindExec, 1, 0, zero, "/sbin/init", 3))
	if l := tbl.Lineage(cairn.HostPIDKey(host, 200, zero), 10); !slices.Equal(names(l), []string{"init", "bash", "ls"}) {
		t.Errorf("filled: %q", names(l))
	}
	// With start times, the parent's key differs from the placeholder's;
	// the child moves to the parent at its next event.
	tbl = proctree.New(proctree.Options{})
	tbl.Observe(pidEv(cairn.KindExec, 200, 100, at(1), "/bin/ls", 1))
	tbl.Observe(pidEv(cairn.KindExec, 100, 1, at(0), "/bin/bash", 2))
	got := tbl.Observe(pidEv(cairn.KindFile, 200, 100, at(1), "/bin/ls", 3))
	if l := tbl.Lineage(cairn.HostPIDKey(host, 200, at(1)), 10); !slices.Equal(names(l), []string{"?", "bash", "ls"}) {
		t.Errorf("relinked: %q (returned %q)", names(l), keys(got))
	}
	if tbl.Len() != 3 {
		t.Errorf("Len %d: the empty placeholder should be gone", tbl.Len())
	}
	mustCheck(t, tbl)
}

func TestExitGrace(t *testing.T) {
	grace := time.Minute
	tbl := proctree.New(proctree.Options{Grace: grace})
	tbl.Observe(execEv("p", "", 10, "/bin/bash", 0))
	tbl.Observe(execEv("c", "p", 20, "/bin/sleep", 1))
	tbl.Observe(execEv("g", "c", 30, "/bin/cat", 2))
	tbl.Observe(exitEv("c", "p", 20, "/bin/sleep", 10)) // c exits, g still runs
	tick := func(sec int) { tbl.Observe(execEv("tick", "", 99, "/bin/true", sec)) }
	tick(200)
	if tbl.Len() != 4 {
		t.Fatalf("Len %d: an exited parent with a running child must stay", tbl.Len())
	}
	tbl.Observe(exitEv("g", "c", 30, "/bin/cat", 300))
	tick(300 + 59)
	if tbl.Len() != 4 {
		t.Fatalf("Len %d: evicted before the grace period", tbl.Len())
	}
	if l := tbl.Lineage("g", 10); !slices.Equal(names(l), []string{"bash", "sleep", "cat"}) || l[1].ExitTime != at(10) || l[2].ExitTime != at(300) {
		t.Fatalf("lineage %+v", l)
	}
	tick(300 + 61)
	if tbl.Len() != 2 || tbl.Lineage("g", 10) != nil || tbl.Lineage("c", 10) != nil {
		t.Errorf("Len %d after the grace period: both exited processes should be gone", tbl.Len())
	}
	// Out of order in time: an old event does not move the clock back.
	tbl.Observe(execEv("late", "p", 40, "/bin/ls", 5))
	tbl.Observe(exitEv("late", "p", 40, "/bin/ls", 6))
	tick(300 + 62)
	if tbl.Lineage("late", 1) == nil {
		t.Error("a late exit was evicted before its grace period in table time")
	}
	tick(300 + 62 + 61)
	if tbl.Lineage("late", 1) != nil {
		t.Error("a late exit was kept after its grace period")
	}
	mustCheck(t, tbl)
}

func TestMaxNodes(t *testing.T) {
	tbl := proctree.New(proctree.Options{MaxNodes: 50, Grace: time.Hour})
	tbl.Observe(execEv("root", "", 1, "/sbin/init", 0))
	// 30 exited processes, then live ones: the exited go first, oldest
	// first, before any live one.
	for i := range 30 {
		id := "dead" + itoa(i)
		tbl.Observe(execEv(id, "root", int64(100+i), "/bin/true", 1+i))
		tbl.Observe(exitEv(id, "root", int64(100+i), "/bin/true", 1+i))
	}
	for i := range 40 {
		tbl.Observe(execEv("live"+itoa(i), "root", int64(1000+i), "/bin/sleep", 100+i))
		if tbl.Len() > 50 {
			t.Fatalf("Len %d over the cap", tbl.Len())
		}
		mustCheck(t, tbl)
	}
	for i := range 40 {
		if tbl.Lineage("live"+itoa(i), 1) == nil {
			t.Errorf("live%d evicted while exited processes were held", i)
		}
	}
	if tbl.Lineage("dead29", 1) == nil || tbl.Lineage("dead19", 1) != nil {
		t.Error("exited processes were not evicted oldest first")
	}
	// Only live processes left: the least recently seen go.
	for i := range 100 {
		tbl.Observe(execEv("root", "", 1, "/sbin/init", 200+i)) // keep root fresh
		tbl.Observe(execEv("more"+itoa(i), "root", int64(5000+i), "/bin/sleep", 200+i))
	}
	if tbl.Len() != 50 || tbl.Lineage("live0", 1) != nil || tbl.Lineage("more99", 1) == nil || tbl.Lineage("root", 1) == nil {
		t.Errorf("Len %d; least recently seen not evicted first", tbl.Len())
	}
	mustCheck(t, tbl)
}

func TestEnrich(t *testing.T) {
	tbl := proctree.New(proctree.Options{})
	bins := []string{"/sbin/init", "/usr/bin/containerd-shim", "/usr/bin/java", "/bin/sh", "/usr/bin/nc"}
	parent := ""
	for i, b := range bins {
		id := "e" + itoa(i)
		tbl.Observe(execEv(id, parent, int64(10+i), b, i))
		parent = id
	}
	tests := []struct {
		name  string
		setup func(ev *cairn.Event)
		want  []string
	}{
		{"none carried", func(*cairn.Event) {}, []string{"sh", "java", "containerd-shim", "init"}},
		{"parent carried", func(ev *cairn.Event) {
			ev.Parent = &cairn.Process{ExecID: "e3", PID: 13, Name: "dash"}
		}, []string{"dash", "java", "containerd-shim", "init"}},
		{"parent and ancestor carried", func(ev *cairn.Event) {
			ev.Parent = &cairn.Process{ExecID: "e3", Name: "sh"}
			ev.Ancestors = []cairn.Process{{ExecID: "e2", Name: "java"}}
		}, []string{"sh", "java", "containerd-shim", "init"}},
		{"pid only", func(ev *cairn.Event) {
			ev.Parent = &cairn.Process{PID: 13, Name: "sh"}
		}, []string{"sh", "java", "containerd-shim", "init"}},
		{"another parent", func(ev *cairn.Event) {
			ev.Parent = &cairn.Process{ExecID: "other", Name: "x"}
		}, []string{"x"}},
		{"all carried", func(ev *cairn.Event) {
			ev.Parent = &cairn.Process{Name: "a"}
			ev.Ancestors = []cairn.Process{{Name: "b"}, {Name: "c"}, {Name: "d"}}
		}, []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := procEv(cairn.KindFile, &cairn.Process{ExecID: "e4", ParentExecID: "e3", PID: 14, Binary: "/usr/bin/nc"}, 10)
			tt.setup(ev)
			tbl.Enrich(ev)
			if got := ancestorNames(ev); !slices.Equal(got, tt.want) {
				t.Errorf("ancestors %q, want %q", got, tt.want)
			}
		})
	}
	// An exit code is the ancestor's own, not the event's.
	tbl.Observe(func() *cairn.Event {
		ev := exitEv("e3", "e2", 13, "/bin/sh", 20)
		code := int64(1)
		ev.Process.ExitCode = &code
		return ev
	}())
	ev := procEv(cairn.KindFile, &cairn.Process{ExecID: "e4", PID: 14}, 21)
	tbl.Enrich(ev)
	if ev.Parent == nil || ev.Parent.ExitCode != nil || ev.Process.PPID != 13 {
		t.Errorf("parent %+v, ppid %d", ev.Parent, ev.Process.PPID)
	}
}

func TestEnrichDepth(t *testing.T) {
	tbl := proctree.New(proctree.Options{})
	parent := ""
	for i := range 50 {
		id := "d" + itoa(i)
		tbl.Observe(execEv(id, parent, int64(i+1), "/bin/sh", i))
		parent = id
	}
	ev := procEv(cairn.KindFile, &cairn.Process{ExecID: "d49", PID: 50}, 60)
	tbl.Enrich(ev)
	if ev.Parent == nil || ev.Parent.ExecID != "d48" || len(ev.Ancestors) != proctree.MaxDepth-1 || ev.Ancestors[len(ev.Ancestors)-1].ExecID != "d17" {
		t.Errorf("parent %+v, %d ancestors", ev.Parent, len(ev.Ancestors))
	}
	if l := checkLineage(t, tbl, "d49", 100); len(l) != 50 || l[0].Key != "d0" {
		t.Errorf("lineage of %d from %q", len(l), l[0].Key)
	}
	if l := checkLineage(t, tbl, "d49", 5); !slices.Equal(keys(l), []string{"d45", "d46", "d47", "d48", "d49"}) {
		t.Errorf("lineage max 5: %q", keys(l))
	}
	if tbl.Lineage("d49", 0) != nil || tbl.Lineage("nope", 5) != nil {
		t.Error("Lineage of max 0 or an unknown key is not nil")
	}
}

func TestLookup(t *testing.T) {
	stored := map[string]cairn.ProcessNode{
		"java": {Key: "java", ParentKey: "shim", Host: host, Process: cairn.Process{ExecID: "java", PID: 10, Name: "java", Binary: "/usr/bin/java"}},
		"shim": {Key: "shim", ParentKey: "init", Host: host, Process: cairn.Process{ExecID: "shim", PID: 5, Name: "containerd-shim"}},
		"init": {Key: "init", Host: host, Process: cairn.Process{ExecID: "init", PID: 1, Name: "init"}},
	}
	calls := map[string]int{}
	tbl := proctree.New(proctree.Options{Lookup: func(key string) (cairn.ProcessNode, bool) {
		calls[key]++
		n, ok := stored[key]
		return n, ok
	}})
	ev := execEv("sh", "java", 20, "/bin/sh", 1)
	got := tbl.Observe(ev)
	if !slices.Equal(keys(got), []string{"sh"}) {
		t.Errorf("Observe returned %q; stored nodes need no writing", keys(got))
	}
	tbl.Enrich(ev)
	if want := []string{"java", "containerd-shim", "init"}; !slices.Equal(ancestorNames(ev), want) {
		t.Errorf("ancestors %q, want %q", ancestorNames(ev), want)
	}
	if calls["sh"] != 0 {
		t.Error("Lookup asked for the process the event describes")
	}
	for i := range 20 {
		tbl.Observe(execEv("x"+itoa(i), "unknown", int64(100+i), "/bin/ls", 2+i))
		tbl.Lineage("x"+itoa(i), 10)
	}
	if calls["unknown"] != 1 || calls["java"] != 1 || calls["init"] != 1 {
		t.Errorf("Lookup calls %v", calls)
	}
	tbl.Lineage("never", 10)
	tbl.Lineage("never", 10)
	if calls["never"] != 1 {
		t.Errorf("a miss was asked %d times", calls["never"])
	}
	mustCheck(t, tbl)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
