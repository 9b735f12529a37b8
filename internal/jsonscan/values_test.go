package jsonscan_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/cairn-cdr/cairn/internal/jsonscan"
)

// got is one value as a test sees it.
type got struct {
	Data string
	Line int
	Off  int64
	Bad  bool
}

func collect(t *testing.T, o jsonscan.Options, r io.Reader) []got {
	t.Helper()
	var out []got
	err := o.Values(r, func(v jsonscan.Value) error {
		out = append(out, got{Data: string(v.Data), Line: v.Line, Off: v.Offset, Bad: v.Err != nil})
		return nil
	})
	if err != nil {
		t.Fatalf("Values: %v", err)
	}
	return out
}

func TestValues(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []got
	}{
		{"empty", "", nil},
		{"blank", " \n\r\n\t", nil},
		{
			"ndjson with a truncated line",
			"{\"a\":1}\n{\"b\":\n{\"c\":[3]}\n",
			[]got{{`{"a":1}`, 1, 0, false}, {`{"b":`, 2, 8, true}, {`{"c":[3]}`, 3, 14, false}},
		},
		{
			"ndjson whose first line is truncated",
			"{\"a\":[1,2\n{\"b\":2}\n{\"c\":3}\n",
			[]got{{`{"a":[1,2`, 1, 0, true}, {`{"b":2}`, 2, 10, false}, {`{"c":3}`, 3, 18, false}},
		},
		{
			"a line starting with a value where one is allowed is not cut",
			"{\"a\":[1,\n{\"b\":2}]}\n[\n[1],\n{\"c\":\n{}}\n]",
			[]got{{"{\"a\":[1,\n{\"b\":2}]}", 1, 0, false}, {"[\n[1],\n{\"c\":\n{}}\n]", 3, 19, false}},
		},
		{
			"ndjson with trailing garbage and two values on a line",
			"{\"a\":1} xx\n{\"b\":2}{\"c\":3}\n",
			[]got{{`{"a":1}`, 1, 0, false}, {`xx`, 1, 8, true}, {`{"b":2}`, 2, 11, false}, {`{"c":3}`, 2, 18, false}},
		},
		{
			"ndjson with a pretty value later",
			"{}\n{\n}\n",
			[]got{{`{}`, 1, 0, false}, {`{`, 2, 3, true}, {`}`, 3, 5, true}},
		},
		{
			"pretty concatenated",
			"{\n  \"a\": 1\n}{\n  \"b\": \"}{\"\n}\n\n{\n  \"c\": [\n    1\n  ]\n}",
			[]got{{"{\n  \"a\": 1\n}", 1, 0, false}, {"{\n  \"b\": \"}{\"\n}", 3, 12, false}, {"{\n  \"c\": [\n    1\n  ]\n}", 7, 29, false}},
		},
		{
			"pretty with a truncated record",
			"{\n  \"a\": {\n    \"x\": 1\n{\n  \"b\": 2\n}\n",
			[]got{{"{\n  \"a\": {\n    \"x\": 1", 1, 0, true}, {"{\n  \"b\": 2\n}", 4, 22, false}},
		},
		{
			"truncated after a comma in an object",
			"{\n\"a\": 1,\n{\"b\": 2}\n",
			[]got{{"{\n\"a\": 1,", 1, 0, true}, {`{"b": 2}`, 3, 10, false}},
		},
		{
			"unindented pretty values are not cut",
			"{\n\"a\": [\n{\n\"b\": 1\n}\n]\n}\n",
			[]got{{"{\n\"a\": [\n{\n\"b\": 1\n}\n]\n}", 1, 0, false}},
		},
		{
			"pretty array",
			"[\n  {\"a\": 1},\n  {\"b\": 2}\n]\n",
			[]got{{"[\n  {\"a\": 1},\n  {\"b\": 2}\n]", 1, 0, false}},
		},
		{
			"unbalanced at EOF",
			"{\n  \"a\": [1, 2",
			[]got{{"{\n  \"a\": [1, 2", 1, 0, true}},
		},
		{
			"mismatched bracket",
			"{\"a\":[1}]\n{\"b\":1}",
			[]got{{`{"a":[1}`, 1, 0, true}, {`]`, 1, 8, true}, {`{"b":1}`, 2, 10, false}},
		},
		{
			"escapes in strings",
			`{"a":"\"}\\"}` + "\n" + `{"b":"\\"}`,
			[]got{{`{"a":"\"}\\"}`, 1, 0, false}, {`{"b":"\\"}`, 2, 14, false}},
		},
		{
			"byte order mark and CRLF",
			"\xEF\xBB\xBF{\"a\":1}\r\n{\"b\":2}\r\n",
			[]got{{`{"a":1}`, 1, 3, false}, {`{"b":2}`, 2, 12, false}},
		},
		{
			"scalars and junk",
			"1 \"s\" null\nINFO: started\n{\"a\":1}\n}\n",
			[]got{{`1`, 1, 0, false}, {`"s"`, 1, 2, false}, {`null`, 1, 6, false}, {`INFO: started`, 2, 11, true}, {`{"a":1}`, 3, 25, false}, {`}`, 4, 33, true}},
		},
		{
			"unterminated top-level string",
			"\"abc\n{}",
			[]got{{`"abc`, 1, 0, true}, {`{}`, 2, 5, false}},
		},
		{
			"newline inside a string of a pretty value",
			"{\n  \"a\": \"x\n  y\"\n}\n",
			[]got{{"{\n  \"a\": \"x\n  y\"\n}", 1, 0, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				out := collect(t, jsonscan.Options{}, r)
				if len(out) != len(tt.want) {
					t.Fatalf("got %d values %+v, want %d %+v", len(out), out, len(tt.want), tt.want)
				}
				for i := range out {
					if out[i] != tt.want[i] {
						t.Errorf("value %d: got %+v, want %+v", i, out[i], tt.want[i])
					}
				}
			}
		})
	}
}

