package cairn

import (
	"context"
	"time"
)

// Detection is a rule's verdict on one or more events.
type Detection struct {
	// ID derives from the rule and the triggering events, so that
	// evaluating the same events again stores the detection once.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Rule is the rule's name; Source the rules' format and event source
	// (falco/syscall, falco/aws_cloudtrail, sigma, cairn).
	Rule   string `json:"rule"`
	Source string `json:"source,omitempty"`
	// Priority is the rule's own priority or level as written (Falco's
	// WARNING, Sigma's high); Severity its rank on cairn's ordered scale
	// (see field.SeverityRank).
	Priority string   `json:"priority"`
	Severity int64    `json:"severity"`
	Output   string   `json:"output"`
	Tags     []string `json:"tags,omitempty"`
	// Tactics and Techniques are ATT&CK ids named by the rule's tags.
	Tactics    []string `json:"tactics,omitempty"`
	Techniques []string `json:"techniques,omitempty"`
	// EventIDs are the triggering events, oldest first.
	EventIDs []string `json:"event_ids"`
	// Entities are what the detection is about.
	Entities Entities `json:"entities"`
	// Count is how many identical detections (same rule, output and
	// entities) this one stands for; LastTime is the latest of them.
	Count    int       `json:"count"`
	LastTime time.Time `json:"last_time"`
	// Status is the group's triage status (StatusNew when never
	// triaged) and Assignee the analyst it is assigned to, if anyone.
	Status   string `json:"status"`
	Assignee string `json:"assignee,omitempty"`
}

// Entities are the things a detection names, for pivoting.
type Entities struct {
	ExecID      string `json:"exec_id,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	Image       string `json:"image,omitempty"`
	Pod         string `json:"pod,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Cluster     string `json:"cluster,omitempty"`
	Host        string `json:"host,omitempty"`
	Identity    string `json:"identity,omitempty"`
}

// EntitiesOf returns what an event is about, for a detection's pivots.
func EntitiesOf(ev *Event) Entities {
	var e Entities
	e.Host = ev.Host
	if p := ev.Process; p != nil {
		e.ExecID = p.ExecID
	}
	if c := ev.Container; c != nil {
		e.ContainerID, e.Image = c.ID, c.Image
	}
	if k := ev.K8s; k != nil {
		e.Pod, e.Namespace, e.Cluster = k.Pod, k.Namespace, k.Cluster
	}
	if c := ev.Cloud; c != nil {
		e.Identity = c.Identity.Key
	}
	return e
}

// DetectionQuery selects detections; Filter is in the filter language and
// sees the triggering event's fields and the detection's own (severity,
// rule.name, rule.tags, mitre.tactic, mitre.technique, status,
// assignee).
type DetectionQuery struct {
	Filter       string
	Since, Until time.Time
	Limit        int
	Cursor       string
}

// DetectionPage is one page of detections, newest first.
type DetectionPage struct {
	Detections []Detection
	Next       string
}

// DetectionStore keeps detections. Writing a detection whose group (rule,
// output and entities) is stored adds to its count instead of a new row;
// writing the same detection id twice changes nothing.
type DetectionStore interface {
	WriteDetections(ctx context.Context, ds []Detection, events []Event) error
	QueryDetections(ctx context.Context, q DetectionQuery) (DetectionPage, error)
	GetDetection(ctx context.Context, id string) (Detection, error)
}
