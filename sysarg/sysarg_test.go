package sysarg

import (
	"reflect"
	"testing"
)

func TestName(t *testing.T) {
	cases := []struct {
		call string
		args []Arg
		want map[string]string
	}{
		// A policy that reports all of openat's first three arguments.
		{"openat", []Arg{{Kind: Int, Int: -100}, {Kind: Text, Text: "/etc/shadow"}, {Kind: Int, Int: 0o1101}},
			map[string]string{"dirfd": "-100", "name": "/etc/shadow", "flags": "O_WRONLY|O_CREAT|O_TRUNC"}},
		// One that leaves out the directory descriptor.
		{"openat", []Arg{{Kind: Text, Text: "/var/log/syslog"}, {Kind: Int, Int: 0o2000002}},
			map[string]string{"name": "/var/log/syslog", "flags": "O_RDWR|O_CLOEXEC"}},
		// A label places an argument whatever its order.
		{"openat", []Arg{{Kind: Int, Int: 0, Label: "flags"}, {Kind: Text, Text: "/x"}},
			map[string]string{"flags": "O_RDONLY", "name": "/x"}},
		{"ptrace", []Arg{{Kind: Int, Int: 16}, {Kind: Int, Int: 4242}},
			map[string]string{"request": "PTRACE_ATTACH", "pid": "4242"}},
		{"ptrace", []Arg{{Kind: Int, Int: 0x4206}}, map[string]string{"request": "PTRACE_SEIZE"}},
		{"socket", []Arg{{Kind: Int, Int: 17}, {Kind: Int, Int: 3}}, map[string]string{"domain": "AF_PACKET", "type": "3"}},
		{"symlinkat", []Arg{{Kind: Text, Text: "/etc/shadow"}, {Kind: Int, Int: -100}, {Kind: Text, Text: "/tmp/s"}},
			map[string]string{"target": "/etc/shadow", "linkdirfd": "-100", "linkpath": "/tmp/s"}},
		{"linkat", []Arg{{Kind: Text, Text: "/etc/shadow"}, {Kind: Text, Text: "/tmp/h"}},
			map[string]string{"oldpath": "/etc/shadow", "newpath": "/tmp/h"}},
		{"bpf", []Arg{{Kind: Int, Int: 5}}, map[string]string{"cmd": "BPF_PROG_LOAD"}},
		{"mkdir", []Arg{{Kind: Text, Text: "/d"}, {Kind: Int, Int: 0o755}}, map[string]string{"path": "/d", "mode": "0755"}},
		{"dup2", []Arg{{Kind: Int, Int: 3}, {Kind: Int, Int: 1}}, map[string]string{"oldfd": "3", "newfd": "1"}},
		// More arguments than parameters of their kind: the extra is dropped.
		{"setuid", []Arg{{Kind: Int, Int: 0}, {Kind: Int, Int: 7}}, map[string]string{"uid": "0"}},
		{"setuid", []Arg{{Kind: Text, Text: "root"}}, nil},
		{"no_such_call", []Arg{{Kind: Int, Int: 1}}, nil},
		{"openat", nil, nil},
	}
	for _, c := range cases {
		if got := Name(c.call, c.args); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Name(%s, %+v) = %v, want %v", c.call, c.args, got, c.want)
		}
	}
}

func TestResult(t *testing.T) {
	for raw, want := range map[int64]string{0: "SUCCESS", 5: "SUCCESS", -2: "ENOENT", -13: "EACCES", EINPROGRESS: "EINPROGRESS", -4095: "E4095"} {
		if got := Result(raw); got != want {
			t.Errorf("Result(%d) = %q, want %q", raw, got, want)
		}
	}
}

func TestOpenFlags(t *testing.T) {
	for v, want := range map[int64]string{0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 0o100 | 1: "O_WRONLY|O_CREAT", 0o20200000: "O_RDONLY|O_DIRECTORY|O_TMPFILE"} {
		if got := OpenFlags(v); got != want {
			t.Errorf("OpenFlags(%#o) = %q, want %q", v, got, want)
		}
	}
}

func TestKnown(t *testing.T) {
	for _, n := range []string{"flags", "request", "domain", "target", "linkpath", "oldpath", "newpath", "uid", "mode", "name", "cmd", "path"} {
		if !Known(n) {
			t.Errorf("Known(%q) = false", n)
		}
	}
	if Known("res_or_fd") {
		t.Error("Known(res_or_fd) = true; no call cairn names has it")
	}
}

func FuzzName(f *testing.F) {
	f.Add("openat", int64(-100), "/etc/passwd", "flags", true)
	f.Add("ptrace", int64(16), "", "", false)
	f.Fuzz(func(t *testing.T, call string, n int64, text, label string, textFirst bool) {
		args := []Arg{{Kind: Int, Int: n, Label: label}, {Kind: Text, Text: text}}
		if textFirst {
			args[0], args[1] = args[1], args[0]
		}
		for k := range Name(call, args) {
			if !Known(k) {
				t.Fatalf("Name gave unknown argument %q", k)
			}
		}
		_ = Result(n)
	})
}
