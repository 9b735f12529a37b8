package field

import (
	"hash/fnv"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/sysarg"
)

// The runtime fields follow Falco's names and meanings, so that Falco
// rules and analysts who know Falco read them the same way.

func init() {
	register(eventFields()...)
	register(procFields()...)
	register(ancestorFields()...)
	register(userFields()...)
	register(fdFields()...)
	register(callFields()...)
	register(containerFields()...)
	register(k8sFields()...)
	register(alertFields()...)
}

// str wraps a getter of a string that is missing when empty.
func str(get func(ev *cairn.Event) string) Getter {
	return func(ev *cairn.Event, _ string) (any, bool) {
		if v := get(ev); v != "" {
			return v, true
		}
		return nil, false
	}
}

// num wraps a getter of an optional integer.
func num(get func(ev *cairn.Event) (int64, bool)) Getter {
	return func(ev *cairn.Event, _ string) (any, bool) {
		if v, ok := get(ev); ok {
			return v, true
		}
		return nil, false
	}
}

func ptrNum(p *int64) (int64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}

func eventFields() []*Field {
	return []*Field{
		{Name: "evt.time", Type: Time, Desc: "Time of the event.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Time.IsZero() {
					return nil, false
				}
				return ev.Time, true
			}},
		{Name: "evt.type", Type: String, Desc: "Event type: execve, procexit, openat, connect, accept, ... or the API call name of a cloud event.",
			Get: str(func(ev *cairn.Event) string { return ev.Type })},
		{Name: "evt.hostname", Type: String, Desc: "Host (node) the event happened on.", Aliases: []string{"host.hostName", "host.name"},
			Get: str(func(ev *cairn.Event) string { return ev.Host })},
		{Name: "evt.source", Type: String, Desc: "Falco event source: syscall for runtime events, aws_cloudtrail for CloudTrail, or a Falco alert's source.",
			Get: str(falcoSource)},
		{Name: "evt.dir", Type: String, Desc: "Direction of the event as Falco has it: < for every runtime event cairn records (a completed call).",
			Get: str(func(ev *cairn.Event) string {
				if ev.Cloud == nil && (ev.Process != nil || ev.File != nil || ev.Net != nil) {
					return "<"
				}
				return ""
			})},
		{Name: "evt.is_open_read", Type: Bool, Desc: "For a file event, true when the file was opened or accessed for reading.",
			Get: fileAccess("read", "O_RDONLY", "O_RDWR")},
		{Name: "evt.is_open_write", Type: Bool, Desc: "For a file event, true when the file was opened or accessed for writing.",
			Get: fileAccess("write", "O_WRONLY", "O_RDWR")},
		{Name: "evt.is_open_exec", Type: Bool, Desc: "For a file event, true when the file was opened to be executed.",
			Get: fileAccess("exec", "FMODE_EXEC", "MAY_EXEC")},
		{Name: "evt.num", Type: Int, Desc: "A positive number identifying the event, derived from its id (never 0, stable across re-ingests; not an arrival order). Falco's rules use it in never_true and always_true.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.ID == "" {
					return nil, false
				}
				return eventNum(ev.ID), true
			}},
		{Name: "event.id", Type: String, Desc: "cairn's id of the event, derived from the record.",
			Get: str(func(ev *cairn.Event) string { return ev.ID })},
		{Name: "event.source", Type: String, Desc: "Where the event came from: tetragon, falco, cloudtrail, sensor, native.",
			Get: str(func(ev *cairn.Event) string { return string(ev.Source) })},
		{Name: "event.kind", Type: String, Desc: "What the event describes: process_exec, process_exit, file, network, kprobe, cloud_api_call, alert.",
			Get: str(func(ev *cairn.Event) string { return string(ev.Kind) })},
	}
}

func falcoSource(ev *cairn.Event) string {
	switch {
	case ev.Alert != nil && ev.Alert.Source != "":
		return ev.Alert.Source
	case ev.Cloud != nil || ev.Source == cairn.SourceCloudTrail:
		return "aws_cloudtrail"
	case ev.Kind == "":
		return ""
	}
	return "syscall"
}

// procGetter builds a getter on the event's process, with p chosen by
// pick (the process itself or its parent).
func procStr(pick func(ev *cairn.Event) *cairn.Process, get func(p *cairn.Process) string) Getter {
	return str(func(ev *cairn.Event) string {
		if p := pick(ev); p != nil {
			return get(p)
		}
		return ""
	})
}

func procNum(pick func(ev *cairn.Event) *cairn.Process, get func(p *cairn.Process) (int64, bool)) Getter {
	return num(func(ev *cairn.Event) (int64, bool) {
		if p := pick(ev); p != nil {
			return get(p)
		}
		return 0, false
	})
}

