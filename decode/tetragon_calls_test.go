package decode_test

import (
	"maps"
	"testing"

	"github.com/cairn-cdr/cairn/decode"
)

// Kernel hooks on system calls carry their arguments under Falco's names,
// their result and, for opens, the flags and descriptor.
func TestTetragonCallArgs(t *testing.T) {
	const proc = `"process":{"exec_id":"eA==","pid":10,"binary":"/usr/bin/cat","arguments":"/etc/shadow"}`
	cases := []struct {
		name, rec string
		typ       string
		args      map[string]string
		res       *int64
		path      string
		fd        *int64
		flags     string
	}{
		{"openat with return", `{"process_kprobe":{` + proc + `,"function_name":"__x64_sys_openat","args":[{"int_arg":-100},{"string_arg":"/etc/shadow"},{"int_arg":524288}],"return":{"int_arg":3}},"time":"2024-05-01T10:00:00Z"}`,
			"openat", map[string]string{"dirfd": "-100", "name": "/etc/shadow", "flags": "O_RDONLY|O_CLOEXEC"}, i64(3), "/etc/shadow", i64(3), "O_RDONLY|O_CLOEXEC"},
		{"failed openat", `{"process_kprobe":{` + proc + `,"function_name":"__x64_sys_openat","args":[{"string_arg":"/etc/shadow"},{"int_arg":577}],"return":{"int_arg":-13}},"time":"2024-05-01T10:00:00Z"}`,
			"openat", map[string]string{"name": "/etc/shadow", "flags": "O_WRONLY|O_CREAT|O_TRUNC"}, i64(-13), "/etc/shadow", i64(-1), "O_WRONLY|O_CREAT|O_TRUNC"},
		{"fd_install", `{"process_kprobe":{` + proc + `,"function_name":"fd_install","args":[{"int_arg":5},{"file_arg":{"path":"/etc/shadow"}}]},"time":"2024-05-01T10:00:00Z"}`,
			"openat", nil, nil, "/etc/shadow", i64(5), ""},
		{"ptrace", `{"process_kprobe":{` + proc + `,"function_name":"__x64_sys_ptrace","args":[{"int_arg":16},{"int_arg":4242}]},"time":"2024-05-01T10:00:00Z"}`,
			"ptrace", map[string]string{"request": "PTRACE_ATTACH", "pid": "4242"}, nil, "", nil, ""},
		{"socket tracepoint", `{"process_tracepoint":{` + proc + `,"subsys":"syscalls","event":"sys_enter_socket","args":[{"int_arg":17},{"int_arg":3},{"int_arg":768}]},"time":"2024-05-01T10:00:00Z"}`,
			"socket", map[string]string{"domain": "AF_PACKET", "type": "3", "proto": "768"}, nil, "", nil, ""},
		{"symlinkat labelled", `{"process_kprobe":{` + proc + `,"function_name":"__arm64_sys_symlinkat","args":[{"string_arg":"/tmp/link","label":"linkpath"},{"string_arg":"/etc/shadow","label":"target"}]},"time":"2024-05-01T10:00:00Z"}`,
			"symlinkat", map[string]string{"target": "/etc/shadow", "linkpath": "/tmp/link"}, nil, "/etc/shadow", nil, ""},
		{"size and long args as strings", `{"process_kprobe":{` + proc + `,"function_name":"__x64_sys_setuid","args":[{"long_arg":"0"}],"return":{"int_arg":0}},"time":"2024-05-01T10:00:00Z"}`,
			"setuid", map[string]string{"uid": "0"}, i64(0), "", nil, ""},
	}
	for _, c := range cases {
		col := mustDecode(t, c.rec, decode.Tetragon)
		noRejects(t, col)
		if len(col.Events) != 1 {
			t.Fatalf("%s: %d events", c.name, len(col.Events))
		}
		ev := col.Events[0]
		if ev.Type != c.typ || !maps.Equal(ev.Args, c.args) || !ptrEqual(ev.Res, c.res) {
			t.Errorf("%s: type %q args %v res %v; want %q %v %v", c.name, ev.Type, ev.Args, deref(ev.Res), c.typ, c.args, deref(c.res))
		}
		if c.path == "" {
			continue
		}
		if ev.File == nil || ev.File.Path != c.path || !ptrEqual(ev.File.FD, c.fd) || ev.File.Flags != c.flags {
			t.Errorf("%s: file %+v, want path %q fd %v flags %q", c.name, ev.File, c.path, deref(c.fd), c.flags)
		}
	}
}

func TestTetragonCaps(t *testing.T) {
	col := mustDecode(t, `{"process_exec":{"process":{"exec_id":"eA==","pid":10,"binary":"/usr/bin/nsenter","cap":{"permitted":["CAP_CHOWN","DAC_OVERRIDE","CAP_SYS_ADMIN"],"effective":["CAP_SYS_ADMIN"]}}},"time":"2024-05-01T10:00:00Z"}`, decode.Tetragon)
	noRejects(t, col)
	p := col.Events[0].Process
	if len(p.CapPermitted) != 3 || p.CapPermitted[1] != "CAP_DAC_OVERRIDE" || len(p.CapEffective) != 1 || p.CapEffective[0] != "CAP_SYS_ADMIN" {
		t.Errorf("caps %v %v", p.CapPermitted, p.CapEffective)
	}
}

func ptrEqual(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
