package decode

import (
	"strconv"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/sysarg"
)

// ttHookEvent classifies a kprobe, tracepoint, uprobe or LSM event by
// its arguments and function: a socket argument makes it a network
// event, a file or path argument a file event; anything else stays a
// kernel hook whose type is the function's name.
func ttHookEvent(name string, h *ttHook, ev *cairn.Event) {
	fn := h.FunctionName
	switch name {
	case "process_tracepoint":
		fn = h.Event
	case "process_uprobe":
		ev.Kind, ev.Type = cairn.KindKprobe, h.Symbol
		if ev.Type == "" {
			ev.Type = "uprobe"
		}
		return
	}
	core := hookCore(fn)
	args := h.Args
	if h.Return != nil {
		// inet_csk_accept returns the accepted socket.
		args = append(args[:len(args):len(args)], *h.Return)
	}
	if c := hookConn(core, args); c != nil {
		ev.Kind, ev.Net = cairn.KindNetwork, c
		ev.Type = netTypes[c.Op]
		if ev.Type == "" {
			ev.Type = fn
		}
		return
	}
	defer hookResult(fn, core, h, ev)
	if f := hookFile(core, h.Args); f != nil {
		ev.Kind, ev.File = cairn.KindFile, f
		ev.Type = fileCalls[core].typ
		if ev.Type == "" {
			ev.Type = f.Op
		}
		return
	}
	if call, ok := syscallName(fn); ok {
		ev.Args = sysarg.Name(call, hookArgs(h.Args))
		if fc, isFile := fileCalls[call]; isFile {
			if p := firstText(call, ev.Args); p != "" {
				ev.Kind, ev.Type = cairn.KindFile, fc.typ
				ev.File = &cairn.File{Path: p, Op: fc.op}
				if fc.op == "open" {
					ev.File.Flags = ev.Args["flags"]
				}
				return
			}
		}
		ev.Kind, ev.Type = cairn.KindKprobe, call
		return
	}
	ev.Kind, ev.Type = cairn.KindKprobe, fn
	if ev.Type == "" {
		ev.Type = strings.TrimPrefix(name, "process_")
	}
}

// hookResult sets the call's result and, for fd_install, the file
// descriptor: a system call's or security hook's integer return value is
// its result (0 or a descriptor on success, a negative error number on
// failure).
func hookResult(fn, core string, h *ttHook, ev *cairn.Event) {
	if fn == "fd_install" && ev.File != nil {
		for _, a := range h.Args {
			if a.IntArg != nil {
				fd := *a.IntArg
				ev.File.FD = &fd
				break
			}
		}
	}
	if h.Return == nil || h.Return.IntArg == nil {
		return
	}
	if _, isCall := syscallName(fn); isCall || strings.HasPrefix(fn, "security_") {
		r := *h.Return.IntArg
		ev.Res = &r
		if ev.File != nil && ev.File.Op == "open" && ev.File.FD == nil && core != "permission" {
			fd := max(r, -1)
			ev.File.FD = &fd
		}
	}
}

// syscallName returns the system call a function or tracepoint is the
// entry of: __x64_sys_openat, sys_openat and sys_enter_openat are openat.
func syscallName(fn string) (string, bool) {
	for _, p := range []string{"__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__ia32_compat_sys_", "__x32_compat_sys_",
		"__se_sys_", "__do_sys_", "sys_enter_", "sys_"} {
		if strings.HasPrefix(fn, p) && len(fn) > len(p) {
			return fn[len(p):], true
		}
	}
	return "", false
}

// hookArgs turns a hook's arguments into sysarg's, numbers and text; an
// argument of another kind (a socket, a file) keeps no value.
func hookArgs(args []ttArg) []sysarg.Arg {
	out := make([]sysarg.Arg, 0, len(args))
	for _, a := range args {
		x := sysarg.Arg{Label: a.Label}
		switch {
		case a.IntArg != nil:
			x.Int = *a.IntArg
		case a.SizeArg != nil:
			x.Int = int64(*a.SizeArg)
		case a.LongArg != nil:
			x.Int = int64(*a.LongArg)
		case a.UintArg != nil:
			x.Int = int64(*a.UintArg)
		case a.StringArg != nil:
			x.Kind, x.Text = sysarg.Text, absPath(*a.StringArg)
		case a.FileArg != nil:
			x.Kind, x.Text = sysarg.Text, absPath(a.FileArg.Path)
		case a.PathArg != nil:
			x.Kind, x.Text = sysarg.Text, absPath(a.PathArg.Path)
		default:
			continue
		}
		out = append(out, x)
	}
	return out
}

