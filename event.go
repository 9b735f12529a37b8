// Package cairn is the domain of the cairn cloud detection and response
// platform: the normalized Event every source is decoded into, the
// interfaces of the store, and the error codes shown to users.
package cairn

import (
	"bytes"
	"encoding/json"
	"io"
	"path"
	"time"
)

// Source names where an event came from.
type Source string

// The sources cairn decodes.
const (
	SourceTetragon   Source = "tetragon"
	SourceFalco      Source = "falco"
	SourceCloudTrail Source = "cloudtrail"
	SourceSensor     Source = "sensor"
	SourceNative     Source = "native"
)

// Kind says what an event describes, independent of its source.
type Kind string

// The kinds of events.
const (
	KindExec    Kind = "process_exec"   // a process executed a program
	KindExit    Kind = "process_exit"   // a process exited
	KindFile    Kind = "file"           // a file was opened, read or written
	KindNetwork Kind = "network"        // a connection was made, accepted, closed or a socket listened
	KindKprobe  Kind = "kprobe"         // any other kernel hook
	KindCloud   Kind = "cloud_api_call" // a cloud control-plane or data-plane API call
	KindAlert   Kind = "alert"          // an alert raised by another engine (Falco)
	KindOther   Kind = "other"          // a record cairn keeps but does not interpret
)

// Event is one normalized record from any source. Decoders fill the parts
// their source carries and leave the others nil; the original record is
// kept byte for byte in Raw.
type Event struct {
	// ID derives from the record, so ingesting the same record twice
	// stores it once.
	ID     string    `json:"id"`
	Source Source    `json:"source"`
	Kind   Kind      `json:"kind"`
	Time   time.Time `json:"time"`
	// Type is the Falco-style event type: execve, procexit, openat,
	// connect, accept, listen, close, or the kernel function of a kprobe;
	// for cloud events the API call's name.
	Type string `json:"type,omitempty"`
	// Host is the node the event happened on (Tetragon's node_name, the
	// sensor's hostname, Falco's hostname).
	Host string `json:"host,omitempty"`

	Process *Process `json:"process,omitempty"`
	Parent  *Process `json:"parent,omitempty"`
	// Ancestors lists the known ancestors above Parent, nearest first.
	Ancestors []Process `json:"ancestors,omitempty"`

	Container *Container `json:"container,omitempty"`
	K8s       *K8s       `json:"k8s,omitempty"`
	File      *File      `json:"file,omitempty"`
	Net       *Conn      `json:"net,omitempty"`
	Cloud     *CloudCall `json:"cloud,omitempty"`
	Alert     *Alert     `json:"alert,omitempty"`

	// Res is the system call's raw result, Falco's evt.rawres: not
	// negative on success, a negative error number on failure; nil when
	// the source does not report it.
	Res *int64 `json:"res,omitempty"`
	// Args are the call's arguments under Falco's names (flags, request,
	// domain, target, oldpath, ...; see package sysarg), rendered as Falco
	// renders them, where the source reports them.
	Args map[string]string `json:"args,omitempty"`

	// Raw is the original record exactly as it was read.
	Raw json.RawMessage `json:"raw,omitempty"`

	doc *rawDoc // Raw parsed, see Doc
}

