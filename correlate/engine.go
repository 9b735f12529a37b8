// Package correlate is a streaming engine for Sigma correlation rules
// (specification v2.1.0): it consumes the matches of base rules one at a
// time and returns the correlations they complete. The sigma package
// parses the rules; this one only needs Defs.
//
// # Windows
//
// A correlation keeps one window per group: per distinct tuple of values
// of its group-by fields (after aliases). When the window is decided
// depends on the condition:
//
//   - Eager: event_count, value_count, value_sum, temporal and
//     temporal_ordered whose condition has only gt/gte comparisons (the
//     temporal default is gte the number of rules). The window slides: at
//     each hit it covers the group's hits at most Timespan older than
//     that hit ("events within timespan of each other"; both ends
//     included), and the condition is checked at once. A window that
//     fires is emptied: its hits never count again, so the group fires
//     again only on new hits, once per window and never twice for the
//     same events. Result.Start is the oldest hit counted, Result.End the
//     hit that fired. For value_sum that is the sum of the window ending
//     at each hit (exact for non-negative values).
//   - At close: every other condition (lt, lte, eq, neq, ranges), and
//     every value_avg and value_percentile. The group's first hit opens a
//     window [Start, Start+Timespan]; once time passes its end (a later
//     hit, or Advance), or at Flush, the condition is checked once and
//     the window is freed; the group's next hit opens a new one.
//     Result.End is Start+Timespan. A group without hits has no window,
//     so "lt 5" means 1 to 4 hits.
//
// The measures: event_count counts hits; value_count counts distinct
// values of Condition.Field; value_sum, value_avg and value_percentile
// (nearest rank; Condition.Percentile, default the median) read it as a
// number and skip hits where it is not one; temporal counts the
// referenced rules that matched; temporal_ordered the length of the
// longest prefix of Rules matched in order (hits with equal times are in
// arrival order). Hits without a group-by field or Condition.Field are
// skipped and counted (Stats).
//
// # State
//
// A window keeps what its measure needs: at most MaxEventIDs event ids;
// timestamps of the hits of a sliding count or sum (runs of equal
// timestamps past MaxEventIDs); the newest hit of each distinct value, or
// of each rule; counters for anchored counts, sums and averages; up to
// 10,000 sampled values for a percentile. Values read from hits are
// copied; event ids are kept as given. A sliding window that fired stays
// allocated, empty, until its timespan passes. Options.MaxGroups caps
// the groups of all correlations together.
//
// # Time
//
// Time is the hits' own. Hits up to Options.Lateness older than the
// newest time seen (of a hit or of Advance) are held back and processed
// in time order once that time is Lateness past them, so they are placed
// correctly at the cost of that delay; older hits are dropped and
// counted, and so is a second delivery of an accepted hit (same rule,
// event id and time). With no Lateness every hit in order is decided at
// once. A hit far in the future moves the clock for all: callers should
// bound event times by their own clock.
//
// Flush ends an input that more input may follow (a file, a request, a
// drained backlog) without moving the clock: the held-back hits are
// processed at once, in time order, and every at-close window is decided
// and freed as if time had passed its end, so a group's next hit opens a
// new window even if it falls within the old one's timespan. Sliding
// windows keep their hits, so a sequence may span inputs. Hits older
// than the newest time Flush processed are then late; that time is a
// chained Result's End when a window Flush closed feeds another
// correlation, as the Result is a hit at that time. (Advance to a time
// past every hit, by contrast, ends the stream: later hits older than
// it are late.)
//
// # Chains
//
// A Result of a correlation is also a hit for the correlations that
// reference it by ID or Name: its EventID is the Result's ID, its time
// the Result's End, and its fields its group-by values. Every Result is
// returned, intermediate ones too, upstream before downstream; the
// caller decides what to show (Def.Generate is only carried).
package correlate

import (
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairn-cdr/cairn"
)

// DefaultMaxGroups is the cap on live groups when Options.MaxGroups is 0.
const DefaultMaxGroups = 1 << 20

