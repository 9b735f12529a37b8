package jsonscan

import (
	"bytes"
	"encoding/json"
	"io"
)

// DefaultMaxValueSize is the largest value Values buffers when Options
// does not say otherwise. A larger value is delivered cut short, as a bad
// value, and the rest of it is skipped.
const DefaultMaxValueSize = 256 << 20

// Options tunes Values.
type Options struct {
	// MaxValueSize caps the bytes buffered for one value; 0 means
	// DefaultMaxValueSize.
	MaxValueSize int
}

// Values splits the stream r into its top-level JSON values and calls fn
// for each, in order, good and bad alike. It returns the first error of
// fn or of r (io.EOF is the normal end, not an error).
//
// The layout is decided from the content. If the first object or array
// ends on the line where it starts, the stream is line-delimited
// (NDJSON): no value may span lines, so a truncated line is one bad value
// and the next line is read normally. Otherwise values may span lines
// (pretty-printed, concatenated with or without whitespace) and are found
// by tracking nesting. In that layout a value is also ended, as a bad
// value, when a line starts with '{' or '[' where the JSON grammar allows
// no value (not after ':', '[', or ',' in an array), so a truncated
// record does not swallow the records after it; valid JSON is never cut.
//
// A UTF-8 byte order mark at the start is skipped; CRLF line ends and
// lines of any length (up to the size limit) are handled.
func Values(r io.Reader, fn func(v Value) error) error {
	return Options{}.Values(r, fn)
}

// Values is the package-level Values with these options.
func (o Options) Values(r io.Reader, fn func(v Value) error) error {
	s := &scanner{
		r:    r,
		fn:   fn,
		buf:  make([]byte, 64<<10),
		line: 1,
		tok:  -1,
		max:  o.MaxValueSize,
	}
	if s.max <= 0 {
		s.max = DefaultMaxValueSize
	}
	for s.end-s.pos < len(bom) && s.fill() {
	}
	if bytes.HasPrefix(s.buf[s.pos:s.end], bom) {
		s.pos += len(bom)
		s.lineStart = int64(len(bom))
	}
	for {
		if s.pos >= s.end && !s.fill() {
			return s.rerr
		}
		c := s.buf[s.pos]
		var err error
		switch {
		case c == '\n':
			s.pos++
			s.newline()
		case c == ' ' || c == '\t' || c == '\r':
			s.pos++
		case c == '{' || c == '[':
			err = s.structured()
		case c == '"':
			err = s.str()
		case c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n':
			err = s.scalar()
		default:
			err = s.junk()
		}
		if err != nil {
			return err
		}
	}
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// layout is how values are laid out in the stream.
type layout int

const (
	undecided layout = iota
	lineDelimited
	multiLine
)

// scanner is the state of one Values call. buf[pos:end] is unread;
// buf[tok:] is retained while a value is being collected.
type scanner struct {
	r         io.Reader
	fn        func(Value) error
	buf       []byte
	pos, end  int
	base      int64 // stream offset of buf[0]
	line      int   // line number at pos
	lineStart int64 // stream offset of the current line's first byte
	tok       int   // start of the value being collected, -1 when none
	eof       bool
	rerr      error
	max       int
	layout    layout
	stack     []byte
}

// fill reads more input, keeping the value being collected. It reports
// whether new bytes arrived; at the end of input or on a read error
// (kept in rerr) it reports false.
func (s *scanner) fill() bool {
	if s.eof || s.rerr != nil {
		return false
	}
	keep := s.pos
	if s.tok >= 0 && s.tok < keep {
		keep = s.tok
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:s.end])
		s.base += int64(keep)
		s.pos -= keep
		s.end = n
		if s.tok >= 0 {
			s.tok -= keep
		}
	}
	if s.end == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			if err == io.EOF {
				s.eof = true
			} else {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

// newline records that pos is the first byte of a new line.
func (s *scanner) newline() {
	s.line++
	s.lineStart = s.base + int64(s.pos)
}

// token is the position of the value being collected.
type token struct {
	line int
	off  int64
}

func (s *scanner) begin() token {
	s.tok = s.pos
	return token{line: s.line, off: s.base + int64(s.pos)}
}

// emit delivers buf[tok:end] (without trailing whitespace) as a value.
func (s *scanner) emit(t token, end int, compact bool, err error) error {
	data := trimRight(s.buf[s.tok:end])
	s.tok = -1
	return s.fn(Value{Data: data, Line: t.line, Offset: t.off, Compact: compact && err == nil, Err: err})
}

// tooBig delivers the part of an oversized value read so far as a bad
// value; the caller then skips the rest.
// more reads more input for the value begun at t once the buffer is used
// up. A value over the size limit is reported once (tooBig) and its rest
// skipped, which *skipping records. It returns false at the end of the
// input, and the read error if reading failed.
func (s *scanner) more(t token, skipping *bool) (bool, error) {
	if !*skipping && s.end-s.tok > s.max {
		if err := s.tooBig(t); err != nil {
			return false, err
		}
		*skipping = true
	}
	if s.fill() {
		return true, nil
	}
	return false, s.rerr
}

func (s *scanner) tooBig(t token) error {
	return s.emit(t, s.end, false, errorf("value is larger than %d bytes; the rest of it was skipped", s.max))
}

// structured collects an object or array starting at pos.
func (s *scanner) structured() error {
	t := s.begin()
	open := s.buf[s.pos]
	stack := append(s.stack[:0], open)
	defer func() { s.stack = stack[:0] }()
	depth := 1
	s.pos++
	var (
		inStr, esc, spans bool
		atLineStart       bool
		skipping          bool
		compact           = true
		bad               error
		prev              = open // last byte outside strings and whitespace
	)
	for {
		if s.pos >= s.end {
			more, err := s.more(t, &skipping)
			if err != nil {
				return err
			}
			if !more {
				if skipping {
					return nil
				}
				if bad == nil {
					if inStr {
						bad = errorf("input ends inside a string")
					} else {
						bad = errorf("input ends before the value closes")
					}
				}
				return s.emit(t, s.end, false, bad)
			}
			continue
		}
		c := s.buf[s.pos]
		if c == '\n' {
			if s.layout == lineDelimited {
				if skipping {
					s.tok = -1
					return nil
				}
				if bad == nil {
					bad = errorf("line ends before the value closes")
				}
				return s.emit(t, s.pos, false, bad)
			}
			if inStr && bad == nil {
				bad = errorf("line %d: newline inside a string", s.line)
			}
			inStr, esc = false, false
			compact, spans, atLineStart = false, true, true
			s.pos++
			s.newline()
			continue
		}
		if atLineStart && c != '\r' {
			atLineStart = false
			if (c == '{' || c == '[') && !valueAllowed(prev, stack, depth) {
				// A value cannot start here: the value being read was
				// cut short and the line starts the next one.
				if s.layout == undecided {
					s.layout = lineDelimited
					if bad == nil {
						bad = errorf("line ends before the value closes")
					}
				} else if bad == nil {
					bad = errorf("value is not closed before line %d, where the next value starts", s.line)
				}
				if skipping {
					s.tok = -1
					return nil
				}
				return s.emit(t, s.pos, false, bad)
			}
			if s.layout == undecided {
				s.layout = multiLine
			}
		}
		if inStr {
			s.pos++
			if esc {
				esc = false
				continue
			}
			switch c {
			case '"':
				inStr, prev = false, '"'
				continue
			case '\\':
				esc = true
				continue
			}
			// Skip plain string bytes quickly.
			j := s.pos
			for j < s.end {
				if b := s.buf[j]; b == '"' || b == '\\' || b == '\n' {
					break
				}
				j++
			}
			s.pos = j
			continue
		}
		if c != ' ' && c != '\t' && c != '\r' {
			prev = c
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
			if err != nil && bad == nil {
				bad = errorf("line %d: %v", s.line, err)
			}
			if depth == 0 {
				s.pos++
				if s.layout == undecided {
					if spans {
						s.layout = multiLine
					} else {
						s.layout = lineDelimited
					}
				}
				if skipping {
					s.tok = -1
					return nil
				}
				return s.emit(t, s.pos, compact, bad)
			}
		case ' ', '\t', '\r':
			compact = false
		}
		s.pos++
	}
}

// valueAllowed reports whether JSON allows a value after prev, the last
// significant byte, inside the containers on stack: after ':', '[', or a
// ',' in an array. Past the tracked depth it allows anything.
func valueAllowed(prev byte, stack []byte, depth int) bool {
	switch prev {
	case ':', '[':
		return true
	case ',':
		return depth > len(stack) || stack[depth-1] == '['
	}
	return false
}

// str collects a top-level string starting at pos.
func (s *scanner) str() error {
	t := s.begin()
	s.pos++
	esc, skipping := false, false
	for {
		if s.pos >= s.end {
			more, err := s.more(t, &skipping)
			if err != nil {
				return err
			}
			if !more {
				if skipping {
					return nil
				}
				return s.emit(t, s.end, false, errorf("input ends inside a string"))
			}
			continue
		}
		c := s.buf[s.pos]
		if c == '\n' {
			if skipping {
				s.tok = -1
				return nil
			}
			return s.emit(t, s.pos, false, errorf("line ends inside a string"))
		}
		s.pos++
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			if skipping {
				s.tok = -1
				return nil
			}
			return s.emit(t, s.pos, true, nil)
		}
	}
}