// firstText returns the first path argument of a call.
func firstText(call string, args map[string]string) string {
	for _, p := range sysarg.Params(call) {
		if p.Kind == sysarg.Text && args[p.Name] != "" {
			return args[p.Name]
		}
	}
	return ""
}

// hookCore strips the architecture, syscall and subsystem prefixes from
// a kernel function's name: __x64_sys_openat → openat,
// security_file_open → open, vfs_unlink → unlink, tcp_connect stays.
func hookCore(fn string) string {
	s := fn
	for _, p := range []string{"__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__ia32_compat_sys_", "__x32_compat_sys_",
		"__se_sys_", "__do_sys_", "__sys_", "ksys_", "sys_enter_", "sys_exit_", "sys_", "do_sys_", "security_"} {
		if strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	if c, ok := coreAliases[s]; ok {
		return c
	}
	for _, p := range []string{"file_", "path_", "inode_", "vfs_", "do_"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return s[len(p):]
		}
	}
	return s
}

// coreAliases names functions whose core is not their suffix.
var coreAliases = map[string]string{
	"fd_install":           "open",
	"filp_open":            "open",
	"do_filp_open":         "open",
	"filp_close":           "close",
	"close_fd":             "close",
	"mmap_file":            "mmap",
	"bprm_check":           "exec",
	"bprm_check_security":  "exec",
	"bprm_creds_for_exec":  "exec",
	"bprm_committed_creds": "exec",
	"bprm_execve":          "exec",
	"execve":               "exec",
	"execveat":             "exec",
	"chmod_common":         "chmod",
	"inet_csk_accept":      "accept",
	"socket_connect":       "connect",
	"socket_accept":        "accept",
	"socket_listen":        "listen",
	"socket_bind":          "bind",
	"socket_sendmsg":       "sendmsg",
	"socket_recvmsg":       "recvmsg",
	"inet_stream_connect":  "connect",
	"tcp_v4_connect":       "connect",
	"tcp_v6_connect":       "connect",
	"tcp_connect":          "connect",
	"ip4_datagram_connect": "connect",
	"inet_listen":          "listen",
	"inet_bind":            "bind",
	"tcp_close":            "close",
	"inet_release":         "close",
	"sock_close":           "close",
	"tcp_sendmsg":          "sendmsg",
	"udp_sendmsg":          "sendmsg",
	"sock_sendmsg":         "sendmsg",
	"tcp_recvmsg":          "recvmsg",
	"udp_recvmsg":          "recvmsg",
	"sock_recvmsg":         "recvmsg",
	"tcp_set_state":        "state",
}

// fileCall is what a file function's core (open, pwrite64, ...) means:
// the file operation and the closest system call, the event type Falco
// would use.
type fileCall struct{ op, typ string }

// fileCalls maps a function's core to its fileCall.
var fileCalls = map[string]fileCall{
	"open": {"open", "openat"}, "openat": {"open", "openat"}, "openat2": {"open", "openat2"},
	"creat": {"open", "creat"}, "read": {"read", "read"}, "pread64": {"read", "pread"},
	"readv": {"read", "readv"}, "preadv": {"read", "preadv"}, "preadv2": {"read", "preadv"},
	"write": {"write", "write"}, "pwrite64": {"write", "pwrite"}, "writev": {"write", "writev"},
	"pwritev": {"write", "pwritev"}, "pwritev2": {"write", "pwritev"}, "unlink": {"unlink", "unlinkat"},
	"unlinkat": {"unlink", "unlinkat"}, "rename": {"rename", "renameat2"}, "renameat": {"rename", "renameat"},
	"renameat2": {"rename", "renameat2"}, "chmod": {"chmod", "chmod"}, "fchmod": {"chmod", "fchmod"},
	"fchmodat": {"chmod", "fchmodat"}, "fchmodat2": {"chmod", "fchmodat"}, "chown": {"chown", "chown"},
	"fchown": {"chown", "fchown"}, "fchownat": {"chown", "fchownat"}, "lchown": {"chown", "lchown"},
	"truncate": {"truncate", "truncate"}, "ftruncate": {"truncate", "ftruncate"}, "mkdir": {"mkdir", "mkdirat"},
	"mkdirat": {"mkdir", "mkdirat"}, "rmdir": {"rmdir", "rmdir"}, "link": {"link", "linkat"},
	"linkat": {"link", "linkat"}, "symlink": {"symlink", "symlinkat"}, "symlinkat": {"symlink", "symlinkat"},
	"close": {"close", "close"}, "mmap": {"mmap", "mmap"}, "exec": {"exec", "execve"},
}