// Process is one process as a source reports it.
type Process struct {
	// ExecID identifies one execution across the fleet (Tetragon's
	// exec_id); empty when the source has none.
	ExecID       string `json:"exec_id,omitempty"`
	ParentExecID string `json:"parent_exec_id,omitempty"`
	PID          int64  `json:"pid,omitempty"`
	PPID         int64  `json:"ppid,omitempty"`
	// Name is the process name (comm); when a source gives none it is the
	// base name of Binary.
	Name   string `json:"name,omitempty"`
	Binary string `json:"binary,omitempty"`
	// Args is the argument string after argv[0], as Tetragon and Falco's
	// proc.args give it.
	Args      string    `json:"args,omitempty"`
	Cwd       string    `json:"cwd,omitempty"`
	UID       *int64    `json:"uid,omitempty"`
	GID       *int64    `json:"gid,omitempty"`
	User      string    `json:"user,omitempty"`
	LoginUID  *int64    `json:"auid,omitempty"`
	StartTime time.Time `json:"start_time,omitempty"`
	Flags     string    `json:"flags,omitempty"`
	TTY       *int64    `json:"tty,omitempty"`
	SID       *int64    `json:"sid,omitempty"`
	// PGID is the process group id, as the host sees it.
	PGID *int64 `json:"pgid,omitempty"`
	// ExitCode and Signal are set on exit events.
	ExitCode *int64 `json:"exit_code,omitempty"`
	Signal   string `json:"signal,omitempty"`
	// UpperLayer is true when the executable was written in the
	// container's upper (writable) layer after the container started.
	UpperLayer *bool `json:"upper_layer,omitempty"`
	// CapEffective and CapPermitted are the process's capability sets
	// (CAP_SYS_ADMIN, ...), nil when the source does not report them.
	CapEffective []string `json:"cap_effective,omitempty"`
	CapPermitted []string `json:"cap_permitted,omitempty"`
}

// Comm returns the process name: the source's comm (Name), or the base
// name of the executable.
func (p *Process) Comm() string {
	if p.Name != "" || p.Binary == "" {
		return p.Name
	}
	return path.Base(p.Binary)
}

// Cmdline returns the command line as Falco's proc.cmdline shows it: the
// name followed by the arguments.
func (p *Process) Cmdline() string {
	if p.Args == "" {
		return p.Comm()
	}
	return p.Comm() + " " + p.Args
}

// Container is the container a process runs in.
type Container struct {
	// ID is the short (12 hex digit) id, as Falco's container.id.
	ID string `json:"id"`
	// FullID is the full id without the runtime prefix.
	FullID  string `json:"full_id,omitempty"`
	Runtime string `json:"runtime,omitempty"`
	Name    string `json:"name,omitempty"`
	// Image is the image reference as given (repository[:tag][@digest]).
	Image      string    `json:"image,omitempty"`
	ImageID    string    `json:"image_id,omitempty"`
	Privileged *bool     `json:"privileged,omitempty"`
	StartTime  time.Time `json:"start_time,omitempty"`
	// PID is the process's pid inside the container's pid namespace.
	PID int64 `json:"pid,omitempty"`
}

// K8s is the Kubernetes context of a workload.
type K8s struct {
	Cluster      string            `json:"cluster,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Pod          string            `json:"pod,omitempty"`
	PodUID       string            `json:"pod_uid,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	WorkloadKind string            `json:"workload_kind,omitempty"`
	WorkloadName string            `json:"workload_name,omitempty"`
}

// File is a file a process touched.
type File struct {
	Path string `json:"path"`
	// Op is what was done: open, read, write, exec, unlink, rename, chmod.
	Op    string `json:"op,omitempty"`
	Flags string `json:"flags,omitempty"`
	// FD is the file descriptor the open returned (Falco's fd.num), nil
	// when the source does not report it.
	FD *int64 `json:"fd,omitempty"`
}

// Conn is a network connection or socket. Src is always the client side
// and Dst the server side, whoever the local end is: for connect the local
// end is Src, for accept the local end is Dst; for listen only Dst (the
// listening address) is set.
type Conn struct {
	// Op is connect, accept, listen or close.
	Op       string `json:"op"`
	Protocol string `json:"protocol,omitempty"` // tcp, udp
	SrcIP    string `json:"src_ip,omitempty"`
	SrcPort  int64  `json:"src_port,omitempty"`
	DstIP    string `json:"dst_ip,omitempty"`
	DstPort  int64  `json:"dst_port,omitempty"`
}

