package filter

import (
	"fmt"
	"strconv"
	"strings"
)

// The SQL for json.value[/pointer] mirrors the field's getter: the value
// is missing when the record is not JSON, when the pointer finds nothing
// or finds null; a string compares as its text, a number as written,
// true and false as words. An object or array is text with sorted keys in
// memory, which SQL cannot rebuild: such a comparison is left undecided
// (see SQL). A numeric pointer token ("0") indexes an array or names an
// object's key, whichever the value at that point is, as RFC 6901 says.

// pathKey quotes an object key for an SQLite JSON path ($."key").
func pathKey(k string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// arrayIndex parses a pointer token as an array index as the json.value
// getter does: 0, or up to 9 digits without a leading zero.
func arrayIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 9 || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(tok)
	return n, err == nil
}

// jsonDoc returns an SQL expression of the JSON found at ptr in the raw
// record, or NULL: JSON text in SQLite, json in PostgreSQL.
func (g *sqlGen) jsonDoc(ptr string) string {
	toks, _ := pointerTokens(ptr) // checked by the parser
	if g.pg {
		cur := "(" + g.d.RawColumn + ")::json"
		for _, tok := range toks {
			if i, ok := arrayIndex(tok); ok {
				p := g.param(int64(i)) + "::int"
				cur = "(SELECT COALESCE(_x -> (" + p + ")::text, _x -> " + p + ") FROM (SELECT " + cur + " AS _x) AS s)"
			} else {
				cur = "(" + cur + " -> " + g.text(tok) + ")"
			}
		}
		return cur
	}
	raw := "CAST(" + g.d.RawColumn + " AS TEXT)"
	if len(toks) == 0 {
		// The whole record: json() drops the whitespace around a scalar.
		return "(CASE WHEN json_valid(" + raw + ") THEN json(" + raw + ") END)"
	}
	cur := "(CASE WHEN json_valid(" + raw + ") THEN " + raw + " END)"
	var run []string // consecutive object keys, as one path
	flush := func() {
		if len(run) > 0 {
			cur = "(" + cur + " -> " + g.param("$."+strings.Join(run, ".")) + ")"
			run = run[:0]
		}
	}
	for _, tok := range toks {
		i, ok := arrayIndex(tok)
		if !ok {
			run = append(run, pathKey(tok))
			continue
		}
		flush()
		// One argument, the index (digits only), for both paths keeps
		// the argument count within SQLite's limit for any filter.
		p := g.param(int64(i))
		cur = "(SELECT COALESCE(_x -> ('$[' || " + p + " || ']'), _x -> ('$.\"' || " + p + " || '\"')) FROM (SELECT " + cur + " AS _x))"
	}
	flush()
	return cur
}

// jsonValueCmp compares json.value[ptr]: an object or array found there
// makes the comparison pos (undecided, leaning to a superset).
func (g *sqlGen) jsonValueCmp(n *cmpNode, pos bool) string {
	doc := g.jsonDoc(n.ref.Arg)
	undecided := g.boolConst(pos)
	test := g.coalesce(g.test(n, "_v"))
	if g.pg {
		return "(SELECT CASE WHEN _t IN ('object', 'array') THEN " + undecided + " ELSE " + test + " END" +
			" FROM (SELECT json_typeof(_x) AS _t, CASE WHEN json_typeof(_x) IN ('string', 'number', 'boolean') THEN _x #>> '{}' END AS _v" +
			" FROM (SELECT " + doc + " AS _x) AS s1) AS s2)"
	}
	return "(SELECT CASE WHEN _t IN ('object', 'array') THEN " + undecided + " ELSE " + test + " END" +
		" FROM (SELECT json_type(_x) AS _t, CASE json_type(_x) WHEN 'text' THEN _x ->> '$' WHEN 'null' THEN NULL ELSE _x END AS _v" +
		" FROM (SELECT " + doc + " AS _x)))"
}