// maxPending caps the hits held back by Lateness; past it the oldest is
// processed early and hits older than it are dropped as late.
const maxPending = 1 << 20

// maxSpan bounds Timespan and Lateness, and minTime and maxTime the times
// of hits, so that time arithmetic never overflows.
const maxSpan = 10 * 365 * 24 * time.Hour

var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Options configure an Engine.
type Options struct {
	// Clock gives the time of hits without one, and of Tick; nil means
	// time.Now.
	Clock func() time.Time
	// MaxGroups caps the live groups of all correlations together; past it
	// the least recently updated group is dropped, undecided, and counted
	// in Stats.Evicted (unless it had just fired and was empty). 0 means
	// DefaultMaxGroups, negative no cap.
	MaxGroups int
	// Lateness is how far out of order hits may arrive (at most 10 years).
	Lateness time.Duration
	// BaseRules lists the ids and names of the base rules correlations may
	// reference. When it is nil any reference that names no correlation is
	// taken to be a base rule; when it is not, other references are errors.
	BaseRules []string
}

// Hit is one match of a base rule.
type Hit struct {
	// Rule is the id of the rule that matched and RuleName its name; a
	// correlation may reference either.
	Rule     string
	RuleName string
	// Time is the event's time; zero means Options.Clock().
	Time    time.Time
	EventID string
	// Value reads a Sigma field of the event.
	Value func(field string) (string, bool)
}

// Result is one firing of a correlation.
type Result struct {
	Def *Def
	// ID is a hash of the correlation's id (or name, or title), the window
	// start and the sorted event ids, so replays give the same ID.
	ID    string
	Group map[string]string
	// Start and End bound the hits counted (see the package doc).
	Start, End time.Time
	// EventIDs are the hits' event ids (for hits that are results, their
	// IDs), oldest first, at most MaxEventIDs: the newest are kept.
	EventIDs []string
	// Value is the measure that satisfied the condition: the count, number
	// of distinct values or rules, sum, average or percentile.
	Value float64
}

// Stats are the engine's counters.
type Stats struct {
	Hits       uint64 // hits passed to Observe
	Unrouted   uint64 // hits of rules no correlation references
	Late       uint64 // hits dropped as older than the newest time minus Lateness or than what Flush decided, or outside 1900–2200
	NoGroup    uint64 // hits a correlation skipped for lack of a group-by field
	NoValue    uint64 // hits a correlation skipped for lack of condition.field
	NonNumeric uint64 // hits skipped as condition.field is not a number
	Evicted    uint64 // groups dropped to stay within MaxGroups
	Results    uint64 // results returned
	Duplicates uint64 // hits dropped as already accepted (same rule, event id and time)
	Groups     int    // live groups (one that fired stays, empty, until its timespan passes)
	Pending    int    // hits held back by Lateness
}

// Engine evaluates correlations over a stream of hits. It is safe for
// concurrent use, but hits are decided one at a time.
type Engine struct {
	mu        sync.Mutex
	defs      []*compiled
	deferred  []*compiled // decided when windows close
	routes    map[string][]route
	merged    map[[2]string][]route // routes of rules referenced by id and by name
	chained   []bool                // by def index: some correlation references it
	clock     func() time.Time
	maxGroups int
	lateness  int64

	started bool
	maxSeen int64 // newest hit or Advance time
	floor   int64 // hits older than this are late (raised by maxPending and Flush)
	newest  int64 // newest time of a hit or chained result processed
	pending hitHeap
	// nextEnd is at most the end of the first anchored window to close.
	nextEnd int64
	seq     uint64
	groups  int
	// recent holds hashes of the hits accepted that are not older than
	// the watermark, so that a hit delivered twice is counted once;
	// recentQ lists the processed ones in time order, to forget them.
	seed    maphash.Seed
	recent  map[uint64]struct{}
	recentQ deque[seenHit]
	stats   Stats
	// Scratch space for feed; a chained result may reuse it only after
	// feed is done with it.
	key []byte
	idx []int
	o   obs
}

