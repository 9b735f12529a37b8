package falco

import (
	"strconv"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// template is a parsed output: literal text and field references.
type template []segment

type segment struct {
	text string
	ref  *field.Ref
	// field is set for a field reference; ref is nil when cairn lacks it.
	field string
}

// parseTemplate splits an output into text and %field references
// (%field, %field[arg], %(field)).
func parseTemplate(s string) template {
	var t template
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			lit.WriteByte(s[i])
			continue
		}
		name, n := "", 0
		if s[i+1] == '(' {
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				lit.WriteByte(s[i])
				continue
			}
			name, n = strings.TrimSpace(s[i+2:i+2+end]), end+3
		} else {
			j := i + 1
			for j < len(s) && (isIdent(s[j]) && s[j] != '-') {
				j++
			}
			for j > i+1 && s[j-1] == '.' {
				j--
			}
			if j < len(s) && s[j] == '[' {
				if end := strings.IndexByte(s[j:], ']'); end > 0 {
					j += end + 1
				}
			}
			name, n = s[i+1:j], j-i
		}
		if name == "" {
			lit.WriteByte(s[i])
			continue
		}
		if lit.Len() > 0 {
			t = append(t, segment{text: lit.String()})
			lit.Reset()
		}
		seg := segment{field: name}
		if ref, err := field.Lookup(name); err == nil {
			seg.ref = &ref
		}
		t = append(t, seg)
		i += n - 1
	}
	if lit.Len() > 0 {
		t = append(t, segment{text: lit.String()})
	}
	return t
}

// Render returns the rule's output for ev, with each %field replaced by
// its value, or <NA> when the event lacks it or cairn has no such field.
func (r *Rule) Render(ev *cairn.Event) string {
	t := r.output
	if t == nil {
		t = parseTemplate(r.Output)
	}
	var b strings.Builder
	for _, s := range t {
		if s.field == "" {
			b.WriteString(s.text)
			continue
		}
		b.WriteString(format(s.ref, ev))
	}
	return b.String()
}

func format(ref *field.Ref, ev *cairn.Event) string {
	if ref == nil {
		return "<NA>"
	}
	v, ok := ref.Get(ev)
	if !ok {
		return "<NA>"
	}
	switch x := v.(type) {
	case string:
		return x
	case int64:
		if ref.Field.Type == field.Severity {
			return field.SeverityName(x)
		}
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []string:
		return strings.Join(x, ",")
	}
	return "<NA>"
}
