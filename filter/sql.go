package filter

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cairn-cdr/cairn/field"
)

// Dialect says how the store keeps events, so that a filter can be
// compiled to SQL over its events table.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Columns maps a field reference, as its canonical name
	// ("k8s.ns.name", or with an argument "k8s.pod.label[app]"), to a
	// column holding exactly the value field.Flatten gives it: text for
	// String, IP and Time fields (times as field.TimeLayout text), an
	// integer for Int and Severity fields, 0/1 (PostgreSQL: boolean) for
	// Bool fields, NULL when the event lacks the field. Text columns must
	// compare bytewise (the default BINARY collation in SQLite) and hold
	// the text as encoding/json writes it (invalid UTF-8 bytes replaced by
	// U+FFFD), as the filter compares it so. List fields are always read
	// from FieldsColumn. Names are written into the SQL as given: they
	// come from the store, never from users.
	Columns map[string]string
	// FieldsColumn holds json.Marshal(field.Flatten(ev)): SQLite TEXT,
	// PostgreSQL JSONB.
	FieldsColumn string
	// RawColumn holds the raw record, for json.value[/pointer]. In SQLite
	// it is the record's bytes (a BLOB; a record that is not valid JSON
	// has no json.value). PostgreSQL cannot test JSON validity without
	// raising an error, so there it is a text or json column holding the
	// record when it is valid JSON (encoding/json's json.Valid) and NULL
	// otherwise; jsonb also works but rewrites numbers (1E3 becomes 1000).
	RawColumn string
}

// SQLite is the dialect of the SQLite store; the store copies it and
// fills Columns.
var SQLite = Dialect{Name: "sqlite", FieldsColumn: "fields", RawColumn: "raw"}

// Postgres is the dialect of the PostgreSQL store: $n placeholders and
// jsonb operators, with the same answers as SQLite.
var Postgres = Dialect{Name: "postgres", FieldsColumn: "fields", RawColumn: "raw_json"}

// SQL compiles the filter to a boolean SQL expression and its arguments.
// Every value, field name and JSON path is an argument, never part of
// the text. Placeholders are numbered (?N in SQLite, $N in PostgreSQL)
// from argBase+1, argBase being the number of arguments placed before.
// Every comparison yields true or false, never NULL, so not works as in
// memory.
//
// When SQLExact reports false, some comparisons cannot be decided in SQL
// (a field with an argument that no column holds, or a json.value that
// is an object or array, whose text in memory has sorted keys): SQL then
// selects a superset of the matching events and the caller must also
// apply Match to each row.
func (e *Expr) SQL(d Dialect, argBase int) (where string, args []any) {
	g := &sqlGen{d: d, pg: d.Name == "postgres", base: argBase}
	if e == nil {
		return g.boolConst(true), nil
	}
	return g.expr(e.root, true), g.args
}

// SQLExact reports whether SQL(d, ...) selects exactly the events Match
// accepts; see SQL.
func (e *Expr) SQLExact(d Dialect) bool {
	exact := true
	var walk func(n node)
	walk = func(n node) {
		switch n := n.(type) {
		case *boolNode:
			for _, x := range n.xs {
				walk(x)
			}
		case *notNode:
			walk(n.x)
		case *existsNode:
			if _, col := d.Columns[n.ref.Name()]; !col && !stored(n.ref) && !isJSONValue(n.ref) {
				exact = false
			}
		case *cmpNode:
			if _, col := d.Columns[n.ref.Name()]; !col && (!stored(n.ref) || isJSONValue(n.ref)) {
				exact = false
			}
		}
	}
	if e != nil {
		walk(e.root)
	}
	return exact
}

// stored reports whether the store's fields column holds ref's value: not
// for fields with an argument, nor for fields the catalog leaves out of
// field.Flatten.
func stored(ref field.Ref) bool { return !ref.HasArg && !ref.Field.Unstored }

// isJSONValue reports whether ref reads the raw record by JSON pointer.
func isJSONValue(ref field.Ref) bool { return ref.Field.Arg == field.PointerArg }

type sqlGen struct {
	d    Dialect
	pg   bool
	base int
	args []any
}

// param adds an argument and returns its placeholder.
func (g *sqlGen) param(v any) string {
	g.args = append(g.args, v)
	n := strconv.Itoa(g.base + len(g.args))
	if g.pg {
		return "$" + n
	}
	return "?" + n
}

