package sensor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cairn-cdr/cairn"
)

// userHZ is the unit of the start time in /proc/PID/stat: clock ticks,
// which the kernel's ABI fixes at 100 a second on every architecture.
const userHZ = 100

// pfKthread is the PF_KTHREAD bit of the flags in /proc/PID/stat.
const pfKthread = 0x00200000

// errGone says that a process is no longer in /proc (it exited, or its
// pid was reused while it was read).
var errGone = errors.New("process gone")

// procFS reads processes from a proc file system mounted at root.
type procFS struct {
	root  string
	btime time.Time // boot time, from the btime line of root/stat
	users *userCache
}

func newProcFS(root string) (*procFS, error) {
	b, err := os.ReadFile(filepath.Join(root, "stat"))
	if err != nil {
		return nil, fmt.Errorf("read boot time: %w", err)
	}
	var btime time.Time
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("read boot time: %q: %v", strings.TrimSpace(v), err)
			}
			btime = time.Unix(s, 0)
		}
	}
	if btime.IsZero() {
		return nil, fmt.Errorf("read boot time: no btime line in %s", filepath.Join(root, "stat"))
	}
	// The host's /etc sits beside its /proc: /etc for /proc, /host/etc
	// for a host's /proc mounted at /host/proc.
	passwd := filepath.Join(filepath.Dir(filepath.Clean(root)), "etc", "passwd")
	return &procFS{root: root, btime: btime, users: &userCache{path: passwd}}, nil
}

// startTime converts a start time in clock ticks since boot to wall time.
func (fs *procFS) startTime(ticks uint64) time.Time {
	return fs.btime.Add(time.Duration(ticks) * (time.Second / userHZ))
}

// statInfo is what /proc/PID/stat says.
type statInfo struct {
	comm    string
	ppid    int32
	pgrp    int64
	session int64
	tty     int64
	flags   uint64
	start   uint64 // clock ticks since boot
}

// parseStat parses /proc/PID/stat. The name between the parentheses may
// hold anything, parentheses and spaces included, so the fields are
// counted from the last ')'.
func parseStat(b []byte) (statInfo, error) {
	var st statInfo
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return st, errors.New("stat: no command name")
	}
	st.comm = string(b[open+1 : end])
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 20 {
		return st, fmt.Errorf("stat: %d fields after the name, want at least 20", len(f))
	}
	num := func(n int) (int64, error) { return strconv.ParseInt(f[n-3], 10, 64) }
	var err error
	var v int64
	if v, err = num(4); err != nil {
		return st, fmt.Errorf("stat: ppid: %v", err)
	}
	st.ppid = int32(v)
	if st.pgrp, err = num(5); err != nil {
		return st, fmt.Errorf("stat: pgrp: %v", err)
	}
	if st.session, err = num(6); err != nil {
		return st, fmt.Errorf("stat: session: %v", err)
	}
	if st.tty, err = num(7); err != nil {
		return st, fmt.Errorf("stat: tty: %v", err)
	}
	if st.flags, err = strconv.ParseUint(f[9-3], 10, 64); err != nil {
		return st, fmt.Errorf("stat: flags: %v", err)
	}
	if st.start, err = strconv.ParseUint(f[22-3], 10, 64); err != nil {
		return st, fmt.Errorf("stat: starttime: %v", err)
	}
	return st, nil
}

func (fs *procFS) path(pid int32, name string) string {
	return filepath.Join(fs.root, strconv.FormatInt(int64(pid), 10), name)
}

// stat reads /proc/PID/stat; errGone when the process is not there.
func (fs *procFS) stat(pid int32) (statInfo, error) {
	b, err := os.ReadFile(fs.path(pid, "stat"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return statInfo{}, errGone
		}
		return statInfo{}, err
	}
	return parseStat(b)
}

// snapshot is one process as read from /proc.
type snapshot struct {
	proc      cairn.Process // without ExecID, ParentExecID, Flags
	ppid      int32
	start     uint64 // clock ticks since boot
	kthread   bool
	nspid     int64 // pid in the innermost pid namespace
	container *cairn.Container
	k8s       *cairn.K8s
}

