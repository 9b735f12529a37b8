package falco

import (
	"strings"

	"github.com/cairn-cdr/cairn"
)

// Env is what a condition may refer to by name: lists (already expanded,
// see Load) and macros (condition text).
type Env struct {
	Lists  map[string][]string
	Macros map[string]string

	parsed map[string]node // macros parsed so far
	active map[string]bool // macros being expanded, to find cycles
}

// maxDepth bounds nesting of parentheses and macros, so that hostile
// input cannot exhaust the stack.
const maxDepth = 200

// unaryOps and binaryOps are Falco's operators written as words.
var wordOps = map[string]bool{
	"contains": true, "icontains": true, "bcontains": true, "startswith": true,
	"bstartswith": true, "endswith": true, "in": true, "intersects": true,
	"pmatch": true, "glob": true, "regex": true, "exists": true,
}

// setOps take a parenthesised list of values.
var setOps = map[string]bool{"in": true, "intersects": true, "pmatch": true}

// transformers are the field transformers Falco accepts around a field.
var transformers = map[string]bool{"tolower": true, "toupper": true, "b64": true, "basename": true}

type parser struct {
	src   string
	pos   int
	env   *Env
	depth int
}

func syntaxErr(src string, pos int, format string, args ...any) error {
	return cairn.Errorf(cairn.EINVALID, "condition: at offset %d: %s (in %q)", pos, sprintf(format, args...), clip(src))
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// parse parses a condition with env's macros and lists expanded.
func parse(src string, env *Env) (node, error) {
	if env == nil {
		env = &Env{}
	}
	p := &parser{src: src, env: env}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.src) {
		return nil, syntaxErr(src, p.pos, "unexpected %q", p.peekWord())
	}
	return n, nil
}

func (p *parser) space() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// peekWord returns the identifier at the cursor without consuming it.
func (p *parser) peekWord() string {
	i := p.pos
	for i < len(p.src) && isIdent(p.src[i]) {
		i++
	}
	if i == p.pos && i < len(p.src) {
		return p.src[i : i+1]
	}
	return p.src[p.pos:i]
}

// keyword consumes w when the next word is exactly w.
func (p *parser) keyword(w string) bool {
	p.space()
	if p.peekWord() == w {
		p.pos += len(w)
		return true
	}
	return false
}

func (p *parser) expr() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, syntaxErr(p.src, p.pos, "nesting deeper than %d", maxDepth)
	}
	var xs []node
	for {
		x, err := p.and()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		if !p.keyword("or") {
			break
		}
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	return &boolNode{xs: xs}, nil
}

