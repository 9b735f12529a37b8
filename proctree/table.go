// Package proctree keeps cairn's in-memory process table: every process
// the events name, keyed by exec id (or host, pid and start time for
// sources without exec ids), linked child to parent, so that each event can
// be given its full lineage even when its source reports only the parent or
// nothing at all.
//
// The table is bounded. Time is event time (the latest time of the events
// with a process that Observe has seen), never the wall clock. An exited process stays for a grace period after
// its exit and then until its children are gone; when the table is full
// the oldest exited leaves go first, then the least recently seen nodes
// (a real system loses exit events). Every event costs amortised O(1)
// eviction work, proportional to the processes it names.
package proctree

import (
	"time"

	"github.com/cairn-cdr/cairn"
)

// MaxDepth is the number of ancestor levels Enrich fills and Observe reads
// from one event.
const MaxDepth = 32

// Defaults for Options' zero values.
const (
	DefaultMaxNodes = 1 << 20
	DefaultGrace    = 5 * time.Minute
)

// maxLinkWalk bounds the walk up the chain that checks a new parent link
// for a loop. A loop longer than this is not seen when the link is made;
// Lineage and Enrich still cut it where a node would repeat.
const maxLinkWalk = 256

// missCacheSize bounds the keys remembered as absent from Options.Lookup.
const missCacheSize = 4096

// Options configure a Table.
type Options struct {
	// MaxNodes is the hard cap on the nodes held; 0 means DefaultMaxNodes.
	// Nodes the current event names are never evicted for room, so a cap
	// below MaxDepth+2 may be exceeded by the nodes one event names.
	MaxNodes int
	// Grace is how long, in event time, an exited process is kept at
	// least after its exit; 0 means DefaultGrace.
	Grace time.Duration
	// Lookup, if set, finds a node the table does not hold (the store's),
	// so that an ingest that starts mid-stream joins onto stored
	// ancestors. Observe asks it for parents and ancestors only, never for
	// the process its event describes (most are new); Lineage and Enrich
	// ask for any node they need. The table holds what it finds and
	// remembers the last keys it did not find, so a missing parent is not
	// asked for on every event.
	Lookup func(key string) (cairn.ProcessNode, bool)
}

// Table is the process table. It is not safe for concurrent use: one
// goroutine (the ingest's) drives it, Lineage and Enrich included, since
// they too update the table's caches.
type Table struct {
	maxNodes int
	grace    time.Duration
	lookup   func(string) (cairn.ProcessNode, bool)

	slab  []node
	free  []int32
	index map[string]int32
	// pids finds the running process with a pid on a host, for sources
	// without exec ids; only nodes keyed by HostPIDKey are in it.
	pids map[hostPID]int32
	held int

	lru    list // every node, least recently used first
	leaves list // exited nodes with no children, oldest first
	exits  exitQueue
	misses missCache

	now time.Time
	// epoch counts the public calls; a node touched by the current call
	// carries it in pin and is never evicted before the call ends.
	epoch uint64

	// pending are nodes flagged outside Observe, returned by the next
	// Observe.
	pending []ref

	// Buffers reused from call to call.
	dirty []int32
	elems []elem
	walkb []int32
	seen  map[int32]struct{}
}

// hostPID is a pid on a host.
type hostPID struct {
	host string
	pid  int64
}

// ref refers to a node while its slot is not reused.
type ref struct {
	slot int32
	gen  uint32
}

// none is the null slot.
const none int32 = -1

// node is one slot of the slab.
type node struct {
	pn cairn.ProcessNode
	// gen counts the slot's reuses, so that a reference to an evicted
	// node is seen to be stale.
	gen uint32
	// parent and pgen refer to the parent's slot while it is held.
	parent int32
	pgen   uint32
	// children counts the held nodes whose parent reference is this node.
	children int32
	lruLink  link
	leafLink link
	inLeaves bool
	used     bool
	exited   bool
	// expired is set once the grace period after the exit has passed.
	expired bool
	// execDesc is set once EventID names the process's exec event.
	execDesc bool
	pin      uint64
	dirty    uint64
}

// New returns an empty table.
func New(opts Options) *Table {
	t := &Table{
		maxNodes: opts.MaxNodes,
		grace:    opts.Grace,
		lookup:   opts.Lookup,
		index:    map[string]int32{},
		pids:     map[hostPID]int32{},
		lru:      list{head: none, tail: none},
		leaves:   list{head: none, tail: none},
	}
	if t.maxNodes <= 0 {
		t.maxNodes = DefaultMaxNodes
	}
	if t.grace <= 0 {
		t.grace = DefaultGrace
	}
	t.misses.init(min(missCacheSize, t.maxNodes))
	return t
}

