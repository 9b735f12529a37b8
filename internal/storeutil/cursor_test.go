package storeutil

import (
	"math"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []Cursor{{0, 0}, {1, 2}, {-5, 7}, {math.MinInt64, math.MaxInt64}, {math.MaxInt64, 1}} {
		for _, oldest := range []bool{false, true} {
			s := c.String(oldest)
			got, err := ParseCursor(s, oldest)
			if err != nil || got != c {
				t.Errorf("ParseCursor(%q, %v) = %v, %v; want %v", s, oldest, got, err, c)
			}
			if _, err := ParseCursor(s, !oldest); cairn.ErrorCode(err) != cairn.EINVALID ||
				!strings.Contains(err.Error(), "other order") {
				t.Errorf("ParseCursor(%q) in the other order: %v, want EINVALID naming the order", s, err)
			}
		}
	}
}

func TestCursorText(t *testing.T) {
	// The text is what clients hold between pages: it must not change.
	if got, want := (Cursor{Time: 1, Seq: 2}).String(false), "AW4CBA"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := (Cursor{Time: 1, Seq: 2}).String(true), "AW8CBA"; got != want {
		t.Errorf("String(oldest) = %q, want %q", got, want)
	}
}

func TestParseCursorMalformed(t *testing.T) {
	valid := Cursor{3, 4}.String(false)
	for _, s := range []string{"", "!!!", "AA", valid + "AA", valid[:len(valid)-1], strings.Repeat("A", 65),
		"Am4CBA" /* version 2 */} {
		_, err := ParseCursor(s, false)
		if cairn.ErrorCode(err) != cairn.EINVALID || !strings.Contains(err.Error(), "malformed cursor") {
			t.Errorf("ParseCursor(%q) = %v, want a malformed-cursor EINVALID", s, err)
		}
	}
}