// read reads process pid. It returns errGone when the process exited, or
// its pid was reused, while it was read; other files than stat that
// cannot be read leave their fields unset (a process of another user
// hides its exe and cwd from a sensor without root).
func (fs *procFS) read(pid int32) (*snapshot, error) {
	st, err := fs.stat(pid)
	if err != nil {
		return nil, err
	}
	s := &snapshot{ppid: st.ppid, start: st.start, kthread: st.flags&pfKthread != 0}
	p := &s.proc
	p.PID, p.PPID = int64(pid), int64(st.ppid)
	p.StartTime = fs.startTime(st.start)
	p.TTY, p.SID, p.PGID = ptr(st.tty), ptr(st.session), ptr(st.pgrp)
	if s.kthread {
		p.Name = st.comm
		return s, nil
	}
	// The executable and the arguments first: a short-lived process
	// loses them when it exits, before its parent reaps it.
	if exe, err := os.Readlink(fs.path(pid, "exe")); err == nil {
		p.Binary = exe
	}
	if b, err := os.ReadFile(fs.path(pid, "cmdline")); err == nil {
		p.Args = joinArgs(b)
	}
	if cwd, err := os.Readlink(fs.path(pid, "cwd")); err == nil {
		p.Cwd = cwd
	}
	p.Name = procName(st.comm, p.Binary)
	if b, err := os.ReadFile(fs.path(pid, "status")); err == nil {
		parseStatus(b, s)
	}
	if b, err := os.ReadFile(fs.path(pid, "loginuid")); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			p.LoginUID = &v
		}
	}
	if b, err := os.ReadFile(fs.path(pid, "cgroup")); err == nil {
		s.container, s.k8s = workloadFromCgroup(string(b))
		if s.container != nil {
			s.container.PID = s.nspid
		}
	}
	// The host's passwd names host users only; a container's uids are
	// its image's.
	if p.UID != nil && s.container == nil {
		p.User = fs.users.name(*p.UID)
	}
	// The pid may have been reused while the files were read.
	if again, err := fs.stat(pid); err != nil || again.start != st.start {
		return nil, errGone
	}
	return s, nil
}

// procName returns the process name: the kernel's comm (the base name of
// the path given to execve, at most 15 bytes), completed from the
// executable's base name when comm is a truncated prefix of it.
func procName(comm, binary string) string {
	base := binary[strings.LastIndexByte(binary, '/')+1:]
	if len(comm) == 15 && strings.HasPrefix(base, comm) {
		return base
	}
	if comm == "" {
		return base
	}
	return comm
}

// joinArgs turns /proc/PID/cmdline (NUL-separated) into Tetragon's
// arguments: argv[1:] joined by spaces, an argument holding a space in
// double quotes.
func joinArgs(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	parts := strings.Split(string(b), "\x00")
	if len(parts) <= 1 {
		return ""
	}
	var sb strings.Builder
	for i, a := range parts[1:] {
		if i > 0 {
			sb.WriteByte(' ')
		}
		if strings.Contains(a, " ") {
			sb.WriteByte('"')
			sb.WriteString(a)
			sb.WriteByte('"')
		} else {
			sb.WriteString(a)
		}
	}
	return sb.String()
}

// parseStatus reads the effective uid and gid, and the pid in the
// innermost pid namespace (NSpid), from /proc/PID/status.
func parseStatus(b []byte, s *snapshot) {
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		switch k {
		case "Uid", "Gid":
			if len(f) < 2 {
				continue
			}
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				continue
			}
			if k == "Uid" {
				s.proc.UID = &n
			} else {
				s.proc.GID = &n
			}
		case "NSpid":
			if len(f) > 1 {
				if n, err := strconv.ParseInt(f[len(f)-1], 10, 64); err == nil {
					s.nspid = n
				}
			}
		}
	}
}

func ptr(v int64) *int64 { return &v }

// Container runtimes as cairn.Container.Runtime names them.
const (
	runtimeDocker     = "docker"
	runtimeContainerd = "containerd"
	runtimeCRIO       = "cri-o"
	runtimePodman     = "podman"
)

