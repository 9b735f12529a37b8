package sigma

import "github.com/cairn-cdr/cairn"

// pred is a compiled test of an event.
type pred func(x *evalCtx) bool

// maxSlots bounds the linux fields an evaluation caches (the mapping
// table's length).
const maxSlots = 32

// evalCtx is one event under evaluation, with the linux fields read so
// far: every rule of the engine that reads CommandLine shares one read
// (building a command line allocates).
type evalCtx struct {
	ev      *cairn.Event
	vals    [maxSlots]any
	have    [maxSlots]uint8 // 0 not read, 1 absent, 2 present
	lower   [maxSlots]any   // the values lower-cased, once asked for
	lowered [maxSlots]bool
}

func newCtx(ev *cairn.Event) *evalCtx { return &evalCtx{ev: ev} }

// cached reads a linux field through the context's cache.
func (x *evalCtx) cached(slot int, get func(ev *cairn.Event) (any, bool)) (any, bool) {
	switch x.have[slot] {
	case 1:
		return nil, false
	case 2:
		return x.vals[slot], true
	}
	v, ok := get(x.ev)
	if ok {
		x.vals[slot], x.have[slot] = v, 2
	} else {
		x.have[slot] = 1
	}
	return v, ok
}

// cachedLower reads a linux field lower-cased, for case-insensitive
// matching with plain string functions.
func (x *evalCtx) cachedLower(slot int, get func(ev *cairn.Event) (any, bool)) (any, bool) {
	v, ok := x.cached(slot, get)
	if !ok {
		return nil, false
	}
	if !x.lowered[slot] {
		x.lower[slot], x.lowered[slot] = lowerValue(v), true
	}
	return x.lower[slot], true
}

// lowerValue lowers a value's text: strings and lists of them keep their
// shape; other values become their lower-cased text.
func lowerValue(v any) any {
	switch t := v.(type) {
	case string:
		return lowerText(t)
	case alternatives:
		out := make(alternatives, len(t))
		for i, s := range t {
			out[i] = lowerText(s)
		}
		return out
	case []string:
		out := make([]string, len(t))
		for i, s := range t {
			out[i] = lowerText(s)
		}
		return out
	}
	if s, ok := text(v); ok {
		return lowerText(s)
	}
	return v
}
