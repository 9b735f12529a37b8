package postgres

// These tests sit inside the package: they check the text and JSON
// replacements without a database.

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPgText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"", ""},
		{"a\x00b", "a\uFFFDb"},
		{"bad\xff\xfe", "bad\uFFFD\uFFFD"},
		{"ключ-🔑", "ключ-🔑"},
		{"\xc3(", "\uFFFD("},
	} {
		if got := pgText(tt.in); got != tt.want {
			t.Errorf("pgText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRawJSON(t *testing.T) {
	for _, tt := range []struct {
		name      string
		in        string
		want      string
		ok, exact bool
	}{
		{"plain", `{"a": [1, "x"]}`, `{"a": [1, "x"]}`, true, true},
		{"not json", "not json \x00", "", false, false},
		{"nul escape", `{"a":"x\u0000y"}`, "{\"a\":\"x\uFFFDy\"}", true, false},
		{"escaped backslash", `{"a":"x\\u0000y"}`, `{"a":"x\\u0000y"}`, true, true},
		{"pair", `{"a":"\ud83d\ude00"}`, `{"a":"\ud83d\ude00"}`, true, true},
		{"lone high", `{"a":"\ud800x"}`, "{\"a\":\"\uFFFDx\"}", true, false},
		{"high then high", `["\ud800\ud800\udc00"]`, "[\"\uFFFD\\ud800\\udc00\"]", true, false},
		{"lone low", `["\udc00"]`, "[\"\uFFFD\"]", true, false},
		{"invalid utf-8", "[\"\xff\"]", "[\"\uFFFD\"]", true, false},
		{"key", `{"\u0000":1}`, "{\"\uFFFD\":1}", true, false},
		{"too deep", "[" + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + "]", "", false, false},
		{"deep enough", strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth), strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth), true, true},
		{"brackets in strings", `["[[[[", "]"]`, `["[[[[", "]"]`, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, exact := rawJSON([]byte(tt.in))
			if got != tt.want || ok != tt.ok || exact != tt.exact {
				t.Errorf("rawJSON(%q) = %q, %v, %v; want %q, %v, %v", tt.in, got, ok, exact, tt.want, tt.ok, tt.exact)
			}
			if ok && !json.Valid([]byte(got)) {
				t.Errorf("rawJSON(%q) = %q: not JSON", tt.in, got)
			}
		})
	}
}

func TestFieldsJSON(t *testing.T) {
	flat := map[string]any{"s": "a\x00\xffb", "l": []string{"\x00"}, "n": int64(-3), "b": true, "m": map[string]string{"k": "\x00"}}
	b, err := jsonWriter.AppendFields(nil, flat)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := map[string]any{"s": "a\uFFFD\uFFFDb", "l": []any{"\uFFFD"}, "n": float64(-3), "b": true, "m": map[string]any{"k": "\uFFFD"}}
	if gb, wb := mustJSON(t, got), mustJSON(t, want); gb != wb {
		t.Errorf("fields JSON %s, want %s", gb, wb)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
