package sigma_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/sigma"
)

// Logsources of the test rules.
const (
	lsProc  = "product: linux\ncategory: process_creation"
	lsFile  = "product: linux\ncategory: file_event"
	lsNet   = "product: linux\ncategory: network_connection"
	lsCloud = "product: aws\nservice: cloudtrail"
)

// indent indents every line of s by n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// ruleText builds a rule's YAML from its logsource and detection.
func ruleText(logsource, detection string) string {
	return "title: test rule\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n" + indent(logsource, 4) + "detection:\n" + indent(detection, 4)
}

// mustRule loads one rule, failing the test when it is skipped.
func mustRule(tb testing.TB, logsource, detection string) *sigma.Rule {
	tb.Helper()
	rs, err := sigma.Parse([]byte(ruleText(logsource, detection)))
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	if len(rs.Rules) != 1 {
		tb.Fatalf("rule not loaded: %+v", rs.Skipped)
	}
	return rs.Rules[0]
}

// skipReason loads one rule that must be skipped and returns why.
func skipReason(tb testing.TB, opts sigma.Options, logsource, detection string) string {
	tb.Helper()
	rs, err := opts.Load(sigma.File{Name: "r.yml", Data: []byte(ruleText(logsource, detection))})
	if err != nil {
		tb.Fatalf("load: %v", err)
	}
	if len(rs.Skipped) != 1 || len(rs.Rules) != 0 {
		tb.Fatalf("want one skipped rule, got %d rules, skipped %+v", len(rs.Rules), rs.Skipped)
	}
	return rs.Skipped[0].Reason
}

var t0 = time.Date(2024, 5, 1, 22, 30, 0, 0, time.UTC)

func i64(v int64) *int64 { return &v }

// execEv builds an execve event: binary, arguments (after argv[0]) and
// the parent's binary and arguments.
func execEv(bin, args, pbin, pargs string) *cairn.Event {
	ev := &cairn.Event{ID: "exec-" + bin, Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve", Time: t0, Host: "node-1",
		Process: &cairn.Process{PID: 4242, PPID: 4000, Binary: bin, Args: args, Cwd: "/root", UID: i64(0), LoginUID: i64(1000), ExecID: "ZXhlYy0x"}}
	if pbin != "" {
		ev.Parent = &cairn.Process{PID: 4000, Binary: pbin, Args: pargs}
	}
	return ev
}

// fileEv builds a file event of a process.
func fileEv(bin, path, op string) *cairn.Event {
	ev := execEv(bin, "", "", "")
	ev.Kind, ev.Type, ev.File = cairn.KindFile, "openat", &cairn.File{Path: path, Op: op}
	return ev
}

// netEv builds a connection: op connect or accept, client and server.
func netEv(bin, op, srcIP string, srcPort int64, dstIP string, dstPort int64) *cairn.Event {
	ev := execEv(bin, "", "", "")
	ev.Kind, ev.Type = cairn.KindNetwork, op
	ev.Net = &cairn.Conn{Op: op, Protocol: "tcp", SrcIP: srcIP, SrcPort: srcPort, DstIP: dstIP, DstPort: dstPort}
	return ev
}

// ctEv builds a CloudTrail event from a record's JSON, as the decoder
// would (Raw and the lifted eventName and eventSource).
func ctEv(tb testing.TB, record string) *cairn.Event {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(record), &m); err != nil {
		tb.Fatalf("bad record %s: %v", record, err)
	}
	name, _ := m["eventName"].(string)
	src, _ := m["eventSource"].(string)
	return &cairn.Event{ID: "ct-1", Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Type: name, Time: t0,
		Cloud: &cairn.CloudCall{EventName: name, EventSource: src}, Raw: json.RawMessage(record)}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