func TestValuesCompact(t *testing.T) {
	var flags []bool
	err := jsonscan.Values(strings.NewReader("{\"a\":\"x y\"}\n{\"a\": 1}\n[1,2]\n"), func(v jsonscan.Value) error {
		flags = append(flags, v.Compact)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true}
	if len(flags) != len(want) {
		t.Fatalf("got %v, want %v", flags, want)
	}
	for i := range want {
		if flags[i] != want[i] {
			t.Errorf("value %d: Compact=%v, want %v", i, flags[i], want[i])
		}
	}
}

func TestValuesLongLine(t *testing.T) {
	big := `{"a":"` + strings.Repeat("x", 5<<20) + `"}`
	in := big + "\n{\"b\":1}\n"
	out := collect(t, jsonscan.Options{}, strings.NewReader(in))
	if len(out) != 2 || out[0].Data != big || out[0].Bad || out[1].Data != `{"b":1}` || out[1].Line != 2 {
		t.Fatalf("long line not split right: %d values", len(out))
	}
}

func TestValuesSizeLimit(t *testing.T) {
	in := `{"a":"` + strings.Repeat("x", 300<<10) + `"}` + "\n{\"b\":1}\n" + strings.Repeat("z", 300<<10) + "\n[2]\n"
	out := collect(t, jsonscan.Options{MaxValueSize: 100 << 10}, strings.NewReader(in))
	if len(out) != 4 {
		t.Fatalf("got %d values, want 4", len(out))
	}
	if !out[0].Bad || len(out[0].Data) > 200<<10 || !strings.HasPrefix(out[0].Data, `{"a":"xxx`) {
		t.Errorf("oversized value: bad=%v len=%d", out[0].Bad, len(out[0].Data))
	}
	if out[1].Data != `{"b":1}` || out[1].Bad || out[1].Line != 2 {
		t.Errorf("value after the oversized one: %+v", out[1])
	}
	if !out[2].Bad || out[3].Data != "[2]" || out[3].Line != 4 {
		t.Errorf("oversized junk: %+v, then %+v", out[2].Bad, out[3])
	}
}

func TestValuesErrors(t *testing.T) {
	boom := errors.New("boom")
	err := jsonscan.Values(io.MultiReader(strings.NewReader("{\"a\":1}\n{\"b\""), iotest.ErrReader(boom)), func(jsonscan.Value) error { return nil })
	if !errors.Is(err, boom) {
		t.Errorf("read error: got %v, want %v", err, boom)
	}
	stop := errors.New("stop")
	n := 0
	err = jsonscan.Values(strings.NewReader("1\n2\n3\n"), func(jsonscan.Value) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("callback error: got %v after %d values", err, n)
	}
}

func TestValuesPositionsMatchInput(t *testing.T) {
	in := "\xEF\xBB\xBF\n  {\"a\":\n  1}\r\n\r\n[\n 2,\n 3\n]{\"c\":\"d\"}\n"
	err := jsonscan.Values(strings.NewReader(in), func(v jsonscan.Value) error {
		if !bytes.Equal([]byte(in[v.Offset:v.Offset+int64(len(v.Data))]), v.Data) {
			t.Errorf("value %q is not at offset %d", v.Data, v.Offset)
		}
		if line := 1 + strings.Count(in[:v.Offset], "\n"); line != v.Line {
			t.Errorf("value %q: line %d, want %d", v.Data, v.Line, line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
