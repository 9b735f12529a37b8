package demo

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"path"
	"slices"
	"strconv"
	"time"
)

// runtime is the simulated fleet: nodes, pods, containers and the
// processes that run on them, and the Tetragon events they cause. Stories
// and background add processes and events in any order; finalize sorts
// the events by time, assigns pids in that order (so pids grow with time
// on each node, as the kernel's do), derives exec ids and renders the
// records.
type runtime struct {
	g      *gen
	nodes  []*node
	events []*rtEvent
	seq    int
}

// node is one host running the Tetragon agent.
type node struct {
	name       string
	cluster    string // "" for a host outside Kubernetes
	ip         string
	instanceID string
	boot       time.Time
	// snapshot is when the agent started and reported the running
	// processes from /proc (the exec records with the procFS flag).
	snapshot time.Time

	systemd, containerd, kubelet, sshd, cron *proc

	nextPID   uint32
	pastProcs bool // the pid counter has left the boot-time range
	scanned   int  // processes reported by the /proc scan so far
}

type pod struct {
	namespace, name, uid string
	labels               map[string]string
	workload, kind       string
	node                 *node
	ip                   string
	sandboxID            string
	shim                 *proc
}

type container struct {
	id, name       string // id: 64 hex digits
	image, imageID string
	start          time.Time
	pod            *pod
	workdir        string
	nextCPID       uint32
}

// proc is one execution of a program.
type proc struct {
	node   *node
	ctr    *container // nil on the host
	parent *proc
	binary string
	args   string
	cwd    string
	uid    uint32
	auid   uint32
	start  time.Time
	end    time.Time // zero while running
	status uint32
	signal string
	procfs bool // reported by the agent's /proc scan, not by an execve
	probe  bool // a Kubernetes exec probe
	inInit bool // in the container's init tree

	pid, cpid uint32
	execID    string
	rendered  *tProcess
}

func (p *proc) name() string { return path.Base(p.binary) }

type evKind int

const (
	evExec evKind = iota
	evExit
	evKprobe
)

type rtEvent struct {
	t    time.Time
	seq  int
	kind evKind
	p    *proc
	// kprobe
	fn     string
	policy string
	args   []tArg
	ret    *tArg
}

const unsetAUID = 4294967295

func (w *runtime) add(e *rtEvent) *rtEvent {
	e.seq = w.seq
	w.seq++
	w.events = append(w.events, e)
	return e
}

// newNode adds a node and the host processes the agent finds running when
// it starts: systemd, and containerd and the kubelet on Kubernetes nodes,
// or sshd and cron elsewhere.
func (w *runtime) newNode(name, cluster, ip, instanceID string, boot, snapshot time.Time) *node {
	n := &node{name: name, cluster: cluster, ip: ip, instanceID: instanceID, boot: boot, snapshot: snapshot, nextPID: 1}
	w.nodes = append(w.nodes, n)
	n.systemd = w.scanned(n, nil, nil, boot.Add(w.g.dur(300*time.Millisecond, 900*time.Millisecond)),
		"/usr/lib/systemd/systemd", "--switched-root --system --deserialize 21", "/", 0, unsetAUID)
	up := func(lo, hi time.Duration) time.Time { return boot.Add(w.g.dur(lo, hi)) }
	if cluster != "" {
		n.containerd = w.scanned(n, n.systemd, nil, up(4*time.Second, 6*time.Second), "/usr/bin/containerd", "", "/", 0, unsetAUID)
		n.kubelet = w.scanned(n, n.systemd, nil, up(7*time.Second, 9*time.Second), "/usr/bin/kubelet",
			"--config /etc/kubernetes/kubelet/kubelet-config.json --kubeconfig /var/lib/kubelet/kubeconfig --container-runtime-endpoint unix:///run/containerd/containerd.sock --image-credential-provider-config /etc/eks/image-credential-provider/config.json --image-credential-provider-bin-dir /etc/eks/image-credential-provider --node-ip="+ip,
			"/", 0, unsetAUID)
	} else {
		n.sshd = w.scanned(n, n.systemd, nil, up(3*time.Second, 5*time.Second), "/usr/sbin/sshd", "-D", "/", 0, unsetAUID)
	}
	n.cron = w.scanned(n, n.systemd, nil, up(3*time.Second, 6*time.Second), "/usr/sbin/cron", "-f -P", "/", 0, unsetAUID)
	return n
}

