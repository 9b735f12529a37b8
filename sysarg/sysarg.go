// Package sysarg knows Linux system calls as Falco's rules see them: the
// names Falco gives each call's arguments (evt.arg.flags, evt.arg.request,
// ...), how Falco renders the values (O_WRONLY|O_CREAT, PTRACE_ATTACH,
// AF_PACKET) and the names of error numbers (evt.res). Decoders use it to
// name the arguments a kernel hook reports; the field catalog uses it to
// know which evt.arg names any source can supply.
package sysarg

import (
	"strconv"
	"strings"
)

// Kind is what an argument holds, so that hook arguments reported
// without their position can be matched to the call's parameters.
type Kind int

// The argument kinds.
const (
	Int  Kind = iota // a number, flags or a file descriptor
	Text             // a path or name
)

// Param is one parameter of a call.
type Param struct {
	Name string
	Kind Kind
}

func i(n string) Param { return Param{n, Int} }
func s(n string) Param { return Param{n, Text} }

// calls lists each call's parameters in order, under Falco's names.
var calls = map[string][]Param{
	"open":         {s("name"), i("flags"), i("mode")},
	"openat":       {i("dirfd"), s("name"), i("flags"), i("mode")},
	"openat2":      {i("dirfd"), s("name"), i("how")},
	"creat":        {s("name"), i("mode")},
	"execve":       {s("filename")},
	"execveat":     {i("dirfd"), s("pathname"), i("flags")},
	"ptrace":       {i("request"), i("pid"), i("addr"), i("data")},
	"socket":       {i("domain"), i("type"), i("proto")},
	"symlink":      {s("target"), s("linkpath")},
	"symlinkat":    {s("target"), i("linkdirfd"), s("linkpath")},
	"link":         {s("oldpath"), s("newpath")},
	"linkat":       {i("olddir"), s("oldpath"), i("newdir"), s("newpath"), i("flags")},
	"rename":       {s("oldpath"), s("newpath")},
	"renameat":     {i("olddirfd"), s("oldpath"), i("newdirfd"), s("newpath")},
	"renameat2":    {i("olddirfd"), s("oldpath"), i("newdirfd"), s("newpath"), i("flags")},
	"unlink":       {s("path")},
	"unlinkat":     {i("dirfd"), s("name"), i("flags")},
	"mkdir":        {s("path"), i("mode")},
	"mkdirat":      {i("dirfd"), s("path"), i("mode")},
	"rmdir":        {s("path")},
	"chmod":        {s("filename"), i("mode")},
	"fchmod":       {i("fd"), i("mode")},
	"fchmodat":     {i("dirfd"), s("filename"), i("mode")},
	"chdir":        {s("path")},
	"chroot":       {s("path")},
	"dup":          {i("fd")},
	"dup2":         {i("oldfd"), i("newfd")},
	"dup3":         {i("oldfd"), i("newfd"), i("flags")},
	"setuid":       {i("uid")},
	"setgid":       {i("gid")},
	"setresuid":    {i("ruid"), i("euid"), i("suid")},
	"setresgid":    {i("rgid"), i("egid"), i("sgid")},
	"memfd_create": {s("name"), i("flags")},
	"bpf":          {i("cmd")},
	"init_module":  {i("img"), i("length"), s("uargs")},
	"finit_module": {i("fd"), s("uargs"), i("flags")},
	"mount":        {s("dev"), s("dir"), s("type"), i("flags")},
	"umount2":      {s("name"), i("flags")},
	"setns":        {i("fd"), i("nstype")},
	"unshare":      {i("flags")},
	"kill":         {i("pid"), i("sig")},
	"tgkill":       {i("tgid"), i("tid"), i("sig")},
	"connect":      {i("fd"), s("addr")},
	"userfaultfd":  {i("flags")},
}

// known is every argument name of every call.
var known = func() map[string]bool {
	m := map[string]bool{}
	for _, ps := range calls {
		for _, p := range ps {
			m[p.Name] = true
		}
	}
	return m
}()

// Params returns the parameters of call, nil when cairn does not know it.
func Params(call string) []Param { return calls[call] }

// Known reports whether name is an argument of a call cairn can name.
func Known(name string) bool { return known[name] }

// Arg is one argument a hook reported, its position in the call unknown
// unless Label names it.
type Arg struct {
	Kind  Kind
	Int   int64
	Text  string
	Label string
}