// netOps maps a function's core to the connection operation.
var netOps = map[string]string{
	"connect": "connect", "accept": "accept", "accept4": "accept", "listen": "listen", "bind": "bind",
	"close": "close", "shutdown": "close",
	"sendmsg": "send", "sendto": "send", "sendmmsg": "send",
	"recvmsg": "recv", "recvfrom": "recv", "recvmmsg": "recv",
}

// netTypes maps a connection operation to the event type.
var netTypes = map[string]string{
	"connect": "connect", "accept": "accept", "listen": "listen", "bind": "bind",
	"close": "close", "send": "sendto", "recv": "recvfrom",
}

// hookFile returns the file a hook touched, or nil when no argument
// names one. Tetragon gives some paths without their leading slash
// (etc/passwd); they are made absolute, and Raw keeps them as given.
func hookFile(core string, args []ttArg) *cairn.File {
	var pa *ttPathArg
	var mask *int64
	for i := range args {
		a := &args[i]
		switch {
		case pa == nil && a.FileArg != nil:
			pa = a.FileArg
		case pa == nil && a.PathArg != nil:
			pa = a.PathArg
		case pa == nil && a.LinuxBinprmArg != nil:
			pa = a.LinuxBinprmArg
		case mask == nil && a.IntArg != nil:
			mask = a.IntArg
		}
	}
	if pa == nil {
		return nil
	}
	op := fileCalls[core].op
	switch {
	case core == "permission":
		op = permissionOp(mask)
	case op == "":
		op = core
	}
	return &cairn.File{Path: absPath(pa.Path), Op: op, Flags: pa.Flags}
}

// permissionOp reads the MAY_* mask of security_file_permission.
func permissionOp(mask *int64) string {
	const mayWrite, mayRead, mayAppend = 0x2, 0x4, 0x8
	switch {
	case mask == nil:
		return "access"
	case *mask&(mayWrite|mayAppend) != 0:
		return "write"
	case *mask&mayRead != 0:
		return "read"
	}
	return "access"
}

// absPath adds the leading slash Tetragon leaves out of some paths;
// pseudo paths (pipe:[12], anon_inode:[eventfd]) and empty paths stay as
// they are.
func absPath(p string) string {
	if p == "" || p[0] == '/' {
		return p
	}
	first := p
	if i := strings.IndexByte(p, '/'); i >= 0 {
		first = p[:i]
	}
	if strings.ContainsRune(first, ':') {
		return p
	}
	return "/" + p
}

// hookConn returns the connection a hook saw, or nil when it has no
// socket argument and is not a socket function.
func hookConn(core string, args []ttArg) *cairn.Conn {
	op := netOps[core]
	var c *cairn.Conn
	for i := range args {
		a := &args[i]
		s := a.SockArg
		if s == nil {
			s = a.SkbArg
		}
		if s != nil {
			c = &cairn.Conn{Protocol: protocolName(s.Protocol)}
			if c.Protocol == "" && s.Proto != nil {
				c.Protocol = protocolNumber(*s.Proto)
			}
			if op == "accept" {
				// An accepted socket's source address is the server's.
				c.SrcIP, c.SrcPort, c.DstIP, c.DstPort = s.Daddr, s.Dport, s.Saddr, s.Sport
			} else {
				c.SrcIP, c.SrcPort, c.DstIP, c.DstPort = s.Saddr, s.Sport, s.Daddr, s.Dport
			}
			break
		}
		if sa := a.SockaddrArg; sa != nil && c == nil {
			c = &cairn.Conn{}
			if op == "bind" || op == "listen" {
				c.SrcIP, c.SrcPort = sa.Addr, sa.Port
			} else {
				c.DstIP, c.DstPort = sa.Addr, sa.Port
			}
		}
	}
	if c == nil {
		if op == "" || !isSocketFunc(core) {
			return nil
		}
		c = &cairn.Conn{}
	}
	c.Op = op
	if c.Op == "" {
		c.Op = core
	}
	return c
}

// isSocketFunc reports cores that only socket functions have, so a hook
// on one is a network event even without a socket argument.
func isSocketFunc(core string) bool {
	switch core {
	case "connect", "accept", "accept4", "listen", "bind", "sendmsg", "recvmsg", "sendto", "recvfrom":
		return true
	}
	return false
}

// protocolName turns IPPROTO_TCP, TCP or tcp into tcp.
func protocolName(p string) string {
	return strings.ToLower(strings.TrimPrefix(strings.ToUpper(p), "IPPROTO_"))
}

func protocolNumber(n int64) string {
	switch n {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	}
	return strconv.FormatInt(n, 10)
}
