package filter

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn/field"
)

// parseLit parses the literal text for a field of kind k. The error text
// says what was expected; the caller adds the position.
func parseLit(ref field.Ref, k kind, text string) (lit, error) {
	switch k {
	case kInt:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return lit{}, fmt.Errorf("%s is an integer field; %q is not an integer", ref.Name(), text)
		}
		return lit{n: n}, nil
	case kBool:
		switch {
		case strings.EqualFold(text, "true"):
			return lit{n: 1}, nil
		case strings.EqualFold(text, "false"):
			return lit{n: 0}, nil
		}
		return lit{}, fmt.Errorf("%s is a boolean field; use true or false, not %q", ref.Name(), text)
	case kTime:
		t, err := parseTime(text)
		if err != nil {
			return lit{}, fmt.Errorf("%s is a time field; %q is not a time (use RFC 3339, as in 2024-05-01T12:00:00Z, or a date, as in 2024-05-01)", ref.Name(), text)
		}
		return lit{t: t}, nil
	case kSeverity:
		r, ok := field.SeverityRank(text)
		if !ok {
			return lit{}, fmt.Errorf("%s is a severity field; %q is not one of debug, info, notice, low, medium (warning), high (error), critical, alert, emergency", ref.Name(), text)
		}
		return lit{n: r}, nil
	}
	return lit{s: text}, nil
}

// parseTime parses RFC 3339 (with or without fractional seconds) or a
// date, which means midnight UTC. The result is in UTC and within the
// years 0000 to 9999, where field.TimeLayout text sorts as time does.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		return time.Time{}, err
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("year %d out of range", y)
	}
	return t, nil
}

// validText returns s with each byte that is not part of valid UTF-8
// replaced by U+FFFD, as encoding/json writes strings. Comparing texts in
// this form makes the in-memory predicate agree with SQL, which reads
// values that encoding/json wrote.
func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