func self(ev *cairn.Event) *cairn.Process   { return ev.Process }
func parent(ev *cairn.Event) *cairn.Process { return ev.Parent }

func positive(v int64) (int64, bool) { return v, v > 0 }

func procFields() []*Field {
	return []*Field{
		{Name: "proc.name", Type: String, Desc: "Name of the process (comm, or the executable's base name).",
			Get: procStr(self, (*cairn.Process).Comm)},
		{Name: "proc.exe", Type: String, Desc: "First command-line argument (argv[0]); cairn gives the executable path when argv[0] is not known.",
			Get: procStr(self, func(p *cairn.Process) string { return p.Binary })},
		{Name: "proc.exepath", Type: String, Desc: "Full path of the process's executable.",
			Get: procStr(self, func(p *cairn.Process) string { return p.Binary })},
		{Name: "proc.cmdline", Type: String, Desc: "Process name followed by its arguments.",
			Get: procStr(self, (*cairn.Process).Cmdline)},
		{Name: "proc.args", Type: String, Desc: "Arguments of the process, after argv[0].",
			Get: procStr(self, func(p *cairn.Process) string { return p.Args })},
		{Name: "proc.pid", Type: Int, Desc: "Process id.",
			Get: procNum(self, func(p *cairn.Process) (int64, bool) { return positive(p.PID) })},
		{Name: "proc.ppid", Type: Int, Desc: "Parent process id.",
			Get: procNum(self, func(p *cairn.Process) (int64, bool) {
				if p.PPID > 0 {
					return p.PPID, true
				}
				return 0, false
			})},
		{Name: "proc.cwd", Type: String, Desc: "Working directory of the process.",
			Get: procStr(self, func(p *cairn.Process) string { return p.Cwd })},
		{Name: "proc.tty", Type: Int, Desc: "Controlling terminal of the process (0 when none).",
			Get: procNum(self, func(p *cairn.Process) (int64, bool) { return ptrNum(p.TTY) })},
		{Name: "proc.sid", Type: Int, Desc: "Session id of the process.",
			Get: procNum(self, func(p *cairn.Process) (int64, bool) { return ptrNum(p.SID) })},
		{Name: "proc.exec_id", Type: String, Desc: "Execution id of the process (Tetragon's exec_id), unique across the fleet.",
			Get: procStr(self, func(p *cairn.Process) string { return p.ExecID })},
		{Name: "proc.pexec_id", Type: String, Desc: "Execution id of the parent process.",
			Get: procStr(self, func(p *cairn.Process) string { return p.ParentExecID })},
		{Name: "proc.start_time", Type: Time, Desc: "When the process started.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Process == nil || ev.Process.StartTime.IsZero() {
					return nil, false
				}
				return ev.Process.StartTime, true
			}},
		{Name: "proc.exitcode", Type: Int, Desc: "Exit code of the process (on exit events).",
			Get: procNum(self, func(p *cairn.Process) (int64, bool) { return ptrNum(p.ExitCode) })},
		{Name: "proc.is_exe_upper_layer", Type: Bool, Desc: "True when the executable lives in the container's writable upper layer (written after the container started).",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Process == nil || ev.Process.UpperLayer == nil {
					return nil, false
				}
				return *ev.Process.UpperLayer, true
			}},
		{Name: "proc.pname", Type: String, Desc: "Name of the parent process.",
			Get: procStr(parent, (*cairn.Process).Comm)},
		{Name: "proc.pexe", Type: String, Desc: "argv[0] of the parent process (its executable path when argv[0] is not known).",
			Get: procStr(parent, func(p *cairn.Process) string { return p.Binary })},
		{Name: "proc.pexepath", Type: String, Desc: "Full executable path of the parent process.",
			Get: procStr(parent, func(p *cairn.Process) string { return p.Binary })},
		{Name: "proc.pcmdline", Type: String, Desc: "Command line of the parent process.",
			Get: procStr(parent, (*cairn.Process).Cmdline)},
		{Name: "proc.pcwd", Type: String, Desc: "Working directory of the parent process.",
			Get: procStr(parent, func(p *cairn.Process) string { return p.Cwd })},
		{Name: "proc.sname", Type: String, Desc: "Name of the process's session leader (the process or ancestor whose pid is the session id).",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Process == nil || ev.Process.SID == nil {
					return nil, false
				}
				for i := 0; ; i++ {
					p := ancestor(ev, i)
					if p == nil {
						return nil, false
					}
					if p.PID == *ev.Process.SID {
						return text(p.Comm())
					}
				}
			}},
		{Name: "proc.pgid", Type: Int, Desc: "Process group id of the process.",
			Get: procNum(self, func(p *cairn.Process) (int64, bool) { return ptrNum(p.PGID) })},
		{Name: "proc.vpgid", Type: Int, Desc: "Process group id in the process's own pid namespace (known for host processes, where it is proc.pgid).",
			Get: func(ev *cairn.Event, _ string) (any, bool) { return vpgid(ev) }},
		{Name: "proc.is_vpgid_leader", Type: Bool, Desc: "True when the process leads its process group (proc.vpid = proc.vpgid).",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				g, ok := vpgid(ev)
				if !ok || ev.Process.PID <= 0 {
					return nil, false
				}
				return g.(int64) == ev.Process.PID, true
			}},
		{Name: "proc.duration", Type: Int, Desc: "Nanoseconds from the process's start to the event.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Process == nil || ev.Process.StartTime.IsZero() || ev.Time.IsZero() || ev.Time.Before(ev.Process.StartTime) {
					return nil, false
				}
				return int64(ev.Time.Sub(ev.Process.StartTime)), true
			}},
		{Name: "proc.vpid", Type: Int, Desc: "Process id in the process's own pid namespace: the container's view for a container process, the pid for a host process.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				switch {
				case ev.Process == nil:
					return nil, false
				case ev.Container == nil:
					return positive(ev.Process.PID)
				}
				return positive(ev.Container.PID)
			}},
		{Name: "proc.is_exe_from_memfd", Type: Bool, Desc: "True when the executable is an anonymous memory file (memfd_create), as in fileless execution.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Process == nil || ev.Process.Binary == "" {
					return nil, false
				}
				b := ev.Process.Binary
				return strings.HasPrefix(b, "memfd:") || strings.HasPrefix(b, "/memfd:"), true
			}},
		{Name: "thread.cap_effective", Type: String, Desc: "Effective capabilities of the process, space separated (CAP_SYS_ADMIN CAP_NET_RAW ...).",
			Get: procStr(self, func(p *cairn.Process) string { return strings.Join(p.CapEffective, " ") })},
		{Name: "thread.cap_permitted", Type: String, Desc: "Permitted capabilities of the process, space separated.",
			Get: procStr(self, func(p *cairn.Process) string { return strings.Join(p.CapPermitted, " ") })},
	}
}

