package proctree_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/proctree"
)

// TestDemoStories checks the lineages of the demo's runtime detections:
// the reverse shell under java, stat /etc/shadow under the benchmark, the
// miner under the script that dropped it.
func TestDemoStories(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s, evs := demoScenario(t, seed)
			// The lineage of each detection's process, as the table knows it
			// when the process executes (by the end of the demo the exited
			// ones are gone).
			want := map[string]bool{}
			for _, st := range s.Truth.Stories {
				for _, d := range st.Detections {
					want[d.ExecID] = d.ExecID != ""
				}
			}
			lineages := map[string][]cairn.ProcessNode{}
			tbl := proctree.New(proctree.Options{})
			for i := range evs {
				tbl.Observe(&evs[i])
				if id := evs[i].Process.ExecID; want[id] && evs[i].Kind == cairn.KindExec {
					lineages[id] = checkLineage(t, tbl, id, 64)
				}
			}
			mustCheck(t, tbl)
			checkLineage := func(t *testing.T, _ *proctree.Table, id string, _ int) []cairn.ProcessNode {
				t.Helper()
				l, ok := lineages[id]
				if !ok {
					t.Fatalf("no exec of %s", id)
				}
				return l
			}
			story := func(id string) demo.Story {
				for _, st := range s.Truth.Stories {
					if st.ID == id {
						return st
					}
				}
				t.Fatalf("no story %s", id)
				return demo.Story{}
			}
			detection := func(st demo.Story, what string) demo.Detection {
				for _, d := range st.Detections {
					if d.What == what && d.ExecID != "" {
						return d
					}
				}
				t.Fatalf("story %s has no detection %q", st.ID, what)
				return demo.Detection{}
			}

			// log4shell: systemd → containerd-shim → java → sh → nc, the
			// container's processes with their pod and image. Above
			// systemd is the kernel, which the demo (like Tetragon) never
			// describes.
			d := detection(story(demo.StoryLog4Shell), "reverse shell")
			l := checkLineage(t, tbl, d.ExecID, 64)
			got := names(l)
			if want := []string{"?", "systemd", "containerd-shim-runc-v2", "java", "sh", "nc"}; !slices.Equal(got, want) {
				t.Errorf("reverse shell lineage %q, want %q", got, want)
			}
			if !l[0].Flags.Has(cairn.FlagUnknown) {
				t.Errorf("the kernel's node %+v", l[0])
			}
			for _, n := range l[1:] {
				inPod := n.Process.Name == "java" || n.Process.Name == "sh" || n.Process.Name == "nc"
				switch {
				case inPod && (n.K8s == nil || n.K8s.Pod != d.Pod || n.Container == nil || n.Container.Image != d.Image):
					t.Errorf("%s: container %+v pod %+v, want pod %s image %s", n.Process.Name, n.Container, n.K8s, d.Pod, d.Image)
				case !inPod && (n.K8s != nil || n.Container != nil):
					t.Errorf("host process %s has container %+v pod %+v", n.Process.Name, n.Container, n.K8s)
				}
				if n.Flags != 0 {
					t.Errorf("%s flags %v", n.Process.Name, n.Flags.Names())
				}
			}
			if nc := l[len(l)-1]; !strings.HasPrefix(nc.Process.Args, "104.199.23.243 9001") && seed == 1 {
				t.Errorf("nc args %q", nc.Process.Args)
			}

			// CIS: stat /etc/shadow run by the benchmark runner, the
			// container's entry point, under containerd-shim.
			st := story(demo.StoryCIS)
			d = detection(st, "sensitive file access")
			l = checkLineage(t, tbl, d.ExecID, 64)
			got = names(l)
			if len(got) < 3 || got[len(got)-1] != "stat" || got[len(got)-2] != d.Parent || d.Parent != st.RootCause.Process ||
				got[len(got)-3] != "containerd-shim-runc-v2" {
				t.Errorf("stat lineage %q, want ... containerd-shim-runc-v2 → %s → stat", got, st.RootCause.Process)
			}
			for _, n := range l[len(l)-2:] {
				if n.Container == nil || n.Container.Name != d.Container {
					t.Errorf("%s: container %+v, want %s", n.Process.Name, n.Container, d.Container)
				}
			}
			if seed == 1 && (d.Parent != "benchmark-runner" || !strings.Contains(l[len(l)-1].Process.Args, "/etc/shadow")) {
				t.Errorf("seed 1: parent %s, args %q", d.Parent, l[len(l)-1].Process.Args)
			}

			// Miner: easyminer under the shell running the script.
			st = story(demo.StoryMiner)
			n := 0
			for _, d := range st.Detections {
				if d.ExecID == "" || d.Process != proctreeBase(d.Binary) || !strings.Contains(d.What, "malicious") {
					continue
				}
				n++
				l := checkLineage(t, tbl, d.ExecID, 64)
				if len(l) < 3 {
					t.Fatalf("miner lineage %q", names(l))
				}
				script := l[len(l)-2]
				if script.Process.Args != st.RootCause.Args || script.Process.Name != st.RootCause.Process || l[1].Process.Name != "systemd" {
					t.Errorf("miner lineage %q, parent %q %q, want %s %q", names(l), script.Process.Name, script.Process.Args, st.RootCause.Process, st.RootCause.Args)
				}
				if seed == 1 && (l[len(l)-1].Process.Name != "easyminer" || script.Process.Args != "./malicious-bin-event-gen.sh") {
					t.Errorf("seed 1: %s run by %q", l[len(l)-1].Process.Name, script.Process.Args)
				}
			}
			if n < 2 {
				t.Errorf("%d miner detections checked", n)
			}
		})
	}
}

func proctreeBase(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// TestDemoEnrich strips the parents and ancestors from the demo's events,
// and, in a second pass, their exec ids too (a source with pids only):
// Enrich restores what Tetragon reported.
func TestDemoEnrich(t *testing.T) {
	_, evs := demoScenario(t, 2)
	for _, mode := range []string{"exec ids", "pids"} {
		t.Run(mode, func(t *testing.T) {
			tbl := proctree.New(proctree.Options{})
			for i, orig := range evs {
				ev := orig
				p := *ev.Process
				ev.Process = &p
				ev.Parent, ev.Ancestors = nil, nil
				if mode == "pids" {
					p.ExecID, p.ParentExecID = "", ""
				}
				tbl.Observe(&ev)
				tbl.Enrich(&ev)
				want, got := lineageIDs(&orig, mode), lineageIDs(&ev, mode)
				if !slices.Equal(got, want) {
					t.Fatalf("event %d (%s %s): ancestors %q, want %q", i, ev.Kind, p.Binary, got, want)
				}
			}
			mustCheck(t, tbl)
		})
	}
}

// lineageIDs names ev's parent and ancestors by exec id or pid.
func lineageIDs(ev *cairn.Event, mode string) []string {
	var out []string
	add := func(p *cairn.Process) {
		if mode == "pids" {
			out = append(out, fmt.Sprint(p.PID, p.Name))
		} else {
			out = append(out, p.ExecID)
		}
	}
	if ev.Parent != nil {
		add(ev.Parent)
		for i := range ev.Ancestors {
			add(&ev.Ancestors[i])
		}
	}
	return out
}
