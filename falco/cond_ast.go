// Package falco runs Falco rules files on cairn events: it parses Falco's
// condition language, loads rules files (rules, macros, lists,
// exceptions, append and override) and evaluates the loaded rules.
package falco

// node is a parsed condition, with macros and list references expanded.
type node interface{ isNode() }

// boolNode is a conjunction (and) or a disjunction (or).
type boolNode struct {
	and bool
	xs  []node
}

// notNode negates x.
type notNode struct{ x node }

// operand is a field reference with the transformers applied to it,
// innermost last: tolower(basename(fd.name)) is {fd.name, [tolower, basename]}.
type operand struct {
	field string
	trans []string
	pos   int
}

// value is one literal of a comparison.
type value struct {
	text   string
	quoted bool
}

// checkNode compares a field with literals, with another field (val()),
// or tests its presence (exists).
type checkNode struct {
	lhs  operand
	op   string
	vals []value
	// rhs is set when the right-hand side is val(field) or a transformed field.
	rhs *operand
	pos int
}

func (*boolNode) isNode()  {}
func (*notNode) isNode()   {}
func (*checkNode) isNode() {}
