package decode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/jsonscan"
)

// recordFunc decodes one record (a JSON object's exact bytes) into an
// event without Raw. Its error is the reason the record is rejected,
// without the format's name.
type recordFunc func(d *decoder, data []byte, compact bool) (cairn.Event, error)

// Limits on what Decode holds while it has not yet detected the format.
const (
	maxPendingValues = 1000
	maxPendingBytes  = 16 << 20
)

// decoder is the state of one Decode call.
type decoder struct {
	ctx     context.Context
	origin  string
	format  Format
	decode  recordFunc
	sink    Sink
	values  int // top-level values read
	records int // records delivered to the sink, events and rejects

	pending      []jsonscan.Value // values read before the format was known
	pendingBytes int

	scratch bytes.Buffer // json.Compact output
}

func newDecoder(ctx context.Context, origin string, f Format, sink Sink) *decoder {
	d := &decoder{ctx: ctx, origin: origin, sink: sink}
	if f != Auto {
		d.setFormat(f)
	}
	return d
}

func (d *decoder) setFormat(f Format) {
	d.format = f
	switch f {
	case Tetragon:
		d.decode = decodeTetragon
	case Falco:
		d.decode = decodeFalco
	case CloudTrail:
		d.decode = decodeCloudTrail
	case Native:
		d.decode = decodeNative
	}
}

// value handles one top-level value of the input.
func (d *decoder) value(v jsonscan.Value) error {
	d.values++
	if d.values%64 == 0 {
		if err := d.ctx.Err(); err != nil {
			return err
		}
	}
	if d.format == Auto {
		f, _ := sniff(v.Data)
		if f == Auto {
			if isEmptyArray(v.Data) {
				return nil
			}
			return d.hold(v)
		}
		d.setFormat(f)
		for _, p := range d.pending {
			if err := d.process(p); err != nil {
				return err
			}
		}
		d.pending = nil
	}
	return d.process(v)
}

// hold keeps a value read before the format is known.
func (d *decoder) hold(v jsonscan.Value) error {
	v.Data = bytes.Clone(v.Data)
	d.pending = append(d.pending, v)
	d.pendingBytes += len(v.Data)
	if len(d.pending) >= maxPendingValues || d.pendingBytes >= maxPendingBytes {
		return d.undetected()
	}
	return nil
}

// finish ends decoding: values held without a detected format mean the
// format is unknown.
func (d *decoder) finish() error {
	if d.format == Auto && len(d.pending) > 0 {
		return d.undetected()
	}
	return nil
}

// undetected says why the format is unknown, from the first held value
// that has keys (the first one when none has).
func (d *decoder) undetected() error {
	data := d.pending[0].Data
	_, keys := sniff(data)
	for _, p := range d.pending {
		if _, k := sniff(p.Data); len(k) > 0 {
			data, keys = p.Data, k
			break
		}
	}
	return cairn.Errorf(cairn.EINVALID, "cannot detect the format of %s: %s", d.origin, describe(data, keys))
}

// where locates a record in the input.
type where struct {
	line  int
	field string // "Records" for a CloudTrail file's array, "" for a bare array
	index int
	elem  bool // the record is an element of an array
}

func (w where) String() string {
	s := "line " + strconv.Itoa(w.line)
	if w.elem {
		s += ", " + w.field + "[" + strconv.Itoa(w.index) + "]"
	}
	return s
}

// process decodes one top-level value: a record, an array of records, or
// a CloudTrail file's {"Records":[...]}.
func (d *decoder) process(v jsonscan.Value) error {
	data := v.Data
	switch data[0] {
	case '[':
		return d.array(v, data, v.Line, "")
	case '{':
		if d.format == CloudTrail {
			if i, ok := recordsIndex(data); ok {
				return d.array(v, data[i:], v.Line+bytes.Count(data[:i], newline), "Records")
			}
		}
	}
	at := where{line: v.Line}
	if v.Err != nil {
		return d.reject(at, data, "malformed record: "+v.Err.Error())
	}
	return d.record(data, v.Compact, at)
}

var newline = []byte{'\n'}