// ancestor returns the n-th ancestor: 0 is the process itself, 1 its
// parent, 2 the grandparent, as in Falco.
func ancestor(ev *cairn.Event, n int) *cairn.Process {
	switch {
	case n == 0:
		return ev.Process
	case n == 1:
		return ev.Parent
	case n-2 < len(ev.Ancestors):
		return &ev.Ancestors[n-2]
	}
	return nil
}

// ancestorField builds a field that takes an ancestor index; without an
// index it is the list of every ancestor's value (parent first), and a
// comparison is true when any ancestor satisfies it.
func ancestorField(name, desc string, typ Type, get func(p *cairn.Process) (any, bool)) *Field {
	return &Field{Name: name, Type: List, Desc: desc, Arg: IndexArg, ArgOptional: true,
		// Names and pids of the ancestors are short and filtered on often;
		// the others repeat long text of every ancestor in every row.
		Unstored: name != "proc.aname" && name != "proc.apid",
		Get: func(ev *cairn.Event, arg string) (any, bool) {
			if arg != "" {
				n, err := strconv.Atoi(arg)
				if err != nil {
					return nil, false
				}
				p := ancestor(ev, n)
				if p == nil {
					return nil, false
				}
				v, ok := get(p)
				if !ok {
					return nil, false
				}
				if typ == Int {
					return strconv.FormatInt(v.(int64), 10), true
				}
				return v, true
			}
			var out []string
			for n := 1; ; n++ {
				p := ancestor(ev, n)
				if p == nil {
					break
				}
				if v, ok := get(p); ok {
					if typ == Int {
						out = append(out, strconv.FormatInt(v.(int64), 10))
					} else {
						out = append(out, v.(string))
					}
				}
			}
			if len(out) == 0 {
				return nil, false
			}
			return out, true
		}}
}

func nonEmpty(s string) (any, bool) { return s, s != "" }

