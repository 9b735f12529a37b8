package notify

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 0.25 ", 250 * time.Millisecond},
		{"0", 0},
		{"-3", 0},
		{"NaN", 0},
		{"soon", 0},
		{"99999", maxRetryAfter},
		{"Thu, 02 Jan 2025 03:04:35 GMT", 30 * time.Second},
		{"Thu, 02 Jan 2025 03:00:00 GMT", 0},
		{"Fri, 03 Jan 2025 03:04:05 GMT", maxRetryAfter},
	}
	for _, c := range cases {
		if got := parseRetryAfter(c.in, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	n := New(nil, Options{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second})
	defer n.Close(t.Context())
	for _, c := range []struct {
		attempt int
		max     time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {30, time.Second}} {
		for range 50 {
			if d := n.backoff(c.attempt); d < c.max/2 || d > c.max {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", c.attempt, d, c.max/2, c.max)
			}
		}
	}
}
