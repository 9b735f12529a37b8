package decode

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/jsonscan"
	"github.com/cairn-cdr/cairn/sysarg"
)

// decodeTetragon decodes one record of Tetragon's JSON export.
func decodeTetragon(d *decoder, data []byte, compact bool) (cairn.Event, error) {
	var rec ttRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return cairn.Event{}, jsonReason(err)
	}
	ev := cairn.Event{
		ID:     d.hashID("tt-", data, compact),
		Source: cairn.SourceTetragon,
		Host:   rec.NodeName,
	}
	name, base, err := ttEvent(&rec, &ev)
	if err != nil {
		return cairn.Event{}, err
	}
	if name == "" {
		return ttOther(data, ev, rec)
	}
	if base.Process == nil {
		return cairn.Event{}, fmt.Errorf("%s has no process", name)
	}
	if err := ttProcesses(&ev, base); err != nil {
		return cairn.Event{}, err
	}
	if e := rec.ProcessExit; e != nil {
		ttExitStatus(&ev, e)
	}
	ttWorkload(&ev, base.Process, rec.ClusterName)
	if rec.Time != "" {
		t, err := parseTime(rec.Time)
		if err != nil {
			return cairn.Event{}, fmt.Errorf("time: %v", err)
		}
		ev.Time = t
	} else if ev.Kind == cairn.KindExec && !ev.Process.StartTime.IsZero() {
		ev.Time = ev.Process.StartTime
	} else {
		return cairn.Event{}, fmt.Errorf("%s record has no time", name)
	}
	return ev, nil
}

// ttEvent fills the event's kind, type and event-specific parts from the
// one event the record holds, and returns that event's name and common
// part. It returns "" when the record holds no event it knows.
func ttEvent(rec *ttRecord, ev *cairn.Event) (string, *ttBase, error) {
	var names []string
	var base *ttBase
	set := func(name string, b *ttBase) {
		names = append(names, name)
		base = b
	}
	if e := rec.ProcessExec; e != nil {
		set("process_exec", e)
		ev.Kind, ev.Type = cairn.KindExec, "execve"
		// A process Tetragon found in /proc when it started was not
		// executed now: it keeps its place in the process tree, but is
		// no execve for rules (Falco, too, reads /proc silently).
		if e.Process != nil && hasFlag(e.Process.Flags, "procFS") {
			ev.Type = ProcFSType
		}
	}
	if e := rec.ProcessExit; e != nil {
		set("process_exit", &e.ttBase)
		ev.Kind, ev.Type = cairn.KindExit, "procexit"
	}
	for _, h := range []struct {
		name string
		hook *ttHook
	}{
		{"process_kprobe", rec.ProcessKprobe},
		{"process_tracepoint", rec.ProcessTracepoint},
		{"process_uprobe", rec.ProcessUprobe},
		{"process_lsm", rec.ProcessLsm},
	} {
		if h.hook != nil {
			set(h.name, &h.hook.ttBase)
			ttHookEvent(h.name, h.hook, ev)
		}
	}
	if e := rec.ProcessLoader; e != nil {
		set("process_loader", &e.ttBase)
		ev.Kind, ev.Type = cairn.KindFile, "mmap"
		ev.File = &cairn.File{Path: e.Path, Op: "load"}
	}
	for _, s := range []struct {
		name, op string
		sock     *ttSocket
	}{
		{"process_connect", "connect", rec.ProcessConnect},
		{"process_close", "close", rec.ProcessClose},
		{"process_listen", "listen", rec.ProcessListen},
		{"process_accept", "accept", rec.ProcessAccept},
	} {
		if s.sock != nil {
			set(s.name, &s.sock.ttBase)
			ev.Kind, ev.Type = cairn.KindNetwork, s.op
			ev.Net = ttSocketConn(s.op, s.sock)
			if s.op == "connect" {
				// Tetragon reports a connect when the kernel sends the
				// handshake's first packet: the call did not fail, and
				// the connection is not yet established.
				res := int64(sysarg.EINPROGRESS)
				ev.Res = &res
			}
		}
	}
	switch len(names) {
	case 0:
		return "", nil, nil
	case 1:
		return names[0], base, nil
	}
	return "", nil, fmt.Errorf("record has more than one event (%s)", strings.Join(names, ", "))
}

// ttExitStatus sets the exit code and signal of an exit event's process.
func ttExitStatus(ev *cairn.Event, e *ttExit) {
	if ev.Process == nil {
		return
	}
	ev.Process.Signal = e.Signal
	if e.Status != nil || e.Signal == "" {
		var code int64
		if e.Status != nil {
			code = *e.Status
		}
		ev.Process.ExitCode = &code
	}
}

// ttSocketConn maps the older socket events.
func ttSocketConn(op string, s *ttSocket) *cairn.Conn {
	c := &cairn.Conn{Op: op, Protocol: protocolName(s.Protocol)}
	if op == "listen" {
		c.SrcIP, c.SrcPort = s.IP, s.Port
		return c
	}
	c.SrcIP, c.SrcPort = s.SourceIP, s.SourcePort
	c.DstIP, c.DstPort = s.DestinationIP, s.DestinationPort
	return c
}