func ancestorFields() []*Field {
	return []*Field{
		ancestorField("proc.aname", "Name of an ancestor: proc.aname[1] is the parent, [2] the grandparent; without an index, any ancestor.", String,
			func(p *cairn.Process) (any, bool) { return nonEmpty(p.Comm()) }),
		ancestorField("proc.apid", "Pid of an ancestor (as text); without an index, any ancestor.", Int,
			func(p *cairn.Process) (any, bool) { return p.PID, p.PID > 0 }),
		ancestorField("proc.aexe", "argv[0] (or executable path) of an ancestor; without an index, any ancestor.", String,
			func(p *cairn.Process) (any, bool) { return nonEmpty(p.Binary) }),
		ancestorField("proc.aexepath", "Executable path of an ancestor; without an index, any ancestor.", String,
			func(p *cairn.Process) (any, bool) { return nonEmpty(p.Binary) }),
		ancestorField("proc.acmdline", "Command line of an ancestor; without an index, any ancestor.", String,
			func(p *cairn.Process) (any, bool) { return nonEmpty(p.Cmdline()) }),
	}
}

func userFields() []*Field {
	return []*Field{
		{Name: "user.name", Type: String, Desc: "Name of the user the process runs as (root for uid 0 when the source gives no name).", Aliases: []string{"user.username"},
			Get: procStr(self, func(p *cairn.Process) string {
				if p.User != "" {
					return p.User
				}
				if p.UID != nil && *p.UID == 0 {
					return "root"
				}
				return ""
			})},
		{Name: "user.uid", Type: Int, Desc: "User id of the process.",
			Get: procNum(self, func(p *cairn.Process) (int64, bool) { return ptrNum(p.UID) })},
		{Name: "user.loginuid", Type: Int, Desc: "Audit login user id of the process (-1 when unset).",
			Get: procNum(self, func(p *cairn.Process) (int64, bool) {
				v, ok := ptrNum(p.LoginUID)
				if ok && v == 4294967295 {
					v = -1
				}
				return v, ok
			})},
		{Name: "group.gid", Type: Int, Desc: "Group id of the process.",
			Get: procNum(self, func(p *cairn.Process) (int64, bool) { return ptrNum(p.GID) })},
	}
}

func file(ev *cairn.Event) *cairn.File { return ev.File }

func connGetter(get func(c *cairn.Conn) (any, bool)) Getter {
	return func(ev *cairn.Event, _ string) (any, bool) {
		if ev.Net == nil {
			return nil, false
		}
		return get(ev.Net)
	}
}

// local reports whether the client side of c is the local end.
func clientIsLocal(c *cairn.Conn) bool { return c.Op != "accept" }