// scanned adds a process that was already running when the agent started.
func (w *runtime) scanned(n *node, parent *proc, ctr *container, start time.Time, bin, args, cwd string, uid, auid uint32) *proc {
	p := &proc{node: n, ctr: ctr, parent: parent, binary: bin, args: args, cwd: cwd, uid: uid, auid: auid, start: start, procfs: true}
	if ctr != nil && parent != nil && parent.ctr == nil {
		p.inInit = true
	} else if ctr != nil && parent != nil {
		p.inInit = parent.inInit
	}
	n.scanned++
	w.add(&rtEvent{t: n.snapshot.Add(time.Duration(n.scanned*37) * time.Microsecond), kind: evExec, p: p})
	return p
}

// newPod adds a pod on n, with its containerd shim. A pod created before
// the agent started (at <= n.snapshot) is found by the /proc scan.
func (w *runtime) newPod(n *node, namespace, name, workload, kind string, labels map[string]string, ip string, at time.Time) *pod {
	pd := &pod{namespace: namespace, name: name, uid: w.g.uuid(), labels: labels, workload: workload, kind: kind,
		node: n, ip: ip, sandboxID: w.g.hex(64)}
	args := "-namespace k8s.io -id " + pd.sandboxID + " -address /run/containerd/containerd.sock"
	cwd := "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + pd.sandboxID
	if !at.After(n.snapshot) {
		pd.shim = w.scanned(n, n.systemd, nil, at, "/usr/bin/containerd-shim-runc-v2", args, cwd, 0, unsetAUID)
	} else {
		pd.shim = w.spawn(n.containerd, at, "/usr/bin/containerd-shim-runc-v2", args)
		pd.shim.cwd = cwd
	}
	return pd
}

// startContainer starts a container of pd whose init process runs bin.
// The container starts at `at`; a container started before the agent
// is found by the /proc scan.
func (w *runtime) startContainer(pd *pod, name, image, workdir string, uid uint32, at time.Time, bin, args string) (*container, *proc) {
	repo := image
	if i := lastColon(image); i > 0 {
		repo = image[:i]
	}
	c := &container{id: w.g.hex(64), name: name, image: image, imageID: repo + "@sha256:" + w.g.hex(64),
		start: at.Truncate(time.Second), pod: pd, workdir: workdir}
	var p *proc
	if !at.After(pd.node.snapshot) {
		p = w.scanned(pd.node, pd.shim, c, at, bin, args, workdir, uid, unsetAUID)
	} else {
		p = w.spawn(pd.shim, at, bin, args)
		p.ctr, p.cwd, p.uid, p.inInit = c, workdir, uid, true
	}
	return c, p
}

func lastColon(image string) int {
	for i := len(image) - 1; i >= 0 && image[i] != '/'; i-- {
		if image[i] == ':' {
			return i
		}
	}
	return -1
}

// spawn adds a process that parent forks and that executes bin at t. It
// inherits the parent's container, user, audit user and directory; set
// the fields of the result to change them. A time at or before the
// parent's start is moved just after it, so that parents always exec
// before their children.
func (w *runtime) spawn(parent *proc, t time.Time, bin, args string) *proc {
	if !t.After(parent.start) {
		t = parent.start.Add(time.Duration(50+w.g.intn(400)) * time.Microsecond)
	}
	if floor := parent.node.snapshot.Add(time.Second); t.Before(floor) {
		t = floor.Add(time.Duration(1+w.g.intn(1000)) * time.Millisecond)
	}
	p := &proc{node: parent.node, ctr: parent.ctr, parent: parent, binary: bin, args: args, cwd: parent.cwd,
		uid: parent.uid, auid: parent.auid, start: t, inInit: parent.inInit}
	w.add(&rtEvent{t: t, kind: evExec, p: p})
	return p
}

