package filter

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// Limits that keep a hostile filter from costing much: the source length,
// the nesting of parentheses and not, and the tokens of a JSON pointer.
// They also keep the SQL within SQLite's limits: at most one argument per
// two bytes of filter stays under its 32766 arguments, and the depth of
// expressions and subqueries stays small.
const (
	maxSource       = 32 << 10
	maxDepth        = 50
	maxPointerDepth = 32
)

// errAt returns an EINVALID error whose message starts with the 1-based
// column (in characters) of byte offset off in src.
func errAt(src string, off int, format string, args ...any) error {
	if off > len(src) {
		off = len(src)
	}
	col := utf8.RuneCountInString(src[:off]) + 1
	return cairn.Errorf(cairn.EINVALID, "col %d: %s", col, fmt.Sprintf(format, args...))
}

// keywords are the words that are never bare values or field names.
var keywords = []string{"and", "or", "not", "in", "contains", "startswith", "endswith", "exists"}

// keyword returns the lower-case keyword w is, or "".
func keyword(w string) string {
	for _, k := range keywords {
		if strings.EqualFold(w, k) {
			return k
		}
	}
	return ""
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int // open parentheses and nots
	open  int // open parentheses
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// isKw reports whether the next token is the keyword kw.
func (p *parser) isKw(kw string) bool {
	t := p.peek()
	return t.kind == tWord && keyword(t.text) == kw
}

// describe names a token for an error message.
func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return fmt.Sprintf("the quoted value %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func parse(src string) (node, error) {
	if len(src) > maxSource {
		return nil, cairn.Errorf(cairn.EINVALID, "filter too long: %d bytes, at most %d", len(src), maxSource)
	}
	if err := checkText(src); err != nil {
		return nil, err
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	if toks[0].kind == tEOF {
		return trueNode{}, nil
	}
	p := &parser{src: src, toks: toks}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); t.kind {
	case tEOF:
		return x, nil
	case tRParen:
		return nil, errAt(src, t.pos, "unbalanced parenthesis: ')' has no matching '('")
	case tComma:
		return nil, errAt(src, t.pos, "expected and/or before ','; to compare with several values use in (a, b)")
	default:
		return nil, errAt(src, t.pos, "expected and/or before %s", describe(t))
	}
}

// checkText refuses a filter that is not valid UTF-8 or holds a NUL
// character: no database text can hold them as they are.
func checkText(src string) error {
	for i, r := range src {
		switch {
		case r == 0:
			return errAt(src, i, "the NUL character is not allowed in a filter")
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(src[i:]); size == 1 {
				return errAt(src, i, "invalid UTF-8 in filter")
			}
		}
	}
	return nil
}

func (p *parser) parseOr() (node, error) {
	x, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	xs := []node{x}
	for p.isKw("or") {
		p.next()
		y, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	return join(false, xs), nil
}

func (p *parser) parseAnd() (node, error) {
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	xs := []node{x}
	for p.isKw("and") {
		p.next()
		y, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	return join(true, xs), nil
}

// join makes a conjunction or disjunction of xs, flattening nested ones of
// the same kind so that the tree (and String) does not depend on grouping.
func join(and bool, xs []node) node {
	if len(xs) == 1 {
		return xs[0]
	}
	var flat []node
	for _, x := range xs {
		if b, ok := x.(*boolNode); ok && b.and == and {
			flat = append(flat, b.xs...)
		} else {
			flat = append(flat, x)
		}
	}
	return &boolNode{and: and, xs: flat}
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return errAt(p.src, pos, "filter nested too deeply (more than %d parentheses and nots)", maxDepth)
	}
	return nil
}

func (p *parser) parseUnary() (node, error) {
	if t := p.peek(); p.isKw("not") {
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &notNode{x: x}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (node, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		p.open++
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		switch end := p.next(); end.kind {
		case tRParen:
		case tEOF:
			return nil, errAt(p.src, t.pos, "unbalanced parenthesis: '(' is not closed")
		default:
			return nil, errAt(p.src, end.pos, "expected and/or or ')' before %s", describe(end))
		}
		p.open--
		p.depth--
		return x, nil
	case tRParen:
		if p.open == 0 {
			return nil, errAt(p.src, t.pos, "unbalanced parenthesis: ')' has no matching '('")
		}
		return nil, errAt(p.src, t.pos, "expected a condition, found ')'")
	case tEOF:
		return nil, errAt(p.src, t.pos, "expected a condition at end of filter")
	case tWord:
		if kw := keyword(t.text); kw != "" {
			return nil, errAt(p.src, t.pos, "expected a condition (a field name), found %q", t.text)
		}
		return p.parsePredicate(t)
	}
	return nil, errAt(p.src, t.pos, "expected a condition (a field name), found %s", describe(t))
}

// parsePredicate parses what follows the field name f.
func (p *parser) parsePredicate(f token) (node, error) {
	ref, err := field.Lookup(f.text)
	if err != nil {
		if lower := strings.ToLower(f.text); lower != f.text {
			if _, lerr := field.Lookup(lower); lerr == nil {
				return nil, errAt(p.src, f.pos, "unknown field %q; field names are lower case: did you mean %s?", f.text, lower)
			}
		}
		return nil, errAt(p.src, f.pos, "%s", cairn.ErrorMessage(err))
	}
	if err := checkPointer(ref); err != nil {
		return nil, errAt(p.src, f.pos, "%s", err)
	}
	k := kindOf(ref)
	opTok := p.next()
	var o op
	switch {
	case opTok.kind == tOp:
		o = map[string]op{"=": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}[opTok.text]
	case opTok.kind == tWord:
		switch keyword(opTok.text) {
		case "exists":
			return &existsNode{ref: ref}, nil
		case "in":
			o = opIn
		case "contains":
			o = opContains
		case "startswith":
			o = opStartsWith
		case "endswith":
			o = opEndsWith
		default:
			return nil, errAt(p.src, opTok.pos, "unknown operator %q after %s; use one of %s", opTok.text, ref.Name(), operatorList)
		}
	case opTok.kind == tEOF:
		return nil, errAt(p.src, opTok.pos, "missing operator after %s; use one of %s", ref.Name(), operatorList)
	default:
		return nil, errAt(p.src, opTok.pos, "expected an operator after %s, found %s; use one of %s", ref.Name(), describe(opTok), operatorList)
	}
	switch {
	case o.textOp() && k != kText:
		return nil, errAt(p.src, opTok.pos, "%s applies to text fields; %s is %s field", o, ref.Name(), kindName[k])
	case o.ordered() && k == kBool:
		return nil, errAt(p.src, opTok.pos, "%s does not apply to the boolean field %s; use = or !=", o, ref.Name())
	}
	n := &cmpNode{ref: ref, kind: k, op: o}
	if o != opIn {
		v, err := p.parseValue(ref, k, opTok)
		if err != nil {
			return nil, err
		}
		n.vals = []lit{v}
		return n, nil
	}
	lp := p.next()
	if lp.kind != tLParen {
		return nil, errAt(p.src, lp.pos, "in takes a list in parentheses, as in %s in (a, b); found %s", ref.Name(), describe(lp))
	}
	for {
		v, err := p.parseValue(ref, k, opTok)
		if err != nil {
			return nil, err
		}
		n.vals = append(n.vals, v)
		switch t := p.next(); t.kind {
		case tComma:
			continue
		case tRParen:
			return n, nil
		case tEOF:
			return nil, errAt(p.src, lp.pos, "unbalanced parenthesis: '(' of the in list is not closed")
		default:
			return nil, errAt(p.src, t.pos, "expected ',' or ')' in the in list, found %s", describe(t))
		}
	}
}

// kindName names the kinds for messages, with their article.
var kindName = [...]string{kText: "a text", kInt: "an integer", kBool: "a boolean", kTime: "a time", kSeverity: "a severity"}

// parseValue parses the literal after the operator token opTok.
func (p *parser) parseValue(ref field.Ref, k kind, opTok token) (lit, error) {
	t := p.next()
	switch {
	case t.kind == tString:
	case t.kind == tWord && keyword(t.text) != "":
		return lit{}, errAt(p.src, t.pos, "missing value after %s (found the keyword %q; quote it, as in \"%s\", to compare with the word)", opTok.text, t.text, t.text)
	case t.kind == tWord:
	default:
		return lit{}, errAt(p.src, t.pos, "missing value after %s (found %s)", opTok.text, describe(t))
	}
	v, err := parseLit(ref, k, t.text)
	if err != nil {
		return lit{}, errAt(p.src, t.pos, "%s", err)
	}
	return v, nil
}

// checkPointer rejects a JSON pointer argument that can never match: a ~
// not followed by 0 or 1, or more than maxPointerDepth tokens.
func checkPointer(ref field.Ref) error {
	if ref.Field.Arg != field.PointerArg || ref.Arg == "" {
		return nil
	}
	toks, ok := pointerTokens(ref.Arg)
	if !ok {
		return fmt.Errorf("invalid JSON pointer %q in %s: ~ must be followed by 0 or 1", ref.Arg, ref.Field.Name)
	}
	if len(toks) > maxPointerDepth {
		return fmt.Errorf("JSON pointer in %s is too deep: %d tokens, at most %d", ref.Field.Name, len(toks), maxPointerDepth)
	}
	return nil
}

// pointerTokens splits a JSON pointer ("" or starting with /) into its
// unescaped tokens (RFC 6901: ~1 is /, ~0 is ~).
func pointerTokens(ptr string) ([]string, bool) {
	if ptr == "" {
		return nil, true
	}
	if ptr[0] != '/' {
		return nil, false
	}
	parts := strings.Split(ptr[1:], "/")
	for i, s := range parts {
		if !strings.Contains(s, "~") {
			continue
		}
		var b strings.Builder
		for j := 0; j < len(s); j++ {
			if s[j] != '~' {
				b.WriteByte(s[j])
				continue
			}
			if j+1 == len(s) || (s[j+1] != '0' && s[j+1] != '1') {
				return nil, false
			}
			j++
			if s[j] == '0' {
				b.WriteByte('~')
			} else {
				b.WriteByte('/')
			}
		}
		parts[i] = b.String()
	}
	return parts, true
}