// hitKey identifies a hit.
type hitKey struct {
	rule, name, id string
	t              int64
}

// seenHit is a hit's hash and time.
type seenHit struct {
	hash uint64
	t    int64
}

// hash returns h's hash. Two hits with the same hash count as one: with
// 64 bits, that takes billions of hits within Lateness to happen once.
func (e *Engine) hash(h *hit) uint64 {
	return maphash.Comparable(e.seed, hitKey{h.rule, h.name, h.id, h.t})
}

// route says that hits of a rule feed Rules[idx] of d.
type route struct {
	d   *compiled
	idx int
}

// hit is a Hit or a Result on its way to correlations.
type hit struct {
	t          int64
	seq        uint64
	hash       uint64 // of a Hit with an EventID: see Engine.hash
	id         string
	rule, name string
	value      func(string) (string, bool)
}

// New checks defs and returns an engine for them. Errors have code
// cairn.EINVALID and name every problem found.
func New(defs []*Def, opts Options) (*Engine, error) {
	if opts.Lateness < 0 || opts.Lateness > maxSpan {
		return nil, cairn.Errorf(cairn.EINVALID, "lateness %s is out of range", opts.Lateness)
	}
	cs, err := compile(defs, opts.BaseRules)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		defs:      cs,
		routes:    map[string][]route{},
		merged:    map[[2]string][]route{},
		chained:   make([]bool, len(cs)),
		clock:     opts.Clock,
		maxGroups: opts.MaxGroups,
		lateness:  int64(opts.Lateness),
		seed:      maphash.MakeSeed(),
		recent:    map[uint64]struct{}{},
		nextEnd:   math.MaxInt64,
	}
	if e.clock == nil {
		e.clock = time.Now
	}
	if e.maxGroups == 0 {
		e.maxGroups = DefaultMaxGroups
	}
	byRef := map[string]*compiled{}
	for _, d := range cs {
		if !d.eager {
			e.deferred = append(e.deferred, d)
		}
		for _, ref := range []string{d.ID, d.Name} {
			if ref != "" {
				byRef[ref] = d
			}
		}
	}
	tables := map[string]*table{}
	for _, d := range cs {
		sig := strings.Join(d.GroupBy, "\x00")
		if len(d.Aliases) > 0 {
			sig = "\x00" + strconv.Itoa(d.index) // a table of its own
		}
		t := tables[sig]
		if t == nil {
			t = &table{m: map[string]*slot{}}
			tables[sig] = t
		}
		d.tab, d.pos = t, len(t.defs)
		t.defs = append(t.defs, d)
	}
	for _, d := range cs {
		for i, r := range d.Rules {
			e.routes[r] = append(e.routes[r], route{d, i})
			if up, ok := byRef[r]; ok {
				e.chained[up.index] = true
			}
		}
	}
	return e, nil
}

// Observe feeds one base-rule match and returns the results that fired,
// including those of windows that closed because time moved on.
func (e *Engine) Observe(h Hit) []Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Hits++
	t := h.Time
	if t.IsZero() {
		t = e.clock()
	}
	if t.Before(minTime) || t.After(maxTime) {
		e.stats.Late++
		return nil
	}
	in := hit{t: t.UnixNano(), id: h.EventID, rule: h.Rule, name: h.RuleName, value: h.Value}
	if e.started && in.t < e.watermark() {
		e.stats.Late++
		return nil
	}
	e.moveTo(in.t)
	rs := e.routesFor(in.rule, in.name)
	if len(rs) == 0 {
		e.stats.Unrouted++
		return e.catchUp(nil)
	}
	if in.id != "" {
		in.hash = e.hash(&in)
		if _, dup := e.recent[in.hash]; dup {
			e.stats.Duplicates++
			return e.catchUp(nil)
		}
		e.recent[in.hash] = struct{}{}
	}
	var out []Result
	if len(e.pending) == 0 && in.t <= e.watermark() {
		out = e.processBase(&in, rs, out)
	} else {
		e.seq++
		in.seq = e.seq
		heap.Push(&e.pending, in)
		if len(e.pending) > maxPending {
			e.floor = e.pending[0].t
		}
	}
	return e.catchUp(out)
}

