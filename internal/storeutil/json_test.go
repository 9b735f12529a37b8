package storeutil_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// decodeJSON parses s, failing the test when it is not valid JSON.
func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", s, err)
	}
	return v
}

// fieldsJSON is the fields JSON the zero JSONWriter writes.
func fieldsJSON(flat map[string]any) (string, error) {
	b, err := storeutil.JSONWriter{}.AppendFields(nil, flat)
	return string(b), err
}

func TestFieldsJSONMatchesEncodingJSON(t *testing.T) {
	flats := []map[string]any{
		{},
		{"s": "plain", "i": int64(-42), "b": true, "f": false, "l": []string{"a", "b\"c"}, "e": []string{}, "n": nil},
		{"ctl": "\x00\x01\x1f\t\n\r\"\\/", "html": "<a href='x'>&amp;</a>", "u": "é😀\u2028\u2029\ufffd"},
		{"bad": "a\xffb\xc3(c\xed\xa0\x80d", "\xff key": "v"},
		{"float": 1.5, "map": map[string]any{"z": 1, "a": "x"}, "int": 7},
	}
	for _, ev := range storetest.Mixed(2, storetest.Base) {
		flats = append(flats, field.Flatten(&ev))
	}
	for _, flat := range flats {
		got, err := fieldsJSON(flat)
		if err != nil {
			t.Fatalf("FieldsJSON(%v): %v", flat, err)
		}
		want, err := json.Marshal(flat)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := decodeJSON(t, got), decodeJSON(t, string(want)); !reflect.DeepEqual(g, w) {
			t.Errorf("FieldsJSON(%v)\n = %s\nwant %s", flat, got, want)
		}
	}
}

// FuzzFieldsJSON checks that any text, valid UTF-8 or not, encodes to JSON
// that reads back as encoding/json's encoding of it reads back.
func FuzzFieldsJSON(f *testing.F) {
	for _, s := range []string{"", "a", "\x00", "\"\\", "\xff\xfe", "é😀", "\u2028", "\xed\xa0\x80", "<&>"} {
		f.Add(s, s+"k")
	}
	f.Fuzz(func(t *testing.T, val, key string) {
		flat := map[string]any{key: val, "list": []string{val, key}, "n": int64(len(val))}
		got, err := fieldsJSON(flat)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(flat)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := decodeJSON(t, got), decodeJSON(t, string(want)); !reflect.DeepEqual(g, w) {
			t.Errorf("FieldsJSON(%q)\n = %s\nwant %s", flat, got, want)
		}
	})
}

func BenchmarkFieldsJSON(b *testing.B) {
	evs := storetest.Mixed(2, storetest.Base)
	flats := []map[string]any{field.Flatten(&evs[0]), field.Flatten(&evs[1])}
	b.Run("cairn", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := fieldsJSON(flats[i%2]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := json.Marshal(flats[i%2]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("flatten", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			ev := evs[i%2]
			field.Flatten(&ev)
		}
	})
}

func TestJSONWriterOptions(t *testing.T) {
	fix := func(b []byte) []byte { return []byte(strings.ReplaceAll(string(b), `\u0000`, `\ufffd`)) }
	for _, tt := range []struct {
		name string
		w    storeutil.JSONWriter
		v    any
		want string
	}{
		{"string", storeutil.JSONWriter{}, "a\x00<&>\u2028\xff", `"a\u0000<&>\u2028\ufffd"`},
		{"string no NUL", storeutil.JSONWriter{NoNUL: true}, "a\x00\x01", `"a\ufffd\u0001"`},
		{"list", storeutil.JSONWriter{NoNUL: true}, []string{"x", "\x00"}, `["x","\ufffd"]`},
		{"nil list", storeutil.JSONWriter{}, []string(nil), `null`},
		{"other type", storeutil.JSONWriter{}, map[string]string{"k": "\x00"}, `{"k":"\u0000"}`},
		{"other type fixed", storeutil.JSONWriter{Fix: fix}, map[string]string{"k": "\x00"}, `{"k":"\ufffd"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.w.AppendValue([]byte("x"), tt.v)
			if err != nil || string(got) != "x"+tt.want {
				t.Errorf("AppendValue(%q) = %s, %v; want x%s", tt.v, got, err, tt.want)
			}
		})
	}
}

func TestJSONWriterError(t *testing.T) {
	fixed := false
	w := storeutil.JSONWriter{Fix: func(b []byte) []byte { fixed = true; return b }}
	got, err := w.AppendFields(nil, map[string]any{"c": make(chan int)})
	if err == nil || fixed {
		t.Errorf("AppendFields(chan) = %s, %v (fixed %v); want an error and no fix", got, err, fixed)
	}
}

func TestJSONList(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, "[]"},
		{[]string{}, "[]"},
		{[]string{"a", "<b>"}, `["a","<b>"]`},
	} {
		if got := (storeutil.JSONWriter{}).JSONList(tt.in); got != tt.want {
			t.Errorf("JSONList(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
