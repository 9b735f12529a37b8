package sensor

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

const (
	dockerID = "3f4e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
	podUID   = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	btime    = 1700000000
)

// fakeProc is a proc file system in a temporary directory, with an etc
// beside it.
type fakeProc struct {
	t    *testing.T
	root string // .../proc
}

func newFakeProc(t *testing.T) *fakeProc {
	t.Helper()
	dir := t.TempDir()
	f := &fakeProc{t: t, root: filepath.Join(dir, "proc")}
	f.write("stat", fmt.Sprintf("cpu  1 2 3 4\nintr 0\nbtime %d\nprocesses 9\n", btime))
	f.write("../etc/passwd", "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\n")
	return f
}

func (f *fakeProc) write(name, content string) {
	f.t.Helper()
	p := filepath.Join(f.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

type fakeProcess struct {
	pid, ppid int
	comm, exe string
	argv      []string
	uid       int
	start     uint64 // ticks
	cgroup    string
	nspid     []int
	kthread   bool
}

func (f *fakeProc) add(p fakeProcess) {
	f.t.Helper()
	d := fmt.Sprint(p.pid)
	flags := 0x400100
	if p.kthread {
		flags |= pfKthread
	}
	f.write(d+"/stat", fmt.Sprintf("%d (%s) S %d %d %d 34817 %d %d 0 0 0 0 0 0 0 0 20 0 1 0 %d 1000 100 0\n",
		p.pid, p.comm, p.ppid, p.pid, p.pid, p.pid, flags, p.start))
	nspid := fmt.Sprint(p.pid)
	for _, n := range p.nspid {
		nspid += fmt.Sprintf("\t%d", n)
	}
	f.write(d+"/status", fmt.Sprintf("Name:\t%s\nPPid:\t%d\nUid:\t%d\t%d\t%d\t%d\nGid:\t7\t8\t8\t8\nNSpid:\t%s\n",
		p.comm, p.ppid, p.uid, p.uid, p.uid, p.uid, nspid))
	if p.kthread {
		return
	}
	f.write(d+"/cmdline", strings.Join(p.argv, "\x00")+"\x00")
	cg := p.cgroup
	if cg == "" {
		cg = "/user.slice/user-0.slice/session-1.scope"
	}
	f.write(d+"/cgroup", "0::"+cg+"\n")
	f.write(d+"/loginuid", "1000")
	if err := os.Symlink(p.exe, filepath.Join(f.root, d, "exe")); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Symlink("/home/alice", filepath.Join(f.root, d, "cwd")); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeProc) remove(pid int) {
	if err := os.RemoveAll(filepath.Join(f.root, fmt.Sprint(pid))); err != nil {
		f.t.Fatal(err)
	}
}

// fakeClock: kernel timestamps are nanoseconds since boot; CLOCK_MONOTONIC
// equals CLOCK_BOOTTIME.
type fakeClock struct{ now uint64 }

func (c *fakeClock) mono() uint64               { return c.now }
func (c *fakeClock) wall(ts uint64) time.Time   { return time.Unix(btime, int64(ts)) }
func (c *fakeClock) bootTicks(ts uint64) uint64 { return ts / 1e7 }

func newTracker(t *testing.T, f *fakeProc) (*tracker, *[]cairn.Event) {
	t.Helper()
	fs, err := newProcFS(f.root)
	if err != nil {
		t.Fatal(err)
	}
	var out []cairn.Event
	return &tracker{
		host: "node1", fs: fs, clk: &fakeClock{now: 5e9}, stats: &counters{},
		log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		procs: map[int32]*entry{}, emit: func(ev cairn.Event) { out = append(out, ev) },
	}, &out
}

func get(t *testing.T, ev *cairn.Event, name string) any {
	t.Helper()
	ref, err := field.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := ref.Get(ev)
	return v
}

func TestParseStat(t *testing.T) {
	st, err := parseStat([]byte("4242 (a) b (c) S 7 4242 4000 34817 4242 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123456 1000 100\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "a) b (c" || st.ppid != 7 || st.pgrp != 4242 || st.session != 4000 || st.tty != 34817 || st.start != 123456 {
		t.Fatalf("parseStat = %+v", st)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2", "1 (x) S a 1 1 1 1 1 0 0 0 0 0 0 0 0 20 0 1 0 5 1"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
}

func TestJoinArgs(t *testing.T) {
	for in, want := range map[string]string{
		"sh\x00-c\x00stat /etc/shadow; true\x00": `-c "stat /etc/shadow; true"`,
		"ls\x00-l\x00/tmp\x00":                   "-l /tmp",
		"sleep\x00":                              "",
		"":                                       "",
	} {
		if got := joinArgs([]byte(in)); got != want {
			t.Errorf("joinArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWorkloadFromCgroup(t *testing.T) {
	crioID := strings.Repeat("ab", 32)
	podU := strings.ReplaceAll(podUID, "-", "_")
	tests := []struct {
		name, cgroup            string
		id, runtime, wantPodUID string
	}{
		{"docker systemd", "0::/system.slice/docker-" + dockerID + ".scope", dockerID, "docker", ""},
		{"docker cgroupfs v1", "12:pids:/docker/" + dockerID + "\n11:memory:/docker/" + dockerID, dockerID, "docker", ""},
		{"containerd systemd", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podU + ".slice/cri-containerd-" + dockerID + ".scope", dockerID, "containerd", podUID},
		{"containerd colon", "0::/system.slice/containerd.service/kubepods-besteffort-pod" + podU + ".slice:cri-containerd:" + dockerID, dockerID, "containerd", podUID},
		{"cri-o", "0::/kubepods.slice/kubepods-pod" + podU + ".slice/crio-" + crioID + ".scope", crioID, "cri-o", podUID},
		{"kubepods cgroupfs", "4:cpu:/kubepods/besteffort/pod" + podUID + "/" + dockerID, dockerID, "", podUID},
		{"host", "0::/user.slice/user-1000.slice/session-3.scope", "", "", ""},
		{"cri-o monitor", "0::/kubepods.slice/crio-conmon-" + crioID + ".scope", "", "", ""},
		{"short hex", "0::/docker/abc123", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, k := workloadFromCgroup(tt.cgroup)
			if tt.id == "" {
				if c != nil || k != nil {
					t.Fatalf("got %+v %+v, want none", c, k)
				}
				return
			}
			if c == nil || c.FullID != tt.id || c.ID != tt.id[:12] || c.Runtime != tt.runtime {
				t.Fatalf("container = %+v, want id %s runtime %q", c, tt.id, tt.runtime)
			}
			got := ""
			if k != nil {
				got = k.PodUID
			}
			if got != tt.wantPodUID {
				t.Fatalf("pod uid = %q, want %q", got, tt.wantPodUID)
			}
		})
	}
}

func TestWalk(t *testing.T) {
	f := newFakeProc(t)
	// Listed out of order: the child (300) has a lower pid than its
	// parent's parent would suggest, and starts after it.
	f.add(fakeProcess{pid: 300, ppid: 200, comm: "sh", exe: "/usr/bin/dash", argv: []string{"sh", "-c", "id; true"}, uid: 1000, start: 900,
		cgroup: "/system.slice/docker-" + dockerID + ".scope", nspid: []int{7}})
	f.add(fakeProcess{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", argv: []string{"/sbin/init"}, start: 1})
	f.add(fakeProcess{pid: 2, comm: "kthreadd", start: 1, kthread: true})
	f.add(fakeProcess{pid: 200, ppid: 1, comm: "systemd-journald", exe: "/usr/lib/systemd/systemd-journald", argv: []string{"/usr/lib/systemd/systemd-journald"}, uid: 1000, start: 500})
	tr, out := newTracker(t, f)
	tr.walk(false)
	evs := *out
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3 (no kernel thread): %+v", len(evs), evs)
	}
	for i, pid := range []int64{1, 200, 300} {
		ev := &evs[i]
		if ev.Process.PID != pid || ev.Kind != cairn.KindExec || ev.Type != "procfs" || ev.Process.Flags != "procFS" || ev.Source != cairn.SourceSensor || ev.Host != "node1" {
			t.Fatalf("event %d = %+v %+v", i, ev, ev.Process)
		}
	}
	init, jd, sh := &evs[0], &evs[1], &evs[2]
	if init.Process.ParentExecID != "" || init.Parent != nil {
		t.Errorf("init has a parent: %+v", init.Process)
	}
	if jd.Process.ParentExecID != init.Process.ExecID || sh.Process.ParentExecID != jd.Process.ExecID {
		t.Errorf("chain: %s <- %s, %s <- %s", init.Process.ExecID, jd.Process.ParentExecID, jd.Process.ExecID, sh.Process.ParentExecID)
	}
	wantStart := time.Unix(btime, 0).Add(9 * time.Second)
	if want := "sn:node1:300:" + fmt.Sprint(wantStart.UnixNano()); sh.Process.ExecID != want || !sh.Process.StartTime.Equal(wantStart) {
		t.Errorf("sh exec id %s start %v, want %s %v", sh.Process.ExecID, sh.Process.StartTime, want, wantStart)
	}
	checks := []struct {
		ev    *cairn.Event
		field string
		want  any
	}{
		{sh, "proc.name", "sh"},
		{sh, "proc.exepath", "/usr/bin/dash"},
		{sh, "proc.cmdline", `sh -c "id; true"`},
		{sh, "proc.args", `-c "id; true"`},
		{sh, "proc.pname", "systemd-journald"}, // comm truncated to 15, completed from the exe
		{sh, "proc.cwd", "/home/alice"},
		{sh, "proc.tty", int64(34817)},
		{sh, "user.uid", int64(1000)},
		{sh, "user.loginuid", int64(1000)},
		{sh, "container.id", dockerID[:12]},
		{sh, "container.runtime", "docker"},
		{sh, "proc.vpid", int64(7)},
		{sh, "user.name", nil}, // a container's uid is not the host's user
		{jd, "user.name", "alice"},
		{jd, "container.id", "host"},
		{init, "user.name", "root"},
		{init, "proc.cmdline", "systemd"},
	}
	for _, c := range checks {
		if got := get(t, c.ev, c.field); got != c.want {
			t.Errorf("pid %d %s = %#v, want %#v", c.ev.Process.PID, c.field, got, c.want)
		}
	}
	if s := tr.stats.existing.Load(); s != 3 {
		t.Errorf("existing = %d", s)
	}
	// A resync emits only what is new, and forgets what is gone.
	f.add(fakeProcess{pid: 400, ppid: 300, comm: "id", exe: "/usr/bin/id", argv: []string{"id"}, start: 1000})
	f.remove(200)
	tr.since = 950
	*out = nil
	tr.walk(true)
	if len(*out) != 1 || (*out)[0].Process.PID != 400 || (*out)[0].Type != "execve" || (*out)[0].Process.ParentExecID != sh.Process.ExecID {
		t.Fatalf("resync emitted %+v", *out)
	}
	if _, ok := tr.procs[200]; ok {
		t.Error("resync kept the gone pid 200")
	}
}

func TestLive(t *testing.T) {
	f := newFakeProc(t)
	f.add(fakeProcess{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", argv: []string{"/sbin/init"}, start: 1})
	f.add(fakeProcess{pid: 50, ppid: 1, comm: "bash", exe: "/usr/bin/bash", argv: []string{"-bash"}, start: 100})
	tr, out := newTracker(t, f)
	clk := tr.clk.(*fakeClock)
	tr.walk(false)
	bash := tr.procs[50].proc
	*out = nil
	clk.now = 10e9

	// bash forks 60, which executes cat; a thread of 60 is ignored.
	tr.handle(Message{What: WhatFork, Timestamp: 11e9, ParentPID: 50, ParentTGID: 50, PID: 60, TGID: 60})
	tr.handle(Message{What: WhatFork, Timestamp: 11e9, ParentPID: 60, ParentTGID: 60, PID: 61, TGID: 60})
	f.add(fakeProcess{pid: 60, ppid: 50, comm: "cat", exe: "/usr/bin/cat", argv: []string{"cat", "/etc/shadow"}, start: 1100})
	tr.handle(Message{What: WhatExec, Timestamp: 11.5e9, PID: 60, TGID: 60})
	// It executes again (exec without fork): a new exec id.
	f.remove(60)
	f.add(fakeProcess{pid: 60, ppid: 50, comm: "nc", exe: "/usr/bin/nc.openbsd", argv: []string{"nc", "-l", "4444"}, start: 1100})
	tr.handle(Message{What: WhatExec, Timestamp: 11.6e9, PID: 60, TGID: 60})
	tr.handle(Message{What: WhatExit, Timestamp: 12e9, PID: 61, TGID: 60})
	tr.handle(Message{What: WhatExit, Timestamp: 12e9, PID: 60, TGID: 60, ExitCode: 9}) // SIGKILL
	// bash forks 70, which executes and exits before /proc is read.
	tr.handle(Message{What: WhatFork, Timestamp: 13e9, ParentPID: 50, ParentTGID: 50, PID: 70, TGID: 70})
	tr.handle(Message{What: WhatExec, Timestamp: 13.1e9, PID: 70, TGID: 70})
	tr.handle(Message{What: WhatExit, Timestamp: 13.2e9, PID: 70, TGID: 70, ExitCode: 2 << 8})
	// bash forks 80, which exits without executing.
	tr.handle(Message{What: WhatFork, Timestamp: 14e9, ParentPID: 50, ParentTGID: 50, PID: 80, TGID: 80})
	tr.handle(Message{What: WhatExit, Timestamp: 14.5e9, PID: 80, TGID: 80})
	// bash forks 90, whose /proc entry is read when it is a zombie: its
	// name and ids, no executable or arguments.
	tr.handle(Message{What: WhatFork, Timestamp: 15e9, ParentPID: 50, ParentTGID: 50, PID: 90, TGID: 90})
	f.add(fakeProcess{pid: 90, ppid: 50, comm: "stat", kthread: true, start: 1500})
	tr.handle(Message{What: WhatExec, Timestamp: 15.1e9, PID: 90, TGID: 90})

	evs := *out
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s %d %s", ev.Type, ev.Process.PID, ev.Process.Flags))
	}
	want := []string{"execve 60 execve", "execve 60 execve", "procexit 60 execve", "execve 70 partial", "procexit 70 partial", "procexit 80 clone", "execve 90 partial"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	cat, nc, ncExit, part, partExit, clone := &evs[0], &evs[1], &evs[2], &evs[3], &evs[4], &evs[5]
	if get(t, cat, "proc.cmdline") != "cat /etc/shadow" || get(t, cat, "proc.pname") != "bash" || get(t, cat, "proc.pcmdline") != "bash" {
		t.Errorf("cat: %+v parent %+v", cat.Process, cat.Parent)
	}
	if cat.Process.ParentExecID != bash.ExecID || nc.Process.ParentExecID != bash.ExecID {
		t.Errorf("parent exec ids %s %s, want %s", cat.Process.ParentExecID, nc.Process.ParentExecID, bash.ExecID)
	}
	if nc.Process.ExecID != cat.Process.ExecID+":1" || nc.ID == cat.ID {
		t.Errorf("re-exec ids: %s after %s (events %s %s)", nc.Process.ExecID, cat.Process.ExecID, nc.ID, cat.ID)
	}
	if !cat.Time.Equal(time.Unix(btime, 11.5e9)) {
		t.Errorf("cat time %v", cat.Time)
	}
	if get(t, ncExit, "proc.name") != "nc" || ncExit.Process.Signal != "SIGKILL" || ncExit.Process.ExitCode != nil || ncExit.Kind != cairn.KindExit {
		t.Errorf("nc exit: %+v", ncExit.Process)
	}
	if ncExit.Process.ExecID != nc.Process.ExecID {
		t.Errorf("exit exec id %s, want %s", ncExit.Process.ExecID, nc.Process.ExecID)
	}
	if part.Process.Binary != "" || part.Process.PPID != 50 || part.Process.ParentExecID != bash.ExecID || part.Parent == nil || part.Parent.Binary != "/usr/bin/bash" {
		t.Errorf("partial exec: %+v parent %+v", part.Process, part.Parent)
	}
	if part.Process.StartTime.IsZero() || part.Process.ExecID == "" || partExit.Process.ExecID != part.Process.ExecID {
		t.Errorf("partial ids: %+v / %+v", part.Process, partExit.Process)
	}
	if partExit.Process.ExitCode == nil || *partExit.Process.ExitCode != 2 {
		t.Errorf("partial exit code: %+v", partExit.Process)
	}
	if clone.Process.Binary != "/usr/bin/bash" || clone.Process.ParentExecID != bash.ExecID || clone.Process.ExecID == bash.ExecID {
		t.Errorf("clone exit: %+v", clone.Process)
	}
	st := tr.stats
	if st.execs.Load() != 4 || st.exits.Load() != 3 || st.forks.Load() != 4 || st.threads.Load() != 1 || st.partial.Load() != 2 {
		t.Errorf("stats: execs %d exits %d forks %d threads %d partial %d", st.execs.Load(), st.exits.Load(), st.forks.Load(), st.threads.Load(), st.partial.Load())
	}
	if len(tr.procs) != 3 {
		t.Errorf("%d processes left in the table, want 3 (init, bash, the zombie)", len(tr.procs))
	}
	// Event ids are deterministic.
	tr2, out2 := newTracker(t, f)
	tr2.procs[60] = &entry{start: 1100, proc: &cairn.Process{PID: 60}}
	tr2.handle(Message{What: WhatExit, Timestamp: 12e9, PID: 60, TGID: 60, ExitCode: 9})
	if len(*out2) != 1 || (*out2)[0].ID != tr.eventID(60, 1100, 0, "procexit") {
		t.Errorf("exit id not deterministic: %+v", *out2)
	}
}

// TestExecDuringWalk: an exec queued while the first walk read the
// process is reported as an execve of the image read, not a second image.
func TestExecDuringWalk(t *testing.T) {
	f := newFakeProc(t)
	f.add(fakeProcess{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", argv: []string{"/sbin/init"}, start: 1})
	f.add(fakeProcess{pid: 90, ppid: 1, comm: "curl", exe: "/usr/bin/curl", argv: []string{"curl", "x"}, start: 400})
	tr, out := newTracker(t, f)
	tr.walk(false) // reads at mono 5e9
	*out = nil
	tr.handle(Message{What: WhatExec, Timestamp: 4.9e9, PID: 90, TGID: 90})
	if len(*out) != 1 || (*out)[0].Type != "execve" || (*out)[0].Process.ExecID != tr.execID(90, 400, 0) || get(t, &(*out)[0], "proc.cmdline") != "curl x" {
		t.Fatalf("exec during walk: %+v", *out)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("4242 (a) b (c) S 7 4242 4000 34817 4242 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123456 1000 100\n"))
	f.Add([]byte("1 ()) S"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = parseStat(b) })
}

func FuzzWorkloadFromCgroup(f *testing.F) {
	f.Add("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(podUID, "-", "_") + ".slice/cri-containerd-" + dockerID + ".scope")
	f.Add("12:pids:/docker/" + dockerID)
	f.Add("0::/a:b:c\n::\n:")
	f.Fuzz(func(t *testing.T, s string) {
		c, _ := workloadFromCgroup(s)
		if c != nil && (len(c.FullID) != 64 || c.ID != c.FullID[:12]) {
			t.Fatalf("container %+v", c)
		}
	})
}
