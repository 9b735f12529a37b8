package server

import "testing"

func TestInert(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain <b>html</b>\n\ttab", "plain <b>html</b>\n\ttab"},
		{"red \x1b[31mtext\x07", `red \x1b[31mtext\a`},
		{"\x1b at start", `\x1b at start`},
		{"arrows → and … stay", "arrows → and … stay"},
		{"bidi \u202etxt.exe", `bidi \u202etxt.exe`},
		{"C1 \u009b31m", `C1 \u009b31m`},
		{"bad \xff byte", `bad \xff byte`},
	} {
		if got := inert(c.in); got != c.want {
			t.Errorf("inert(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
