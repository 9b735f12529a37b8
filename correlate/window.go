package correlate

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// MaxEventIDs caps the event ids a window keeps, and so the EventIDs of a
// Result: the newest ones are kept. Counts and sums stay exact.
const MaxEventIDs = 1000

// maxRuns caps the timestamp runs a sliding event_count or value_sum
// window keeps for its hits older than the newest MaxEventIDs. Hits with
// equal timestamps share a run; past the cap the two oldest runs merge,
// so the oldest hits leave the window a little late. Eager event_count
// windows never get there unless the threshold is above the two caps, as
// they are emptied when they fire.
const maxRuns = 1 << 14

// maxSamples caps the values a value_percentile window keeps; past it the
// window keeps a uniform sample of the values (reservoir sampling).
const maxSamples = 10000

// obs is one hit as a window sees it.
type obs struct {
	t  int64
	id string
	// rules are the indexes in Def.Rules the hit matched, ascending.
	rules []int
	str   string  // the value of condition.field (value_count)
	num   float64 // the same, parsed (value_sum, value_avg, value_percentile)
}

// window is the state of one group of one correlation.
type window interface {
	// add records o; sliding windows first forget what is more than a
	// timespan older than o.
	add(o *obs)
	// value returns the measure the condition compares, and false when it
	// is undefined.
	value() (float64, bool)
	// eventIDs returns the ids behind the measure, oldest first, at most
	// MaxEventIDs of them.
	eventIDs() []string
}

// sliding is a window of an eager correlation, which covers the timespan
// ending at its newest hit.
type sliding interface {
	window
	// first returns the time of the oldest hit the measure covers.
	first() int64
	// reset empties the window, keeping its memory for the next hits.
	reset()
}

// newGroup returns an empty group of d, allocated with its window so
// that the two are near in memory.
func newGroup(d *compiled) *group {
	n := len(d.Rules)
	if d.eager {
		switch d.Type {
		case EventCount:
			return withWindow(seqWin{span: d.span})
		case ValueSum:
			return withWindow(seqWin{span: d.span, sum: true})
		case ValueCount:
			return withWindow(distinctWin{span: d.span, m: map[string]int32{}, free: -1, head: -1, tail: -1})
		case Temporal:
			return withWindow(temporalWin{sliding: true, span: d.span, last: make([]seen, n)})
		case TemporalOrdered:
			return withWindow(orderedWin{sliding: true, span: d.span, ch: make([]chain, n)})
		}
	}
	switch d.Type {
	case ValueCount:
		return withWindow(setWin{seen: map[string]struct{}{}, limit: d.cond.upper()})
	case ValuePercentile:
		p := d.Condition.Percentile
		if p == 0 {
			p = 50
		}
		return withWindow(pctWin{p: p, rng: 0x9e3779b97f4a7c15})
	case Temporal:
		return withWindow(temporalWin{last: make([]seen, n)})
	case TemporalOrdered:
		return withWindow(orderedWin{ch: make([]chain, n)})
	}
	return withWindow(aggWin{kind: d.Type}) // event_count, value_sum, value_avg
}

// groupWith is a group and its window in one allocation.
type groupWith[W any] struct {
	g group
	w W
}

func withWindow[W any, P interface {
	*W
	window
}](w W) *group {
	x := &groupWith[W]{w: w}
	x.g.w = P(&x.w)
	return &x.g
}

// deque is a FIFO queue on a ring buffer whose capacity is a power of
// two, so that a window which keeps a steady number of entries stops
// allocating once it has grown to it.
type deque[T any] struct {
	buf     []T
	head, n int
}

func (q *deque[T]) len() int   { return q.n }
func (q *deque[T]) front() *T  { return &q.buf[q.head] }
func (q *deque[T]) back() *T   { return &q.buf[(q.head+q.n-1)&(len(q.buf)-1)] }
func (q *deque[T]) at(i int) T { return q.buf[(q.head+i)&(len(q.buf)-1)] }

