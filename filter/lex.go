package filter

import (
	"strings"
)

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tEOF    tokKind = iota
	tWord           // a field name, keyword or bare value
	tString         // a quoted value, text unescaped
	tOp             // =, ==, !=, <, <=, >, >=
	tLParen
	tRParen
	tComma
)

// token is one lexical token; pos is its byte offset in the source.
type token struct {
	kind tokKind
	text string
	pos  int
}

// isDelim reports whether c ends a bare word. Quotes end a word so that a
// value such as it's must be quoted, and "a"b is two tokens.
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v', '(', ')', ',', '=', '!', '<', '>', '"', '\'':
		return true
	}
	return false
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v':
		return true
	}
	return false
}

// lex splits src into tokens, ending with a tEOF token.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i == len(src) {
			return append(toks, token{kind: tEOF, pos: i}), nil
		}
		start := i
		switch c := src[i]; c {
		case '(':
			toks = append(toks, token{tLParen, "(", start})
			i++
		case ')':
			toks = append(toks, token{tRParen, ")", start})
			i++
		case ',':
			toks = append(toks, token{tComma, ",", start})
			i++
		case '=':
			i++
			if i < len(src) && src[i] == '=' {
				i++
			}
			toks = append(toks, token{tOp, "=", start})
		case '!':
			if i+1 >= len(src) || src[i+1] != '=' {
				return nil, errAt(src, start, "unexpected '!'; did you mean != or not?")
			}
			i += 2
			toks = append(toks, token{tOp, "!=", start})
		case '<', '>':
			i++
			op := string(c)
			if i < len(src) && src[i] == '=' {
				i++
				op += "="
			}
			toks = append(toks, token{tOp, op, start})
		case '"', '\'':
			s, next, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tString, s, start})
			i = next
		default:
			next, err := lexWord(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tWord, src[i:next], start})
			i = next
		}
	}
}

// lexWord returns the end of the bare word starting at i. A bracket
// (proc.aname[2], json.value[/a b]) runs to the next ']' whatever it holds.
func lexWord(src string, i int) (int, error) {
	for i < len(src) && !isDelim(src[i]) {
		if src[i] == '[' {
			j := strings.IndexByte(src[i:], ']')
			if j < 0 {
				return 0, errAt(src, i, "unterminated '[': add the closing ']'")
			}
			i += j
		}
		i++
	}
	return i, nil
}

// lexString reads the quoted string starting at i. \" \' and \\ are
// escapes; any other backslash is kept as written, so that Windows paths
// read naturally.
func lexString(src string, i int) (string, int, error) {
	q := src[i]
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		c := src[j]
		switch {
		case c == q:
			return b.String(), j + 1, nil
		case c == '\\' && j+1 < len(src) && (src[j+1] == '"' || src[j+1] == '\'' || src[j+1] == '\\'):
			b.WriteByte(src[j+1])
			j++
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errAt(src, i, "unterminated string: add the closing %c", q)
}
