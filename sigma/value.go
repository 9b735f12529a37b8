package sigma

import (
	"encoding/json"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// anyString reports whether p holds for the text of v, or of any element
// when v is a list. Numbers are their decimal text, booleans true and
// false, times RFC 3339, and objects their JSON text (see jsonText).
func anyString(v any, p func(string) bool) bool {
	switch x := v.(type) {
	case string:
		return p(x)
	case []string:
		for _, s := range x {
			if p(s) {
				return true
			}
		}
		return false
	case alternatives:
		for _, s := range x {
			if p(s) {
				return true
			}
		}
		return false
	case []any:
		for _, el := range x {
			if anyString(el, p) {
				return true
			}
		}
		return false
	case nil:
		return false
	}
	s, ok := text(v)
	return ok && p(s)
}

// text returns the text of a scalar value (or the JSON text of an
// object).
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), true
	case map[string]any, []any:
		return jsonText(x), true
	case []string:
		return strings.Join(x, " "), true
	case alternatives:
		return x[0], true
	}
	return "", false
}

// number returns v as a number when it is one or is the text of one.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f)
	case bool:
		return 0, false
	}
	return 0, false
}

// anyNumber reports whether p holds for v as a number, or for any
// element of a list.
func anyNumber(v any, p func(float64) bool) bool {
	switch x := v.(type) {
	case []any:
		for _, el := range x {
			if anyNumber(el, p) {
				return true
			}
		}
		return false
	case []string:
		for _, s := range x {
			if anyNumber(s, p) {
				return true
			}
		}
		return false
	}
	f, ok := number(v)
	return ok && p(f)
}

// timeOf returns v as a time: a time value, or text in RFC 3339 (as
// CloudTrail's eventTime).
func timeOf(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	}
	return time.Time{}, false
}

// timePart extracts the part a time modifier names, in UTC.
func timePart(part string, t time.Time) float64 {
	t = t.UTC()
	switch part {
	case "minute":
		return float64(t.Minute())
	case "hour":
		return float64(t.Hour())
	case "day":
		return float64(t.Day())
	case "week":
		_, w := t.ISOWeek()
		return float64(w)
	case "month":
		return float64(t.Month())
	}
	return float64(t.Year())
}

// anyTime reports whether p holds for the part of v (or of any element)
// as a time.
func anyTime(v any, part string, p func(float64) bool) bool {
	if l, ok := v.([]any); ok {
		for _, el := range l {
			if anyTime(el, part, p) {
				return true
			}
		}
		return false
	}
	t, ok := timeOf(v)
	return ok && p(timePart(part, t))
}

// inPrefixes reports whether s is an IP address in one of the networks.
func inPrefixes(s string, nets []netip.Prefix) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// compareFunc returns the predicate of a numeric comparison modifier.
func compareFunc(op string, want float64) func(float64) bool {
	switch op {
	case "lt":
		return func(f float64) bool { return f < want }
	case "lte":
		return func(f float64) bool { return f <= want }
	case "gt":
		return func(f float64) bool { return f > want }
	case "gte":
		return func(f float64) bool { return f >= want }
	}
	return func(f float64) bool { return f == want }
}
