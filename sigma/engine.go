package sigma

import (
	"strings"

	"github.com/cairn-cdr/cairn"
)

// Match is a rule an event triggered.
type Match struct {
	Rule *Rule
}

// Engine evaluates rules on events, considering only the rules of the
// event's logsource and, for CloudTrail, those whose condition admits
// the event's eventName.
type Engine struct {
	rules []*Rule
	// bySource holds the linux rules of each source, in load order.
	bySource map[source][]*Rule
	// byName holds the CloudTrail rules by the lower-case eventName their
	// condition requires; each list also has the rules that require none
	// (cloudAny), and keeps load order.
	byName   map[string][]*Rule
	cloudAny []*Rule
}

// NewEngine indexes rules by logsource and, for CloudTrail, by eventName.
func NewEngine(rules []*Rule) *Engine {
	e := &Engine{rules: rules, bySource: map[source][]*Rule{}, byName: map[string][]*Rule{}}
	for _, r := range rules {
		if r.src != srcCloudTrail {
			e.bySource[r.src] = append(e.bySource[r.src], r)
			continue
		}
		if r.names == nil {
			e.cloudAny = append(e.cloudAny, r)
			for n := range e.byName {
				e.byName[n] = append(e.byName[n], r)
			}
			continue
		}
		for n := range r.names {
			if _, ok := e.byName[n]; !ok {
				e.byName[n] = append([]*Rule(nil), e.cloudAny...)
			}
			e.byName[n] = append(e.byName[n], r)
		}
	}
	return e
}

// Rules returns the engine's rules in load order.
func (e *Engine) Rules() []*Rule { return e.rules }

// Eval returns the rules ev triggers, in load order.
func (e *Engine) Eval(ev *cairn.Event) []Match {
	var rules []*Rule
	switch src := eventSource(ev); src {
	case srcNone:
		return nil
	case srcCloudTrail:
		var ok bool
		if rules, ok = e.byName[lowerName(eventName(ev))]; !ok {
			rules = e.cloudAny
		}
	default:
		rules = e.bySource[src]
	}
	var out []Match
	x := newCtx(ev)
	for _, r := range rules {
		if r.detect(x) {
			out = append(out, Match{Rule: r})
		}
	}
	return out
}

// lowerName lowers an eventName, without allocating when it is lower
// case already.
func lowerName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// Candidates returns how many rules the engine would evaluate for ev: a
// measure of the index's selectivity.
func (e *Engine) Candidates(ev *cairn.Event) int {
	switch src := eventSource(ev); src {
	case srcNone:
		return 0
	case srcCloudTrail:
		if rules, ok := e.byName[lowerName(eventName(ev))]; ok {
			return len(rules)
		}
		return len(e.cloudAny)
	default:
		return len(e.bySource[src])
	}
}