func fdFields() []*Field {
	text := func(s string) (any, bool) { return s, s != "" }
	port := func(p int64) (any, bool) { return p, p > 0 }
	return []*Field{
		{Name: "fd.name", Type: String, Desc: "File path, or for a connection client-ip:port->server-ip:port.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if f := file(ev); f != nil && f.Path != "" {
					return f.Path, true
				}
				if c := ev.Net; c != nil && (c.DstIP != "" || c.SrcIP != "") {
					if c.SrcIP == "" {
						return hostPort(c.DstIP, c.DstPort), true
					}
					return hostPort(c.SrcIP, c.SrcPort) + "->" + hostPort(c.DstIP, c.DstPort), true
				}
				return nil, false
			}},
		{Name: "fd.directory", Type: String, Desc: "Directory of the file.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if f := file(ev); f != nil && f.Path != "" && strings.Contains(f.Path, "/") {
					return path.Dir(f.Path), true
				}
				return nil, false
			}},
		{Name: "fd.filename", Type: String, Desc: "Base name of the file.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if f := file(ev); f != nil && f.Path != "" {
					return path.Base(f.Path), true
				}
				return nil, false
			}},
		{Name: "fd.typechar", Type: String, Desc: "Type of the file descriptor as one character: f file, 4 IPv4 socket, 6 IPv6 socket.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				switch {
				case ev.File != nil:
					return "f", true
				case ev.Net != nil:
					if strings.Contains(ev.Net.DstIP+ev.Net.SrcIP, ":") {
						return "6", true
					}
					return "4", true
				}
				return nil, false
			}},
		{Name: "fd.type", Type: String, Desc: "Type of the file descriptor: file, ipv4, ipv6.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				switch {
				case ev.File != nil:
					return "file", true
				case ev.Net != nil:
					if strings.Contains(ev.Net.DstIP+ev.Net.SrcIP, ":") {
						return "ipv6", true
					}
					return "ipv4", true
				}
				return nil, false
			}},
		{Name: "fd.sip", Type: IP, Desc: "Server IP address of the connection.", Get: connGetter(func(c *cairn.Conn) (any, bool) { return text(c.DstIP) })},
		{Name: "fd.sport", Type: Int, Desc: "Server port of the connection.", Get: connGetter(func(c *cairn.Conn) (any, bool) { return port(c.DstPort) })},
		{Name: "fd.cip", Type: IP, Desc: "Client IP address of the connection.", Get: connGetter(func(c *cairn.Conn) (any, bool) { return text(c.SrcIP) })},
		{Name: "fd.cport", Type: Int, Desc: "Client port of the connection.", Get: connGetter(func(c *cairn.Conn) (any, bool) { return port(c.SrcPort) })},
		{Name: "fd.rip", Type: IP, Desc: "Remote IP address of the connection.", Get: connGetter(func(c *cairn.Conn) (any, bool) {
			if clientIsLocal(c) {
				return text(c.DstIP)
			}
			return text(c.SrcIP)
		})},
		{Name: "fd.rport", Type: Int, Desc: "Remote port of the connection.", Get: connGetter(func(c *cairn.Conn) (any, bool) {
			if clientIsLocal(c) {
				return port(c.DstPort)
			}
			return port(c.SrcPort)
		})},
		{Name: "fd.lip", Type: IP, Desc: "Local IP address of the connection.", Get: connGetter(func(c *cairn.Conn) (any, bool) {
			if clientIsLocal(c) {
				return text(c.SrcIP)
			}
			return text(c.DstIP)
		})},
		{Name: "fd.lport", Type: Int, Desc: "Local port of the connection.", Get: connGetter(func(c *cairn.Conn) (any, bool) {
			if clientIsLocal(c) {
				return port(c.SrcPort)
			}
			return port(c.DstPort)
		})},
		{Name: "fd.l4proto", Type: String, Desc: "Transport protocol of the connection: tcp, udp.", Get: connGetter(func(c *cairn.Conn) (any, bool) {
			return text(strings.ToLower(c.Protocol))
		})},
		{Name: "fd.num", Type: Int, Desc: "File descriptor number the open returned; -1 when the open failed.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				f := file(ev)
				switch {
				case f == nil:
					return nil, false
				case f.FD != nil:
					return *f.FD, true
				case ev.Res != nil && f.Op == "open":
					return max(*ev.Res, -1), true // open returns the descriptor or -errno
				}
				return nil, false
			}},
		{Name: "fd.nameraw", Type: String, Desc: "File path as the source reported it (cairn does not resolve paths, so as fd.name).",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if f := file(ev); f != nil && f.Path != "" {
					return f.Path, true
				}
				return nil, false
			}},
		{Name: "fd.ip", Type: IP, Unstored: true, Desc: "Either IP address of the connection: a comparison holds when it holds for the client or the server address.",
			Get: connGetter(func(c *cairn.Conn) (any, bool) { return either(c.SrcIP, c.DstIP) })},
		{Name: "fd.port", Type: Int, Unstored: true, Desc: "Either port of the connection: a comparison holds when it holds for the client or the server port.",
			Get: connGetter(func(c *cairn.Conn) (any, bool) {
				var ps []string
				for _, p := range []int64{c.SrcPort, c.DstPort} {
					if p > 0 {
						ps = append(ps, strconv.FormatInt(p, 10))
					}
				}
				if len(ps) == 0 {
					return nil, false
				}
				return ps, true
			})},
		{Name: "fd.net", Type: IP, Unstored: true, Desc: "Either IP address of the connection, for comparison with networks (fd.net = \"10.0.0.0/8\").",
			Get: connGetter(func(c *cairn.Conn) (any, bool) { return either(c.SrcIP, c.DstIP) })},
		{Name: "fd.snet", Type: IP, Unstored: true, Desc: "Server IP address of the connection, for comparison with networks.",
			Get: connGetter(func(c *cairn.Conn) (any, bool) { return text(c.DstIP) })},
		{Name: "fd.cnet", Type: IP, Unstored: true, Desc: "Client IP address of the connection, for comparison with networks.",
			Get: connGetter(func(c *cairn.Conn) (any, bool) { return text(c.SrcIP) })},
		{Name: "fd.rnet", Type: IP, Unstored: true, Desc: "Remote IP address of the connection, for comparison with networks.",
			Get: connGetter(func(c *cairn.Conn) (any, bool) {
				if clientIsLocal(c) {
					return text(c.DstIP)
				}
				return text(c.SrcIP)
			})},
		{Name: "fd.lnet", Type: IP, Unstored: true, Desc: "Local IP address of the connection, for comparison with networks.",
			Get: connGetter(func(c *cairn.Conn) (any, bool) {
				if clientIsLocal(c) {
					return text(c.SrcIP)
				}
				return text(c.DstIP)
			})},
		{Name: "fd.sockfamily", Type: String, Desc: "Socket family of a connection: ip (cairn records IP connections only).",
			Get: connGetter(func(c *cairn.Conn) (any, bool) { return "ip", true })},
		{Name: "fd.connected", Type: Bool, Desc: "For a connection: true once it is established (accepted, or connected with success), false while a connect is in progress.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				c := ev.Net
				switch {
				case c == nil:
					return nil, false
				case c.Op == "accept":
					return true, true
				case c.Op == "connect" && ev.Res != nil:
					return *ev.Res >= 0, true
				}
				return nil, false
			}},
		{Name: "fd.name_changed", Type: Bool, Desc: "True when the event gave the socket its name (a connect); false for the other socket events cairn records.",
			Get: connGetter(func(c *cairn.Conn) (any, bool) { return c.Op == "connect", true })},
		{Name: "net.op", Type: String, Desc: "What happened to the connection: connect, accept, listen, close.", Get: connGetter(func(c *cairn.Conn) (any, bool) { return text(c.Op) })},
		{Name: "file.op", Type: String, Desc: "What was done to the file: open, read, write, unlink, rename, chmod, exec.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if f := file(ev); f != nil {
					return text(f.Op)
				}
				return nil, false
			}},
	}
}

