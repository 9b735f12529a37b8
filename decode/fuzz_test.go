package decode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

// seed adds the test data files and a few malformed inputs to a fuzz
// corpus.
func seed(f *testing.F, files ...string) {
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if lines := bytes.SplitN(b, []byte("\n"), 2); len(lines[0]) > 10 {
			f.Add(lines[0][:len(lines[0])/2])
		}
	}
	for _, s := range []string{"", "[]", `{"Records":[]}`, "\xEF\xBB\xBF{}\r\n", "[{},1,,]", `{"a":[}`, "\x1f\x8b\x08\x00"} {
		f.Add([]byte(s))
	}
}

// checkDecode decodes data as f and checks what any input must give:
// no panic; events with an id, source, kind, time and raw bytes; rejects
// with a position and a reason naming the format; an error only for
// input that cannot be read (EINVALID); and some output for any input
// that holds a record.
func checkDecode(t *testing.T, data []byte, f decode.Format) {
	c := &decode.Collector{}
	err := decode.Decode(context.Background(), bytes.NewReader(data), "fuzz", f, c)
	if err != nil && cairn.ErrorCode(err) != cairn.EINVALID {
		t.Fatalf("Decode error %v (code %s)", err, cairn.ErrorCode(err))
	}
	prefixes := map[cairn.Source]string{cairn.SourceTetragon: "tt-", cairn.SourceFalco: "fa-", cairn.SourceCloudTrail: "ct-"}
	for _, ev := range c.Events {
		if f != decode.Native && f != decode.Auto && !strings.HasPrefix(ev.ID, prefixes[ev.Source]) {
			t.Fatalf("event id %q for source %q", ev.ID, ev.Source)
		}
		if ev.ID == "" || ev.Source == "" || ev.Kind == "" || ev.Time.IsZero() || len(ev.Raw) == 0 {
			t.Fatalf("incomplete event %+v", ev)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("event does not marshal: %v", err)
		}
	}
	for _, dl := range c.Rejects {
		if dl.Origin != "fuzz" || !strings.HasPrefix(dl.Position, "line ") || dl.Format == "" ||
			!strings.HasPrefix(dl.Reason, dl.Format+": ") || dl.Raw == nil || dl.Time.IsZero() {
			t.Fatalf("incomplete dead letter %+v", dl)
		}
	}
	if err == nil && len(c.Events)+len(c.Rejects) == 0 && !onlyEmpty(data, f) {
		t.Fatalf("input %q gave no event, no reject and no error", data)
	}
}

// onlyEmpty reports whether data holds no record: whitespace, empty
// arrays, CloudTrail files with empty Records, or gzip (left out).
func onlyEmpty(data []byte, f decode.Format) bool {
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))))
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
		switch v := v.(type) {
		case []any:
			if len(v) != 0 {
				return false
			}
		case map[string]any:
			r, ok := v["Records"].([]any)
			if (f != decode.CloudTrail && f != decode.Auto) || !ok || len(r) != 0 {
				return false
			}
		default:
			return false
		}
	}
}

func FuzzTetragon(f *testing.F) {
	seed(f, "testdata/tetragon.ndjson", "testdata/tetragon_pretty.json")
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data, decode.Tetragon) })
}

func FuzzFalco(f *testing.F) {
	seed(f, "testdata/falco.ndjson")
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data, decode.Falco) })
}

func FuzzCloudTrail(f *testing.F) {
	seed(f, "testdata/cloudtrail_records.json")
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data, decode.CloudTrail) })
}

func FuzzNative(f *testing.F) {
	seed(f, "testdata/native.ndjson")
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data, decode.Native) })
}

func FuzzDetect(f *testing.F) {
	seed(f, "testdata/tetragon.ndjson", "testdata/falco.ndjson", "testdata/cloudtrail_records.json", "testdata/native.ndjson")
	f.Fuzz(func(t *testing.T, data []byte) {
		format, err := decode.Detect(data)
		if (err == nil) == (format == decode.Auto) {
			t.Fatalf("Detect = %q, %v", format, err)
		}
		if err != nil && cairn.ErrorCode(err) != cairn.EINVALID {
			t.Fatalf("Detect error code %s", cairn.ErrorCode(err))
		}
		checkDecode(t, data, decode.Auto)
	})
}