// scalar collects a top-level number or literal starting at pos. A run
// that is not one (a line of text starting with "n" or "t") goes on as
// junk, so a line of text is one bad value, not one per word.
func (s *scanner) scalar() error {
	return s.run(true)
}

// junk collects bytes that cannot start a value, up to the end of the
// line or the next '{' or '['.
func (s *scanner) junk() error {
	return s.run(false)
}

func scalarEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '{', '[', '}', ']', ',', '"':
		return true
	}
	return false
}

func junkEnd(c byte) bool { return c == '\n' || c == '{' || c == '[' }

// run collects a scalar or a junk run starting at pos.
func (s *scanner) run(scalar bool) error {
	t := s.begin()
	s.pos++
	skipping := false
	for {
		if s.pos >= s.end {
			more, err := s.more(t, &skipping)
			if err != nil {
				return err
			}
			if !more {
				if !scalar || skipping || json.Valid(s.buf[s.tok:s.pos]) {
					break
				}
				scalar = false
			}
			continue
		}
		c := s.buf[s.pos]
		if scalar && scalarEnd(c) {
			if skipping || json.Valid(s.buf[s.tok:s.pos]) {
				break
			}
			scalar = false
		}
		if !scalar && junkEnd(c) {
			break
		}
		s.pos++
	}
	if skipping {
		s.tok = -1
		return nil
	}
	var err error
	if !scalar {
		err = errorf("not a JSON value")
	}
	return s.emit(t, s.pos, scalar, err)
}
