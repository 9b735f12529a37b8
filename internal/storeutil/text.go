package storeutil

import "unicode/utf8"

// JSONText returns s as encoding/json writes it: each byte of an invalid
// UTF-8 sequence replaced by U+FFFD. The filter compares column text with
// the fields JSON text, so both must agree; process keys are kept so too.
func JSONText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for _, r := range s {
		b = utf8.AppendRune(b, r) // an invalid byte ranges as RuneError
	}
	return string(b)
}

// Truncate shortens s to at most n bytes for an error message.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