// ttOther keeps a record whose event cairn does not interpret (a newer
// process_* event, rate_limit_info) as KindOther, and rejects anything
// else.
func ttOther(data []byte, ev cairn.Event, rec ttRecord) (cairn.Event, error) {
	var name string
	var value []byte
	_ = jsonscan.Members(data, func(k string, v []byte) bool {
		if strings.HasPrefix(k, "process_") || k == "rate_limit_info" {
			name, value = k, v
			return false
		}
		return true
	})
	if name == "" || len(value) == 0 || value[0] != '{' {
		return cairn.Event{}, errors.New("record has no process_* event")
	}
	ev.Kind, ev.Type = cairn.KindOther, name
	var base ttBase
	if json.Unmarshal(value, &base) == nil && base.Process != nil {
		if err := ttProcesses(&ev, &base); err != nil {
			return cairn.Event{}, err
		}
		ttWorkload(&ev, base.Process, rec.ClusterName)
	} else if rec.ClusterName != "" {
		ev.K8s = &cairn.K8s{Cluster: rec.ClusterName}
	}
	if rec.Time == "" {
		return cairn.Event{}, fmt.Errorf("%s record has no time", name)
	}
	t, err := parseTime(rec.Time)
	if err != nil {
		return cairn.Event{}, fmt.Errorf("time: %v", err)
	}
	ev.Time = t
	return ev, nil
}

// ttProcesses fills the process, its parent and its ancestors (nearest
// first, as Tetragon lists them) with their parent pids.
func ttProcesses(ev *cairn.Event, b *ttBase) error {
	p, err := ttProc(b.Process, "process")
	if err != nil {
		return err
	}
	ev.Process = p
	if b.Parent != nil {
		if ev.Parent, err = ttProc(b.Parent, "parent"); err != nil {
			return err
		}
		ev.Process.PPID = ev.Parent.PID
	}
	if len(b.Ancestors) > 0 {
		ev.Ancestors = make([]cairn.Process, len(b.Ancestors))
		for i := range b.Ancestors {
			a, err := ttProc(&b.Ancestors[i], fmt.Sprintf("ancestors[%d]", i))
			if err != nil {
				return err
			}
			ev.Ancestors[i] = *a
		}
		for i := 0; i+1 < len(ev.Ancestors); i++ {
			ev.Ancestors[i].PPID = ev.Ancestors[i+1].PID
		}
		if ev.Parent != nil {
			ev.Parent.PPID = ev.Ancestors[0].PID
		}
	}
	return nil
}

// ttProc maps one Tetragon process.
func ttProc(tp *ttProcess, what string) (*cairn.Process, error) {
	p := &cairn.Process{
		ExecID:       tp.ExecID,
		ParentExecID: tp.ParentExecID,
		Name:         baseName(tp.Binary),
		Binary:       tp.Binary,
		Args:         tp.Arguments,
		Cwd:          tp.Cwd,
		UID:          tp.UID,
		LoginUID:     tp.Auid,
		Flags:        tp.Flags,
	}
	if tp.PID != nil {
		p.PID = *tp.PID
	}
	if c := tp.Credentials; c != nil {
		p.GID = c.EGID
		if p.GID == nil {
			p.GID = c.GID
		}
		if p.UID == nil {
			p.UID = c.EUID
		}
	}
	if tp.User != nil {
		p.User = tp.User.Name
	}
	if tp.Cap != nil {
		p.CapEffective, p.CapPermitted = capNames(tp.Cap.Effective), capNames(tp.Cap.Permitted)
	}
	if tp.StartTime != "" {
		t, err := parseTime(tp.StartTime)
		if err != nil {
			return nil, fmt.Errorf("%s.start_time: %v", what, err)
		}
		p.StartTime = t
	}
	return p, nil
}

// ttWorkload fills the container and Kubernetes context of the process.
// A host process (no pod, no docker id) has no container.
func ttWorkload(ev *cairn.Event, tp *ttProcess, cluster string) {
	if pod := tp.Pod; pod != nil {
		ev.K8s = &cairn.K8s{
			Cluster:      cluster,
			Namespace:    pod.Namespace,
			Pod:          pod.Name,
			PodUID:       pod.UID,
			Labels:       pod.PodLabels,
			WorkloadKind: pod.WorkloadKind,
			WorkloadName: pod.Workload,
		}
		if c := pod.Container; c != nil && c.ID != "" {
			ev.Container = containerFromID(c.ID)
			ev.Container.Name = c.Name
			if c.Image != nil {
				ev.Container.Image = c.Image.Name
				ev.Container.ImageID = c.Image.ID
			}
			if c.StartTime != "" {
				if t, err := parseTime(c.StartTime); err == nil {
					ev.Container.StartTime = t
				}
			}
			if c.PID != nil {
				ev.Container.PID = *c.PID
			}
			if c.SecurityContext != nil {
				ev.Container.Privileged = c.SecurityContext.Privileged
			}
		}
	} else if cluster != "" {
		ev.K8s = &cairn.K8s{Cluster: cluster}
	}
	if ev.Container == nil && tp.Docker != "" {
		// Tetragon's docker field holds only the first digits of the id.
		ev.Container = &cairn.Container{ID: shortID(tp.Docker)}
	}
}

// baseName returns the last element of a slash-separated path.
func baseName(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// parseTime parses an RFC 3339 time, with or without fractional seconds.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", clip(s))
	}
	return t, nil
}

// clip shortens an attacker-controlled string quoted in a reason.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// ProcFSType is the event type of a Tetragon process_exec record for a
// process found in /proc at start-up (flag procFS) rather than executed.
const ProcFSType = "procfs"

// hasFlag reports whether Tetragon's space-separated flags hold f.
func hasFlag(flags, f string) bool {
	for _, x := range strings.Fields(flags) {
		if x == f {
			return true
		}
	}
	return false
}

// capNames returns capability names as CAP_NAME; some Tetragon versions
// leave the prefix off one of them (DAC_OVERRIDE).
func capNames(cs []string) []string {
	if cs == nil {
		return nil
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out[i] = c
	}
	return out
}
