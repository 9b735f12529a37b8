package sensor

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cairn-cdr/cairn"
)

// Event types and process flags the sensor sets, as Tetragon's decoder
// does: a process found in /proc is flagged procFS and typed procfs, so
// that it keeps its place in the process tree without being an execve
// for rules.
const (
	typeExec   = "execve"
	typeExit   = "procexit"
	typeProcFS = "procfs" // decode.ProcFSType

	flagExec    = "execve"
	flagProcFS  = "procFS"
	flagClone   = "clone"   // forked and exited without executing
	flagPartial = "partial" // exited before /proc was read
	flagResync  = "resync"  // started during a gap, found by a resync
)

// clock converts the kernel's CLOCK_MONOTONIC timestamps.
type clock interface {
	// mono returns CLOCK_MONOTONIC now, in nanoseconds.
	mono() uint64
	// wall returns the wall time of a kernel timestamp.
	wall(mono uint64) time.Time
	// bootTicks returns a kernel timestamp as clock ticks since boot,
	// the unit of process start times.
	bootTicks(mono uint64) uint64
}

// counters are the sensor's statistics.
type counters struct {
	execs, exits, forks, threads, lost, dropped, resyncs, partial, existing atomic.Int64
}

// entry is one live process the tracker knows.
type entry struct {
	start uint64 // clock ticks since boot
	// proc is the process as last described; for a process forked and
	// not yet executed, a copy of its parent's with its own ids.
	proc *cairn.Process
	// parent is the parent as it was when the process was forked or
	// first read: it stays the parent when the process is reparented.
	parent    *cairn.Process
	container *cairn.Container
	k8s       *cairn.K8s
	gen       int  // execs after the first, for the exec id
	emitted   bool // an exec event described the current image
	// readNs is when a /proc walk read the process (CLOCK_MONOTONIC):
	// an exec reported with an earlier time is the image read.
	readNs uint64
}

// tracker turns connector messages into events. It is used from one
// goroutine.
type tracker struct {
	host  string
	fs    *procFS
	log   *slog.Logger
	clk   clock
	stats *counters
	procs map[int32]*entry
	// since is when the sensor started, in clock ticks since boot: a
	// process a resync finds that started later was executed while the
	// sensor watched.
	since uint64
	emit  func(cairn.Event)
}

// execID is the process's exec id: host, pid and start time identify a
// process; gen counts the execs the process made after its first.
func (t *tracker) execID(pid int32, start uint64, gen int) string {
	id := "sn:" + t.host + ":" + strconv.FormatInt(int64(pid), 10) + ":" +
		strconv.FormatInt(t.fs.startTime(start).UnixNano(), 10)
	if gen > 0 {
		id += ":" + strconv.Itoa(gen)
	}
	return id
}