// exit ends p at t with an exit status. A time before p's start is moved
// just after it.
func (w *runtime) exit(p *proc, t time.Time, status uint32) {
	if !t.After(p.start) {
		t = p.start.Add(time.Duration(200+w.g.intn(2000)) * time.Microsecond)
	}
	p.end, p.status = t, status
	w.add(&rtEvent{t: t, kind: evExit, p: p})
}

// run spawns a short-lived command and ends it after d; it returns the
// process and the time it ended.
func (w *runtime) run(parent *proc, t time.Time, d time.Duration, bin, args string) (*proc, time.Time) {
	p := w.spawn(parent, t, bin, args)
	w.exit(p, p.start.Add(d), 0)
	return p, p.end
}

// Tracing policy names, as an operator would have named the policies
// that hook tcp_connect and security_file_permission.
const (
	policyConnect = "egress-connections"
	policyFiles   = "file-monitoring-filtered"
)

// connect records p connecting (TCP) to daddr:dport at t.
func (w *runtime) connect(p *proc, t time.Time, daddr string, dport uint32) {
	saddr := p.node.ip
	if p.ctr != nil {
		saddr = p.ctr.pod.ip
	}
	if daddr == "127.0.0.1" {
		saddr = daddr
	}
	sock := &tSock{Family: "AF_INET", Type: "SOCK_STREAM", Protocol: "IPPROTO_TCP", Saddr: saddr, Daddr: daddr,
		Sport: w.g.ephemeralPort(), Dport: dport, Cookie: strconv.FormatUint(w.g.r.Uint64(), 10), State: "TCP_SYN_SENT"}
	w.add(&rtEvent{t: t, kind: evKprobe, p: p, fn: "tcp_connect", policy: policyConnect, args: []tArg{{SockArg: sock}}})
}

// File access masks of security_file_permission.
const (
	mayWrite int32 = 2
	mayRead  int32 = 4
)

// fileAccess records p reading or writing the file at t.
func (w *runtime) fileAccess(p *proc, t time.Time, file, perm string, mask int32) {
	m, zero := mask, int32(0)
	w.add(&rtEvent{t: t, kind: evKprobe, p: p, fn: "security_file_permission", policy: policyFiles,
		args: []tArg{{FileArg: &tFile{Path: file, Permission: perm}}, {IntArg: &m}}, ret: &tArg{IntArg: &zero}})
}

// finalize orders the events, assigns pids and exec ids, and renders one
// Tetragon export record per event.
func (w *runtime) finalize() ([][]byte, error) {
	slices.SortStableFunc(w.events, func(a, b *rtEvent) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, e := range w.events {
		if e.kind == evExec {
			w.assign(e.p)
		}
	}
	out := make([][]byte, 0, len(w.events))
	for _, e := range w.events {
		b, err := w.render(e)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// assign gives p its pid, its pid inside its container and its exec id.
func (w *runtime) assign(p *proc) {
	n := p.node
	switch {
	case p.procfs:
		p.pid = n.nextPID
		n.nextPID += uint32(w.g.between(20, 700))
	default:
		if !n.pastProcs {
			n.pastProcs = true
			if n.nextPID < 12000 {
				n.nextPID = uint32(12000 + w.g.intn(30000))
			}
		}
		p.pid = n.nextPID
		n.nextPID += uint32(w.g.between(1, 9))
	}
	if c := p.ctr; c != nil {
		if c.nextCPID == 0 {
			c.nextCPID = 1
		}
		p.cpid = c.nextCPID
		c.nextCPID += uint32(w.g.between(1, 5))
	}
	p.execID = execID(n.name, p.start.Sub(n.boot), p.pid)
}

// execID is Tetragon's exec id: base64 of "node:ktime:pid", where ktime
// is the process start in nanoseconds since boot.
func execID(node string, ktime time.Duration, pid uint32) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d:%d", node, ktime.Nanoseconds(), pid))
}

// parentExecID is the exec id Tetragon reports for p's parent; for the
// root (systemd), the never-reported kernel task.
func (p *proc) parentExecID() string {
	if p.parent == nil {
		return execID(p.node.name, 0, 0)
	}
	return p.parent.execID
}