// Advance moves the clock to now: held-back hits older than now minus
// Lateness are processed, and windows that ended before it are decided
// and freed. It returns the results that fired.
func (e *Engine) Advance(now time.Time) []Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !now.Before(minTime) && !now.After(maxTime) {
		e.moveTo(now.UnixNano())
	}
	out := e.catchUp(nil)
	wm := e.watermark()
	for _, d := range e.defs {
		e.expire(d, wm-d.span)
	}
	return out
}

// Flush ends an input that more input may follow: it processes every
// held-back hit in time order, decides and frees every at-close window,
// and returns the results that fired, upstream before downstream. It
// does not move the clock; hits older than the newest time it processed
// are late afterwards (see the package doc).
func (e *Engine) Flush() []Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Result
	for len(e.pending) > 0 {
		h := heap.Pop(&e.pending).(hit)
		out = e.processBase(&h, e.routesFor(h.rule, h.name), out)
	}
	out = e.closeBefore(math.MaxInt64, out)
	if !e.started {
		return out
	}
	// Every processed hit and chained result is at most newest, so hits
	// keep reaching process in time order.
	e.floor = max(e.floor, e.newest)
	wm := e.watermark()
	for e.recentQ.len() > 0 && e.recentQ.front().t < wm {
		delete(e.recent, e.recentQ.pop().hash)
	}
	for _, d := range e.defs {
		e.expire(d, wm-d.span)
	}
	return out
}

// Tick is Advance(Options.Clock()).
func (e *Engine) Tick() []Result { return e.Advance(e.clock()) }

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Groups = e.groups
	s.Pending = len(e.pending)
	return s
}

func (e *Engine) moveTo(t int64) {
	if !e.started || t > e.maxSeen {
		e.maxSeen, e.started = t, true
	}
}

// watermark returns the time before which no hit is accepted any more.
func (e *Engine) watermark() int64 { return max(e.maxSeen-e.lateness, e.floor) }

// catchUp processes the held-back hits the watermark has passed, then
// decides the windows that ended before it.
func (e *Engine) catchUp(out []Result) []Result {
	wm := e.watermark()
	for len(e.pending) > 0 && e.pending[0].t <= wm {
		h := heap.Pop(&e.pending).(hit)
		out = e.processBase(&h, e.routesFor(h.rule, h.name), out)
	}
	out = e.closeBefore(wm, out)
	for e.recentQ.len() > 0 && e.recentQ.front().t < wm {
		delete(e.recent, e.recentQ.pop().hash)
	}
	return out
}

// processBase processes a hit passed to Observe, with its routes.
func (e *Engine) processBase(h *hit, rs []route, out []Result) []Result {
	if h.id != "" {
		e.recentQ.push(seenHit{h.hash, h.t})
	}
	return e.process(h, rs, out)
}

// routesFor returns the routes of hits of the rule with this id and
// name, ordered by correlation.
func (e *Engine) routesFor(id, name string) []route {
	rs := e.routes[id]
	if name == id {
		return rs
	}
	more := e.routes[name]
	switch {
	case len(rs) == 0:
		return more
	case len(more) == 0:
		return rs
	}
	key := [2]string{id, name}
	if m, ok := e.merged[key]; ok {
		return m
	}
	m := slices.Concat(rs, more)
	slices.SortFunc(m, func(a, b route) int {
		if a.d.index != b.d.index {
			return a.d.index - b.d.index
		}
		return a.idx - b.idx
	})
	m = slices.Compact(m)
	e.merged[key] = m
	return m
}

// process feeds h to the correlations that reference its rule. Hits
// reach process in time order.
func (e *Engine) process(h *hit, rs []route, out []Result) []Result {
	e.newest = max(e.newest, h.t)
	out = e.closeBefore(h.t, out)
	var last *slot // correlations sharing a table often share the group
	for i := 0; i < len(rs); {
		d, idx := rs[i].d, e.idx[:0]
		for ; i < len(rs) && rs[i].d == d; i++ {
			idx = append(idx, rs[i].idx)
		}
		e.idx = idx
		out = e.feed(d, idx, h, &last, out)
	}
	return out
}

