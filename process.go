package cairn

import (
	"context"
	"strconv"
	"time"
)

// NodeFlags mark what is uncertain about a process node.
type NodeFlags uint8

// The node flags.
const (
	// FlagUnknown marks a placeholder: a parent named by a child but never
	// described by an event of its own (yet).
	FlagUnknown NodeFlags = 1 << iota
	// FlagPartial marks a node known only in part: from a parent or
	// ancestor element, or from a process that exited before it was read.
	FlagPartial
	// FlagConflict marks a node whose key was seen again with another pid
	// or binary; the first description is kept.
	FlagConflict
	// FlagLoop marks a node whose parent chain leads back to itself; the
	// chain is cut there.
	FlagLoop
)

// Has reports whether all of g are set in f.
func (f NodeFlags) Has(g NodeFlags) bool { return f&g == g }

// Names returns the set flags' names: unknown, partial, conflict, loop.
func (f NodeFlags) Names() []string {
	var out []string
	for i, n := range []string{"unknown", "partial", "conflict", "loop"} {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// ProcessNode is one execution in a process tree, with where it ran.
type ProcessNode struct {
	// Key identifies the execution: the source's exec id when it has one,
	// otherwise HostPIDKey(host, pid, start), so that pid reuse never
	// joins two processes.
	Key string `json:"key"`
	// ParentKey is the parent's key, "" when unknown (a root).
	ParentKey string     `json:"parent_key,omitempty"`
	Host      string     `json:"host,omitempty"`
	Process   Process    `json:"process"`
	Container *Container `json:"container,omitempty"`
	K8s       *K8s       `json:"k8s,omitempty"`
	Flags     NodeFlags  `json:"flags,omitempty"`
	// EventID is the event that described the node best (its exec).
	EventID string `json:"event_id,omitempty"`
	// ExitTime is when the process exited, zero while it runs or when its
	// exit was not seen.
	ExitTime time.Time `json:"exit_time,omitempty"`
	// LastSeen is the time of the latest event that named the node.
	LastSeen time.Time `json:"last_seen"`
}

// HostPIDKey is the key of a process whose source gives no exec id.
func HostPIDKey(host string, pid int64, start time.Time) string {
	s := "0"
	if !start.IsZero() {
		s = strconv.FormatInt(start.UnixNano(), 10)
	}
	return "hp:" + host + ":" + strconv.FormatInt(pid, 10) + ":" + s
}

// ProcessWriter stores process nodes. Writing a node whose key is stored
// merges them: known values replace unknown ones (a placeholder is filled
// in and loses FlagUnknown; a full description clears FlagPartial), a
// conflicting description keeps the first and sets FlagConflict, which
// stays; LastSeen and ExitTime take the latest.
type ProcessWriter interface {
	WriteProcesses(ctx context.Context, nodes []ProcessNode) error
}

// ProcessReader reads stored process trees.
type ProcessReader interface {
	// Process returns one node by key, or ENOTFOUND.
	Process(ctx context.Context, key string) (ProcessNode, error)
	// Lineage returns the node and its ancestors, root first and the node
	// last, at most max nodes (the nearest ones). A chain that loops is
	// cut where it would repeat a node, and that node gets FlagLoop.
	// ENOTFOUND when key is not stored.
	Lineage(ctx context.Context, key string, max int) ([]ProcessNode, error)
	// Children returns the nodes whose parent is key, oldest first, at
	// most limit.
	Children(ctx context.Context, key string, limit int) ([]ProcessNode, error)
}

// Scope selects the events around a moment that belong to one process
// tree or container.
type Scope struct {
	// ProcessKeys are the keys (exec ids) of the processes whose events
	// count: the lineage, children and siblings.
	ProcessKeys []string
	// ContainerID, when not "" or "host", adds every event of that
	// container.
	ContainerID string
	// Host restricts ContainerID to one host.
	Host string
}

// ContextReader reads the events just before and after one event.
type ContextReader interface {
	// EventsAround returns up to before events preceding ev and up to
	// after events following it (ordered by time, then insertion), both
	// in time order, from the scope. ev itself is in neither.
	EventsAround(ctx context.Context, ev Event, scope Scope, before, after int) (pre, post []Event, err error)
}