func hostPort(ip string, port int64) string {
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	if port <= 0 {
		return ip
	}
	return ip + ":" + strconv.FormatInt(port, 10)
}

// imageParts splits an image reference into repository, tag and digest.
func imageParts(ref string) (repo, tag, digest string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	// A colon after the last slash separates the tag; one before it
	// belongs to a registry's port.
	if i := strings.LastIndexByte(ref, ':'); i >= 0 && i > strings.LastIndexByte(ref, '/') {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

func ctr(get func(c *cairn.Container) string) Getter {
	return str(func(ev *cairn.Event) string {
		if ev.Container != nil {
			return get(ev.Container)
		}
		return ""
	})
}

func containerFields() []*Field {
	return []*Field{
		{Name: "container.id", Type: String, Desc: "Short (12 character) container id; host for processes outside containers, as in Falco.",
			Get: str(func(ev *cairn.Event) string {
				if ev.Container != nil {
					return ev.Container.ID
				}
				if ev.Process != nil && ev.Cloud == nil {
					return "host"
				}
				return ""
			})},
		{Name: "container.full_id", Type: String, Desc: "Full container id.", Get: ctr(func(c *cairn.Container) string { return c.FullID })},
		{Name: "container.name", Type: String, Desc: "Container name.", Get: ctr(func(c *cairn.Container) string { return c.Name })},
		{Name: "container.runtime", Type: String, Desc: "Container runtime: containerd, docker, cri-o.", Get: ctr(func(c *cairn.Container) string { return c.Runtime })},
		{Name: "container.image", Type: String, Desc: "Container image reference as given (repository:tag).", Aliases: []string{"container.image.name"},
			Get: ctr(func(c *cairn.Container) string { return c.Image })},
		{Name: "container.image.repository", Type: String, Desc: "Repository of the container image, without tag or digest.",
			Get: ctr(func(c *cairn.Container) string { r, _, _ := imageParts(c.Image); return r })},
		{Name: "container.image.tag", Type: String, Desc: "Tag of the container image.",
			Get: ctr(func(c *cairn.Container) string { _, t, _ := imageParts(c.Image); return t })},
		{Name: "container.image.digest", Type: String, Desc: "Digest of the container image.",
			Get: ctr(func(c *cairn.Container) string {
				if _, _, d := imageParts(c.Image); d != "" {
					return d
				}
				_, _, d := imageParts(c.ImageID)
				return d
			})},
		{Name: "container.image.id", Type: String, Desc: "Image id as the runtime reports it.", Get: ctr(func(c *cairn.Container) string { return c.ImageID })},
		{Name: "container.privileged", Type: Bool, Desc: "True for a privileged container.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Container == nil || ev.Container.Privileged == nil {
					return nil, false
				}
				return *ev.Container.Privileged, true
			}},
		{Name: "container.start_time", Type: Time, Desc: "When the container started.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Container == nil || ev.Container.StartTime.IsZero() {
					return nil, false
				}
				return ev.Container.StartTime, true
			}},
	}
}

func kube(get func(k *cairn.K8s) string) Getter {
	return str(func(ev *cairn.Event) string {
		if ev.K8s != nil {
			return get(ev.K8s)
		}
		return ""
	})
}

