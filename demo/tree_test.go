package demo_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/demo"
)

// checkProcessTrees checks the Tetragon records of s as a stream per node:
// every record is well-formed; each exec id is base64 of
// "node:ktime:pid" and is executed once; pids are unique per node; every
// parent exec id names a process executed earlier on the same node and
// still running, except each node's root, systemd (pid 1), whose parent
// is never reported; parents and ancestors carried in a record agree with
// the stream; exits and kprobes follow their process's exec, and nothing
// follows its exit.
func checkProcessTrees(s *demo.Scenario) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	type state struct {
		rec    ttProc
		execAt time.Time
		exited bool
	}
	nodes := map[string]map[string]*state{}
	pids := map[string]map[uint32]string{}
	roots := map[string]int{}
	for i, raw := range s.Tetragon {
		var r ttRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			fail("record %d: %v", i, err)
			continue
		}
		ev := r.event()
		if ev == nil || ev.Process == nil || r.NodeName == "" {
			fail("record %d: no event, process or node: %s", i, raw)
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil {
			fail("record %d: time: %v", i, err)
			continue
		}
		p := ev.Process
		if msg := checkProc(r.NodeName, p); msg != "" {
			fail("record %d: %s", i, msg)
			continue
		}
		seen := nodes[r.NodeName]
		if seen == nil {
			seen = map[string]*state{}
			nodes[r.NodeName] = seen
			pids[r.NodeName] = map[uint32]string{}
		}
		st := seen[p.ExecID]
		switch {
		case r.Exec != nil:
			if st != nil {
				fail("record %d: %s executed twice", i, p.ExecID)
				continue
			}
			if prev, dup := pids[r.NodeName][*p.PID]; dup {
				fail("record %d: pid %d on %s used by %s and %s", i, *p.PID, r.NodeName, prev, p.Binary)
			}
			pids[r.NodeName][*p.PID] = p.Binary
			parent := seen[p.ParentExecID]
			switch {
			case parent == nil && p.Binary == "/usr/lib/systemd/systemd" && *p.PID == 1:
				roots[r.NodeName]++
			case parent == nil:
				fail("record %d: %s (%s) on %s has parent %s, not executed before", i, p.Binary, p.ExecID, r.NodeName, p.ParentExecID)
			case parent.exited:
				fail("record %d: %s executed after its parent %s exited", i, p.Binary, parent.rec.Binary)
			case startOf(p).Before(startOf(&parent.rec)):
				fail("record %d: %s starts before its parent %s", i, p.Binary, parent.rec.Binary)
			}
			seen[p.ExecID] = &state{rec: *p, execAt: at}
		case st == nil:
			fail("record %d: %s of %s before its exec", i, recordKind(r), p.Binary)
			continue
		case st.exited:
			fail("record %d: %s of %s after its exit", i, recordKind(r), p.Binary)
		case r.Exit != nil:
			if !at.After(st.execAt) {
				fail("record %d: %s exits at %v, not after its exec at %v", i, p.Binary, at, st.execAt)
			}
			st.exited = true
		}
		// The parent and ancestors a record carries are the stream's.
		chain := append([]*ttProc{ev.Parent}, ev.Ancestors...)
		want := p.ParentExecID
		for k, a := range chain {
			if a == nil {
				if k == 0 && roots[r.NodeName] > 0 && seen[want] == nil {
					break // the root has no parent to carry
				}
				fail("record %d: %s lacks its parent", i, p.Binary)
				break
			}
			if a.ExecID != want {
				fail("record %d: ancestor %d of %s is %s, want %s", i, k, p.Binary, a.ExecID, want)
				break
			}
			want = a.ParentExecID
		}
	}
	for n, c := range roots {
		if c != 1 {
			fail("node %s has %d roots", n, c)
		}
	}
	if len(roots) != len(nodes) {
		fail("%d nodes, %d with a root", len(nodes), len(roots))
	}
	return errs
}

