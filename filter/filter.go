// Package filter is cairn's events-feed filter language:
//
//	kubernetes.cluster.name=risks-aws-eks-workloads-shield and severity>=high
//
// A filter compares catalog fields (package field) with values using =
// (or ==), !=, <, <=, >, >=, in (a, b), contains, startswith, endswith and
// the postfix exists, combined with not, and, or (in that order of
// precedence) and parentheses. Keywords are case-insensitive. Values are
// bare words (high, 34., a-b.c/d:e) or quoted with " or ' (\" \' and \\
// are escapes; any other backslash stands for itself).
//
// The semantics are Falco's: a comparison on a field the event does not
// have is false, whatever the operator (!= included), so its not is
// true; exists tests presence. A list field (proc.aname) satisfies a
// comparison when any element does. Texts compare bytewise and
// case-sensitively; contains, startswith and endswith have no wildcards.
// Literals are parsed per the field's type when the filter is compiled:
// integers, true/false, RFC 3339 times or dates, severity names.
//
// A filter is UTF-8 text without NUL characters, at most 64 KiB, nested
// at most 50 deep. Event texts that are not valid UTF-8 compare as
// encoding/json writes them (each bad byte as U+FFFD), as the store keeps
// them.
//
// An Expr runs in memory (Match) and compiles to parameterised SQL for
// the store (SQL); both give the same answers, except that SQL cannot
// decide a few comparisons and then selects more (see Expr.SQLExact).
package filter

import (
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// Expr is a compiled filter. It is immutable and safe for concurrent use.
type Expr struct {
	root node
	pred predicate
	text string
}

// Parse compiles a filter. An empty or blank filter matches every event.
// Errors are *cairn.Error with code EINVALID whose message starts with the
// 1-based column of the mistake ("col 7: unknown field ...").
func Parse(src string) (*Expr, error) {
	root, err := parse(src)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	format(&b, root)
	return &Expr{root: root, pred: compile(root), text: b.String()}, nil
}

// MustParse is like Parse but panics on an error. It is meant for
// filters written in code and tests.
func MustParse(src string) *Expr {
	e, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the canonical text of the filter, which parses to an
// equal Expr. The empty filter's text is "".
func (e *Expr) String() string {
	if e == nil {
		return ""
	}
	return e.text
}

// Match reports whether ev satisfies the filter. A nil Expr matches every
// event.
func (e *Expr) Match(ev *cairn.Event) bool {
	if e == nil {
		return true
	}
	return e.pred(ev)
}

// Fields returns the fields the filter references, each once, in the
// order they first appear.
func (e *Expr) Fields() []field.Ref {
	if e == nil {
		return nil
	}
	var out []field.Ref
	seen := map[string]bool{}
	var walk func(n node)
	walk = func(n node) {
		var ref field.Ref
		switch n := n.(type) {
		case *boolNode:
			for _, x := range n.xs {
				walk(x)
			}
			return
		case *notNode:
			walk(n.x)
			return
		case *cmpNode:
			ref = n.ref
		case *existsNode:
			ref = n.ref
		default:
			return
		}
		if name := ref.Name(); !seen[name] {
			seen[name] = true
			out = append(out, ref)
		}
	}
	walk(e.root)
	return out
}