// CloudCall is one CloudTrail record. Fields not lifted here
// (requestParameters, responseElements, ...) are read from Event.Raw.
type CloudCall struct {
	EventID          string   `json:"event_id,omitempty"`
	EventName        string   `json:"event_name"`
	EventSource      string   `json:"event_source"`
	EventType        string   `json:"event_type,omitempty"`
	EventCategory    string   `json:"event_category,omitempty"`
	EventVersion     string   `json:"event_version,omitempty"`
	Region           string   `json:"region,omitempty"`
	SourceIP         string   `json:"source_ip,omitempty"`
	UserAgent        string   `json:"user_agent,omitempty"`
	ErrorCode        string   `json:"error_code,omitempty"`
	ErrorMessage     string   `json:"error_message,omitempty"`
	ReadOnly         *bool    `json:"read_only,omitempty"`
	ManagementEvent  *bool    `json:"management_event,omitempty"`
	RecipientAccount string   `json:"recipient_account,omitempty"`
	RequestID        string   `json:"request_id,omitempty"`
	Identity         Identity `json:"identity"`
}

// Identity is who made a cloud call.
type Identity struct {
	// Key is the canonical identity (the cloud.identity field): the IAM
	// user's ARN; for an assumed-role session the role's ARN; the root
	// ARN; the federated principal; the AWS service name. Every capability
	// keys identities by it.
	Key string `json:"key"`
	// Type is CloudTrail's userIdentity.type (IAMUser, AssumedRole, Root,
	// FederatedUser, SAMLUser, WebIdentityUser, AWSService, AWSAccount,
	// IdentityCenterUser, Unknown), empty when the record has none.
	Type        string `json:"type,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"account_id,omitempty"`
	PrincipalID string `json:"principal_id,omitempty"`
	AccessKeyID string `json:"access_key_id,omitempty"`
	UserName    string `json:"user_name,omitempty"`
	// SessionName is the role session name of an assumed-role session
	// (for EC2 instance roles, the instance id).
	SessionName string `json:"session_name,omitempty"`
	// IssuerARN is the ARN of the role or user that issued the session.
	IssuerARN      string `json:"issuer_arn,omitempty"`
	IssuerType     string `json:"issuer_type,omitempty"`
	SourceIdentity string `json:"source_identity,omitempty"`
	InvokedBy      string `json:"invoked_by,omitempty"`
	MFA            *bool  `json:"mfa,omitempty"`
}

// Alert is an alert raised by another detection engine, such as Falco.
type Alert struct {
	Rule     string   `json:"rule"`
	Priority string   `json:"priority,omitempty"`
	Output   string   `json:"output,omitempty"`
	Source   string   `json:"source,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	// Fields are the alert's output fields by their Falco names, values
	// as they appeared (string, number, bool, null or list).
	Fields map[string]any `json:"fields,omitempty"`
}

// DeadLetter is a record that could not be decoded, kept with the reason.
type DeadLetter struct {
	// Origin is where the record was read: a file path, "-" for standard
	// input, or an endpoint.
	Origin string `json:"origin"`
	// Position locates the record in its origin: "line 12", "record 3",
	// "byte 5120".
	Position string    `json:"position"`
	Format   string    `json:"format,omitempty"`
	Reason   string    `json:"reason"`
	Raw      []byte    `json:"raw"`
	Time     time.Time `json:"time"`
}

// Doc returns the raw record parsed as JSON (objects as map[string]any,
// numbers as json.Number), or nil when Raw is empty or not JSON. The result
// is cached on the event: do not call Doc on one event from two goroutines
// at once, and treat the result as read-only.
func (e *Event) Doc() any {
	if e.doc == nil {
		e.doc = &rawDoc{}
		if len(e.Raw) > 0 {
			d := json.NewDecoder(bytes.NewReader(e.Raw))
			d.UseNumber()
			var v any
			// A record with anything but whitespace after its value is
			// not one JSON document; SQL's json functions agree.
			if d.Decode(&v) == nil {
				if _, err := d.Token(); err == io.EOF {
					e.doc.v = v
				}
			}
		}
	}
	return e.doc.v
}

type rawDoc struct{ v any }

// SetDoc caches v as the parsed raw record, for a decoder that parsed it
// anyway, so that Doc does not parse it again. v must be what Doc would
// return for Raw: encoding/json's generic values with json.Number numbers.
func (e *Event) SetDoc(v any) { e.doc = &rawDoc{v: v} }