// text, integer and boolean add an argument of that type; PostgreSQL
// placeholders carry a cast so that their types are known.
func (g *sqlGen) text(s string) string {
	if g.pg {
		return g.param(s) + "::text"
	}
	return g.param(s)
}

func (g *sqlGen) integer(n int64) string {
	if g.pg {
		return g.param(n) + "::bigint"
	}
	return g.param(n)
}

func (g *sqlGen) boolConst(b bool) string {
	switch {
	case g.pg && b:
		return "TRUE"
	case g.pg:
		return "FALSE"
	case b:
		return "1"
	}
	return "0"
}

// coalesce makes a possibly NULL condition false when NULL.
func (g *sqlGen) coalesce(cond string) string {
	return "COALESCE(" + cond + ", " + g.boolConst(false) + ")"
}

func (g *sqlGen) expr(n node, pos bool) string {
	switch n := n.(type) {
	case *boolNode:
		parts := make([]string, len(n.xs))
		for i, x := range n.xs {
			parts[i] = g.expr(x, pos)
		}
		sep := " OR "
		if n.and {
			sep = " AND "
		}
		return balanced(parts, sep)
	case *notNode:
		// Under not, an undecidable comparison must lean the other way
		// for the result to stay a superset.
		return "(NOT " + g.expr(n.x, !pos) + ")"
	case *existsNode:
		return g.exists(n.ref, pos)
	case *cmpNode:
		return g.cmp(n, pos)
	}
	return g.boolConst(true)
}

// balanced joins parts as a balanced tree, so that a long chain of and or
// or stays within the database's expression depth.
func balanced(parts []string, sep string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	mid := len(parts) / 2
	return "(" + balanced(parts[:mid], sep) + sep + balanced(parts[mid:], sep) + ")"
}

// fieldKey returns the argument naming a field inside FieldsColumn.
func (g *sqlGen) fieldKey(name string) string {
	if g.pg {
		return g.text(name)
	}
	return g.param("$." + pathKey(name))
}

func (g *sqlGen) exists(ref field.Ref, pos bool) string {
	if col, ok := g.d.Columns[ref.Name()]; ok {
		return "(" + col + " IS NOT NULL)"
	}
	switch {
	case isJSONValue(ref):
		if g.pg {
			return "(SELECT " + g.coalesce("json_typeof(_x) <> 'null'") + " FROM (SELECT " + g.jsonDoc(ref.Arg) + " AS _x) AS s)"
		}
		return "(SELECT " + g.coalesce("json_type(_x) <> 'null'") + " FROM (SELECT " + g.jsonDoc(ref.Arg) + " AS _x))"
	case !stored(ref):
		return g.boolConst(pos)
	case g.pg:
		return "(" + g.d.FieldsColumn + " -> " + g.fieldKey(ref.Name()) + " IS NOT NULL)"
	}
	return "(json_type(" + g.d.FieldsColumn + ", " + g.fieldKey(ref.Name()) + ") IS NOT NULL)"
}

func (g *sqlGen) cmp(n *cmpNode, pos bool) string {
	if col, ok := g.d.Columns[n.ref.Name()]; ok {
		// Outside a not, a NULL comparison leads to the same rows as a
		// false one (and/or are monotone and WHERE drops NULL), and a bare
		// comparison lets the database use the column's index.
		if pos {
			return "(" + g.test(n, col) + ")"
		}
		return g.coalesce(g.test(n, col))
	}
	switch {
	case isJSONValue(n.ref):
		return g.jsonValueCmp(n, pos)
	case !stored(n.ref):
		return g.boolConst(pos)
	case n.ref.Field.Type == field.List:
		return g.listCmp(n)
	}
	return g.coalesce(g.test(n, g.fieldValue(n.ref, n.kind)))
}

// fieldValue returns the SQL value of a field without argument, read
// from FieldsColumn, typed for kind k.
func (g *sqlGen) fieldValue(ref field.Ref, k kind) string {
	f := g.d.FieldsColumn
	if !g.pg {
		return "json_extract(" + f + ", " + g.fieldKey(ref.Name()) + ")"
	}
	key := g.fieldKey(ref.Name())
	switch k {
	case kInt, kSeverity:
		return "(CASE WHEN jsonb_typeof(" + f + " -> " + key + ") = 'number' THEN (" + f + " ->> " + key + ")::numeric END)"
	case kBool:
		return "(CASE WHEN jsonb_typeof(" + f + " -> " + key + ") = 'boolean' THEN (" + f + " ->> " + key + ")::boolean END)"
	}
	return "(" + f + " ->> " + key + ")"
}