func startOf(p *ttProc) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, p.StartTime)
	return t
}

func recordKind(r ttRecord) string {
	if r.Exit != nil {
		return "exit"
	}
	return "kprobe"
}

// checkProc checks the fields every process of a record carries.
func checkProc(node string, p *ttProc) string {
	if p.PID == nil || p.UID == nil || p.AUID == nil || p.Binary == "" || p.Cwd == "" || p.Flags == "" || p.StartTime == "" || p.ParentExecID == "" {
		return fmt.Sprintf("process %s lacks a field", p.ExecID)
	}
	if _, err := time.Parse(time.RFC3339Nano, p.StartTime); err != nil {
		return fmt.Sprintf("start_time: %v", err)
	}
	id, err := base64.StdEncoding.DecodeString(p.ExecID)
	if err != nil {
		return fmt.Sprintf("exec id %q: %v", p.ExecID, err)
	}
	parts := strings.Split(string(id), ":")
	if len(parts) != 3 || parts[0] != node || parts[2] != strconv.FormatUint(uint64(*p.PID), 10) {
		return fmt.Sprintf("exec id %q is not %s:ktime:%d", id, node, *p.PID)
	}
	if k, err := strconv.ParseInt(parts[1], 10, 64); err != nil || k <= 0 {
		return fmt.Sprintf("exec id %q has a bad ktime", id)
	}
	if pod := p.Pod; pod != nil {
		cid, ok := strings.CutPrefix(pod.Container.ID, "containerd://")
		if !ok || len(cid) != 64 || !strings.HasPrefix(cid, p.Docker) || len(p.Docker) != 31 {
			return fmt.Sprintf("container id %q / docker %q", pod.Container.ID, p.Docker)
		}
		if pod.Namespace == "" || pod.Name == "" || pod.Container.Name == "" || pod.Container.Image.Name == "" || pod.Container.PID == nil ||
			pod.Workload == "" || pod.WorkloadKind == "" {
			return fmt.Sprintf("pod of %s lacks a field: %+v", p.Binary, pod)
		}
	}
	return ""
}

func TestProcessTrees(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 1234} {
		for _, e := range checkProcessTrees(mustGenerate(t, seed)) {
			t.Errorf("seed %d: %s", seed, e)
		}
	}
}

// TestProcessTreesCheckCatchesBreaks makes sure the check above can fail:
// a record moved before its parent's exec, a record from another node,
// and a dropped parent are all reported.
func TestProcessTreesCheckCatchesBreaks(t *testing.T) {
	base := mustGenerate(t, 1)
	recs := parseTetragon(t, base)
	child, parent := -1, -1
	for i, r := range recs {
		if r.Exec != nil && strings.HasSuffix(r.Exec.Process.Binary, "/nc") {
			child = i
			break
		}
	}
	if child < 0 {
		t.Fatal("no nc exec record")
	}
	for i, r := range recs[:child] {
		if r.Exec != nil && r.Exec.Process.ExecID == recs[child].Exec.Process.ParentExecID {
			parent = i
		}
	}
	if parent < 0 {
		t.Fatal("no exec record of nc's parent")
	}
	cases := map[string]func(recs [][]byte) [][]byte{
		"child first": func(recs [][]byte) [][]byte {
			return append([][]byte{recs[child]}, append(recs[:child:child], recs[child+1:]...)...)
		},
		"parent dropped": func(recs [][]byte) [][]byte {
			return append(recs[:parent:parent], recs[parent+1:]...)
		},
		"duplicate exec": func(recs [][]byte) [][]byte {
			return append(recs[:child+1:child+1], append([][]byte{recs[child]}, recs[child+1:]...)...)
		},
	}
	for name, mutate := range cases {
		s := *base
		s.Tetragon = mutate(append([][]byte(nil), base.Tetragon...))
		if errs := checkProcessTrees(&s); len(errs) == 0 {
			t.Errorf("%s: the tree check found nothing wrong", name)
		}
	}
}
