// Package when parses the times people type: an RFC 3339 time, a date,
// or a duration (90m, 24h, 7d), measured back from now for time bounds
// and forward for expiries.
package when

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDays bounds a day count, so that it never overflows a duration.
const maxDays = 100 * 365

// duration reads 90m, 24h or 7d.
func duration(s string) (time.Duration, bool) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 && days <= maxDays {
			return time.Duration(days) * 24 * time.Hour, true
		}
		return 0, false
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}

// Ago parses a time bound: RFC 3339, a date, or a duration before now. ""
// is the zero time (no bound).
func Ago(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if d, ok := duration(s); ok {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (2026-11-25T10:00:00Z, 2026-11-25) or a duration ago (90m, 24h, 7d)", s)
}

// Later parses an expiry: a positive duration after now (30d, 12h) or an
// RFC 3339 time.
func Later(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok := duration(s); ok && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (30d, 12h) nor a time (RFC3339)", s)
}