// eventID derives an event's id from what identifies it, so that the
// same event read twice (a resync) is stored once.
func (t *tracker) eventID(pid int32, start uint64, gen int, typ string) string {
	h := sha256.New()
	for _, s := range []string{t.host, strconv.FormatInt(int64(pid), 10),
		strconv.FormatUint(start, 10), strconv.Itoa(gen), typ} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "sn-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// send emits an event about e with copies of its processes, so that the
// receiver may keep or change them.
func (t *tracker) send(kind cairn.Kind, typ string, at time.Time, pid int32, e *entry, p *cairn.Process) {
	ev := cairn.Event{
		ID:        t.eventID(pid, e.start, e.gen, typ),
		Source:    cairn.SourceSensor,
		Kind:      kind,
		Type:      typ,
		Time:      at,
		Host:      t.host,
		Process:   p,
		Container: e.container,
		K8s:       e.k8s,
	}
	if e.parent != nil {
		pp := *e.parent
		ev.Parent = &pp
	}
	if ev.Container != nil {
		c := *ev.Container
		ev.Container = &c
	}
	if ev.K8s != nil {
		k := *ev.K8s
		ev.K8s = &k
	}
	t.emit(ev)
}

// walk reads every process in /proc and describes those the tracker does
// not know, parents before their children. The first walk (resync false)
// emits them as found in /proc; a resync forgets processes that are gone
// and emits those that started since the sensor did as executed.
func (t *tracker) walk(resync bool) {
	des, err := os.ReadDir(t.fs.root)
	if err != nil {
		t.log.Warn("sensor: read /proc", "err", err)
		return
	}
	snaps := map[int32]*snapshot{}
	readAt := map[int32]uint64{}
	var pids []int32
	for _, de := range des {
		n, err := strconv.ParseInt(de.Name(), 10, 32)
		if err != nil || n <= 0 {
			continue
		}
		pid := int32(n)
		if resync {
			if e := t.procs[pid]; e != nil {
				if st, err := t.fs.stat(pid); err == nil && st.start == e.start {
					continue
				}
			}
		}
		at := t.clk.mono()
		s, err := t.fs.read(pid)
		if err != nil {
			continue
		}
		snaps[pid], readAt[pid] = s, at
		pids = append(pids, pid)
	}
	if resync {
		for pid, e := range t.procs {
			if st, err := t.fs.stat(pid); err != nil || st.start != e.start {
				delete(t.procs, pid)
			}
		}
	}
	// Oldest first; a parent is emitted before its child in any case.
	slices.SortFunc(pids, func(a, b int32) int {
		if c := compareU64(snaps[a].start, snaps[b].start); c != 0 {
			return c
		}
		return int(a) - int(b)
	})
	done := map[int32]bool{}
	var visit func(pid int32, depth int)
	visit = func(pid int32, depth int) {
		s := snaps[pid]
		if done[pid] || s == nil {
			return
		}
		done[pid] = true
		if depth < 4096 {
			visit(s.ppid, depth+1)
		}
		if s.kthread {
			return
		}
		// An exec queued while the walk read /proc may be this image.
		e := &entry{start: s.start, container: s.container, k8s: s.k8s, emitted: true, readNs: readAt[pid]}
		e.parent = t.parentOf(s.ppid)
		p := s.proc
		p.ExecID = t.execID(pid, s.start, 0)
		if e.parent != nil {
			p.ParentExecID = e.parent.ExecID
		}
		typ, kind := typeProcFS, cairn.KindExec
		p.Flags = flagProcFS
		if resync && s.start >= t.since {
			typ, p.Flags = typeExec, flagResync
			t.stats.execs.Add(1)
		} else {
			t.stats.existing.Add(1)
		}
		e.proc = &p
		t.procs[pid] = e
		cp := p
		t.send(kind, typ, time.Now(), pid, e, &cp)
	}
	for _, pid := range pids {
		visit(pid, 0)
	}
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parentOf returns the process ppid as the tracker knows it, or as /proc
// shows it now (not remembered: it is described when it execs or a walk
// finds it), or nil.
func (t *tracker) parentOf(ppid int32) *cairn.Process {
	if ppid <= 0 {
		return nil
	}
	if e := t.procs[ppid]; e != nil {
		return e.proc
	}
	s, err := t.fs.read(ppid)
	if err != nil || s.kthread {
		return nil
	}
	p := s.proc
	p.ExecID = t.execID(ppid, s.start, 0)
	return &p
}

// item is a message with what /proc said about its process when the
// message was read: a short-lived process is gone by the time the
// message waits its turn in the queue, so the socket reader reads /proc
// at once (a few small files, no emit).
type item struct {
	m     Message
	read  bool      // snap and err are set
	snap  *snapshot // an exec's process
	start uint64    // a fork's child's start time, 0 when unknown
	err   error
}

// prefetch reads /proc for m as soon as it arrives.
func prefetch(fs *procFS, m Message) item {
	it := item{m: m}
	switch {
	case m.What == WhatExec:
		it.snap, it.err = fs.read(m.TGID)
		it.read = true
	case m.What == WhatFork && m.PID == m.TGID:
		if st, err := fs.stat(m.PID); err == nil {
			it.start = st.start
		}
		it.read = true
	}
	return it
}

// handle processes one message, reading /proc now.
func (t *tracker) handle(m Message) { t.handleItem(prefetch(t.fs, m)) }

// handleItem processes one message read with prefetch.
func (t *tracker) handleItem(it item) {
	m := it.m
	switch m.What {
	case WhatFork:
		t.fork(m, it.start)
	case WhatExec:
		t.exec(m, it.snap, it.err)
	case WhatExit:
		t.exit(m)
	case WhatUID, WhatGID, WhatSID:
		t.change(m)
	}
}

func (t *tracker) fork(m Message, start uint64) {
	if m.PID != m.TGID {
		t.stats.threads.Add(1)
		return
	}
	t.stats.forks.Add(1)
	pid := m.PID
	if start == 0 {
		start = t.clk.bootTicks(m.Timestamp)
	}
	if e := t.procs[pid]; e != nil && e.start == start {
		return // a walk read it already
	}
	e := &entry{start: start}
	p := &cairn.Process{PID: int64(pid), PPID: int64(m.ParentTGID), Flags: flagClone}
	if pe := t.procs[m.ParentTGID]; pe != nil {
		// A forked process runs its parent's program until it executes.
		*p = *pe.proc
		p.PID, p.PPID, p.Flags = int64(pid), int64(m.ParentTGID), flagClone
		p.ExitCode, p.Signal = nil, ""
		p.ParentExecID = pe.proc.ExecID
		e.parent, e.container, e.k8s = pe.proc, pe.container, pe.k8s
	} else if pp := t.parentOf(m.ParentTGID); pp != nil {
		e.parent = pp
		p.ParentExecID = pp.ExecID
	}
	p.ExecID = t.execID(pid, start, 0)
	p.StartTime = t.fs.startTime(start)
	e.proc = p
	t.procs[pid] = e
}

func (t *tracker) exec(m Message, s *snapshot, err error) {
	pid := m.TGID
	at := t.clk.wall(m.Timestamp)
	e := t.procs[pid]
	if e != nil && e.readNs != 0 && m.Timestamp <= e.readNs {
		// The first walk read this process after it executed: the
		// image read is this exec's, already described but as found in
		// /proc; it was executed while the sensor watched.
		e.readNs = 0
		p := *e.proc
		p.Flags = flagExec
		e.proc = &p
		t.stats.execs.Add(1)
		cp := p
		t.send(cairn.KindExec, typeExec, at, pid, e, &cp)
		return
	}
	if err != nil {
		t.partialExec(m, e)
		return
	}
	if e != nil && e.start != s.start {
		e = nil // a pid reused since
	}
	ne := &entry{start: s.start, container: s.container, k8s: s.k8s, emitted: true}
	p := s.proc
	if e != nil {
		ne.parent = e.parent
		if e.emitted {
			ne.gen = e.gen + 1
		}
		// The parent that forked it, even when it was reparented since.
		if e.proc.PPID != 0 {
			p.PPID = e.proc.PPID
		}
	} else {
		ne.parent = t.parentOf(s.ppid)
	}
	p.ExecID = t.execID(pid, s.start, ne.gen)
	if ne.parent != nil {
		p.ParentExecID = ne.parent.ExecID
	}
	p.Flags = flagExec
	if p.Binary == "" && p.Args == "" {
		// Read between its exit and its parent's wait: a zombie's /proc
		// entry has its name and ids but no executable or arguments.
		p.Flags = flagPartial
		t.stats.partial.Add(1)
	}
	ne.proc = &p
	t.procs[pid] = ne
	t.stats.execs.Add(1)
	cp := p
	t.send(cairn.KindExec, typeExec, at, pid, ne, &cp)
}

// partialExec describes a process that exited before /proc was read,
// from what the kernel and the fork said.
func (t *tracker) partialExec(m Message, e *entry) {
	pid := m.TGID
	ne := &entry{emitted: true}
	p := &cairn.Process{PID: int64(pid), Flags: flagPartial}
	if e != nil {
		ne.start, ne.parent, ne.container, ne.k8s = e.start, e.parent, e.container, e.k8s
		if e.emitted {
			ne.gen = e.gen + 1
		}
		p.PPID = e.proc.PPID
	} else {
		ne.start = t.clk.bootTicks(m.Timestamp)
	}
	p.StartTime = t.fs.startTime(ne.start)
	p.ExecID = t.execID(pid, ne.start, ne.gen)
	if ne.parent != nil {
		p.ParentExecID = ne.parent.ExecID
	}
	ne.proc = p
	t.procs[pid] = ne
	t.stats.execs.Add(1)
	t.stats.partial.Add(1)
	cp := *p
	t.send(cairn.KindExec, typeExec, t.clk.wall(m.Timestamp), pid, ne, &cp)
}

func (t *tracker) exit(m Message) {
	if m.PID != m.TGID {
		return // a thread
	}
	pid := m.PID
	e := t.procs[pid]
	delete(t.procs, pid)
	if e == nil {
		// Never seen: it started in a gap. Its exit still says when it
		// ended and who its parent was.
		e = &entry{proc: &cairn.Process{PID: int64(pid), PPID: int64(m.ParentTGID), Flags: flagPartial}}
		t.stats.partial.Add(1)
	}
	p := *e.proc
	p.ExitCode, p.Signal = nil, ""
	if sig := m.ExitCode & 0x7f; sig != 0 {
		p.Signal = signalName(sig)
	} else {
		code := int64(m.ExitCode>>8) & 0xff
		p.ExitCode = &code
	}
	t.stats.exits.Add(1)
	t.send(cairn.KindExit, typeExit, t.clk.wall(m.Timestamp), pid, e, &p)
}

// change records a new uid, gid or session of a process for its later
// events.
func (t *tracker) change(m Message) {
	if m.PID != m.TGID {
		return
	}
	e := t.procs[m.TGID]
	if e == nil {
		return
	}
	p := *e.proc
	switch m.What {
	case WhatUID:
		v := int64(m.EffectiveID)
		p.UID, p.User = &v, ""
		if e.container == nil {
			p.User = t.fs.users.name(v)
		}
	case WhatGID:
		v := int64(m.EffectiveID)
		p.GID = &v
	case WhatSID:
		v := int64(m.TGID)
		p.SID = &v
	}
	e.proc = &p
}

// signalName returns the name of a Linux signal as Tetragon writes it.
func signalName(sig uint32) string {
	names := [...]string{1: "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
		"SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
		"SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",
		"SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"}
	if int(sig) < len(names) && names[sig] != "" {
		return names[sig]
	}
	return "SIG" + strconv.FormatUint(uint64(sig), 10)
}