func k8sFields() []*Field {
	return []*Field{
		{Name: "k8s.cluster.name", Type: String, Desc: "Kubernetes cluster name.", Aliases: []string{"kubernetes.cluster.name"},
			Get: kube(func(k *cairn.K8s) string { return k.Cluster })},
		{Name: "k8s.ns.name", Type: String, Desc: "Kubernetes namespace.", Aliases: []string{"kubernetes.namespace.name"},
			Get: kube(func(k *cairn.K8s) string { return k.Namespace })},
		{Name: "k8s.pod.name", Type: String, Desc: "Kubernetes pod name.", Aliases: []string{"kubernetes.pod.name"},
			Get: kube(func(k *cairn.K8s) string { return k.Pod })},
		{Name: "k8s.pod.uid", Type: String, Desc: "Kubernetes pod uid.", Get: kube(func(k *cairn.K8s) string { return k.PodUID })},
		{Name: "k8s.pod.labels", Type: String, Desc: "Pod labels as key:value pairs, sorted, comma separated.",
			Get: kube(func(k *cairn.K8s) string { return labelText(k.Labels) })},
		{Name: "k8s.pod.label", Type: String, Desc: "Value of one pod label: k8s.pod.label[app].", Arg: KeyArg,
			Get: func(ev *cairn.Event, key string) (any, bool) {
				if ev.K8s == nil {
					return nil, false
				}
				v, ok := ev.K8s.Labels[key]
				return v, ok
			}},
		{Name: "k8s.workload.kind", Type: String, Desc: "Kind of the workload that owns the pod: Deployment, DaemonSet, StatefulSet, Job, ...",
			Get: kube(func(k *cairn.K8s) string { return k.WorkloadKind })},
		{Name: "k8s.workload.name", Type: String, Desc: "Name of the workload that owns the pod.", Aliases: []string{"kubernetes.workload.name"},
			Get: kube(func(k *cairn.K8s) string { return k.WorkloadName })},
	}
}

func labelText(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(labels[k])
	}
	return b.String()
}

func alertFields() []*Field {
	return []*Field{
		{Name: "severity", Type: Severity, Desc: "Severity on an ordered scale: info < low < medium < high < critical (Falco priorities and Sigma levels map onto it).",
			Aliases: []string{"priority"},
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Alert == nil {
					return nil, false
				}
				if r, ok := SeverityRank(ev.Alert.Priority); ok {
					return r, true
				}
				return nil, false
			}},
		{Name: "rule.name", Type: String, Desc: "Name of the rule that raised the alert or detection.",
			Get: str(func(ev *cairn.Event) string {
				if ev.Alert != nil {
					return ev.Alert.Rule
				}
				return ""
			})},
		{Name: "rule.tags", Type: List, Desc: "Tags of the rule; a comparison is true when any tag satisfies it.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Alert == nil || len(ev.Alert.Tags) == 0 {
					return nil, false
				}
				return append([]string(nil), ev.Alert.Tags...), true
			}},
		{Name: "mitre.tactic", Type: List, Desc: "ATT&CK tactics the rule's tags name, each as its id and its short name (TA0002, execution); a comparison is true when any matches.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Alert == nil {
					return nil, false
				}
				return TacticValues(ev.Alert.Tags)
			}},
		{Name: "mitre.technique", Type: List, Desc: "ATT&CK techniques the rule's tags name, by id (T1059.004).",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if ev.Alert == nil {
					return nil, false
				}
				return TechniqueValues(ev.Alert.Tags)
			}},
		{Name: "status", Type: String, Desc: "Triage status of a detection: new, acknowledged, resolved or false_positive (detections only).",
			Aliases: []string{"detection.status"},
			Get:     func(*cairn.Event, string) (any, bool) { return nil, false }},
		{Name: "assignee", Type: String, Desc: "Analyst a detection is assigned to; absent when unassigned (detections only).",
			Aliases: []string{"detection.assignee"},
			Get:     func(*cairn.Event, string) (any, bool) { return nil, false }},
		{Name: "alert.output", Type: String, Desc: "Output text of an alert from another engine (Falco).",
			Get: str(func(ev *cairn.Event) string {
				if ev.Alert != nil {
					return ev.Alert.Output
				}
				return ""
			})},
	}
}

// severities is cairn's ordered severity scale, info < low < medium <
// high < critical, and the names that map onto it: Falco's eight
// priorities and Sigma's levels.
var severities = []struct {
	names []string
	rank  int64
}{
	{[]string{"info", "informational", "debug"}, 0},
	{[]string{"low", "notice"}, 1},
	{[]string{"medium", "warning", "warn"}, 2},
	{[]string{"high", "error"}, 3},
	{[]string{"critical", "alert", "emergency"}, 4},
}

