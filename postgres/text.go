package postgres

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// PostgreSQL text cannot hold a NUL character nor bytes that are not
// valid UTF-8 (the store requires a UTF8 database), and jsonb cannot hold
// the escape \u0000. Text the filter language compares (the hot columns,
// the fields JSON, the raw record's JSON text) is therefore stored with
// both replaced by U+FFFD, and every text value of a filter is replaced
// the same way, so that comparisons agree. Values that must come back
// exactly (event ids, process keys, the raw record) are bytes instead.

// pgText returns s as the store's text columns hold it: each byte of an
// invalid UTF-8 sequence and each NUL replaced by U+FFFD. The invalid
// bytes are replaced as encoding/json replaces them.
func pgText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for _, r := range s {
		if r == 0 {
			r = utf8.RuneError
		}
		b = utf8.AppendRune(b, r) // an invalid byte ranges as RuneError
	}
	return string(b)
}

// nullText is pgText(s) for a nullable text column: nil when s is empty.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	t := pgText(s)
	return &t
}

// nullBytes is s as a nullable bytea value: nil (NULL) when s is empty.
func nullBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// jsonWriter writes the fields JSON so that jsonb accepts it: a NUL as
// \ufffd (see pgText), and what encoding/json writes for other types
// made safe by jsonbSafe.
var jsonWriter = storeutil.JSONWriter{NoNUL: true, Fix: jsonbSafe}

// maxJSONDepth is the deepest nesting of a raw record kept as JSON text
// for SQL: PostgreSQL's JSON parser recurses and fails a whole query on a
// record nested deeper than its stack allows.
const maxJSONDepth = 512

// rawJSON returns the JSON text of a raw record as the raw_json column
// holds it, and whether the record is JSON that PostgreSQL can read. The
// text is the record with each invalid UTF-8 byte, each \u0000 escape and
// each lone surrogate escape replaced by U+FFFD (what encoding/json
// decodes them to; PostgreSQL refuses them); exact reports whether it is
// the record byte for byte.
func rawJSON(raw []byte) (text string, ok, exact bool) {
	if !json.Valid(raw) {
		return "", false, false
	}
	b := sanitizeJSON(raw)
	if b == nil {
		return "", false, false
	}
	return string(b), true, len(b) == len(raw) && string(b) == string(raw)
}

// jsonbSafe returns valid JSON b with \u0000 escapes and lone surrogate
// escapes replaced by \ufffd and invalid UTF-8 by U+FFFD; b itself when
// there are none.
func jsonbSafe(b []byte) []byte {
	if out := sanitizeJSON(b); out != nil {
		return out
	}
	return b
}

// sanitizeJSON does the replacements of rawJSON on valid JSON b. It
// returns nil when b nests deeper than maxJSONDepth, and b itself when
// nothing needs replacing.
func sanitizeJSON(b []byte) []byte {
	var out []byte // nil until a replacement is needed
	start, depth, inString := 0, 0, false
	replace := func(i, next int) { // b[i:next] becomes U+FFFD
		if out == nil {
			out = make([]byte, 0, len(b)+16)
		}
		out = append(out, b[start:i]...)
		out = append(out, "\uFFFD"...)
		start = next
	}
	for i := 0; i < len(b); {
		c := b[i]
		if !inString {
			switch c {
			case '"':
				inString = true
			case '[', '{':
				if depth++; depth > maxJSONDepth {
					return nil
				}
			case ']', '}':
				depth--
			}
			i++
			continue
		}
		switch {
		case c == '"':
			inString = false
			i++
		case c == '\\':
			if b[i+1] != 'u' {
				i += 2
				continue
			}
			r := hex4(b[i+2 : i+6])
			switch {
			case r == 0:
				replace(i, i+6)
			case r >= 0xd800 && r < 0xdc00:
				if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if lo := hex4(b[i+8 : i+12]); lo >= 0xdc00 && lo < 0xe000 {
						i += 12 // a valid pair
						continue
					}
				}
				replace(i, i+6)
			case r >= 0xdc00 && r < 0xe000:
				replace(i, i+6)
			}
			i += 6
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				replace(i, i+1)
			}
			i += size
		}
	}
	if out == nil {
		return b
	}
	return append(out, b[start:]...)
}

// hex4 parses the four hex digits of a \u escape (valid JSON has them).
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
