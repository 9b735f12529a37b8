package filter

import (
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/pred"
)

// predicate is a compiled expression: the hot path calls closures only,
// with each field's getter resolved at compile time.
type predicate = func(ev *cairn.Event) bool

func compile(n node) predicate {
	switch n := n.(type) {
	case *boolNode:
		ps := make([]pred.Func, len(n.xs))
		for i, x := range n.xs {
			ps[i] = compile(x)
		}
		if n.and {
			return pred.And(ps)
		}
		return pred.Or(ps)
	case *notNode:
		p := compile(n.x)
		return func(ev *cairn.Event) bool { return !p(ev) }
	case *existsNode:
		get, arg := n.ref.Field.Get, n.ref.Arg
		return func(ev *cairn.Event) bool {
			_, ok := get(ev, arg)
			return ok
		}
	case *cmpNode:
		get, arg := n.ref.Field.Get, n.ref.Arg
		test := valueTest(n)
		// A comparison on a field the event does not have is false,
		// whatever the operator (as in Falco).
		return func(ev *cairn.Event) bool {
			v, ok := get(ev, arg)
			return ok && test(v)
		}
	}
	return func(*cairn.Event) bool { return true }
}

// order reports whether c, the result of comparing a value with the
// literal, satisfies o.
func order(o op, c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// valueTest returns the test of one field value against n's literals. A
// value of an unexpected Go type fails the test.
func valueTest(n *cmpNode) func(v any) bool {
	switch n.kind {
	case kInt, kSeverity:
		test := intTest(n.op, n.vals)
		return func(v any) bool {
			x, ok := v.(int64)
			return ok && test(x)
		}
	case kBool:
		test := intTest(n.op, n.vals)
		return func(v any) bool {
			x, ok := v.(bool)
			if !ok {
				return false
			}
			var i int64
			if x {
				i = 1
			}
			return test(i)
		}
	case kTime:
		return func(v any) bool {
			x, ok := v.(time.Time)
			if !ok {
				return false
			}
			for _, l := range n.vals {
				if n.op == opIn {
					if x.Equal(l.t) {
						return true
					}
				} else {
					return order(n.op, x.Compare(l.t))
				}
			}
			return false
		}
	}
	test := textTest(n.op, n.vals)
	return func(v any) bool {
		switch x := v.(type) {
		case string:
			return test(validText(x))
		case []string:
			// A list satisfies a comparison when any element does.
			for _, s := range x {
				if test(validText(s)) {
					return true
				}
			}
		}
		return false
	}
}

func intTest(o op, vals []lit) func(int64) bool {
	if o == opIn {
		return func(x int64) bool {
			for _, l := range vals {
				if x == l.n {
					return true
				}
			}
			return false
		}
	}
	n := vals[0].n
	return func(x int64) bool { return order(o, cmpInt(x, n)) }
}

// textTest compares texts bytewise and case-sensitively; contains,
// startswith and endswith match the literal exactly (no wildcards).
func textTest(o op, vals []lit) func(string) bool {
	if o == opIn {
		if len(vals) > 8 {
			set := make(map[string]struct{}, len(vals))
			for _, l := range vals {
				set[l.s] = struct{}{}
			}
			return func(s string) bool {
				_, ok := set[s]
				return ok
			}
		}
		return func(s string) bool {
			for _, l := range vals {
				if s == l.s {
					return true
				}
			}
			return false
		}
	}
	lit := vals[0].s
	switch o {
	case opEq:
		return func(s string) bool { return s == lit }
	case opNe:
		return func(s string) bool { return s != lit }
	case opContains:
		return func(s string) bool { return strings.Contains(s, lit) }
	case opStartsWith:
		return func(s string) bool { return strings.HasPrefix(s, lit) }
	case opEndsWith:
		return func(s string) bool { return strings.HasSuffix(s, lit) }
	}
	return func(s string) bool { return order(o, strings.Compare(s, lit)) }
}
