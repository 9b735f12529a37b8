package storeutil

import "testing"

func TestJSONText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"", ""},
		{"a\x00b", "a\x00b"},
		{"bad\xff\xfe", "bad\uFFFD\uFFFD"},
		{"\xc3(", "\uFFFD("},
		{"ключ-🔑", "ключ-🔑"},
	} {
		if got := JSONText(tt.in); got != tt.want {
			t.Errorf("JSONText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc..."},
		{"", 0, ""},
	} {
		if got := Truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
