package decode_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want decode.Format
		ok   bool
	}{
		{"", decode.Auto, true}, {"auto", decode.Auto, true}, {" Tetragon ", decode.Tetragon, true},
		{"falco", decode.Falco, true}, {"CLOUDTRAIL", decode.CloudTrail, true}, {"native", decode.Native, true},
		{"sysdig", decode.Auto, false}, {"json", decode.Auto, false},
	}
	for _, tt := range tests {
		f, err := decode.ParseFormat(tt.in)
		if f != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseFormat(%q) = %q, %v", tt.in, f, err)
		}
		if err != nil && cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("ParseFormat(%q): code %q", tt.in, cairn.ErrorCode(err))
		}
	}
}

func TestDetect(t *testing.T) {
	tetragon := mustRead(t, "testdata/tetragon.ndjson")
	tests := []struct {
		name, in string
		want     decode.Format
	}{
		{"tetragon line", tetragon, decode.Tetragon},
		{"tetragon prefix", tetragon[:40], decode.Tetragon},
		{"tetragon pretty", mustRead(t, "testdata/tetragon_pretty.json")[:30], decode.Tetragon},
		{"cloudtrail file", mustRead(t, "testdata/cloudtrail_records.json")[:20], decode.CloudTrail},
		{"cloudtrail array", `[ {"eventVersion":"1.09","userIdentity":{`, decode.CloudTrail},
		{"cloudtrail event, keys sorted", `{"awsRegion":"us-east-1","eventCategory":"Management","eventID":"x","eventName":"Ge`, decode.CloudTrail},
		{"falco", mustRead(t, "testdata/falco.ndjson")[:120], decode.Falco},
		{"falco fields first", `{"output_fields":{"a":1}`, decode.Falco},
		{"native", mustRead(t, "testdata/native.ndjson"), decode.Native},
		{"byte order mark", "\xEF\xBB\xBF\n" + tetragon[:30], decode.Tetragon},
	}
	for _, tt := range tests {
		f, err := decode.Detect([]byte(tt.in))
		if f != tt.want || err != nil {
			t.Errorf("%s: Detect = %q, %v; want %q", tt.name, f, err, tt.want)
		}
	}
	for _, in := range []string{"", "  ", "[]", "hello", `{"a":1,"b":2}`, `{"output":"x"}`, `[[1]]`, "\x1f\x8b\x08"} {
		f, err := decode.Detect([]byte(in))
		if err == nil || f != decode.Auto || cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("Detect(%q) = %q, %v; want EINVALID", in, f, err)
		}
	}
	_, err := decode.Detect([]byte(`{"alpha":1,"beta":{"x":2}}`))
	if err == nil || !strings.Contains(err.Error(), `"alpha", "beta"`) {
		t.Errorf("Detect does not name the keys: %v", err)
	}
}

func TestDecodeUnknownFormat(t *testing.T) {
	c := &decode.Collector{}
	err := decode.Decode(context.Background(), strings.NewReader(`{"alpha":1}`+"\n"), "in.json", decode.Auto, c)
	if cairn.ErrorCode(err) != cairn.EINVALID || !strings.Contains(err.Error(), "in.json") || !strings.Contains(err.Error(), `"alpha"`) {
		t.Errorf("unknown format: %v", err)
	}
	err = decode.Decode(context.Background(), strings.NewReader(`{}`), "-", decode.Format("xml"), c)
	if cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("bad format value: %v", err)
	}
	// Records before the first detectable one are decoded once the
	// format is known.
	in := "not json\n" + mustRead(t, "testdata/native.ndjson")
	c = mustDecode(t, in, decode.Auto)
	if len(c.Events) != 2 || len(c.Rejects) != 1 || c.Rejects[0].Position != "line 1" || c.Rejects[0].Format != "native" {
		t.Errorf("held record: %d events, rejects %+v", len(c.Events), c.Rejects)
	}
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeGzip(t *testing.T) {
	plain := mustRead(t, "testdata/tetragon.ndjson")
	want := mustDecode(t, plain, decode.Auto)
	got := mustDecode(t, string(gz(t, plain)), decode.Auto)
	noRejects(t, got)
	if len(got.Events) != len(want.Events) {
		t.Fatalf("gzipped: %d events, want %d", len(got.Events), len(want.Events))
	}
	for i := range got.Events {
		if got.Events[i].ID != want.Events[i].ID || !bytes.Equal(got.Events[i].Raw, want.Events[i].Raw) {
			t.Errorf("event %d differs when gzipped", i)
		}
	}
	// Two gzip members, as a concatenated .gz is.
	two := append(gz(t, plain), gz(t, plain)...)
	if c := mustDecode(t, string(two), decode.Auto); len(c.Events) != 2*len(want.Events) {
		t.Errorf("multistream gzip: %d events", len(c.Events))
	}

	c := &decode.Collector{}
	err := decode.Decode(context.Background(), bytes.NewReader([]byte{0x1f, 0x8b, 0, 0, 0}), "x.gz", decode.Auto, c)
	if cairn.ErrorCode(err) != cairn.EINVALID || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("broken gzip header: %v", err)
	}
	cut := gz(t, plain)
	err = decode.Decode(context.Background(), bytes.NewReader(cut[:len(cut)-40]), "x.gz", decode.Auto, c)
	if cairn.ErrorCode(err) != cairn.EINVALID || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("truncated gzip: %v", err)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, f := range []decode.Format{decode.Auto, decode.Tetragon, decode.Falco, decode.CloudTrail, decode.Native} {
		for _, in := range []string{"", "\n\n", "\xEF\xBB\xBF", "[]", string(gz(t, ""))} {
			c := mustDecode(t, in, f)
			if len(c.Events)+len(c.Rejects) != 0 {
				t.Errorf("%q as %q: %d events, %d rejects", in, f, len(c.Events), len(c.Rejects))
			}
		}
	}
}

