package cairn_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/cairn-cdr/cairn"
)

func TestDoc(t *testing.T) {
	cases := []struct {
		raw  string
		want any // nil: no document
	}{
		{`{"a":1}`, map[string]any{"a": json.Number("1")}},
		{`  [1, "x"]  `, []any{json.Number("1"), "x"}},
		{`{"a":1} {"b":2}`, nil}, // two values are not one document
		{`{"a":`, nil},
		{``, nil},
		{`not json`, nil},
	}
	for _, c := range cases {
		ev := &cairn.Event{Raw: json.RawMessage(c.raw)}
		got := ev.Doc()
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Doc(%q) = %#v, want %#v", c.raw, got, c.want)
		}
	}
	ev := &cairn.Event{Raw: json.RawMessage(`{"a":1}`)}
	ev.SetDoc(map[string]any{"a": json.Number("2")})
	if fmt.Sprint(ev.Doc()) != "map[a:2]" {
		t.Errorf("SetDoc not used: %v", ev.Doc())
	}
}

func TestSummary(t *testing.T) {
	cases := []struct {
		ev   cairn.Event
		want string
	}{
		{cairn.Event{Kind: cairn.KindExec, Process: &cairn.Process{Binary: "/usr/bin/nc", Args: "1.2.3.4 9001"}}, "exec nc 1.2.3.4 9001"},
		{cairn.Event{Kind: cairn.KindFile, File: &cairn.File{Path: "/etc/shadow", Op: "read"}, Process: &cairn.Process{Name: "stat"}}, "read /etc/shadow by stat"},
		{cairn.Event{Kind: cairn.KindNetwork, Net: &cairn.Conn{Op: "connect", SrcIP: "10.0.0.1", SrcPort: 4000, DstIP: "1.2.3.4", DstPort: 3333}, Process: &cairn.Process{Name: "easyminer"}},
			"connect 10.0.0.1:4000->1.2.3.4:3333 by easyminer"},
		{cairn.Event{Kind: cairn.KindCloud, Cloud: &cairn.CloudCall{EventName: "StopLogging", EventSource: "cloudtrail.amazonaws.com", SourceIP: "5.6.7.8", ErrorCode: "AccessDenied",
			Identity: cairn.Identity{Key: "arn:aws:iam::1:user/Admin6"}}}, "cloudtrail:StopLogging by arn:aws:iam::1:user/Admin6 from 5.6.7.8 (AccessDenied)"},
		{cairn.Event{Kind: cairn.KindAlert, Alert: &cairn.Alert{Rule: "Terminal shell in container", Priority: "Notice"}}, "Notice Terminal shell in container"},
	}
	for _, c := range cases {
		if got := c.ev.Summary(); got != c.want {
			t.Errorf("Summary() = %q, want %q", got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	err := fmt.Errorf("query: %w", cairn.Errorf(cairn.ENOTFOUND, "event %s not found", "x"))
	if cairn.ErrorCode(err) != cairn.ENOTFOUND || cairn.ErrorMessage(err) != "event x not found" {
		t.Errorf("wrapped error: %s %q", cairn.ErrorCode(err), cairn.ErrorMessage(err))
	}
	plain := errors.New("disk on fire")
	if cairn.ErrorCode(plain) != cairn.EINTERNAL || cairn.ErrorMessage(plain) != "internal error" {
		t.Errorf("internal error leaks: %s %q", cairn.ErrorCode(plain), cairn.ErrorMessage(plain))
	}
	if cairn.ErrorCode(nil) != "" {
		t.Error("nil has a code")
	}
}
