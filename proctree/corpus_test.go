package proctree_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/proctree"
)

// Exec ids of the Tetragon corpus (base64 of "node:ktime:pid").
const (
	idContainerd = "bWluaWt1YmU6MzczMDAwMDAwMDA6MjY3Ng=="      // containerd, 2676
	idShimNginx  = "bWluaWt1YmU6ODAwMzM1OTQzOTQ1OjEyNjgx"      // containerd-shim, 12681
	idEntrypoint = "bWluaWt1YmU6ODAwNDM1MDM1OTY2OjEyNzAw"      // docker-entrypoint.sh, 12700
	idNginx      = "bWluaWt1YmU6ODAwNDY4NjY0ODA0OjEyNzAw"      // nginx, 12700 (exec'd by the entrypoint)
	idRunc       = "bWluaWt1YmU6MTIzNjg4NTMxMDgxMjoxNzAxMg=="  // runc, 17012
	idPodBash    = "bWluaWt1YmU6MTIzNjkyODQ2NzQ4NToxNzAyMg=="  // bash in the privileged pod, 17022
	idNsenter    = "bWluaWt1YmU6MTQzNTQzNTYzNTQyMzoxOTAwOQ=="  // nsenter, 19009
	idHostBash   = "bWluaWt1YmU6MTQzNTQzNjk4Njg5NzoxOTAxMA=="  // bash in the host's namespaces, 19010
	idCat        = "bWluaWt1YmU6MjAxODYwNzU0MjIzOToyNDc2Nw=="  // cat, 24767
	idGoRun      = "bWluaWt1YmU6MjA4MTc1MTUxNjg4NDoyNTY4Nw=="  // go run main.go, 25687
	idMerlin     = "bWluaWt1YmU6MjA4MjU3MzM4MjgwMToyNTc0NA=="  // the merlin agent, 25744
	idSh7z       = "bWluaWt1YmU6NDY5NjQwNzQ0NTAwMjo1MTM1NA=="  // sh -c "7z ...", 45779
	idShScp      = "bWluaWt1YmU6NDczMzc5NTU0Mzc1Njo1Mzc2Ng=="  // sh -c "scp ...", 53766
	idScp        = "bWluaWt1YmU6NDczMzc5NjIyNTA5MDo1Mzc2Nw=="  // scp, 53767
	idSSH        = "bWluaWt1YmU6NDczMzc5Njg2Nzk0Mzo1Mzc2OA=="  // ssh, 53768
	idSSHParent  = "bWluaWt1YmU6NDczMzc5NjIyNTA5MDo1Mzc2Nwf==" // ssh's parent_exec_id in merlin-agent-scp-ssh.json (sic)
	idDockerd    = "bWluaWt1YmU6MzcyNjAwMDAwMDA6MjY2OA=="      // containerd's parent, never described
)

// TestCorpusTetragon feeds the real Tetragon samples in time order and
// checks the lineages their parent_exec_id chains imply.
func TestCorpusTetragon(t *testing.T) {
	evs := byTime(corpusEvents(t, "03_chapter"))
	// The samples were recorded weeks apart; keep exited processes.
	tbl := proctree.New(proctree.Options{Grace: 365 * 24 * time.Hour})
	for i := range evs {
		tbl.Observe(&evs[i])
		tbl.Enrich(&evs[i])
	}
	mustCheck(t, tbl)

	lineages := []struct {
		name string
		key  string
		want []string
	}{
		{"privileged pod to the host", idHostBash, []string{idDockerd, idContainerd, idShimNginx, idRunc, idPodBash, idNsenter, idHostBash}},
		{"a shell on the host", idCat, []string{idDockerd, idContainerd, idShimNginx, idRunc, idPodBash, idNsenter, idHostBash, idCat}},
		// nginx has the pid of the entrypoint that exec'd it, and is not
		// its own parent.
		{"exec without fork", idNginx, []string{idDockerd, idContainerd, idShimNginx, idEntrypoint, idNginx}},
		{"merlin's shell", idSh7z, []string{idDockerd, idContainerd, "bWluaWt1YmU6MjA4MTY2ODU5MzE3OToyNTY2OA==", idGoRun, idMerlin, idSh7z}},
		{"merlin's scp", idScp, []string{idDockerd, idContainerd, "bWluaWt1YmU6MjA4MTY2ODU5MzE3OToyNTY2OA==", idGoRun, idMerlin, idShScp, idScp}},
		// ssh's exec record names a parent no record describes; the first
		// parent is kept.
		{"ssh", idSSH, []string{idSSHParent, idSSH}},
	}
	for _, tt := range lineages {
		l := checkLineage(t, tbl, tt.key, 64)
		if !slices.Equal(keys(l), tt.want) {
			t.Errorf("%s: lineage %q (%q), want %q", tt.name, keys(l), names(l), tt.want)
		}
	}
	wantNames := []string{"?", "containerd", "containerd-shim", "runc", "bash", "nsenter", "bash", "cat"}
	l := tbl.Lineage(idCat, 64)
	if !slices.Equal(names(l), wantNames) {
		t.Errorf("names %q, want %q", names(l), wantNames)
	}
	// Each node keeps its own workload: the runtime's processes on the
	// host, the shell in the pod.
	for _, n := range l {
		inPod := n.K8s != nil && n.K8s.Pod == "privileged-pod"
		if want := n.Key == idPodBash || n.Key == idNsenter || n.Key == idHostBash || n.Key == idCat; inPod != want {
			t.Errorf("%s (%s): pod %+v", n.Process.Name, n.Key, n.K8s)
		}
	}

	flags := []struct {
		key  string
		want cairn.NodeFlags
	}{
		{idDockerd, cairn.FlagUnknown},
		{idContainerd, cairn.FlagPartial}, // seen only as a parent
		{idShimNginx, cairn.FlagPartial},
		{idHostBash, 0},
		{idNginx, 0},
		// The docs samples reuse the agent's exec id for 7z and go run's
		// for a shell, and name scp as its own shell's parent.
		{idMerlin, cairn.FlagConflict},
		{idGoRun, cairn.FlagPartial | cairn.FlagConflict},
		{idScp, cairn.FlagConflict},
		{idShScp, cairn.FlagConflict},
		{idSSH, cairn.FlagConflict},
	}
	for _, f := range flags {
		if n := node(t, tbl, f.key); n.Flags != f.want {
			t.Errorf("%s (%s): flags %v, want %v", n.Process.Name, f.key, n.Flags.Names(), f.want.Names())
		}
	}
	if n := node(t, tbl, idMerlin); n.Process.Binary != "/tmp/go-build3518135900/b001/exe/main" || n.Process.PID != 25744 {
		t.Errorf("the agent's first description was not kept: %+v", n.Process)
	}

	// Enrich gave the events that carry only a parent their ancestors, as
	// known at the time: containerd was described a minute after cat ran.
	for _, ev := range evs {
		if ev.Process.ExecID == idCat {
			want := []string{"bash", "nsenter", "bash", "runc", "containerd-shim"}
			if got := ancestorNames(&ev); !slices.Equal(got, want) {
				t.Errorf("cat's ancestors %q, want %q", got, want)
			}
		}
	}
}