// feed adds h, which matched d.Rules[idx...], to its group of d. last is
// the slot of the previous correlation fed h, and is set to this one's.
func (e *Engine) feed(d *compiled, idx []int, h *hit, last **slot, out []Result) []Result {
	e.expire(d, h.t-d.span)
	fields, valueField := d.fieldsFor(h.rule, h.name)
	e.key = e.key[:0]
	for _, f := range fields {
		v, ok := lookup(h, f)
		if !ok {
			e.stats.NoGroup++
			return out
		}
		e.key = binary.AppendUvarint(e.key, uint64(len(v)))
		e.key = append(e.key, v...)
	}
	o := &e.o
	*o = obs{t: h.t, id: h.id, rules: idx}
	if valueField != "" {
		v, ok := lookup(h, valueField)
		if !ok {
			e.stats.NoValue++
			return out
		}
		o.str = v
		if d.Type != ValueCount {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				e.stats.NonNumeric++
				return out
			}
			o.num = f
		}
	}
	s := *last
	if s == nil || s.dead || s.tab != d.tab || s.key != string(e.key) {
		s = d.tab.m[string(e.key)]
	}
	var g *group
	if s != nil {
		g = s.groups[d.pos]
	}
	if g == nil {
		g = e.newGroup(d, s, h.t)
	} else {
		d.lru.remove(g)
		d.lru.push(g)
	}
	*last = g.slot
	g.last, g.empty = h.t, false
	g.w.add(o)
	if d.eager {
		if v, ok := g.w.value(); ok && d.cond.holds(v) {
			out = e.fire(d, g, v, g.w.(sliding).first(), h.t, out)
		}
	}
	return out
}

func lookup(h *hit, field string) (string, bool) {
	if h.value == nil {
		return "", false
	}
	return h.value(field)
}

// newGroup creates the group of d keyed by e.key, in s if not nil,
// first evicting the least recently updated group if at the cap.
func (e *Engine) newGroup(d *compiled, s *slot, t int64) *group {
	if e.maxGroups > 0 && e.groups >= e.maxGroups {
		var oldest *group
		for _, c := range e.defs {
			if g := c.lru.head; g != nil && (oldest == nil || g.last < oldest.last) {
				oldest = g
			}
		}
		if !oldest.empty {
			e.stats.Evicted++
		}
		e.remove(oldest)
	}
	if s == nil || s.dead { // absent, or just emptied by the eviction
		s = &slot{tab: d.tab, key: string(e.key), groups: make([]*group, len(d.tab.defs))}
		d.tab.m[s.key] = s
	}
	g := newGroup(d)
	g.d, g.slot, g.start = d, s, t
	s.groups[d.pos] = g
	s.n++
	d.lru.push(g)
	if !d.eager {
		d.closing.push(g)
		e.nextEnd = min(e.nextEnd, t+d.span)
	}
	e.groups++
	return g
}

// remove frees g.
func (e *Engine) remove(g *group) {
	if g.removed {
		return
	}
	g.removed = true
	s := g.slot
	s.groups[g.d.pos] = nil
	if s.n--; s.n == 0 {
		delete(s.tab.m, s.key)
		s.dead = true
	}
	g.d.lru.remove(g)
	e.groups--
}

// expire frees the groups of d not updated since cut: all their hits have
// left the window. (Anchored windows that old have already closed.)
func (e *Engine) expire(d *compiled, cut int64) {
	for g := d.lru.head; g != nil && g.last < cut; g = d.lru.head {
		e.remove(g)
	}
}