func (q *deque[T]) push(v T) {
	if q.n == len(q.buf) {
		q.resize(max(4, 2*len(q.buf)))
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = v
	q.n++
}

func (q *deque[T]) reset() {
	clear(q.buf)
	q.head, q.n = 0, 0
}

func (q *deque[T]) pop() T {
	v := q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	if len(q.buf) > 64 && q.n < len(q.buf)/4 {
		q.resize(len(q.buf) / 2) // give back what a burst took
	}
	return v
}

// resize moves the entries to a new buffer of size n.
func (q *deque[T]) resize(n int) {
	buf := make([]T, n)
	if q.head+q.n <= len(q.buf) {
		copy(buf, q.buf[q.head:q.head+q.n])
	} else {
		k := copy(buf, q.buf[q.head:])
		copy(buf[k:], q.buf[:q.n-k])
	}
	q.buf, q.head = buf, 0
}

// idList keeps the newest MaxEventIDs event ids.
type idList struct{ q deque[string] }

func (l *idList) add(id string) {
	l.q.push(id)
	if l.q.len() > MaxEventIDs {
		l.q.pop()
	}
}

func (l *idList) list() []string {
	ids := make([]string, l.q.len())
	for i := range ids {
		ids[i] = l.q.at(i)
	}
	return ids
}

// seqWin is a sliding event_count or value_sum window. It keeps the
// newest MaxEventIDs hits, and the older ones as runs of hits with equal
// timestamps, each oldest first, with the running count and sum.
type seqWin struct {
	span   int64
	sum    bool
	recent deque[entry]
	old    deque[run]
	oldN   int64
	total  float64
}

type entry struct {
	t  int64
	v  float64
	id string
}

type run struct {
	t int64
	n int64
	v float64
}

func (w *seqWin) add(o *obs) {
	cut := o.t - w.span
	for w.old.len() > 0 && w.old.front().t < cut {
		r := w.old.pop()
		w.oldN -= r.n
		w.total -= r.v
	}
	for w.recent.len() > 0 && w.recent.front().t < cut {
		w.total -= w.recent.pop().v
	}
	if w.recent.len() == 0 {
		w.total = 0 // no rounding error survives an empty window
	}
	w.recent.push(entry{o.t, o.num, o.id})
	w.total += o.num
	if w.recent.len() <= MaxEventIDs {
		return
	}
	e := w.recent.pop()
	w.oldN++
	if w.old.len() > 0 && w.old.back().t == e.t {
		b := w.old.back()
		b.n++
		b.v += e.v
		return
	}
	w.old.push(run{e.t, 1, e.v})
	if w.old.len() > maxRuns {
		a := w.old.pop()
		b := w.old.front()
		b.n += a.n
		b.v += a.v
	}
}

func (w *seqWin) value() (float64, bool) {
	if w.sum {
		return w.total, true
	}
	return float64(w.oldN + int64(w.recent.len())), true
}

func (w *seqWin) eventIDs() []string {
	ids := make([]string, w.recent.len())
	for i := range ids {
		ids[i] = w.recent.at(i).id
	}
	return ids
}

func (w *seqWin) first() int64 {
	if w.old.len() > 0 {
		return w.old.front().t
	}
	return w.recent.front().t
}

func (w *seqWin) reset() {
	w.recent.reset()
	w.old.reset()
	w.oldN, w.total = 0, 0
}

// distinctWin is a sliding value_count window: each distinct value with
// its newest hit, in a list ordered by time. The list lives in a slice
// (links are indexes) so that a reused window allocates nothing.
type distinctWin struct {
	span       int64
	m          map[string]int32 // value → node
	nodes      []vnode
	free       int32 // first free node, or -1
	head, tail int32 // oldest and newest node, or -1
}

type vnode struct {
	v          string
	t          int64
	id         string
	prev, next int32
}

func (w *distinctWin) unlink(i int32) {
	n := &w.nodes[i]
	if n.prev >= 0 {
		w.nodes[n.prev].next = n.next
	} else {
		w.head = n.next
	}
	if n.next >= 0 {
		w.nodes[n.next].prev = n.prev
	} else {
		w.tail = n.prev
	}
}

func (w *distinctWin) append(i int32) {
	w.nodes[i].prev, w.nodes[i].next = w.tail, -1
	if w.tail >= 0 {
		w.nodes[w.tail].next = i
	} else {
		w.head = i
	}
	w.tail = i
}

func (w *distinctWin) add(o *obs) {
	cut := o.t - w.span
	for w.head >= 0 && w.nodes[w.head].t < cut {
		i := w.head
		w.unlink(i)
		delete(w.m, w.nodes[i].v)
		w.nodes[i] = vnode{next: w.free}
		w.free = i
	}
	i, ok := w.m[o.str]
	switch {
	case ok:
		w.unlink(i)
	case w.free >= 0:
		i, w.free = w.free, w.nodes[w.free].next
	default:
		i = int32(len(w.nodes))
		w.nodes = append(w.nodes, vnode{})
	}
	if !ok {
		// A copy, lest the value pin the memory of the event it came from.
		w.nodes[i].v = strings.Clone(o.str)
		w.m[w.nodes[i].v] = i
	}
	w.nodes[i].t, w.nodes[i].id = o.t, o.id
	w.append(i)
}

func (w *distinctWin) value() (float64, bool) { return float64(len(w.m)), true }
func (w *distinctWin) first() int64           { return w.nodes[w.head].t }

func (w *distinctWin) eventIDs() []string {
	ids := make([]string, 0, min(len(w.m), MaxEventIDs))
	for i := w.tail; i >= 0 && len(ids) < MaxEventIDs; i = w.nodes[i].prev {
		ids = append(ids, w.nodes[i].id)
	}
	slices.Reverse(ids)
	return ids
}

func (w *distinctWin) reset() {
	clear(w.m)
	clear(w.nodes)
	w.nodes = w.nodes[:0]
	w.free, w.head, w.tail = -1, -1, -1
}

// temporalWin is a temporal window: the newest hit of each rule.
type temporalWin struct {
	sliding bool
	span    int64
	last    []seen
	cur     int64
}

type seen struct {
	t  int64
	id string
	ok bool
}

func (w *temporalWin) add(o *obs) {
	w.cur = o.t
	for _, i := range o.rules {
		w.last[i] = seen{o.t, o.id, true}
	}
}

// live reports whether the newest hit of rule i is in the window.
func (w *temporalWin) live(i int) bool {
	return w.last[i].ok && (!w.sliding || w.last[i].t >= w.cur-w.span)
}

func (w *temporalWin) value() (float64, bool) {
	n := 0
	for i := range w.last {
		if w.live(i) {
			n++
		}
	}
	return float64(n), true
}

func (w *temporalWin) present() []seen {
	var s []seen
	for i := range w.last {
		if w.live(i) {
			s = append(s, w.last[i])
		}
	}
	slices.SortStableFunc(s, func(a, b seen) int { return cmp.Compare(a.t, b.t) })
	return s
}

func (w *temporalWin) eventIDs() []string {
	var ids []string
	for _, s := range w.present() {
		ids = append(ids, s.id)
	}
	return ids
}

func (w *temporalWin) first() int64 { return w.present()[0].t }
func (w *temporalWin) reset()       { clear(w.last) }

// orderedWin is a temporal_ordered window. ch[i] is the chain of hits
// matching Rules[0..i] in order that starts latest (and so stays in a
// sliding window longest).
type orderedWin struct {
	sliding bool
	span    int64
	ch      []chain
	cur     int64
	all     idList // anchored windows: every hit, for results without a chain
}

type chain struct {
	start int64
	ids   []string
	ok    bool
}

func (w *orderedWin) add(o *obs) {
	w.cur = o.t
	if !w.sliding {
		w.all.add(o.id)
	}
	// Descending, so that a hit matching two adjacent rules does not
	// follow itself.
	for k := len(o.rules) - 1; k >= 0; k-- {
		i := o.rules[k]
		if i == 0 {
			w.ch[0] = chain{o.t, []string{o.id}, true}
			continue
		}
		p := w.ch[i-1]
		if !p.ok || (w.sliding && p.start < o.t-w.span) {
			continue
		}
		// Chains only start later as hits arrive, so this one is at least
		// as good as the one it replaces.
		w.ch[i] = chain{p.start, append(slices.Clip(p.ids), o.id), true}
	}
}

// best returns the index of the longest chain in the window, or -1.
func (w *orderedWin) best() int {
	for i := len(w.ch) - 1; i >= 0; i-- {
		if w.ch[i].ok && (!w.sliding || w.ch[i].start >= w.cur-w.span) {
			return i
		}
	}
	return -1
}

func (w *orderedWin) value() (float64, bool) { return float64(w.best() + 1), true }

func (w *orderedWin) eventIDs() []string {
	if i := w.best(); i >= 0 {
		return slices.Clone(w.ch[i].ids)
	}
	return w.all.list()
}

func (w *orderedWin) reset() {
	clear(w.ch)
	w.all.q.reset()
}

func (w *orderedWin) first() int64 {
	if i := w.best(); i >= 0 {
		return w.ch[i].start
	}
	return w.cur
}

// aggWin is an anchored event_count, value_sum or value_avg window.
type aggWin struct {
	kind  string
	n     int64
	total float64
	ids   idList
}

func (w *aggWin) add(o *obs) {
	w.n++
	w.total += o.num
	w.ids.add(o.id)
}

func (w *aggWin) value() (float64, bool) {
	switch w.kind {
	case ValueSum:
		return w.total, true
	case ValueAvg:
		return w.total / float64(w.n), w.n > 0
	}
	return float64(w.n), true
}

func (w *aggWin) eventIDs() []string { return w.ids.list() }

// setWin is an anchored value_count window. Once the count passes the
// condition's upper limit the condition cannot hold any more, and the
// values are no longer kept.
type setWin struct {
	seen  map[string]struct{}
	limit float64
	n     int
	ids   idList // the first hit of each value
}

func (w *setWin) add(o *obs) {
	if w.seen == nil {
		return
	}
	if _, ok := w.seen[o.str]; ok {
		return
	}
	w.seen[strings.Clone(o.str)] = struct{}{}
	w.n++
	w.ids.add(o.id)
	if float64(w.n) > w.limit {
		w.seen = nil
	}
}

func (w *setWin) value() (float64, bool) { return float64(w.n), true }
func (w *setWin) eventIDs() []string     { return w.ids.list() }

// pctWin is an anchored value_percentile window.
type pctWin struct {
	p    float64
	vals []float64
	n    int64
	rng  uint64
	ids  idList
}

func (w *pctWin) add(o *obs) {
	w.n++
	w.ids.add(o.id)
	if len(w.vals) < maxSamples {
		w.vals = append(w.vals, o.num)
		return
	}
	// xorshift64: deterministic, so replays give the same results.
	w.rng ^= w.rng << 13
	w.rng ^= w.rng >> 7
	w.rng ^= w.rng << 17
	if j := w.rng % uint64(w.n); j < maxSamples {
		w.vals[j] = o.num
	}
}

// value returns the nearest-rank percentile: the smallest value with at
// least p% of the values at or below it.
func (w *pctWin) value() (float64, bool) {
	if len(w.vals) == 0 {
		return 0, false
	}
	s := slices.Clone(w.vals)
	slices.Sort(s)
	rank := int(math.Ceil(w.p / 100 * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	return s[rank-1], true
}

func (w *pctWin) eventIDs() []string { return w.ids.list() }
