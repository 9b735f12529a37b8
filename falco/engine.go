package falco

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// Match is a rule an event triggered, with the rendered output.
type Match struct {
	Rule   *Rule
	Output string
}

// Engine evaluates rules on events, considering only the rules of the
// event's source whose condition admits its evt.type.
type Engine struct {
	bySource map[string]*typeIndex
	source   field.Ref
	rules    []*Rule
	// except holds the stored exceptions by rule name; replaced whole by
	// SetExceptions, so Eval never waits for it.
	except     atomic.Pointer[map[string][]compiledException]
	suppressed atomic.Int64
	now        func() time.Time
}

// compiledException is a stored exception ready to test events.
type compiledException struct {
	id      string
	expires time.Time
	match   func(ev *cairn.Event) bool
}

// typeIndex holds a source's rules by event type; each list keeps the
// rules' load order and includes the rules that match any type.
type typeIndex struct {
	byType map[string][]*Rule
	any    []*Rule
}

// NewEngine indexes rules by source and event type.
func NewEngine(rules []*Rule) *Engine {
	src, err := field.Lookup("evt.source")
	if err != nil {
		panic("falco: catalog lacks evt.source") // a programming error caught by any test
	}
	e := &Engine{bySource: map[string]*typeIndex{}, source: src, rules: rules, now: time.Now}
	for _, r := range rules {
		idx := e.bySource[r.Source]
		if idx == nil {
			idx = &typeIndex{byType: map[string][]*Rule{}}
			e.bySource[r.Source] = idx
		}
		if r.EvtTypes == nil {
			idx.any = append(idx.any, r)
			for t := range idx.byType {
				idx.byType[t] = append(idx.byType[t], r)
			}
			continue
		}
		for _, t := range r.EvtTypes {
			if _, ok := idx.byType[t]; !ok {
				idx.byType[t] = append([]*Rule(nil), idx.any...)
			}
			idx.byType[t] = append(idx.byType[t], r)
		}
	}
	return e
}

// Eval returns the rules ev triggers, in load order, with their outputs.
func (e *Engine) Eval(ev *cairn.Event) []Match {
	v, ok := e.source.Get(ev)
	if !ok {
		return nil
	}
	src, _ := v.(string)
	idx := e.bySource[src]
	if idx == nil {
		return nil
	}
	rules, ok := idx.byType[ev.Type]
	if !ok {
		rules = idx.any
	}
	var out []Match
	for _, r := range rules {
		if r.Match(ev) && !e.Excepted(r.Name, ev) {
			out = append(out, Match{Rule: r, Output: r.Render(ev)})
		}
	}
	return out
}

// Excepted reports whether a stored exception of the rule that is still
// active matches ev, and counts it. Eval applies it to the engine's
// rules; callers apply it to detections other engines raise (Sigma,
// analytics), whose exceptions are stored the same way.
func (e *Engine) Excepted(rule string, ev *cairn.Event) bool {
	m := e.except.Load()
	if m == nil {
		return false
	}
	xs := (*m)[rule]
	if len(xs) == 0 {
		return false
	}
	now := e.now()
	for _, x := range xs {
		if (x.expires.IsZero() || now.Before(x.expires)) && x.match(ev) {
			e.suppressed.Add(1)
			return true
		}
	}
	return false
}

// SetExceptions replaces the stored exceptions the engine applies; they
// take effect for the next event evaluated. An exception that does not
// compile is left out and reported in the error; the others apply.
func (e *Engine) SetExceptions(xs []cairn.Exception) error {
	m := map[string][]compiledException{}
	var errs []error
	for i := range xs {
		match, err := CompileException(&xs[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m[xs[i].Rule] = append(m[xs[i].Rule], compiledException{id: xs[i].ID, expires: xs[i].Expires, match: match})
	}
	e.except.Store(&m)
	return errors.Join(errs...)
}

// Suppressed returns how many rule matches stored exceptions have
// suppressed since the engine was built.
func (e *Engine) Suppressed() int64 { return e.suppressed.Load() }

// Rule returns the engine's rule of that name, or nil.
func (e *Engine) Rule(name string) *Rule {
	for _, r := range e.rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}
