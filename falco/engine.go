package falco

import (
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
	e := &Engine{bySource: map[string]*typeIndex{}, source: src}
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
		if r.Match(ev) {
			out = append(out, Match{Rule: r, Output: r.Render(ev)})
		}
	}
	return out
}