// listCmp tests whether any element of a list field satisfies n.
func (g *sqlGen) listCmp(n *cmpNode) string {
	f := g.d.FieldsColumn
	key := g.fieldKey(n.ref.Name())
	if g.pg {
		return "EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(" + f + " -> " + key + ") = 'array' THEN " + f + " -> " + key + " END) AS e(v) WHERE " + g.test(n, "e.v") + ")"
	}
	return "EXISTS (SELECT 1 FROM json_each(" + f + ", " + key + ") AS e WHERE " + g.test(n, "e.value") + ")"
}

// lit adds one literal of kind k as an argument.
func (g *sqlGen) lit(k kind, l lit) string {
	switch k {
	case kInt, kSeverity:
		return g.integer(l.n)
	case kBool:
		if g.pg {
			return g.param(l.n == 1) + "::boolean"
		}
		return g.param(l.n)
	case kTime:
		return g.text(l.t.Format(field.TimeLayout))
	}
	return g.text(l.s)
}

// maxInlineList is the longest in list written as one placeholder per
// value; longer lists are one JSON array argument.
const maxInlineList = 16

// test returns the condition that the SQL value v satisfies n; it is
// NULL when v is NULL.
func (g *sqlGen) test(n *cmpNode, v string) string {
	text := n.kind == kText || n.kind == kTime
	switch n.op {
	case opIn:
		if len(n.vals) > maxInlineList {
			return "(" + v + " IN " + g.jsonList(n) + ")"
		}
		ps := make([]string, len(n.vals))
		for i, l := range n.vals {
			ps[i] = g.lit(n.kind, l)
		}
		return "(" + v + " IN (" + strings.Join(ps, ", ") + "))"
	case opContains:
		if g.pg {
			return "(strpos(" + v + ", " + g.text(n.vals[0].s) + ") > 0)"
		}
		return "(instr(" + v + ", " + g.text(n.vals[0].s) + ") > 0)"
	case opStartsWith:
		if g.pg {
			return "starts_with(" + v + ", " + g.text(n.vals[0].s) + ")"
		}
		s := n.vals[0].s
		return "(substr(CAST(" + v + " AS BLOB), 1, " + g.integer(int64(len(s))) + ") = CAST(" + g.text(s) + " AS BLOB))"
	case opEndsWith:
		s := n.vals[0].s
		if g.pg {
			p := g.text(s)
			return "(right(" + v + ", length(" + p + ")) = " + p + ")"
		}
		if s == "" {
			return "(" + v + " IS NOT NULL)"
		}
		return "(substr(CAST(" + v + " AS BLOB), -" + g.integer(int64(len(s))) + ") = CAST(" + g.text(s) + " AS BLOB))"
	}
	sym := n.op.String()
	if n.op == opNe {
		sym = "<>"
	}
	if g.pg && text && n.op.ordered() {
		// PostgreSQL orders text by the database's collation; "C" is
		// bytewise, as in memory.
		return "(" + v + " COLLATE \"C\" " + sym + " " + g.lit(n.kind, n.vals[0]) + ")"
	}
	return "(" + v + " " + sym + " " + g.lit(n.kind, n.vals[0]) + ")"
}

// jsonList returns a subquery of n's values passed as one JSON array.
func (g *sqlGen) jsonList(n *cmpNode) string {
	vals := make([]any, len(n.vals))
	for i, l := range n.vals {
		switch n.kind {
		case kInt, kSeverity:
			vals[i] = l.n
		case kBool:
			vals[i] = l.n
			if g.pg {
				vals[i] = l.n == 1
			}
		case kTime:
			vals[i] = l.t.Format(field.TimeLayout)
		default:
			vals[i] = l.s
		}
	}
	b, _ := json.Marshal(vals) // strings, numbers and bools always encode
	if !g.pg {
		return "(SELECT value FROM json_each(" + g.param(string(b)) + "))"
	}
	elem := "jsonb_array_elements_text(" + g.param(string(b)) + "::jsonb)"
	switch n.kind {
	case kInt, kSeverity:
		return "(SELECT (" + elem + ")::numeric)"
	case kBool:
		return "(SELECT (" + elem + ")::boolean)"
	}
	return "(SELECT " + elem + ")"
}
