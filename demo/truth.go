package demo

import "time"

// Truth is what a scenario contains, written down by the generator from
// the same values that produced the records: the stories, what should be
// detected in each, their root causes, techniques, workloads and
// identities. Tests and the assistant are checked against it.
type Truth struct {
	Seed int64     `json:"seed"`
	Now  time.Time `json:"now"`
	// Start and End bound the time of every record: Start <= t < End.
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	AccountID string    `json:"account_id"`
	Region    string    `json:"region"`
	// TetragonRecords and CloudTrailRecords count the records generated.
	TetragonRecords   int          `json:"tetragon_records"`
	CloudTrailRecords int          `json:"cloudtrail_records"`
	Stories           []Story      `json:"stories"`
	Background        Background   `json:"background"`
	Clusters          []ClusterRef `json:"clusters"`
}

// Story ids.
const (
	StoryCIS        = "cis-benchmark"
	StoryLog4Shell  = "log4shell"
	StoryMiner      = "cryptominer"
	StoryScarleteel = "scarleteel"
)

// Story is the ground truth of one attack (or legitimate activity that
// looks like one).
type Story struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Malicious is false for legitimate activity that a rule flags, which
	// the analyst is expected to except.
	Malicious bool      `json:"malicious"`
	Summary   string    `json:"summary"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	// Detections are the behaviours a detection engine should flag, in
	// the order they happened.
	Detections []Detection `json:"detections"`
	RootCause  RootCause   `json:"root_cause"`
	// Techniques are the ATT&CK technique ids of the story, sorted.
	Techniques []string   `json:"techniques"`
	Workloads  []Workload `json:"workloads,omitempty"`
	// Hosts are the node names the story's processes ran on.
	Hosts []string `json:"hosts,omitempty"`
	// Identities are canonical identity keys (cloud.identity): an IAM
	// user's ARN; for an assumed-role session, the role's ARN.
	Identities []string `json:"identities,omitempty"`
	// AccessKeys are the access key ids the story's identities used.
	AccessKeys  []string `json:"access_keys,omitempty"`
	AttackerIPs []string `json:"attacker_ips,omitempty"`
	// Indicators are other observables worth blocking or hunting for:
	// domains, file paths, wallet addresses.
	Indicators []string `json:"indicators,omitempty"`
}

// Detection is one expected detection, described by the behaviour it
// flags rather than by a rule name, so that any rule set can be checked.
type Detection struct {
	What       string    `json:"what"`
	Source     string    `json:"source"` // "tetragon" or "cloudtrail"
	Techniques []string  `json:"techniques"`
	Time       time.Time `json:"time"`

	// Runtime detections.
	Host         string `json:"host,omitempty"`
	Cluster      string `json:"cluster,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
	Pod          string `json:"pod,omitempty"`
	Container    string `json:"container,omitempty"`
	Image        string `json:"image,omitempty"`
	Process      string `json:"process,omitempty"` // process name (base name of the binary)
	Binary       string `json:"binary,omitempty"`
	Parent       string `json:"parent,omitempty"` // parent process name
	ArgsContains string `json:"args_contains,omitempty"`
	File         string `json:"file,omitempty"`
	DestIP       string `json:"dest_ip,omitempty"`
	DestPort     int    `json:"dest_port,omitempty"`
	// ExecID is the Tetragon exec id of the process the detection is on.
	ExecID string `json:"exec_id,omitempty"`

	// Cloud detections.
	Identity    string   `json:"identity,omitempty"`
	AccessKeyID string   `json:"access_key_id,omitempty"`
	SourceIP    string   `json:"source_ip,omitempty"`
	EventSource string   `json:"event_source,omitempty"`
	EventNames  []string `json:"event_names,omitempty"`
	// EventIDs are the CloudTrail eventIDs of the records involved.
	EventIDs []string `json:"event_ids,omitempty"`
	// Failed counts the records among EventIDs that carry an errorCode.
	Failed int `json:"failed,omitempty"`
}

// RootCause is where a story started.
type RootCause struct {
	// Kind is one of "scheduled-job", "exploited-service", "script".
	Kind    string `json:"kind"`
	Summary string `json:"summary"`
	// Process, Args and ExecID name the originating process, when the
	// root cause is one.
	Process string `json:"process,omitempty"`
	Args    string `json:"args,omitempty"`
	ExecID  string `json:"exec_id,omitempty"`
	// EntryPoint is how the attacker got in, when it is not a process:
	// the port and request of an exploited service.
	EntryPoint    string    `json:"entry_point,omitempty"`
	Vulnerability string    `json:"vulnerability,omitempty"`
	Workload      *Workload `json:"workload,omitempty"`
	// Identity, AccessKeyID and InstanceID name a stolen credential.
	Identity    string `json:"identity,omitempty"`
	AccessKeyID string `json:"access_key_id,omitempty"`
	InstanceID  string `json:"instance_id,omitempty"`
}

// Workload is a container of a pod.
type Workload struct {
	Cluster      string `json:"cluster"`
	Namespace    string `json:"namespace"`
	Pod          string `json:"pod"`
	Container    string `json:"container"`
	ContainerID  string `json:"container_id"` // full id without the runtime prefix
	Image        string `json:"image"`
	Workload     string `json:"workload"`
	WorkloadKind string `json:"workload_kind"`
	Node         string `json:"node"`
}

// ClusterRef names a cluster and its nodes; InstanceIDs are the EC2
// instances behind the nodes, in the same order.
type ClusterRef struct {
	Name        string   `json:"name"`
	Nodes       []string `json:"nodes"`
	InstanceIDs []string `json:"instance_ids"`
	// NodeRole is the ARN of the nodes' instance role.
	NodeRole string `json:"node_role,omitempty"`
}

// Background lists the legitimate actors around the stories, so that a
// check can tell that they were not reported as affected.
type Background struct {
	Workloads  []Workload `json:"workloads"`
	Hosts      []string   `json:"hosts"`
	Identities []string   `json:"identities"`
	// SourceIPs are the usual addresses of the legitimate identities.
	SourceIPs []string `json:"source_ips"`
}
