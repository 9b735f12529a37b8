package when

import (
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestAgo(t *testing.T) {
	for in, want := range map[string]time.Time{
		"":                     {},
		"90m":                  now.Add(-90 * time.Minute),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"2026-11-20":           time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"2026-11-20T10:00:00Z": time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
	} {
		if got, err := Ago(in, now); err != nil || !got.Equal(want) {
			t.Errorf("Ago(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"soon", "-5m", "99999999d", "3x"} {
		if _, err := Ago(bad, now); err == nil {
			t.Errorf("Ago(%q) succeeded", bad)
		}
	}
}

func TestLater(t *testing.T) {
	if got, err := Later("30d", now); err != nil || !got.Equal(now.Add(30*24*time.Hour)) {
		t.Errorf("Later(30d) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0d", "0s", "soon", "99999999d"} {
		if _, err := Later(bad, now); err == nil {
			t.Errorf("Later(%q) succeeded", bad)
		}
	}
}

func FuzzAgo(f *testing.F) {
	f.Add("7d")
	f.Add("2026-11-25T10:00:00Z")
	f.Fuzz(func(t *testing.T, s string) {
		Ago(s, now)
		Later(s, now)
	})
}