// Name returns the arguments of call under Falco's names, rendered as
// Falco renders them. An argument whose label is a parameter's name takes
// that parameter; the others take, in order, the next parameter of their
// kind, since a hook reports the arguments its policy asked for in the
// call's order but may leave some out. Nil when call is unknown or no
// argument could be placed.
func Name(call string, args []Arg) map[string]string {
	ps := calls[call]
	if ps == nil || len(args) == 0 {
		return nil
	}
	out := map[string]string{}
	next := 0 // the first parameter an unlabelled argument may take
	for _, a := range args {
		placed := -1
		for j, p := range ps {
			if a.Label != "" && p.Name == a.Label {
				placed = j
				break
			}
		}
		if placed < 0 {
			for j := next; j < len(ps); j++ {
				if _, taken := out[ps[j].Name]; !taken && ps[j].Kind == a.Kind {
					placed, next = j, j+1
					break
				}
			}
		}
		if placed < 0 {
			continue
		}
		p := ps[placed]
		if a.Kind == Text {
			out[p.Name] = a.Text
		} else {
			out[p.Name] = Render(call, p.Name, a.Int)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Render renders a numeric argument as Falco does: open flags and ptrace
// requests by name, modes in octal, other numbers in decimal.
func Render(call, arg string, v int64) string {
	switch {
	case arg == "flags" && (call == "open" || call == "openat" || call == "creat"):
		return OpenFlags(v)
	case arg == "request" && call == "ptrace":
		return enum(ptraceRequests, v)
	case arg == "domain" && call == "socket":
		return enum(socketFamilies, v)
	case arg == "cmd" && call == "bpf":
		return enum(bpfCommands, v)
	case arg == "mode":
		return "0" + strconv.FormatInt(v, 8)
	}
	return strconv.FormatInt(v, 10)
}

func enum(names map[int64]string, v int64) string {
	if n, ok := names[v]; ok {
		return n
	}
	return strconv.FormatInt(v, 10)
}

// Linux's open(2) flags (x86-64 and arm64 share these values).
var openFlags = []struct {
	bit  int64
	name string
}{
	{0o100, "O_CREAT"}, {0o200, "O_EXCL"}, {0o400, "O_NOCTTY"}, {0o1000, "O_TRUNC"},
	{0o2000, "O_APPEND"}, {0o4000, "O_NONBLOCK"}, {0o10000, "O_DSYNC"}, {0o20000, "O_ASYNC"},
	{0o40000, "O_DIRECT"}, {0o100000, "O_LARGEFILE"}, {0o200000, "O_DIRECTORY"},
	{0o400000, "O_NOFOLLOW"}, {0o1000000, "O_NOATIME"}, {0o2000000, "O_CLOEXEC"},
	{0o20000000, "O_TMPFILE"}, {0o10000000, "O_PATH"},
}

// OpenFlags renders open(2) flags as Falco's evt.arg.flags does: the
// access mode first (O_RDONLY, O_WRONLY or O_RDWR), then the other flags,
// joined by |.
func OpenFlags(v int64) string {
	var b strings.Builder
	switch v & 3 {
	case 0:
		b.WriteString("O_RDONLY")
	case 1:
		b.WriteString("O_WRONLY")
	default:
		b.WriteString("O_RDWR")
	}
	for _, f := range openFlags {
		if v&f.bit != 0 {
			b.WriteString("|")
			b.WriteString(f.name)
		}
	}
	return b.String()
}

var ptraceRequests = map[int64]string{
	0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSR",
	4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSR", 7: "PTRACE_CONT",
	8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
	14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH",
	24: "PTRACE_SYSCALL", 0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG",
	0x4202: "PTRACE_GETSIGINFO", 0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET",
	0x4205: "PTRACE_SETREGSET", 0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT", 0x4208: "PTRACE_LISTEN",
}

var socketFamilies = map[int64]string{
	0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET",
	29: "AF_CAN", 31: "AF_BLUETOOTH", 38: "AF_ALG", 40: "AF_VSOCK", 44: "AF_XDP",
}

var bpfCommands = map[int64]string{
	0: "BPF_MAP_CREATE", 1: "BPF_MAP_LOOKUP_ELEM", 2: "BPF_MAP_UPDATE_ELEM", 3: "BPF_MAP_DELETE_ELEM",
	4: "BPF_MAP_GET_NEXT_KEY", 5: "BPF_PROG_LOAD", 6: "BPF_OBJ_PIN", 7: "BPF_OBJ_GET",
	8: "BPF_PROG_ATTACH", 9: "BPF_PROG_DETACH", 10: "BPF_PROG_TEST_RUN",
}

// Linux's error numbers, for evt.res.
var errnos = map[int64]string{
	1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
	9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY",
	17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE",
	24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 30: "EROFS",
	31: "EMLINK", 32: "EPIPE", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP",
	88: "ENOTSOCK", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL",
	100: "ENETDOWN", 101: "ENETUNREACH", 103: "ECONNABORTED", 104: "ECONNRESET", 110: "ETIMEDOUT",
	111: "ECONNREFUSED", 113: "EHOSTUNREACH", 114: "EALREADY", 115: "EINPROGRESS",
}

// EINPROGRESS is the result of a non-blocking connect whose handshake has
// started.
const EINPROGRESS = -115

// Result renders a raw result as Falco's evt.res: SUCCESS when it is not
// negative, else the error's name (ENOENT), or E and the number when
// cairn does not know it.
func Result(raw int64) string {
	if raw >= 0 {
		return "SUCCESS"
	}
	if n, ok := errnos[-raw]; ok {
		return n
	}
	return "E" + strconv.FormatInt(-raw, 10)
}