// Key returns the key of p on host: p.ExecID when set, otherwise
// cairn.HostPIDKey(host, p.PID, p.StartTime). It returns "" for a nil
// process or one with neither an exec id nor a pid, which cannot be keyed.
func Key(p *cairn.Process, host string) string {
	switch {
	case p == nil:
		return ""
	case p.ExecID != "":
		return p.ExecID
	case p.PID == 0:
		return ""
	}
	return cairn.HostPIDKey(host, p.PID, p.StartTime)
}

// Len returns the number of nodes held.
func (t *Table) Len() int { return t.held }

// begin starts a public call: nodes touched from now on are pinned.
func (t *Table) begin() { t.epoch++ }

// get returns the slot holding key.
func (t *Table) get(key string) (int32, bool) {
	s, ok := t.index[key]
	return s, ok
}

// touch pins s for the current call and makes it the most recently used.
func (t *Table) touch(s int32) {
	n := &t.slab[s]
	n.pin = t.epoch
	t.lru.moveToBack(t.slab, s, lruOf)
}

// used makes s the most recently used, without pinning it.
func (t *Table) used(s int32) { t.lru.moveToBack(t.slab, s, lruOf) }

// markDirty records that s changed in the current Observe.
func (t *Table) markDirty(s int32) {
	n := &t.slab[s]
	if n.dirty != t.epoch {
		n.dirty = t.epoch
		t.dirty = append(t.dirty, s)
	}
}

// alloc creates a placeholder node for key and returns its slot, not
// pinned. The caller must not hold pointers into the slab across it.
func (t *Table) alloc(key, host string) int32 {
	var s int32
	if k := len(t.free); k > 0 {
		s = t.free[k-1]
		t.free = t.free[:k-1]
	} else {
		t.slab = append(t.slab, node{})
		s = int32(len(t.slab) - 1)
	}
	n := &t.slab[s]
	gen := n.gen
	*n = node{
		pn:       cairn.ProcessNode{Key: key, Host: host, Flags: cairn.FlagUnknown},
		gen:      gen,
		parent:   none,
		lruLink:  link{prev: none, next: none},
		leafLink: link{prev: none, next: none},
		used:     true,
	}
	t.index[key] = s
	t.lru.pushBack(t.slab, s, lruOf)
	t.held++
	t.misses.forget(key)
	return s
}

// isHostPID reports whether a node keyed key is found by pid.
func isHostPID(pn *cairn.ProcessNode) bool {
	return pn.Process.ExecID == "" && len(pn.Key) > 3 && pn.Key[:3] == "hp:"
}

// indexPID makes s the running process of its pid on its host, unless a
// running process that started later holds the pid.
func (t *Table) indexPID(s int32) {
	n := &t.slab[s]
	if n.exited || n.pn.Process.PID == 0 || !isHostPID(&n.pn) {
		return
	}
	hp := hostPID{n.pn.Host, n.pn.Process.PID}
	if cur, ok := t.pids[hp]; ok && cur != s {
		c := &t.slab[cur]
		if c.pn.Process.StartTime.After(n.pn.Process.StartTime) {
			return
		}
	}
	t.pids[hp] = s
}

// unindexPID removes s from the pid index.
func (t *Table) unindexPID(s int32) {
	n := &t.slab[s]
	if n.pn.Process.PID == 0 {
		return
	}
	hp := hostPID{n.pn.Host, n.pn.Process.PID}
	if cur, ok := t.pids[hp]; ok && cur == s {
		delete(t.pids, hp)
	}
}

// runningPID returns the running process with pid on host.
func (t *Table) runningPID(host string, pid int64) (int32, bool) {
	s, ok := t.pids[hostPID{host, pid}]
	return s, ok
}

// parentRef returns the held parent of s, resolving a stale or missing
// reference by the parent key among the held nodes and, when lookup is
// set, through Options.Lookup.
func (t *Table) parentRef(s int32, lookup bool) int32 {
	n := &t.slab[s]
	if n.parent != none {
		if p := &t.slab[n.parent]; p.used && p.gen == n.pgen {
			return n.parent
		}
		n.parent = none
	}
	pk := n.pn.ParentKey
	if pk == "" {
		return none
	}
	ps, ok := t.get(pk)
	if !ok {
		if !lookup {
			return none
		}
		if ps, ok = t.load(pk); !ok {
			return none
		}
	}
	if ps == s {
		return none
	}
	t.attach(s, ps)
	return ps
}

// attach makes ps the parent reference of s.
func (t *Table) attach(s, ps int32) {
	n := &t.slab[s]
	n.parent, n.pgen = ps, t.slab[ps].gen
	p := &t.slab[ps]
	p.children++
	if p.inLeaves {
		t.leaves.remove(t.slab, ps, leafOf)
		p.inLeaves = false
	}
}
