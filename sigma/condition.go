package sigma

import (
	"fmt"
	"strconv"
	"strings"
)

// Condition syntax, least to most binding: or, and, not, "x of"
// (1 of, any of, N of, all of a pattern or them), parentheses.
//
//	expr    = and { "or" and }
//	and     = not { "and" not }
//	not     = "not" not | of
//	of      = ( "1" | "any" | "all" | N ) "of" ( "them" | pattern ) | primary
//	primary = "(" expr ")" | identifier
//
// Keywords are case-insensitive. A pipe starts an aggregation of the
// deprecated pre-correlation syntax, which is not supported.

// cond is a node of a parsed condition.
type cond struct {
	op      string // and, or, not, id, of
	kids    []*cond
	name    string // id: the identifier; of: the pattern or "them"
	atLeast int    // of: how many must match; 0 means all
}

// maxCondDepth bounds the nesting of a condition.
const maxCondDepth = 100

type condParser struct {
	toks  []string
	pos   int
	depth int
}

// ParseCondition parses a condition and returns it in a normalized,
// fully parenthesized form, or the syntax error. It does not check that
// the identifiers exist.
func ParseCondition(s string) (string, error) {
	c, err := parseCondition(s)
	if err != nil {
		return "", err
	}
	return c.String(), nil
}

func parseCondition(s string) (*cond, error) {
	toks, err := lexCondition(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("condition is empty")
	}
	p := &condParser{toks: toks}
	c, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("condition: unexpected %q", p.toks[p.pos])
	}
	return c, nil
}

func lexCondition(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, s[i:i+1])
			i++
		case c == '|':
			return nil, fmt.Errorf("condition: aggregations (| count() ...) are not supported; use a correlation rule")
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()|", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return strings.ToLower(p.toks[p.pos])
	}
	return ""
}

func (p *condParser) expr() (*cond, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxCondDepth {
		return nil, fmt.Errorf("condition nests deeper than %d", maxCondDepth)
	}
	return p.binary("or", p.and)
}

func (p *condParser) and() (*cond, error) { return p.binary("and", p.not) }

func (p *condParser) binary(op string, next func() (*cond, error)) (*cond, error) {
	l, err := next()
	if err != nil {
		return nil, err
	}
	kids := []*cond{l}
	for p.peek() == op {
		p.pos++
		r, err := next()
		if err != nil {
			return nil, err
		}
		kids = append(kids, r)
	}
	if len(kids) == 1 {
		return l, nil
	}
	return &cond{op: op, kids: kids}, nil
}

func (p *condParser) not() (*cond, error) {
	if p.peek() != "not" {
		return p.of()
	}
	p.pos++
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxCondDepth {
		return nil, fmt.Errorf("condition nests deeper than %d", maxCondDepth)
	}
	k, err := p.not()
	if err != nil {
		return nil, err
	}
	return &cond{op: "not", kids: []*cond{k}}, nil
}

func (p *condParser) of() (*cond, error) {
	q := p.peek()
	if p.pos+1 < len(p.toks) && strings.ToLower(p.toks[p.pos+1]) == "of" {
		n := 0
		switch q {
		case "all":
		case "any":
			n = 1
		default:
			v, err := strconv.Atoi(q)
			if err != nil || v < 1 {
				return nil, fmt.Errorf("condition: %q of: want 1, any, all or a positive count", p.toks[p.pos])
			}
			n = v
		}
		p.pos += 2
		if p.pos >= len(p.toks) {
			return nil, fmt.Errorf("condition: %s of what?", q)
		}
		target := p.toks[p.pos]
		if target == "(" || target == ")" || isKeyword(target) && !strings.EqualFold(target, "them") {
			return nil, fmt.Errorf("condition: %s of %q: want a pattern or them", q, target)
		}
		if strings.EqualFold(target, "them") {
			target = "them"
		}
		p.pos++
		return &cond{op: "of", name: target, atLeast: n}, nil
	}
	return p.primary()
}

func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "of", "them":
		return true
	}
	return false
}

