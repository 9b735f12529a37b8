package sqlite

import (
	"encoding/json"
	"sync"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// encoder turns events into insert arguments. Its buffers are reused from
// one write to the next through encoderPool.
type encoder struct {
	args []any   // all rows' arguments, back to back
	rows [][]any // one slice of args per event
	buf  []byte  // fields JSON scratch
}

// jsonWriter writes the fields JSON and the JSON lists: what
// encoding/json writes, but for leaving <, > and & unescaped.
var jsonWriter = storeutil.JSONWriter{}

var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

func getEncoder() *encoder { return encoderPool.Get().(*encoder) }

// putEncoder returns enc to the pool, dropping references to the last
// write's data and buffers grown unusually large.
func putEncoder(enc *encoder) {
	clear(enc.args)
	if cap(enc.buf) > 1<<20 || cap(enc.args) > 1<<16 {
		return
	}
	encoderPool.Put(enc)
}

// argsPerRow is the number of placeholders of insertEventSQL.
const argsPerRow = 17

// encode returns the insert arguments of each event. The rows stay valid
// until enc is reused.
func (enc *encoder) encode(events []cairn.Event, cols storeutil.ColumnSet) ([][]any, error) {
	enc.args = enc.args[:0]
	if n := len(events) * argsPerRow; cap(enc.args) < n {
		enc.args = make([]any, 0, n)
	}
	enc.rows = enc.rows[:0]
	for i := range events {
		// Flatten may cache the parsed raw record on the event; a copy
		// keeps the caller's events untouched, so that they can be
		// shared with other goroutines while they are written.
		cp := events[i]
		ev := &cp
		start := len(enc.args)
		flat := field.Flatten(ev)
		enc.args = append(enc.args, ev.ID, storeutil.UnixNano(ev.Time), string(ev.Source), string(ev.Kind))
		enc.args = columnValues(cols, ev, flat, enc.args)
		// Fields with a column of their own are read from it, never from
		// the JSON: leave them out of it.
		for _, name := range cols.Stored {
			delete(flat, name)
		}
		fields, err := enc.fieldsJSON(flat)
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "event %q: fields: %v", storeutil.Truncate(ev.ID, 80), err)
		}
		raw := []byte(ev.Raw)
		if len(raw) == 0 {
			// An event made without a record (by cairn itself) is kept
			// as its native record, so that it is rebuilt whole.
			var err error
			if raw, err = json.Marshal(ev); err != nil {
				return nil, cairn.Errorf(cairn.EINVALID, "event %q: %v", storeutil.Truncate(ev.ID, 80), err)
			}
		}
		enc.args = append(enc.args, fields, raw, int64(cairn.PartitionHash(ev)))
		enc.rows = append(enc.rows, enc.args[start:len(enc.args):len(enc.args)])
	}
	return enc.rows, nil
}

// fieldsJSON returns the flattened fields as a JSON object.
func (enc *encoder) fieldsJSON(flat map[string]any) (string, error) {
	var err error
	enc.buf, err = jsonWriter.AppendFields(enc.buf[:0], flat)
	return string(enc.buf), err
}
