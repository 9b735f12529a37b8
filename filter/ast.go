package filter

import (
	"time"

	"github.com/cairn-cdr/cairn/field"
)

// op is a comparison operator.
type op int

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opIn
	opContains
	opStartsWith
	opEndsWith
)

var opNames = [...]string{"=", "!=", "<", "<=", ">", ">=", "in", "contains", "startswith", "endswith"}

func (o op) String() string { return opNames[o] }

// operatorList is shown when an operator is unknown.
const operatorList = "=, !=, <, <=, >, >=, in (a, b), contains, startswith, endswith, exists"

// textOp reports whether o only applies to text.
func (o op) textOp() bool { return o == opContains || o == opStartsWith || o == opEndsWith }

// ordered reports whether o compares order.
func (o op) ordered() bool { return o >= opLt && o <= opGe }

// kind is how a field's values are compared.
type kind int

const (
	kText kind = iota // String, IP, List elements
	kInt
	kBool
	kTime
	kSeverity
)

// kindOf returns how values of ref compare. A list field with an index
// argument (proc.aname[2]) yields one text value.
func kindOf(ref field.Ref) kind {
	switch ref.Field.Type {
	case field.Int:
		return kInt
	case field.Bool:
		return kBool
	case field.Time:
		return kTime
	case field.Severity:
		return kSeverity
	}
	return kText
}

// lit is one literal, parsed per the kind of the field it is compared to.
type lit struct {
	s string    // kText
	n int64     // kInt, kSeverity; kBool as 0 or 1
	t time.Time // kTime, in UTC
}

// node is a node of the expression tree.
type node interface{ isNode() }

// boolNode is a conjunction (and) or disjunction (or) of two or more nodes.
type boolNode struct {
	and bool
	xs  []node
}

type notNode struct{ x node }

// cmpNode compares a field with one literal, or with several for in.
type cmpNode struct {
	ref  field.Ref
	kind kind
	op   op
	vals []lit
}

type existsNode struct{ ref field.Ref }

// trueNode is the empty filter.
type trueNode struct{}

func (*boolNode) isNode()   {}
func (*notNode) isNode()    {}
func (*cmpNode) isNode()    {}
func (*existsNode) isNode() {}
func (trueNode) isNode()    {}