// array decodes each element of a JSON array (data, part of the value v)
// as a record; line is the line where the array starts. Bytes after the
// array are rejected, except the rest of a CloudTrail file's object. When
// v is malformed but nothing else shows it, the value is rejected too, so
// the fault is not lost.
func (d *decoder) array(v jsonscan.Value, data []byte, line int, field string) error {
	last, bad := 0, false
	end, err := jsonscan.Elements(data, func(e jsonscan.Element) error {
		if e.Index%256 == 255 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		line += bytes.Count(data[last:e.Offset], newline)
		last = e.Offset
		at := where{line: line, field: field, index: e.Index, elem: true}
		if e.Err != nil {
			bad = true
			return d.reject(at, e.Data, "malformed record: "+e.Err.Error())
		}
		return d.record(e.Data, e.Compact, at)
	})
	switch {
	case errors.Is(err, jsonscan.ErrNotArray):
		return d.reject(where{line: v.Line}, v.Data, field+" is not an array")
	case err != nil:
		return err
	}
	if rest := data[end:]; !restOK(rest, field) {
		bad = true
		at := where{line: line + bytes.Count(data[last:end], newline)}
		if err := d.reject(at, bytes.TrimSpace(rest), "data after the end of the "+field+" array"); err != nil {
			return err
		}
	}
	if v.Err != nil && !bad {
		return d.reject(where{line: v.Line}, v.Data, "malformed record: "+v.Err.Error())
	}
	return nil
}

// restOK reports whether the bytes after an array are what may follow
// it: nothing for a bare array; the end of the object or another member
// for a CloudTrail file's Records.
func restOK(rest []byte, field string) bool {
	i := skipSpace(rest, 0)
	if field == "" || i == len(rest) {
		return i == len(rest)
	}
	switch rest[i] {
	case '}':
		return true
	case ',':
		j := skipSpace(rest, i+1)
		return j < len(rest) && rest[j] == '"'
	}
	return false
}

// record decodes one record and hands the event or the rejection to the
// sink.
func (d *decoder) record(data []byte, compact bool, at where) error {
	if data[0] != '{' {
		return d.reject(at, data, "record is not a JSON object")
	}
	ev, err := d.decode(d, data, compact)
	if err != nil {
		return d.reject(at, data, err.Error())
	}
	ev.Raw = json.RawMessage(bytes.Clone(data))
	d.records++
	if err := d.sink.Event(ev); err != nil {
		return sinkError{err}
	}
	return nil
}

// reject hands a dead letter to the sink.
func (d *decoder) reject(at where, raw []byte, reason string) error {
	d.records++
	dl := cairn.DeadLetter{
		Origin:   d.origin,
		Position: at.String(),
		Format:   string(d.format),
		Reason:   string(d.format) + ": " + reason,
		Raw:      bytes.Clone(raw),
		Time:     time.Now(),
	}
	if dl.Raw == nil {
		dl.Raw = []byte{}
	}
	if err := d.sink.Reject(dl); err != nil {
		return sinkError{err}
	}
	return nil
}

// hashID returns prefix and the hex of the first 16 bytes of the SHA-256
// of the record's compact form, so a pretty-printed and a compact copy of
// a record get the same id.
func (d *decoder) hashID(prefix string, data []byte, compact bool) string {
	src := data
	if !compact {
		d.scratch.Reset()
		if json.Compact(&d.scratch, data) == nil {
			src = d.scratch.Bytes()
		}
	}
	sum := sha256.Sum256(src)
	return prefix + hex.EncodeToString(sum[:16])
}

// jsonReason turns an encoding/json error into a rejection reason.
func jsonReason(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("%q is not an RFC 3339 time", clip(pe.Value))
	case errors.As(err, &se):
		return fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Errorf("field %s: JSON %s where %s is expected", te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("JSON %s where %s is expected", te.Value, te.Type)
	}
	return fmt.Errorf("invalid record: %v", err)
}

// recordsIndex returns the index of the value of the top-level
// "Records" member of a CloudTrail file, reading as little as it can:
// CloudTrail writes Records first. It works on truncated input.
func recordsIndex(data []byte) (int, bool) {
	const key = `"Records"`
	i := skipSpace(data, 1)
	if bytes.HasPrefix(data[i:], []byte(key)) {
		j := skipSpace(data, i+len(key))
		if j < len(data) && data[j] == ':' {
			return skipSpace(data, j+1), true
		}
	}
	// Records elsewhere in the object: walk its members, but only when
	// the name occurs at all, so a bare event is not read twice.
	if !bytes.Contains(data, []byte(key)) {
		return 0, false
	}
	at := -1
	_ = jsonscan.Members(data, func(k string, v []byte) bool {
		if k == "Records" {
			at = offsetIn(data, v)
			return false
		}
		return true
	})
	return at, at >= 0
}

// offsetIn returns the offset of sub, a subslice of data, within data.
func offsetIn(data, sub []byte) int {
	return cap(data) - cap(sub)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// isEmptyArray reports whether data is "[]" (with any whitespace).
func isEmptyArray(data []byte) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return false
	}
	i = skipSpace(data, i+1)
	return i < len(data) && data[i] == ']'
}