// workloadFromCgroup finds the container id and the pod uid in the
// content of /proc/PID/cgroup, for the cgroup layouts of docker
// (docker-ID.scope, /docker/ID), containerd (cri-containerd-ID.scope,
// ...:cri-containerd:ID), CRI-O (crio-ID.scope), podman (libpod-ID.scope)
// and the kubelet's cgroupfs driver (/kubepods/CLASS/podUID/ID). It
// returns nil for a process outside any container.
func workloadFromCgroup(content string) (*cairn.Container, *cairn.K8s) {
	for line := range strings.Lines(content) {
		line = strings.TrimRight(line, "\n")
		// hierarchy-ID:controllers:path
		_, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		_, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		c, k := parseCgroupPath(path)
		if c != nil {
			return c, k
		}
	}
	return nil, nil
}

func parseCgroupPath(path string) (*cairn.Container, *cairn.K8s) {
	segs := strings.Split(path, "/")
	kube := strings.Contains(path, "kubepods")
	var c *cairn.Container
	for i := len(segs) - 1; i >= 0 && c == nil; i-- {
		seg := strings.TrimSuffix(segs[i], ".scope")
		id, runtime := "", ""
		switch {
		case strings.HasPrefix(seg, "crio-conmon-"):
			// CRI-O's monitor process, not the container's.
		case strings.HasPrefix(seg, "docker-"):
			id, runtime = seg[len("docker-"):], runtimeDocker
		case strings.HasPrefix(seg, "cri-containerd-"):
			id, runtime = seg[len("cri-containerd-"):], runtimeContainerd
		case strings.HasPrefix(seg, "crio-"):
			id, runtime = seg[len("crio-"):], runtimeCRIO
		case strings.HasPrefix(seg, "libpod-"):
			id, runtime = seg[len("libpod-"):], runtimePodman
		case strings.Contains(seg, ":"):
			// kubepods-besteffort-podUID.slice:cri-containerd:ID
			f := strings.Split(seg, ":")
			id = f[len(f)-1]
			switch f[len(f)-2] {
			case "cri-containerd":
				runtime = runtimeContainerd
			case "docker":
				runtime = runtimeDocker
			case "crio":
				runtime = runtimeCRIO
			}
		default:
			id = seg
			if i > 0 && segs[i-1] == "docker" {
				runtime = runtimeDocker
			} else if !kube {
				id = ""
			}
		}
		if isHex64(id) {
			c = &cairn.Container{ID: id[:12], FullID: id, Runtime: runtime}
		}
	}
	if c == nil {
		return nil, nil
	}
	var k *cairn.K8s
	if kube {
		for _, seg := range segs {
			seg, _, _ = strings.Cut(seg, ":")
			seg = strings.TrimSuffix(seg, ".slice")
			if i := strings.LastIndex(seg, "pod"); i >= 0 {
				uid := strings.ReplaceAll(seg[i+3:], "_", "-")
				if isUUID(uid) {
					k = &cairn.K8s{PodUID: uid}
				}
			}
		}
	}
	return c, k
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// isUUID reports whether s is a lower-case 8-4-4-4-12 uuid.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// userCache maps uids to names from the host's passwd file, read again
// when the file changes. It never calls out to NSS: a sensor must not
// open network connections (LDAP) or run code for every exec.
type userCache struct {
	path  string
	mu    sync.Mutex
	mtime time.Time
	size  int64
	names map[int64]string
}

func (u *userCache) name(uid int64) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	fi, err := os.Stat(u.path)
	if err != nil {
		return ""
	}
	if u.names == nil || !fi.ModTime().Equal(u.mtime) || fi.Size() != u.size {
		u.names = readPasswd(u.path)
		u.mtime, u.size = fi.ModTime(), fi.Size()
	}
	return u.names[uid]
}

// readPasswd returns the uid-to-name map of a passwd file; the first
// name of a uid wins, as getpwuid returns it.
func readPasswd(path string) map[int64]string {
	names := map[int64]string{}
	f, err := os.Open(path)
	if err != nil {
		return names
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue
		}
		if _, ok := names[uid]; !ok {
			names[uid] = f[0]
		}
	}
	return names
}