// TestCorpusOrders feeds the samples in file order and in reverse: whatever
// the order, every lineage is bounded, loop-free and ends at its key.
func TestCorpusOrders(t *testing.T) {
	evs := corpusEvents(t, "")
	rev := slices.Clone(evs)
	slices.Reverse(rev)
	for name, order := range map[string][]cairn.Event{"files": evs, "reverse": rev, "time": byTime(evs)} {
		t.Run(name, func(t *testing.T) {
			tbl := proctree.New(proctree.Options{MaxNodes: 1000})
			seen := map[string]bool{}
			for i := range order {
				ev := order[i]
				tbl.Observe(&ev)
				tbl.Enrich(&ev)
				if n := len(ev.Ancestors); n > proctree.MaxDepth {
					t.Fatalf("%d ancestors", n)
				}
				seen[proctree.Key(ev.Process, ev.Host)] = true
			}
			mustCheck(t, tbl)
			for k := range seen {
				checkLineage(t, tbl, k, 64)
				checkLineage(t, tbl, k, 2)
			}
		})
	}
}

// TestCorpusLoops makes loops out of real records: a record that names its
// own process as parent, and two records that name each other.
func TestCorpusLoops(t *testing.T) {
	evs := corpusEvents(t, "03_chapter/03_security_observability_events/01_reaching_the_host_namespace")
	find := func(id string) cairn.Event {
		for _, ev := range evs {
			if ev.Process.ExecID == id {
				return ev
			}
		}
		t.Fatalf("no record of %s", id)
		return cairn.Event{}
	}

	self := find(idNsenter)
	p := *self.Process
	p.ParentExecID = p.ExecID
	self.Process = &p
	self.Parent, self.Ancestors = nil, nil
	tbl := proctree.New(proctree.Options{})
	got := tbl.Observe(&self)
	if len(got) != 1 || got[0].Flags != cairn.FlagLoop || got[0].ParentKey != "" {
		t.Errorf("self-parent: %+v", got)
	}
	tbl.Enrich(&self)
	if self.Parent != nil {
		t.Errorf("Enrich gave a self-parent %+v", self.Parent)
	}

	// bash claims nsenter as its parent, then nsenter's record names bash.
	bash := find(idPodBash)
	b := *bash.Process
	b.ParentExecID = idNsenter
	bash.Process = &b
	bash.Parent = nil
	nsenter := find(idNsenter)
	tbl = proctree.New(proctree.Options{})
	tbl.Observe(&bash)
	tbl.Observe(&nsenter)
	if n := node(t, tbl, idNsenter); !n.Flags.Has(cairn.FlagLoop) || n.ParentKey != "" {
		t.Errorf("nsenter: %v, parent %q", n.Flags.Names(), n.ParentKey)
	}
	if n := node(t, tbl, idPodBash); !n.Flags.Has(cairn.FlagConflict) || n.ParentKey != idNsenter {
		t.Errorf("bash: %v, parent %q", n.Flags.Names(), n.ParentKey)
	}
	for _, k := range []string{idNsenter, idPodBash, idRunc} {
		checkLineage(t, tbl, k, 64)
	}
	tbl.Enrich(&nsenter)
	if len(nsenter.Ancestors) > proctree.MaxDepth {
		t.Errorf("%d ancestors", len(nsenter.Ancestors))
	}
	mustCheck(t, tbl)
}
