package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// The types below give the Tetragon JSON export's shape (the protojson
// form of tetragon.GetEventsResponse), with fields in the order the
// export writes them.

type tRecord struct {
	ProcessExec   *tExec   `json:"process_exec,omitempty"`
	ProcessExit   *tExit   `json:"process_exit,omitempty"`
	ProcessKprobe *tKprobe `json:"process_kprobe,omitempty"`
	NodeName      string   `json:"node_name"`
	Time          string   `json:"time"`
	ClusterName   string   `json:"cluster_name,omitempty"`
}

type tExec struct {
	Process   *tProcess   `json:"process"`
	Parent    *tProcess   `json:"parent,omitempty"`
	Ancestors []*tProcess `json:"ancestors,omitempty"`
}

type tExit struct {
	Process   *tProcess   `json:"process"`
	Parent    *tProcess   `json:"parent,omitempty"`
	Signal    string      `json:"signal,omitempty"`
	Status    uint32      `json:"status,omitempty"`
	Time      string      `json:"time"`
	Ancestors []*tProcess `json:"ancestors,omitempty"`
}

type tKprobe struct {
	Process      *tProcess   `json:"process"`
	Parent       *tProcess   `json:"parent,omitempty"`
	FunctionName string      `json:"function_name"`
	Args         []tArg      `json:"args"`
	Return       *tArg       `json:"return,omitempty"`
	Action       string      `json:"action"`
	PolicyName   string      `json:"policy_name"`
	ReturnAction string      `json:"return_action,omitempty"`
	Ancestors    []*tProcess `json:"ancestors,omitempty"`
}

type tProcess struct {
	ExecID       string `json:"exec_id"`
	PID          uint32 `json:"pid"`
	UID          uint32 `json:"uid"`
	Cwd          string `json:"cwd"`
	Binary       string `json:"binary"`
	Arguments    string `json:"arguments,omitempty"`
	Flags        string `json:"flags"`
	StartTime    string `json:"start_time"`
	AUID         uint32 `json:"auid"`
	Pod          *tPod  `json:"pod,omitempty"`
	Docker       string `json:"docker,omitempty"`
	ParentExecID string `json:"parent_exec_id"`
	TID          uint32 `json:"tid"`
	InInitTree   *bool  `json:"in_init_tree,omitempty"`
}

type tPod struct {
	Namespace    string            `json:"namespace"`
	Name         string            `json:"name"`
	UID          string            `json:"uid"`
	Container    tContainer        `json:"container"`
	PodLabels    map[string]string `json:"pod_labels,omitempty"`
	Workload     string            `json:"workload,omitempty"`
	WorkloadKind string            `json:"workload_kind,omitempty"`
}

type tContainer struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Image          tImage `json:"image"`
	StartTime      string `json:"start_time"`
	PID            uint32 `json:"pid"`
	MaybeExecProbe bool   `json:"maybe_exec_probe,omitempty"`
}

type tImage struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type tArg struct {
	IntArg  *int32 `json:"int_arg,omitempty"`
	FileArg *tFile `json:"file_arg,omitempty"`
	SockArg *tSock `json:"sock_arg,omitempty"`
}

type tFile struct {
	Path       string `json:"path"`
	Permission string `json:"permission,omitempty"`
}

type tSock struct {
	Family   string `json:"family"`
	Type     string `json:"type"`
	Protocol string `json:"protocol"`
	Saddr    string `json:"saddr"`
	Daddr    string `json:"daddr"`
	Sport    uint32 `json:"sport"`
	Dport    uint32 `json:"dport"`
	Cookie   string `json:"cookie"`
	State    string `json:"state"`
}

// protoTime formats t as protojson formats a Timestamp: UTC, with 0, 3,
// 6 or 9 fractional digits.
func protoTime(t time.Time) string {
	t = t.UTC()
	ns := t.Nanosecond()
	switch {
	case ns == 0:
		return t.Format("2006-01-02T15:04:05Z")
	case ns%1e6 == 0:
		return t.Format("2006-01-02T15:04:05.000Z")
	case ns%1e3 == 0:
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}

// flags returns Tetragon's process flags for p.
func (p *proc) flags() string {
	f := "execve"
	if p.procfs {
		f = "procFS auid"
	}
	if p.cwd == "/" {
		f += " rootcwd"
	}
	if !p.procfs {
		f += " clone"
	}
	return f
}

// tetragonProcess renders p once; records share the result.
func (p *proc) tetragonProcess() *tProcess {
	if p.rendered != nil {
		return p.rendered
	}
	tp := &tProcess{
		ExecID: p.execID, PID: p.pid, UID: p.uid, Cwd: p.cwd, Binary: p.binary, Arguments: p.args,
		Flags: p.flags(), StartTime: protoTime(p.start), AUID: p.auid, ParentExecID: p.parentExecID(), TID: p.pid,
	}
	if c := p.ctr; c != nil {
		pd := c.pod
		tp.Pod = &tPod{
			Namespace: pd.namespace, Name: pd.name, UID: pd.uid,
			Container: tContainer{
				ID: "containerd://" + c.id, Name: c.name, Image: tImage{ID: c.imageID, Name: c.image},
				StartTime: protoTime(c.start), PID: p.cpid, MaybeExecProbe: p.probe,
			},
			PodLabels: pd.labels, Workload: pd.workload, WorkloadKind: pd.kind,
		}
		tp.Docker = c.id[:31]
		in := p.inInit
		tp.InInitTree = &in
	}
	p.rendered = tp
	return tp
}

// lineage returns the rendered parent and the ancestors above it, nearest
// first.
func (p *proc) lineage() (*tProcess, []*tProcess) {
	if p.parent == nil {
		return nil, nil
	}
	var anc []*tProcess
	for a := p.parent.parent; a != nil; a = a.parent {
		anc = append(anc, a.tetragonProcess())
	}
	return p.parent.tetragonProcess(), anc
}

func (w *runtime) render(e *rtEvent) ([]byte, error) {
	p := e.p
	n := p.node
	rec := tRecord{NodeName: n.name, Time: protoTime(e.t), ClusterName: n.cluster}
	parent, anc := p.lineage()
	switch e.kind {
	case evExec:
		rec.ProcessExec = &tExec{Process: p.tetragonProcess(), Parent: parent, Ancestors: anc}
	case evExit:
		rec.ProcessExit = &tExit{Process: p.tetragonProcess(), Parent: parent, Signal: p.signal, Status: p.status,
			Time: rec.Time, Ancestors: anc}
	case evKprobe:
		k := &tKprobe{Process: p.tetragonProcess(), Parent: parent, FunctionName: e.fn, Args: e.args, Return: e.ret,
			Action: "KPROBE_ACTION_POST", PolicyName: e.policy, Ancestors: anc}
		if e.ret != nil {
			k.ReturnAction = "KPROBE_ACTION_POST"
		}
		rec.ProcessKprobe = k
	default:
		return nil, fmt.Errorf("demo: unknown event kind %d", e.kind)
	}
	return marshal(rec)
}

// marshal encodes v as compact JSON without escaping <, > and &, as the
// exporters do, and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
