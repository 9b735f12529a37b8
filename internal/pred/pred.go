// Package pred combines compiled event predicates, as the filter language
// and Falco conditions compile them: closures built once, called on the
// hot path.
package pred

import "github.com/cairn-cdr/cairn"

// Func is a compiled predicate on an event.
type Func = func(ev *cairn.Event) bool

// And returns a predicate true when every one of ps is, evaluated in
// order and stopping at the first false.
func And(ps []Func) Func {
	return func(ev *cairn.Event) bool {
		for _, p := range ps {
			if !p(ev) {
				return false
			}
		}
		return true
	}
}

// Or returns a predicate true when any of ps is, evaluated in order and
// stopping at the first true.
func Or(ps []Func) Func {
	return func(ev *cairn.Event) bool {
		for _, p := range ps {
			if p(ev) {
				return true
			}
		}
		return false
	}
}
