package jsonscan_test

import (
	"errors"
	"testing"

	"github.com/cairn-cdr/cairn/internal/jsonscan"
)

type elem struct {
	Data  string
	Index int
	Off   int
	Bad   bool
}

func elements(t *testing.T, in string) ([]elem, int, error) {
	t.Helper()
	var out []elem
	end, err := jsonscan.Elements([]byte(in), func(e jsonscan.Element) error {
		if in[e.Offset:e.Offset+len(e.Data)] != string(e.Data) {
			t.Errorf("element %q is not at offset %d", e.Data, e.Offset)
		}
		out = append(out, elem{string(e.Data), e.Index, e.Offset, e.Err != nil})
		return nil
	})
	return out, end, err
}

func TestElements(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []elem
		end  int
	}{
		{"empty", "[]", nil, 2},
		{"empty with space", " [ \n ] ", nil, 6},
		{"simple", `[1, "a,]", {"b":[2,3]}]`, []elem{{"1", 0, 1, false}, {`"a,]"`, 1, 4, false}, {`{"b":[2,3]}`, 2, 11, false}}, 23},
		{"pretty", "[\n  {\"a\": 1},\n  {\"b\": 2}\n]", []elem{{`{"a": 1}`, 0, 4, false}, {`{"b": 2}`, 1, 16, false}}, 26},
		{"unclosed bracket in an element", `[{"a":1},{"b":[},{"c":3}]`, []elem{{`{"a":1}`, 0, 1, false}, {`{"b":[}`, 1, 9, true}, {`{"c":3}`, 2, 17, false}}, 25},
		{"swapped brackets end the array early", `[{"a":1},{"b":[}],{"c":3}]`, []elem{{`{"a":1}`, 0, 1, false}, {`{"b":[}`, 1, 9, true}}, 17},
		{"stray closer", `[{"a":1}},{"c":3}]`, []elem{{`{"a":1}}`, 0, 1, true}, {`{"c":3}`, 1, 10, false}}, 18},
		{"empty elements", `[1,,2,]`, []elem{{"1", 0, 1, false}, {"", 1, 3, true}, {"2", 2, 4, false}, {"", 3, 6, true}}, 7},
		{"unclosed after an element", `[{"a":1},`, []elem{{`{"a":1}`, 0, 1, false}, {"", 1, 9, true}}, 9},
		{"unclosed after a complete element", `[{"a":1}`, []elem{{`{"a":1}`, 0, 1, false}, {"", 1, 8, true}}, 8},
		{"unclosed inside an element", `[{"a":1},{"b":`, []elem{{`{"a":1}`, 0, 1, false}, {`{"b":`, 1, 9, true}}, 14},
		{"unclosed bracket only", `[`, []elem{{"", 0, 1, true}}, 1},
		{"bytes after the array", `[1]}`, []elem{{"1", 0, 1, false}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, end, err := elements(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if end != tt.end {
				t.Errorf("end %d, want %d", end, tt.end)
			}
			if len(out) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", out, tt.want)
			}
			for i := range out {
				if out[i] != tt.want[i] {
					t.Errorf("element %d: got %+v, want %+v", i, out[i], tt.want[i])
				}
			}
		})
	}
	if _, _, err := elements(t, `{"a":1}`); !errors.Is(err, jsonscan.ErrNotArray) {
		t.Errorf("object: got %v, want ErrNotArray", err)
	}
}

func TestMembers(t *testing.T) {
	type member struct{ Key, Value string }
	tests := []struct {
		name string
		in   string
		want []member
		err  error
	}{
		{"empty", `{}`, nil, nil},
		{"members", `{"Records": [{"a":"}"}], "n": 12, "e\u0041": "x", "o": {"p": [1]}}`,
			[]member{{"Records", `[{"a":"}"}]`}, {"n", "12"}, {"eA", `"x"`}, {"o", `{"p": [1]}`}}, nil},
		{"truncated value", `{"a": 1, "process_exec": {"process": {"pid"`,
			[]member{{"a", "1"}, {"process_exec", `{"process": {"pid"`}}, jsonscan.ErrTruncated},
		{"truncated key", `{"a": 1, "proc`, []member{{"a", "1"}}, jsonscan.ErrTruncated},
		{"not an object", `[1]`, nil, jsonscan.ErrNotObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []member
			err := jsonscan.Members([]byte(tt.in), func(k string, v []byte) bool {
				out = append(out, member{k, string(v)})
				return true
			})
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if len(out) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", out, tt.want)
			}
			for i := range out {
				if out[i] != tt.want[i] {
					t.Errorf("member %d: got %+v, want %+v", i, out[i], tt.want[i])
				}
			}
		})
	}
	n := 0
	_ = jsonscan.Members([]byte(`{"a":1,"b":2}`), func(string, []byte) bool { n++; return false })
	if n != 1 {
		t.Errorf("stopping early: called %d times", n)
	}
}
