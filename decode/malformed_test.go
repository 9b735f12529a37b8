package decode_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/decode"
)

// reject is what a test expects of a dead letter.
type reject struct {
	pos    string
	reason string // a part of the reason
	raw    string // a prefix of the raw bytes
}

func checkRejects(t *testing.T, c *decode.Collector, want []reject) {
	t.Helper()
	if len(c.Rejects) != len(want) {
		for _, dl := range c.Rejects {
			t.Logf("reject %s: %s", dl.Position, dl.Reason)
		}
		t.Fatalf("got %d rejects, want %d", len(c.Rejects), len(want))
	}
	for i, w := range want {
		dl := c.Rejects[i]
		if dl.Position != w.pos || !strings.Contains(dl.Reason, w.reason) || !strings.HasPrefix(string(dl.Raw), w.raw) ||
			dl.Origin != "test" || dl.Time.IsZero() || dl.Format == "" {
			t.Errorf("reject %d: %s %q raw %.40q (format %q), want %s %q raw %.40q", i, dl.Position, dl.Reason, dl.Raw, dl.Format, w.pos, w.reason, w.raw)
		}
	}
}

func TestMalformedNDJSON(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(mustRead(t, "testdata/tetragon.ndjson")), "\n")
	in := strings.Join([]string{
		lines[0],
		lines[1][:200], // truncated
		lines[2],
		`{"node_name":"n","time":"2024-05-01T10:00:00Z"}`,
		"",
		lines[3],
		"garbage, not JSON",
		lines[4],
		`{"process_exec":{"process":{"pid":"x"}},"time":"2024-05-01T10:00:00Z"}`,
		lines[5],
	}, "\n") + "\n"
	for _, f := range []decode.Format{decode.Auto, decode.Tetragon} {
		c := mustDecode(t, in, f)
		if len(c.Events) != 5 {
			t.Errorf("got %d events, want 5", len(c.Events))
		}
		checkRejects(t, c, []reject{
			{"line 2", "tetragon: malformed record: line ends before the value closes", lines[1][:200]},
			{"line 4", "tetragon: record has no process_* event", `{"node_name"`},
			{"line 7", "tetragon: malformed record: not a JSON value", "garbage, not JSON"},
			{"line 9", "field process_exec.process.pid", `{"process_exec"`},
		})
	}
}

func TestMalformedPretty(t *testing.T) {
	var recs []string
	for _, line := range strings.Split(strings.TrimSpace(mustRead(t, "testdata/tetragon.ndjson")), "\n")[:4] {
		var buf bytes.Buffer
		if err := json.Indent(&buf, []byte(line), "", "  "); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, buf.String())
	}
	// The second record is cut between two members, the third in the
	// middle of a string, the fifth has a syntax error inside balanced
	// braces.
	cut1 := strings.TrimSpace(recs[1][:strings.Index(recs[1], `"parent"`)])
	cut2 := recs[2][:strings.Index(recs[2], `"binary"`)+15]
	bad := strings.Replace(recs[3], `"function_name": `, `"function_name" `, 1)
	in := recs[0] + "\n" + cut1 + "\n" + cut2 + "\n" + recs[2] + bad + "\n"
	c := mustDecode(t, in, decode.Auto)
	if len(c.Events) != 2 || c.Events[0].Kind != "process_exec" || c.Events[1].Kind != "process_exit" {
		t.Fatalf("got %d events", len(c.Events))
	}
	line2 := 2 + strings.Count(recs[0], "\n")
	line3 := line2 + 1 + strings.Count(cut1, "\n")
	line5 := line3 + 1 + strings.Count(cut2, "\n") + strings.Count(recs[2], "\n")
	checkRejects(t, c, []reject{
		{"line " + itoa(line2), "value is not closed before line " + itoa(line3), cut1},
		{"line " + itoa(line3), "newline inside a string", cut2},
		{"line " + itoa(line5), "tetragon: malformed JSON at byte", "{\n  \"process_kprobe\""},
	})
}

func TestMalformedCloudTrail(t *testing.T) {
	recs := records(t)
	good := func(i int) string { return string(recs[i]) }
	in := `{"Records":[` + good(0) + `,{"eventName":"X","eventSource":"s3.amazonaws.com"},{"eventTime":"2024-05-04T12:00:00Z",,},` +
		good(1) + `,{"eventTime":"2024-05-04T12:00:00Z","eventName":[},` + good(2) + `]}`
	c := mustDecode(t, in, decode.Auto)
	if len(c.Events) != 3 {
		t.Errorf("got %d events, want 3", len(c.Events))
	}
	checkRejects(t, c, []reject{
		{"line 1, Records[1]", "cloudtrail: record has no eventTime", `{"eventName":"X"`},
		{"line 1, Records[2]", "cloudtrail: malformed JSON at byte 37", `{"eventTime"`},
		{"line 1, Records[4]", `cloudtrail: malformed record: '}' does not close '['`, `{"eventTime"`},
	})

	// A file cut short: the complete records are kept, the cut one is
	// rejected.
	full := mustRead(t, "testdata/cloudtrail_records.json")
	c = mustDecode(t, full[:len(full)-300], decode.Auto)
	if len(c.Events) != 2 {
		t.Errorf("truncated file: got %d events, want 2", len(c.Events))
	}
	checkRejects(t, c, []reject{{"line 1, Records[2]", "array ends inside the element", `{"eventVersion"`}})

	// A pretty array with a bad element: its line is the element's.
	in = "[\n" + good(0) + ",\n{\"eventName\": 1},\n" + good(2) + "\n]\n"
	c = mustDecode(t, in, decode.CloudTrail)
	if len(c.Events) != 2 {
		t.Errorf("pretty array: got %d events, want 2", len(c.Events))
	}
	checkRejects(t, c, []reject{{"line 3, [1]", "field eventName", `{"eventName": 1}`}})
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