func TestDecodeBOMAndCRLF(t *testing.T) {
	plain := mustRead(t, "testdata/falco.ndjson")
	want := mustDecode(t, plain, decode.Auto)
	crlf := "\xEF\xBB\xBF" + strings.ReplaceAll(plain, "\n", "\r\n")
	got := mustDecode(t, crlf, decode.Auto)
	noRejects(t, got)
	if len(got.Events) != len(want.Events) {
		t.Fatalf("%d events, want %d", len(got.Events), len(want.Events))
	}
	for i := range got.Events {
		if got.Events[i].ID != want.Events[i].ID || !bytes.Equal(got.Events[i].Raw, want.Events[i].Raw) {
			t.Errorf("event %d differs with a BOM and CRLF", i)
		}
	}
}

func TestIDs(t *testing.T) {
	for _, file := range []string{"testdata/tetragon.ndjson", "testdata/falco.ndjson"} {
		lines := strings.Split(strings.TrimSpace(mustRead(t, file)), "\n")
		var pretty strings.Builder
		for _, l := range lines {
			var buf bytes.Buffer
			if err := json.Indent(&buf, []byte(l), "", "\t"); err != nil {
				t.Fatal(err)
			}
			pretty.Write(buf.Bytes())
			pretty.WriteString("\n")
		}
		compact := mustDecode(t, strings.Join(lines, "\n"), decode.Auto)
		indented := mustDecode(t, pretty.String(), decode.Auto)
		noRejects(t, indented)
		seen := map[string]bool{}
		for i := range compact.Events {
			id := compact.Events[i].ID
			if id != indented.Events[i].ID {
				t.Errorf("%s record %d: compact id %s, pretty id %s", file, i, id, indented.Events[i].ID)
			}
			if seen[id] {
				t.Errorf("%s record %d: id %s repeats", file, i, id)
			}
			seen[id] = true
		}
		// One byte more in the first record's time: a different id.
		changed := strings.Replace(lines[0], `Z"`, `1Z"`, 1)
		if changed == lines[0] {
			t.Fatal("test record has no time to change")
		}
		other := mustDecode(t, changed, decode.Auto)
		noRejects(t, other)
		if other.Events[0].ID == compact.Events[0].ID {
			t.Errorf("%s: records differing in one byte share id %s", file, other.Events[0].ID)
		}
	}
}

// failingSink fails on the nth call.
type failingSink struct {
	n   int
	err error
}

func (s *failingSink) Event(cairn.Event) error {
	if s.n--; s.n <= 0 {
		return s.err
	}
	return nil
}

func (s *failingSink) Reject(cairn.DeadLetter) error { return s.Event(cairn.Event{}) }

func TestDecodeStops(t *testing.T) {
	in := mustRead(t, "testdata/tetragon.ndjson")
	boom := cairn.Errorf(cairn.ECONFLICT, "store is full")
	sink := &failingSink{n: 3, err: boom}
	err := decode.Decode(context.Background(), strings.NewReader(in), "-", decode.Auto, sink)
	if err != boom {
		t.Errorf("sink error: got %v, want it unchanged", err)
	}
	plain := errors.New("disk full")
	sink = &failingSink{n: 1, err: plain}
	if err := decode.Decode(context.Background(), strings.NewReader("garbage\n"+in), "-", decode.Auto, sink); err != plain {
		t.Errorf("sink error on reject: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := strings.Repeat(in, 20)
	if err := decode.Decode(ctx, strings.NewReader(big), "-", decode.Auto, &decode.Collector{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}

func TestDecodeWrongFormat(t *testing.T) {
	// Falco alerts read as Tetragon: every record is rejected with a
	// reason, none is lost silently.
	c := mustDecode(t, mustRead(t, "testdata/falco.ndjson"), decode.Tetragon)
	if len(c.Events) != 0 || len(c.Rejects) != 4 {
		t.Fatalf("%d events, %d rejects", len(c.Events), len(c.Rejects))
	}
	for i, dl := range c.Rejects {
		if dl.Reason != "tetragon: record has no process_* event" || dl.Position != "line "+itoa(i+1) {
			t.Errorf("reject %d: %s %s", i, dl.Position, dl.Reason)
		}
	}
}