func (p *condParser) primary() (*cond, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("condition ends too early")
	}
	t := p.toks[p.pos]
	switch {
	case t == "(":
		p.pos++
		c, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("condition: missing )")
		}
		p.pos++
		return c, nil
	case t == ")" || isKeyword(t):
		return nil, fmt.Errorf("condition: unexpected %q", t)
	}
	p.pos++
	return &cond{op: "id", name: t}, nil
}

// String renders the condition fully parenthesized.
func (c *cond) String() string {
	switch c.op {
	case "id":
		return c.name
	case "of":
		q := "all"
		if c.atLeast > 0 {
			q = strconv.Itoa(c.atLeast)
		}
		return q + " of " + c.name
	case "not":
		return "not " + c.kids[0].String()
	}
	parts := make([]string, len(c.kids))
	for i, k := range c.kids {
		parts[i] = k.String()
	}
	return "(" + strings.Join(parts, " "+c.op+" ") + ")"
}

// matchName reports whether an identifier matches an "of" pattern, in
// which * stands for any run of characters.
func matchName(pattern, name string) bool {
	return glob(parseWildcards(pattern), name, false)
}

// compiledCond is a condition ready to run, with the eventName values it
// requires when it requires some (named).
type compiledCond struct {
	match pred
	names map[string]bool
	named bool
}

// compileCond compiles a parsed condition over the rule's identifiers,
// given in their order in the detection.
func compileCond(c *cond, ids []*ident) (compiledCond, error) {
	switch c.op {
	case "id":
		for _, id := range ids {
			if id.name == c.name {
				return compiledCond{match: id.match, names: id.names, named: id.named}, nil
			}
		}
		return compiledCond{}, fmt.Errorf("condition names %s, which the detection does not define", c.name)
	case "not":
		k, err := compileCond(c.kids[0], ids)
		if err != nil {
			return compiledCond{}, err
		}
		m := k.match
		return compiledCond{match: func(x *evalCtx) bool { return !m(x) }}, nil
	case "of":
		var kids []compiledCond
		for _, id := range ids {
			if c.name == "them" && !strings.HasPrefix(id.name, "_") || c.name != "them" && matchName(c.name, id.name) {
				kids = append(kids, compiledCond{match: id.match, names: id.names, named: id.named})
			}
		}
		if len(kids) == 0 {
			return compiledCond{}, fmt.Errorf("condition: no search identifier matches %s", c.name)
		}
		if c.atLeast == 0 {
			return joinAnd(kids), nil
		}
		if c.atLeast == 1 {
			return joinOr(kids), nil
		}
		return atLeast(kids, c.atLeast), nil
	}
	var kids []compiledCond
	for _, k := range c.kids {
		kc, err := compileCond(k, ids)
		if err != nil {
			return compiledCond{}, err
		}
		kids = append(kids, kc)
	}
	if c.op == "and" {
		return joinAnd(kids), nil
	}
	return joinOr(kids), nil
}

func matchers(kids []compiledCond) []pred {
	out := make([]pred, len(kids))
	for i, k := range kids {
		out[i] = k.match
	}
	return out
}

// joinAnd requires every kid; the eventName values required are those
// every requiring kid allows.
func joinAnd(kids []compiledCond) compiledCond {
	out := compiledCond{match: allOf(matchers(kids))}
	for _, k := range kids {
		if !k.named {
			continue
		}
		if !out.named {
			out.names, out.named = k.names, true
			continue
		}
		both := map[string]bool{}
		for n := range k.names {
			if out.names[n] {
				both[n] = true
			}
		}
		out.names = both
	}
	return out
}

// joinOr requires one kid; eventName values are required only when every
// kid requires some.
func joinOr(kids []compiledCond) compiledCond {
	out := compiledCond{match: anyOf(matchers(kids)), named: true, names: map[string]bool{}}
	for _, k := range kids {
		if !k.named {
			return compiledCond{match: out.match}
		}
		for n := range k.names {
			out.names[n] = true
		}
	}
	return out
}

// atLeast requires n of the kids.
func atLeast(kids []compiledCond, n int) compiledCond {
	or := joinOr(kids)
	ms := matchers(kids)
	or.match = func(x *evalCtx) bool {
		c := 0
		for _, m := range ms {
			if m(x) {
				c++
				if c >= n {
					return true
				}
			}
		}
		return false
	}
	return or
}