func (p *parser) and() (node, error) {
	var xs []node
	for {
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		if !p.keyword("and") {
			break
		}
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	return &boolNode{and: true, xs: xs}, nil
}

func (p *parser) not() (node, error) {
	if p.keyword("not") {
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, syntaxErr(p.src, p.pos, "nesting deeper than %d", maxDepth)
		}
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &notNode{x: x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (node, error) {
	p.space()
	if p.pos >= len(p.src) {
		return nil, syntaxErr(p.src, p.pos, "condition ends where a check was expected")
	}
	if p.src[p.pos] == '(' {
		p.pos++
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, syntaxErr(p.src, p.pos, "missing )")
		}
		p.pos++
		return x, nil
	}
	start := p.pos
	w := p.peekWord()
	if w == "" || !isIdent(w[0]) {
		return nil, syntaxErr(p.src, p.pos, "unexpected %q where a field or macro was expected", w)
	}
	// A bare identifier not followed by an operator or a bracket is a macro.
	if transformers[w] || p.isFieldStart(w) {
		return p.check(start)
	}
	p.pos += len(w)
	return p.macro(w, start)
}

// isFieldStart reports whether the word at the cursor begins a check
// rather than naming a macro: an operator or a bracket follows it.
func (p *parser) isFieldStart(w string) bool {
	i := p.pos + len(w)
	if i < len(p.src) && p.src[i] == '[' {
		return true
	}
	for i < len(p.src) && isSpace(p.src[i]) {
		i++
	}
	if i >= len(p.src) {
		return false
	}
	switch p.src[i] {
	case '=', '!', '<', '>':
		return true
	}
	j := i
	for j < len(p.src) && isIdent(p.src[j]) {
		j++
	}
	return wordOps[p.src[i:j]]
}

func (p *parser) macro(name string, pos int) (node, error) {
	env := p.env
	if n, ok := env.parsed[name]; ok {
		return n, nil
	}
	text, ok := env.Macros[name]
	if !ok {
		if strings.Contains(name, ".") {
			return nil, syntaxErr(p.src, pos, "field %s has no operator", name)
		}
		return nil, syntaxErr(p.src, pos, "undefined macro %q", name)
	}
	if env.active[name] {
		return nil, syntaxErr(p.src, pos, "macro %q refers to itself", name)
	}
	if env.active == nil {
		env.active = map[string]bool{}
	}
	if p.depth > maxDepth {
		return nil, syntaxErr(p.src, pos, "macros nested deeper than %d", maxDepth)
	}
	env.active[name] = true
	defer delete(env.active, name)
	sub := &parser{src: text, env: env, depth: p.depth + 1}
	n, err := sub.expr()
	if err == nil {
		sub.space()
		if sub.pos < len(sub.src) {
			err = syntaxErr(sub.src, sub.pos, "unexpected %q", sub.peekWord())
		}
	}
	if err != nil {
		return nil, cairn.Errorf(cairn.EINVALID, "macro %s: %s", name, cairn.ErrorMessage(err))
	}
	if env.parsed == nil {
		env.parsed = map[string]node{}
	}
	env.parsed[name] = n
	return n, nil
}

// operand parses a field, possibly wrapped in transformers or val().
func (p *parser) operand() (operand, error) {
	p.space()
	o := operand{pos: p.pos}
	w := p.peekWord()
	if (transformers[w] || w == "val") && strings.HasPrefix(p.src[p.pos+len(w):], "(") {
		p.pos += len(w) + 1
		inner, err := p.operand()
		if err != nil {
			return o, err
		}
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return o, syntaxErr(p.src, p.pos, "missing ) after %s(", w)
		}
		p.pos++
		if w != "val" {
			inner.trans = append([]string{w}, inner.trans...)
		}
		inner.pos = o.pos
		return inner, nil
	}
	if w == "" || !isIdent(w[0]) {
		return o, syntaxErr(p.src, p.pos, "expected a field, found %q", w)
	}
	p.pos += len(w)
	name := w
	if p.pos < len(p.src) && p.src[p.pos] == '[' {
		end := strings.IndexByte(p.src[p.pos:], ']')
		if end < 0 {
			return o, syntaxErr(p.src, p.pos, "missing ] in field argument")
		}
		name += p.src[p.pos : p.pos+end+1]
		p.pos += end + 1
	}
	o.field = name
	return o, nil
}

func (p *parser) check(start int) (node, error) {
	lhs, err := p.operand()
	if err != nil {
		return nil, err
	}
	p.space()
	c := &checkNode{lhs: lhs, pos: start}
	c.op = p.operator()
	switch {
	case c.op == "":
		return nil, syntaxErr(p.src, p.pos, "expected an operator after %s, found %q", lhs.field, p.peekWord())
	case c.op == "exists":
		return c, nil
	case setOps[c.op]:
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != '(' {
			return nil, syntaxErr(p.src, p.pos, "%s needs a list in parentheses", c.op)
		}
		c.vals, err = p.list()
		return c, err
	}
	p.space()
	w := p.peekWord()
	if (transformers[w] || w == "val") && strings.HasPrefix(p.src[p.pos+len(w):], "(") {
		rhs, err := p.operand()
		if err != nil {
			return nil, err
		}
		c.rhs = &rhs
		return c, nil
	}
	v, ok, err := p.value()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, syntaxErr(p.src, p.pos, "%s needs a value", c.op)
	}
	c.vals = []value{v}
	return c, nil
}

// operator consumes and returns the operator at the cursor, or "".
func (p *parser) operator() string {
	for _, o := range []string{"==", "!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(p.src[p.pos:], o) {
			p.pos += len(o)
			return o
		}
	}
	w := p.peekWord()
	if wordOps[w] {
		p.pos += len(w)
		return w
	}
	return ""
}

// value reads a quoted or bare literal.
func (p *parser) value() (value, bool, error) {
	p.space()
	if p.pos >= len(p.src) {
		return value{}, false, nil
	}
	if q := p.src[p.pos]; q == '"' || q == '\'' {
		var b strings.Builder
		for i := p.pos + 1; i < len(p.src); i++ {
			c := p.src[i]
			switch {
			case c == q:
				p.pos = i + 1
				return value{text: b.String(), quoted: true}, true, nil
			case c == '\\' && i+1 < len(p.src) && (p.src[i+1] == q || p.src[i+1] == '\\'):
				b.WriteByte(p.src[i+1])
				i++
			default:
				b.WriteByte(c)
			}
		}
		return value{}, false, syntaxErr(p.src, p.pos, "unterminated string")
	}
	i := p.pos
	for i < len(p.src) && !isSpace(p.src[i]) && !strings.ContainsRune("(),\"'", rune(p.src[i])) {
		i++
	}
	if i == p.pos {
		return value{}, false, nil
	}
	v := value{text: p.src[p.pos:i]}
	p.pos = i
	return v, true, nil
}

// list reads "(a, b, c)", expanding bare names of lists.
func (p *parser) list() ([]value, error) {
	p.pos++ // (
	var out []value
	for {
		p.space()
		if p.pos < len(p.src) && p.src[p.pos] == ')' {
			p.pos++
			return out, nil
		}
		v, ok, err := p.value()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, syntaxErr(p.src, p.pos, "expected a value or ) in list")
		}
		if items, isList := p.env.Lists[v.text]; isList && !v.quoted {
			for _, it := range items {
				out = append(out, value{text: it, quoted: true})
			}
		} else {
			out = append(out, v)
		}
		p.space()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == ')' {
			p.pos++
			return out, nil
		}
		return nil, syntaxErr(p.src, p.pos, "expected , or ) in list")
	}
}
