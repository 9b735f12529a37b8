package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/cairn-cdr/cairn/internal/jsonscan"
)

var seeds = []string{
	"",
	"{\"a\":1}\n{\"b\":\n{\"c\":[3]}\n",
	"{\n  \"a\": 1\n}{\n  \"b\": \"}{\"\n}\n\n[\n 1,\n 2\n]",
	"{\n  \"a\": {\n    \"x\": 1\n{\n  \"b\": 2\n}\n",
	"\xEF\xBB\xBF{\"a\":1}\r\n{\"b\":2}\r\n",
	"1 \"s\" null\nINFO: started\n{\"a\":1}\n}\n",
	`[{"a":1},{"b":[}],{"c":3},,]`,
	`{"Records":[{"eventName":"x"},{"eventName":"y"}]}`,
	`{"a":"\"}\\","b":[{"c":"d"}]}`,
}

// validValues returns the values of data as encoding/json reads a stream,
// or false when data is not a valid stream.
func validValues(data []byte) ([][]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out [][]byte
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			return nil, false
		}
		out = append(out, raw)
	}
}

func FuzzValues(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var vals []jsonscan.Value
		last := int64(-1)
		err := jsonscan.Values(bytes.NewReader(data), func(v jsonscan.Value) error {
			if v.Offset <= last || v.Offset < 0 || v.Offset+int64(len(v.Data)) > int64(len(data)) {
				t.Fatalf("value at %d (len %d) out of order or bounds (previous at %d, input %d)", v.Offset, len(v.Data), last, len(data))
			}
			if !bytes.Equal(data[v.Offset:v.Offset+int64(len(v.Data))], v.Data) {
				t.Fatalf("value %q is not the input at offset %d", v.Data, v.Offset)
			}
			if len(v.Data) == 0 {
				t.Fatalf("empty value at offset %d", v.Offset)
			}
			if line := 1 + bytes.Count(data[:v.Offset], []byte("\n")); line != v.Line {
				t.Fatalf("value at offset %d: line %d, want %d", v.Offset, v.Line, line)
			}
			last = v.Offset + int64(len(v.Data)) - 1
			vals = append(vals, jsonscan.Value{Data: bytes.Clone(v.Data), Err: v.Err, Compact: v.Compact})
			return nil
		})
		if err != nil {
			t.Fatalf("Values: %v", err)
		}
		want, ok := validValues(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))
		if !ok || !comparable(want) {
			return
		}
		if len(vals) != len(want) {
			t.Fatalf("valid stream: got %d values, want %d", len(vals), len(want))
		}
		for i := range want {
			if vals[i].Err != nil || !bytes.Equal(vals[i].Data, want[i]) {
				t.Fatalf("valid stream, value %d: got %q (err %v), want %q", i, vals[i].Data, vals[i].Err, want[i])
			}
			if vals[i].Compact {
				var buf bytes.Buffer
				if err := json.Compact(&buf, vals[i].Data); err != nil || !bytes.Equal(buf.Bytes(), vals[i].Data) {
					t.Fatalf("value %q is marked compact", vals[i].Data)
				}
			}
		}
	})
}

// comparable reports whether a valid stream is one Values must split
// exactly like encoding/json: either no value spans lines, or the first
// object or array does (the pretty-printed layout).
func comparable(vals [][]byte) bool {
	multi := false
	for i, v := range vals {
		// Scalars directly followed by another value are a corner where
		// the two readers may disagree; leave them out.
		if len(v) > 0 && v[0] != '{' && v[0] != '[' && v[0] != '"' && i+1 < len(vals) {
			return false
		}
		spans := bytes.IndexByte(v, '\n') >= 0
		first := true
		for _, w := range vals[:i] {
			if len(w) > 0 && (w[0] == '{' || w[0] == '[') {
				first = false
			}
		}
		if first && len(v) > 0 && (v[0] == '{' || v[0] == '[') {
			multi = spans
		}
		if spans && !multi {
			return false
		}
	}
	return true
}

func FuzzElements(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got [][]byte
		bad := false
		end, err := jsonscan.Elements(data, func(e jsonscan.Element) error {
			if e.Offset < 0 || e.Offset+len(e.Data) > len(data) || !bytes.Equal(data[e.Offset:e.Offset+len(e.Data)], e.Data) {
				t.Fatalf("element %q not at offset %d", e.Data, e.Offset)
			}
			if e.Index != len(got) {
				t.Fatalf("element index %d, want %d", e.Index, len(got))
			}
			got = append(got, e.Data)
			bad = bad || e.Err != nil
			return nil
		})
		if end < 0 || end > len(data) {
			t.Fatalf("end %d out of bounds", end)
		}
		var want []json.RawMessage
		if json.Unmarshal(data, &want) != nil || err != nil {
			return
		}
		if len(bytes.TrimSpace(data[end:])) != 0 {
			t.Fatalf("valid array ends at %d, before %q", end, data[end:])
		}
		if bad || len(got) != len(want) {
			t.Fatalf("valid array: got %d elements (bad %v), want %d", len(got), bad, len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("element %d: got %q, want %q", i, got[i], want[i])
			}
		}
	})
}

func FuzzMembers(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := map[string][]byte{}
		dup := false
		err := jsonscan.Members(data, func(k string, v []byte) bool {
			if _, ok := got[k]; ok {
				dup = true
			}
			got[k] = v
			return true
		})
		var want map[string]json.RawMessage
		if err != nil || dup || json.Unmarshal(data, &want) != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("valid object: got %d members, want %d", len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("member %q: got %q, want %q", k, got[k], v)
			}
		}
	})
}
