package termsafe_test

import (
	"testing"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn/internal/termsafe"
)

func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain /bin/sh -c id", "plain /bin/sh -c id"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"a\nb\tc\r", `a\nb\tc\r`},
		{"über café 日本", "über café 日本"},
		{"evil\u202eexe.txt", `evil\u202eexe.txt`},
		{"bad\xffbyte", `bad\xffbyte`},
		{"\x9b31m", `\x9b31m`},
		{"osc\x1b]0;title\x07", `osc\x1b]0;title\a`},
	}
	for _, c := range cases {
		if got := termsafe.String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("\x1b[2J\x1b[H")
	f.Add("ok")
	f.Fuzz(func(t *testing.T, s string) {
		out := termsafe.String(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control %U left in %q", r, out)
			}
		}
	})
}

func TestText(t *testing.T) {
	got := termsafe.Text("a\tb\nc\x1b[31m\r\nd")
	if want := "a\tb\nc\\x1b[31m\\r\nd"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
}
