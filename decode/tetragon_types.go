package decode

import (
	"bytes"
	"fmt"
	"strconv"
)

// The types below follow Tetragon's JSON export (protojson of
// tetragon.GetEventsResponse with the proto field names), written by hand
// so that the older process_connect, process_close and process_listen
// events decode too. Fields cairn does not use are left out; they stay in
// the event's Raw.

// ttRecord is one line of Tetragon's export: exactly one event plus the
// node and time.
type ttRecord struct {
	ProcessExec       *ttBase   `json:"process_exec"`
	ProcessExit       *ttExit   `json:"process_exit"`
	ProcessKprobe     *ttHook   `json:"process_kprobe"`
	ProcessTracepoint *ttHook   `json:"process_tracepoint"`
	ProcessUprobe     *ttHook   `json:"process_uprobe"`
	ProcessLsm        *ttHook   `json:"process_lsm"`
	ProcessLoader     *ttLoader `json:"process_loader"`
	ProcessConnect    *ttSocket `json:"process_connect"`
	ProcessClose      *ttSocket `json:"process_close"`
	ProcessListen     *ttSocket `json:"process_listen"`
	ProcessAccept     *ttSocket `json:"process_accept"`

	NodeName    string `json:"node_name"`
	ClusterName string `json:"cluster_name"`
	Time        string `json:"time"`
}

// ttBase holds what every process event carries.
type ttBase struct {
	Process   *ttProcess  `json:"process"`
	Parent    *ttProcess  `json:"parent"`
	Ancestors []ttProcess `json:"ancestors"`
}

type ttExit struct {
	ttBase
	Signal string `json:"signal"`
	Status *int64 `json:"status"`
}

// ttHook is a kprobe, tracepoint, uprobe or LSM event.
type ttHook struct {
	ttBase
	FunctionName string  `json:"function_name"` // kprobe, LSM
	Subsys       string  `json:"subsys"`        // tracepoint
	Event        string  `json:"event"`         // tracepoint
	Symbol       string  `json:"symbol"`        // uprobe
	Path         string  `json:"path"`          // uprobe
	Args         []ttArg `json:"args"`
	Return       *ttArg  `json:"return"`
}

type ttLoader struct {
	ttBase
	Path string `json:"path"`
}

// ttSocket is one of the older process_connect, process_close,
// process_listen and process_accept events.
type ttSocket struct {
	ttBase
	SourceIP        string `json:"source_ip"`
	SourcePort      int64  `json:"source_port"`
	DestinationIP   string `json:"destination_ip"`
	DestinationPort int64  `json:"destination_port"`
	IP              string `json:"ip"`   // listen
	Port            int64  `json:"port"` // listen
	Protocol        string `json:"protocol"`
}

type ttProcess struct {
	ExecID       string       `json:"exec_id"`
	PID          *int64       `json:"pid"`
	UID          *int64       `json:"uid"`
	Cwd          string       `json:"cwd"`
	Binary       string       `json:"binary"`
	Arguments    string       `json:"arguments"`
	Flags        string       `json:"flags"`
	StartTime    string       `json:"start_time"`
	Auid         *int64       `json:"auid"`
	Pod          *ttPod       `json:"pod"`
	Docker       string       `json:"docker"`
	ParentExecID string       `json:"parent_exec_id"`
	Credentials  *ttCreds     `json:"process_credentials"`
	User         *ttUserEntry `json:"user"`
	Cap          *ttCaps      `json:"cap"`
}

// ttCaps are a process's capability sets.
type ttCaps struct {
	Permitted []string `json:"permitted"`
	Effective []string `json:"effective"`
}

type ttCreds struct {
	UID  *int64 `json:"uid"`
	GID  *int64 `json:"gid"`
	EUID *int64 `json:"euid"`
	EGID *int64 `json:"egid"`
}

type ttUserEntry struct {
	Name string `json:"name"`
}

type ttPod struct {
	Namespace    string            `json:"namespace"`
	Name         string            `json:"name"`
	UID          string            `json:"uid"`
	Container    *ttContainer      `json:"container"`
	PodLabels    map[string]string `json:"pod_labels"`
	Workload     string            `json:"workload"`
	WorkloadKind string            `json:"workload_kind"`
}

type ttContainer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Image *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"image"`
	StartTime       string `json:"start_time"`
	PID             *int64 `json:"pid"`
	SecurityContext *struct {
		Privileged *bool `json:"privileged"`
	} `json:"security_context"`
}

// ttArg is one argument of a hook; exactly one field is set.
type ttArg struct {
	FileArg        *ttPathArg  `json:"file_arg"`
	PathArg        *ttPathArg  `json:"path_arg"`
	LinuxBinprmArg *ttPathArg  `json:"linux_binprm_arg"`
	SockArg        *ttSockArg  `json:"sock_arg"`
	SkbArg         *ttSockArg  `json:"skb_arg"`
	SockaddrArg    *ttSockaddr `json:"sockaddr_arg"`
	IntArg         *int64      `json:"int_arg"`
	// uint64 and int64 values come as JSON strings (protobuf's JSON).
	SizeArg   *ttNum  `json:"size_arg"`
	LongArg   *ttNum  `json:"long_arg"`
	UintArg   *ttNum  `json:"uint_arg"`
	StringArg *string `json:"string_arg"`
	// Label is the name the policy gave the argument, if any.
	Label string `json:"label"`
}

// ttNum is an integer written as a JSON number or a string.
type ttNum int64

func (n *ttNum) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		u, uerr := strconv.ParseUint(string(b), 10, 64)
		if uerr != nil {
			return fmt.Errorf("integer argument: %v", err)
		}
		v = int64(u)
	}
	*n = ttNum(v)
	return nil
}

type ttPathArg struct {
	Path       string `json:"path"`
	Flags      string `json:"flags"`
	Permission string `json:"permission"`
}

// ttSockArg is a sock_arg or skb_arg.
type ttSockArg struct {
	Family   string `json:"family"`
	Protocol string `json:"protocol"`
	Proto    *int64 `json:"proto"` // skb_arg: the IP protocol number
	Saddr    string `json:"saddr"`
	Daddr    string `json:"daddr"`
	Sport    int64  `json:"sport"`
	Dport    int64  `json:"dport"`
}

type ttSockaddr struct {
	Family string `json:"family"`
	Addr   string `json:"addr"`
	Port   int64  `json:"port"`
}
