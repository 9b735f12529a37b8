package filter

import (
	"strconv"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn/field"
)

// format writes the canonical text of n: keywords in lower case, one
// space around operators, parentheses only where precedence needs them,
// field names canonical (aliases resolved), values bare when they can be.
func format(b *strings.Builder, n node) {
	switch n := n.(type) {
	case *boolNode:
		sep := " or "
		if n.and {
			sep = " and "
		}
		for i, x := range n.xs {
			if i > 0 {
				b.WriteString(sep)
			}
			// Children are never of the same kind (join flattens them),
			// so only an or inside an and needs parentheses.
			if c, ok := x.(*boolNode); ok && !c.and && n.and {
				b.WriteByte('(')
				format(b, x)
				b.WriteByte(')')
			} else {
				format(b, x)
			}
		}
	case *notNode:
		b.WriteString("not ")
		if _, ok := n.x.(*boolNode); ok {
			b.WriteByte('(')
			format(b, n.x)
			b.WriteByte(')')
		} else {
			format(b, n.x)
		}
	case *existsNode:
		b.WriteString(n.ref.Name())
		b.WriteString(" exists")
	case *cmpNode:
		b.WriteString(n.ref.Name())
		b.WriteByte(' ')
		b.WriteString(n.op.String())
		b.WriteByte(' ')
		if n.op != opIn {
			formatLit(b, n.kind, n.vals[0])
			return
		}
		b.WriteByte('(')
		for i, v := range n.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			formatLit(b, n.kind, v)
		}
		b.WriteByte(')')
	}
}

func formatLit(b *strings.Builder, k kind, v lit) {
	switch k {
	case kInt:
		b.WriteString(strconv.FormatInt(v.n, 10))
	case kBool:
		b.WriteString(strconv.FormatBool(v.n == 1))
	case kTime:
		b.WriteString(v.t.Format(time.RFC3339Nano))
	case kSeverity:
		b.WriteString(field.SeverityName(v.n))
	default:
		formatText(b, v.s)
	}
}

// formatText writes s bare when the lexer reads it back as one word that
// is not a keyword, and double-quoted otherwise.
func formatText(b *strings.Builder, s string) {
	bare := s != "" && keyword(s) == ""
	for i := 0; i < len(s) && bare; i++ {
		c := s[i]
		bare = c > ' ' && c != 0x7f && c != '[' && c != ']' && !isDelim(c)
	}
	if bare {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// Text returns s as a value of the filter language: bare when it reads
// back as one word, double-quoted with escapes otherwise, so that any
// string (an entity an assistant names, a value from an event) can be put
// into a filter without changing its meaning.
func Text(s string) string {
	var b strings.Builder
	formatText(&b, s)
	return b.String()
}