// closeBefore decides, in order of their ends, the anchored windows that
// ended before t.
func (e *Engine) closeBefore(t int64, out []Result) []Result {
	for t > e.nextEnd {
		var next *compiled
		end := int64(math.MaxInt64)
		for _, d := range e.deferred {
			for d.closing.len() > 0 && (*d.closing.front()).removed {
				d.closing.pop()
			}
			if d.closing.len() == 0 {
				continue
			}
			if x := (*d.closing.front()).start + d.span; x < end {
				next, end = d, x
			}
		}
		if e.nextEnd = end; end >= t {
			break
		}
		g := next.closing.pop()
		if v, ok := g.w.value(); ok && next.cond.holds(v) {
			out = e.fire(next, g, v, g.start, end, out)
		} else {
			e.remove(g)
		}
	}
	return out
}

// fire returns the result of g, empties or frees g and feeds the result
// to the correlations that reference d.
func (e *Engine) fire(d *compiled, g *group, v float64, start, end int64, out []Result) []Result {
	ids := g.w.eventIDs()
	if w, ok := g.w.(sliding); ok {
		// The group stays, empty, until expire frees it, so that a busy
		// group does not reallocate its window each time it fires.
		w.reset()
		g.empty = true
	} else {
		e.remove(g)
	}
	id := resultID(d.key, start, ids)
	grp := make(map[string]string, len(d.GroupBy))
	for i, k := 0, g.slot.key; i < len(d.GroupBy); i++ {
		n, w := uvarint(k)
		grp[d.GroupBy[i]], k = k[w:w+n], k[w+n:]
	}
	r := Result{Def: d.Def, ID: id, Group: grp, Start: time.Unix(0, start).UTC(), End: time.Unix(0, end).UTC(), EventIDs: ids, Value: v}
	out = append(out, r)
	e.stats.Results++
	if e.chained[d.index] {
		rh := hit{t: end, id: id, rule: d.ID, name: d.Name, value: func(f string) (string, bool) {
			v, ok := grp[f]
			return v, ok
		}}
		out = e.process(&rh, e.routesFor(d.ID, d.Name), out)
	}
	return out
}

// uvarint decodes the length at the start of s (see slot.key) and
// returns it with its width.
func uvarint(s string) (n, width int) {
	var shift uint
	for width < len(s) {
		c := s[width]
		width++
		n |= int(c&0x7f) << shift
		if c < 0x80 {
			break
		}
		shift += 7
	}
	return n, width
}

// resultID hashes what identifies a result: the correlation's key, the
// window start and the sorted event ids, each string after its length.
func resultID(key string, start int64, ids []string) string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	var buf [512]byte
	b := binary.AppendUvarint(buf[:0], uint64(len(key)))
	b = append(b, key...)
	b = binary.BigEndian.AppendUint64(b, uint64(start))
	for _, id := range sorted {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// table holds the groups of the correlations that share a group-by list
// and have no aliases, so that a hit's groups are found with one lookup.
type table struct {
	defs []*compiled
	m    map[string]*slot
}

// slot holds the groups of one key in a table, by compiled.pos.
type slot struct {
	tab    *table
	key    string // the group-by values, each after its length (uvarint)
	groups []*group
	n      int  // groups not nil
	dead   bool // removed from tab
}

// group is one group of one correlation.
type group struct {
	d          *compiled
	slot       *slot
	start      int64 // first hit
	last       int64 // newest hit
	w          window
	prev, next *group
	removed    bool
	empty      bool // emptied by firing: evicting it loses nothing
}

// groupList is a doubly linked list of groups.
type groupList struct{ head, tail *group }

func (l *groupList) push(g *group) {
	g.prev, g.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = g
	} else {
		l.head = g
	}
	l.tail = g
}

func (l *groupList) remove(g *group) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		l.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		l.tail = g.prev
	}
	g.prev, g.next = nil, nil
}

// hitHeap orders held-back hits by time, then arrival.
type hitHeap []hit

func (h hitHeap) Len() int { return len(h) }
func (h hitHeap) Less(i, j int) bool {
	return h[i].t < h[j].t || (h[i].t == h[j].t && h[i].seq < h[j].seq)
}
func (h hitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)   { *h = append(*h, x.(hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = hit{}
	*h = old[:len(old)-1]
	return x
}
