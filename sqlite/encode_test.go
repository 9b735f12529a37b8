package sqlite_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
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
		got, err := sqlite.FieldsJSON(flat)
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
		got, err := sqlite.FieldsJSON(flat)
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
			if _, err := sqlite.FieldsJSON(flats[i%2]); err != nil {
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