// SeverityRank returns the rank of a severity, Falco priority or Sigma
// level name (case-insensitive) on cairn's scale: info 0 (informational,
// debug), low 1 (notice), medium 2 (warning), high 3 (error), critical 4
// (alert, emergency).
func SeverityRank(name string) (int64, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, s := range severities {
		for _, n := range s.names {
			if n == name {
				return s.rank, true
			}
		}
	}
	return 0, false
}

// SeverityName returns the canonical name of a severity rank.
func SeverityName(rank int64) string {
	for _, s := range severities {
		if s.rank == rank {
			return s.names[0]
		}
	}
	return "unknown"
}

// fileAccess builds a getter that is true when a file event's operation
// is op or its flags name one of flags, false for other file events, and
// missing for events without a file.
func fileAccess(op string, flags ...string) Getter {
	return func(ev *cairn.Event, _ string) (any, bool) {
		f := ev.File
		if f == nil {
			return nil, false
		}
		if f.Op == op {
			return true, true
		}
		if f.Op == "open" && f.Flags == "" {
			return nil, false // an open whose flags the source does not report
		}
		for _, fl := range flags {
			if strings.Contains(f.Flags, fl) {
				return true, true
			}
		}
		return false, true
	}
}

// TacticValues returns the values of mitre.tactic for a rule's tags: the
// id and the short name of every tactic they name.
func TacticValues(tags []string) ([]string, bool) {
	_, tactics := attack.FromTags(tags)
	var out []string
	for _, t := range tactics {
		out = append(out, t.ID, t.Shortname)
	}
	return out, len(out) > 0
}

// TechniqueValues returns the values of mitre.technique for a rule's
// tags.
func TechniqueValues(tags []string) ([]string, bool) {
	techniques, _ := attack.FromTags(tags)
	var out []string
	for _, t := range techniques {
		out = append(out, t.ID)
	}
	return out, len(out) > 0
}

// eventNum derives evt.num from an event id: 62 bits of its FNV-1a hash,
// plus one so that it is never 0.
func eventNum(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int64(h.Sum64()>>2) + 1
}

// either returns the non-empty addresses of a connection's two ends, so
// that a comparison holds when it holds for either.
func either(a, b string) (any, bool) {
	switch {
	case a == "" && b == "":
		return nil, false
	case a == "":
		return b, true
	case b == "":
		return a, true
	}
	return []string{a, b}, true
}

// callFields are the system call's result and arguments.
func callFields() []*Field {
	return []*Field{
		{Name: "evt.rawres", Type: Int, Desc: "Raw result of the call: not negative on success, a negative error number on failure. An exec event is a successful execve (0).",
			Get: func(ev *cairn.Event, _ string) (any, bool) { return result(ev) }},
		{Name: "evt.res", Type: String, Desc: "Result of the call: SUCCESS, or the error's name (ENOENT, EACCES, EINPROGRESS, ...).",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if r, ok := result(ev); ok {
					return sysarg.Result(r.(int64)), true
				}
				return nil, false
			}},
		{Name: "evt.failed", Type: Bool, Desc: "True when the call returned an error.",
			Get: func(ev *cairn.Event, _ string) (any, bool) {
				if r, ok := result(ev); ok {
					return r.(int64) < 0, true
				}
				return nil, false
			}},
		{Name: "evt.arg", Type: String, Arg: KeyArg, Desc: "An argument of the call by Falco's name, written evt.arg.flags or evt.arg[flags]: open flags (O_WRONLY|O_CREAT), ptrace request (PTRACE_ATTACH), socket domain (AF_PACKET), link target and paths, uid, mode, ...; set where the source reports it.",
			Get: func(ev *cairn.Event, arg string) (any, bool) {
				if v, ok := ev.Args[arg]; ok {
					return v, true
				}
				if arg == "flags" && ev.File != nil && ev.File.Op == "open" && ev.File.Flags != "" {
					return ev.File.Flags, true
				}
				return nil, false
			}},
	}
}

// result returns the event's raw result; an exec event reports a
// successful execve, the only kind any source cairn reads records.
func result(ev *cairn.Event) (any, bool) {
	switch {
	case ev.Res != nil:
		return *ev.Res, true
	case ev.Kind == cairn.KindExec:
		return int64(0), true
	}
	return nil, false
}

// vpgid is the process group id as the process's namespace sees it: for
// a host process its pgid; unknown inside a container.
func vpgid(ev *cairn.Event) (any, bool) {
	if ev.Process == nil || ev.Process.PGID == nil || ev.Container != nil {
		return nil, false
	}
	return *ev.Process.PGID, true
}

func text(s string) (any, bool) { return s, s != "" }
