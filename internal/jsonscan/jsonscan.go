// Package jsonscan splits streams of JSON values into records without
// parsing them, so that one malformed record never loses the others.
//
// Values splits a byte stream into top-level values (NDJSON or
// pretty-printed, concatenated values); Elements splits a JSON array into
// its elements; Members splits an object into its members. They track
// nesting, strings and escapes, and report structural faults (an unclosed
// value, a mismatched bracket, a raw newline inside a string) on the value
// they affect. They do not check the full JSON grammar inside a balanced
// value: the parser that reads the value finds those faults, so a record
// is parsed once, not twice.
package jsonscan

import (
	"errors"
	"fmt"
)

// Value is one top-level value of a stream.
type Value struct {
	// Data holds the value's exact bytes, without the whitespace around
	// it. It is only valid until the callback returns.
	Data []byte
	// Line is the 1-based line number of the value's first byte.
	Line int
	// Offset is the stream offset of the value's first byte (a leading
	// byte order mark counts).
	Offset int64
	// Compact reports that Data has no whitespace outside strings, so it
	// is already in the form json.Compact would give it.
	Compact bool
	// Err is non-nil when the value is malformed: unclosed at the end of
	// its line (NDJSON) or of the input, cut short by the next value,
	// larger than the size limit, or not a JSON value at all. Data then
	// holds the bytes the bad value covers.
	Err error
}

// Element is one element of a JSON array.
type Element struct {
	// Data holds the element's exact bytes without surrounding
	// whitespace; it aliases the array given to Elements.
	Data []byte
	// Index is the element's 0-based index in the array.
	Index int
	// Offset is the byte offset of Data within the array given.
	Offset int
	// Compact reports that Data has no whitespace outside strings.
	Compact bool
	// Err is non-nil when the element is malformed (unbalanced, empty,
	// or the array ends inside it).
	Err error
}

// Errors returned by Elements and Members when their input is not of the
// expected kind, and by Members when the input ends early.
var (
	ErrNotArray  = errors.New("not a JSON array")
	ErrNotObject = errors.New("not a JSON object")
	ErrTruncated = errors.New("input ends inside the value")
)

// syntaxError describes a structural fault of a value.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func errorf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...)}
}

// isSpace reports JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// trimRight drops trailing JSON whitespace.
func trimRight(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// closeBracket applies the closing bracket c to the open brackets:
// depth counts them all, stack holds the outermost maxStack of them. A
// bracket that does not match the innermost one closes up to the nearest
// one it matches, or is ignored when there is none, so that one stray
// bracket does not unbalance the rest of the input; either way it is
// reported.
func closeBracket(c byte, stack []byte, depth int) ([]byte, int, error) {
	if depth > len(stack) {
		return stack, depth - 1, nil
	}
	open := byte('{')
	if c == ']' {
		open = '['
	}
	if stack[depth-1] == open {
		return stack[:depth-1], depth - 1, nil
	}
	err := errorf("%q does not close %q", c, stack[depth-1])
	for i := depth - 2; i >= 0; i-- {
		if stack[i] == open {
			return stack[:i], i, err
		}
	}
	return stack, depth, err
}

// maxStack bounds the bracket stack kept for mismatch detection; deeper
// nesting is still counted, only not checked for matching pairs.
const maxStack = 4096
