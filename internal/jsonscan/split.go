package jsonscan

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Elements splits the JSON array in data (leading whitespace allowed) at
// its top-level commas and calls fn for each element, good and bad alike,
// so that one malformed element is one bad record. An empty element
// ("[1,,2]", "[1,]") is delivered as a bad element with no data; an array
// that is not closed ends with a bad element (the unfinished one, or an
// empty one when the input ends between elements). A bracket that does
// not match is handled as Values handles it, so both agree on where the
// array ends.
//
// Elements returns the offset just past the array's closing bracket
// (len(data) when it is not closed); the caller decides what the bytes
// after it mean. Its error is ErrNotArray when data does not start with
// '[', or the first error of fn.
func Elements(data []byte, fn func(e Element) error) (int, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return 0, ErrNotArray
	}
	i++
	stack := []byte{'['}
	for index := 0; ; index++ {
		i = skipSpace(data, i)
		if i >= len(data) {
			return len(data), fn(Element{Data: data[i:], Index: index, Offset: i, Err: errorf("array is not closed")})
		}
		switch data[i] {
		case ']':
			if index == 0 {
				return i + 1, nil
			}
			return i + 1, fn(Element{Data: data[i:i], Index: index, Offset: i, Err: errorf("empty element before ']'")})
		case ',':
			if err := fn(Element{Data: data[i:i], Index: index, Offset: i, Err: errorf("empty element")}); err != nil {
				return i, err
			}
			i++
			continue
		}
		start := i
		end, next, compact, err := element(data, i, &stack)
		e := Element{Data: trimRight(data[start:end]), Index: index, Offset: start, Compact: compact && err == nil, Err: err}
		if ferr := fn(e); ferr != nil {
			return end, ferr
		}
		switch {
		case next < 0 && err == nil:
			// The input ends right after a complete element.
			return len(data), fn(Element{Data: data[len(data):], Index: index + 1, Offset: len(data), Err: errorf("array is not closed")})
		case next < 0:
			return len(data), nil
		case data[next] != ',':
			return next + 1, nil
		}
		i = next + 1
		if j := skipSpace(data, i); j < len(data) && data[j] == ']' {
			return j + 1, fn(Element{Data: data[j:j], Index: index + 1, Offset: j, Err: errorf("empty element before ']'")})
		}
	}
}

// element scans the array element starting at data[i], with the array's
// '[' as the only open bracket on the stack. It returns the end of the
// element's bytes, the index of the ',' or of the bracket that closes the
// array after it (-1 at the end of data), whether it is compact, and its
// structural fault.
func element(data []byte, i int, stackp *[]byte) (end, next int, compact bool, bad error) {
	stack := append((*stackp)[:0], '[')
	defer func() { *stackp = stack[:0] }()
	depth := 1
	inStr, esc := false, false
	compact = true
	for ; i < len(data); i++ {
		c := data[i]
		if inStr {
			switch {
			case c == '\n':
				if bad == nil {
					bad = errorf("newline inside a string")
				}
				inStr, esc, compact = false, false, false
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if len(stack) < maxStack {
				stack = append(stack, c)
			}
		case '}', ']':
			var err error
			stack, depth, err = closeBracket(c, stack, depth)
			if bad == nil {
				bad = err
			}
			if depth == 0 {
				return i, i, compact, bad
			}
		case ',':
			if depth == 1 {
				return i, i, compact, bad
			}
		case ' ', '\t', '\r', '\n':
			compact = false
		}
	}
	if bad == nil && (depth > 1 || inStr) {
		bad = errorf("array ends inside the element")
	}
	return len(data), -1, compact, bad
}

// Members splits the JSON object in data (leading whitespace allowed)
// into its members and calls fn with each key (unescaped) and the exact
// bytes of its value. fn returns false to stop early. If data ends inside
// a member's value, fn is called for that member with the bytes available
// and Members returns ErrTruncated; it also returns ErrTruncated when
// data ends elsewhere inside the object, ErrNotObject when data does not
// start with '{', and a syntax error for a malformed member.
func Members(data []byte, fn func(key string, value []byte) bool) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return ErrNotObject
	}
	i++
	for first := true; ; first = false {
		i = skipSpace(data, i)
		if i >= len(data) {
			return ErrTruncated
		}
		if data[i] == '}' && first {
			return nil
		}
		if data[i] != '"' {
			return errorf("object key expected at byte %d", i)
		}
		kend, ok := stringEnd(data, i)
		if !ok {
			return ErrTruncated
		}
		key := unquote(data[i:kend])
		i = skipSpace(data, kend)
		if i >= len(data) {
			return ErrTruncated
		}
		if data[i] != ':' {
			return errorf("':' expected after object key at byte %d", i)
		}
		i = skipSpace(data, i+1)
		if i >= len(data) {
			return ErrTruncated
		}
		vend, complete := valueEnd(data, i)
		if !fn(key, data[i:vend]) {
			return nil
		}
		if !complete {
			return ErrTruncated
		}
		i = skipSpace(data, vend)
		if i >= len(data) {
			return ErrTruncated
		}
		switch data[i] {
		case ',':
			i++
		case '}':
			return nil
		default:
			return errorf("',' or '}' expected at byte %d", i)
		}
	}
}

// skipSpace returns the index of the first non-whitespace byte at or
// after i.
func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just after the string starting at
// data[i] (a '"'), and false when data ends inside it.
func stringEnd(data []byte, i int) (int, bool) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return len(data), false
}

// valueEnd returns the index just after the value starting at data[i],
// and false when data ends inside it. It tracks nesting only; it does not
// validate.
func valueEnd(data []byte, i int) (int, bool) {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				e, ok := stringEnd(data, j)
				if !ok {
					return len(data), false
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return len(data), false
	}
	for j := i; j < len(data); j++ {
		switch data[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j, true
		}
	}
	return len(data), true
}

// unquote returns the text of a quoted JSON string; a string that does
// not decode is returned without its quotes.
func unquote(q []byte) string {
	if bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q) {
		return string(q[1 : len(q)-1])
	}
	var s string
	if json.Unmarshal(q, &s) == nil {
		return s
	}
	return string(q[1 : len(q)-1])
}
