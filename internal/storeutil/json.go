package storeutil

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// JSONWriter writes the fields JSON of the stores without reflection for
// the value types field.Flatten gives (string, int64, int, bool, nil,
// []string), with encoding/json for any other type. Its zero value writes
// what encoding/json writes, but for leaving <, > and & unescaped, which
// JSON allows.
type JSONWriter struct {
	// NoNUL writes a NUL character as \ufffd rather than \u0000, for
	// PostgreSQL's jsonb, which cannot hold \u0000.
	NoNUL bool
	// Fix, when not nil, rewrites what encoding/json writes for a value of
	// another type (for instance to replace \u0000 there too).
	Fix func([]byte) []byte
}

// AppendFields appends the flattened fields as a JSON object, keys in map
// order (JSON objects are unordered, and sorting costs as much as writing
// the values).
func (w JSONWriter) AppendFields(dst []byte, flat map[string]any) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	for k, v := range flat {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = w.AppendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = w.AppendValue(dst, v); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// AppendValue appends v as JSON.
func (w JSONWriter) AppendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return w.AppendString(dst, v), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case nil:
		return append(dst, "null"...), nil
	case []string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = w.AppendString(dst, s)
		}
		return append(dst, ']'), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	if w.Fix != nil {
		b = w.Fix(b)
	}
	return append(dst, b...), nil
}

const hexDigits = "0123456789abcdef"

// plainASCII marks the bytes a JSON string holds as they are: printable
// ASCII but the quote and the backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s as a JSON string. Like encoding/json it replaces
// each byte of invalid UTF-8 by U+FFFD, so the text read back is the
// same; unlike it, it leaves <, > and & unescaped, which JSON allows.
func (w JSONWriter) AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == 0 && w.NoNUL:
				dst = append(dst, `\ufffd`...)
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but end lines in JavaScript;
		// escape them as encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// JSONList returns vs as a JSON array as w writes it, [] when empty.
func (w JSONWriter) JSONList(vs []string) string {
	if vs == nil {
		vs = []string{}
	}
	b, _ := w.AppendValue(nil, vs) // strings never fail
	return string(b)
}
