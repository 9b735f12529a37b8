package decode_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

func TestNative(t *testing.T) {
	in := mustRead(t, "testdata/native.ndjson")
	c := mustDecode(t, in, decode.Auto)
	noRejects(t, c)
	if len(c.Events) != 2 {
		t.Fatalf("got %d events, want 2", len(c.Events))
	}
	lines := strings.Split(strings.TrimSpace(in), "\n")
	ev := c.Events[0]
	if ev.ID != "nv-demo-1" || ev.Source != cairn.SourceSensor || ev.Kind != cairn.KindExec || ev.Process.Name != "bash" ||
		*ev.Process.UID != 1000 || string(ev.Raw) != lines[0] {
		t.Errorf("event %+v", ev)
	}
	ev = c.Events[1]
	if !strings.HasPrefix(ev.ID, "nv-") || len(ev.ID) != 35 || ev.Net.DstPort != 443 || !ev.Time.Equal(mustTime(t, "2024-05-05T09:00:01.5Z")) {
		t.Errorf("event %+v", ev)
	}
}

func TestNativeRoundTrip(t *testing.T) {
	// Events from any decoder, written as json.Marshal writes them, come
	// back with the same id and content.
	src := mustDecodeFile(t, "testdata/tetragon.ndjson", decode.Tetragon)
	var b strings.Builder
	for _, ev := range src.Events {
		line, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	c := mustDecode(t, b.String(), decode.Auto)
	noRejects(t, c)
	if len(c.Events) != len(src.Events) {
		t.Fatalf("got %d events, want %d", len(c.Events), len(src.Events))
	}
	for i := range c.Events {
		a, b := src.Events[i], c.Events[i]
		if a.ID != b.ID || a.Kind != b.Kind || a.Type != b.Type || !a.Time.Equal(b.Time) || !sameProcess(a.Process, b.Process) {
			t.Errorf("event %d changed: %s %s %s → %s %s %s", i, a.ID, a.Kind, a.Type, b.ID, b.Kind, b.Type)
		}
	}
}

func TestNativeRejects(t *testing.T) {
	tests := []struct{ in, reason string }{
		{`{"kind":"alert","time":"2024-01-01T00:00:00Z"}`, "native: event has no source"},
		{`{"source":"syslog","kind":"alert","time":"2024-01-01T00:00:00Z"}`, `native: unknown source "syslog"`},
		{`{"source":"falco","time":"2024-01-01T00:00:00Z"}`, "native: event has no kind"},
		{`{"source":"falco","kind":"weird","time":"2024-01-01T00:00:00Z"}`, `native: unknown kind "weird"`},
		{`{"source":"falco","kind":"alert"}`, "native: event has no time"},
		{`{"source":"falco","kind":"alert","time":"noon"}`, `native: "noon" is not an RFC 3339 time`},
	}
	for _, tt := range tests {
		c := mustDecode(t, tt.in, decode.Native)
		if len(c.Rejects) != 1 || c.Rejects[0].Reason != tt.reason {
			t.Errorf("%s: rejects %+v, want %q", tt.in, c.Rejects, tt.reason)
		}
	}
}
