package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
)

// faRecord is one Falco alert as Falco writes it with json_output, and
// as falcosidekick posts it to a webhook (which adds uuid).
type faRecord struct {
	Output       string         `json:"output"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Time         string         `json:"time"`
	OutputFields map[string]any `json:"output_fields"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Hostname     string         `json:"hostname"`
}

// decodeFalco decodes one Falco alert. The output fields are kept
// verbatim in Alert.Fields, numbers as json.Number so that large values
// (evt.time in nanoseconds) keep every digit, and the well-known ones are
// lifted into the event's process, parent, container, Kubernetes, file
// and connection parts.
func decodeFalco(d *decoder, data []byte, compact bool) (cairn.Event, error) {
	var rec faRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&rec); err != nil {
		return cairn.Event{}, jsonReason(err)
	}
	if rec.Rule == "" {
		return cairn.Event{}, errors.New("alert has no rule")
	}
	f := faFields(rec.OutputFields)
	ev := cairn.Event{
		ID:     d.hashID("fa-", data, compact),
		Source: cairn.SourceFalco,
		Kind:   cairn.KindAlert,
		Host:   rec.Hostname,
		Alert: &cairn.Alert{
			Rule:     rec.Rule,
			Priority: rec.Priority,
			Output:   rec.Output,
			Source:   rec.Source,
			Tags:     rec.Tags,
			Fields:   rec.OutputFields,
		},
	}
	ev.Type, _ = f.str("evt.type")
	if ev.Host == "" {
		ev.Host, _ = f.str("evt.hostname")
	}
	switch {
	case rec.Time != "":
		t, err := parseTime(rec.Time)
		if err != nil {
			return cairn.Event{}, fmt.Errorf("time: %v", err)
		}
		ev.Time = t
	default:
		ns, ok := f.num("evt.time")
		if !ok {
			return cairn.Event{}, errors.New("alert has no time")
		}
		ev.Time = time.Unix(0, ns).UTC()
	}
	ev.Process = f.process()
	ev.Parent = f.parent()
	ev.Ancestors = f.ancestors()
	ev.Container = f.container()
	ev.K8s = f.k8s()
	ev.File = f.file(ev.Type)
	ev.Net = f.conn(ev.Type)
	return ev, nil
}

// faFields reads Falco output fields. Falco writes <NA> (older
// versions) or null for a field it could not fill; both read as absent.
type faFields map[string]any

func (f faFields) str(k string) (string, bool) {
	switch v := f[k].(type) {
	case string:
		if v == "" || v == "<NA>" {
			return "", false
		}
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func (f faFields) num(k string) (int64, bool) {
	var s string
	switch v := f[k].(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func (f faFields) numPtr(k string) *int64 {
	if n, ok := f.num(k); ok {
		return &n
	}
	return nil
}

func (f faFields) boolPtr(k string) *bool {
	var b bool
	switch v := f[k].(type) {
	case bool:
		b = v
	case string:
		p, err := strconv.ParseBool(v)
		if err != nil {
			return nil
		}
		b = p
	default:
		return nil
	}
	return &b
}

// process lifts proc.* and user.* into the alert's process.
func (f faFields) process() *cairn.Process {
	p := &cairn.Process{}
	p.Name, _ = f.str("proc.name")
	if p.Binary, _ = f.str("proc.exepath"); p.Binary == "" {
		p.Binary, _ = f.str("proc.exe")
	}
	if cmd, ok := f.str("proc.cmdline"); ok {
		name, args := splitCmdline(cmd)
		if p.Name == "" {
			p.Name = name
		}
		p.Args = args
	}
	if args, ok := f.str("proc.args"); ok {
		p.Args = args
	}
	if p.Name == "" {
		p.Name = baseName(p.Binary)
	}
	p.PID, _ = f.num("proc.pid")
	p.PPID, _ = f.num("proc.ppid")
	p.Cwd, _ = f.str("proc.cwd")
	p.User, _ = f.str("user.name")
	p.UID = f.numPtr("user.uid")
	p.GID = f.numPtr("group.gid")
	p.LoginUID = f.numPtr("user.loginuid")
	p.TTY = f.numPtr("proc.tty")
	p.SID = f.numPtr("proc.sid")
	p.UpperLayer = f.boolPtr("proc.is_exe_upper_layer")
	if caps, ok := f.str("thread.cap_effective"); ok {
		p.CapEffective = strings.Fields(caps)
	}
	if caps, ok := f.str("thread.cap_permitted"); ok {
		p.CapPermitted = strings.Fields(caps)
	}
	if reflect.ValueOf(*p).IsZero() {
		return nil
	}
	return p
}

// parent lifts proc.p* into the alert's parent process.
func (f faFields) parent() *cairn.Process {
	p := &cairn.Process{}
	p.Name, _ = f.str("proc.pname")
	if p.Binary, _ = f.str("proc.pexepath"); p.Binary == "" {
		p.Binary, _ = f.str("proc.pexe")
	}
	if cmd, ok := f.str("proc.pcmdline"); ok {
		name, args := splitCmdline(cmd)
		if p.Name == "" {
			p.Name = name
		}
		p.Args = args
	}
	if p.Name == "" {
		p.Name = baseName(p.Binary)
	}
	p.PID, _ = f.num("proc.ppid")
	if reflect.ValueOf(*p).IsZero() {
		return nil
	}
	return p
}

// maxAncestor bounds the proc.aname[N] fields read.
const maxAncestor = 32

// ancestors lifts proc.aname[N] and proc.apid[N] (N >= 2, the
// grandparent and above) into the ancestors, nearest first, up to the
// first level that has neither.
func (f faFields) ancestors() []cairn.Process {
	var out []cairn.Process
	for n := 2; n <= maxAncestor; n++ {
		i := strconv.Itoa(n)
		name, okName := f.str("proc.aname[" + i + "]")
		pid, okPID := f.num("proc.apid[" + i + "]")
		if !okName && !okPID {
			break
		}
		out = append(out, cairn.Process{Name: name, PID: pid})
	}
	for i := 0; i+1 < len(out); i++ {
		out[i].PPID = out[i+1].PID
	}
	return out
}

// container lifts container.*; container.id "host" means a host process.
func (f faFields) container() *cairn.Container {
	id, ok := f.str("container.id")
	if !ok || id == "host" {
		return nil
	}
	c := &cairn.Container{ID: shortID(id)}
	if full, ok := f.str("container.full_id"); ok {
		c.FullID = full
	} else if len(id) > 12 {
		c = containerFromID(id)
	}
	c.Runtime, _ = f.str("container.type")
	c.Name, _ = f.str("container.name")
	if img, ok := f.str("container.image"); ok {
		c.Image = img
	} else if repo, ok := f.str("container.image.repository"); ok {
		c.Image = repo
		if tag, ok := f.str("container.image.tag"); ok {
			c.Image += ":" + tag
		}
	}
	if c.ImageID, _ = f.str("container.image.id"); c.ImageID == "" {
		c.ImageID, _ = f.str("container.image.digest")
	}
	c.Privileged = f.boolPtr("container.privileged")
	return c
}

// k8s lifts k8s.*.
func (f faFields) k8s() *cairn.K8s {
	k := &cairn.K8s{}
	k.Namespace, _ = f.str("k8s.ns.name")
	k.Pod, _ = f.str("k8s.pod.name")
	k.PodUID, _ = f.str("k8s.pod.uid")
	k.Cluster, _ = f.str("k8s.cluster.name")
	if k.Namespace == "" && k.Pod == "" && k.PodUID == "" && k.Cluster == "" {
		return nil
	}
	return k
}

// file lifts fd.name when it names a file: fd.typechar f (or absent) and
// a path.
func (f faFields) file(evtType string) *cairn.File {
	name, ok := f.str("fd.name")
	if !ok || !strings.HasPrefix(name, "/") {
		return nil
	}
	if tc, ok := f.str("fd.typechar"); ok && tc != "f" {
		return nil
	}
	op := fileCalls[hookCore(evtType)].op
	if op == "" {
		op = evtType
	}
	flags, _ := f.str("evt.arg.flags")
	return &cairn.File{Path: name, Op: op, Flags: flags}
}

// conn lifts fd.sip, fd.sport (the server side), fd.cip, fd.cport (the
// client side), fd.rip, fd.rport (the remote side), fd.lip, fd.lport
// (the local side) and fd.l4proto; the source is the client.
func (f faFields) conn(evtType string) *cairn.Conn {
	c := &cairn.Conn{}
	c.SrcIP, _ = f.str("fd.cip")
	c.SrcPort, _ = f.num("fd.cport")
	c.DstIP, _ = f.str("fd.sip")
	c.DstPort, _ = f.num("fd.sport")
	op := netOps[hookCore(evtType)]
	rip, _ := f.str("fd.rip")
	rport, _ := f.num("fd.rport")
	lip, _ := f.str("fd.lip")
	lport, _ := f.num("fd.lport")
	if op == "accept" {
		// The remote end of an accepted connection is the client.
		rip, lip, rport, lport = lip, rip, lport, rport
	}
	if c.DstIP == "" && c.DstPort == 0 {
		c.DstIP, c.DstPort = rip, rport
	}
	if c.SrcIP == "" && c.SrcPort == 0 {
		c.SrcIP, c.SrcPort = lip, lport
	}
	if *c == (cairn.Conn{}) {
		return nil
	}
	c.Protocol, _ = f.str("fd.l4proto")
	c.Op = op
	if c.Op == "" {
		c.Op = evtType
	}
	return c
}

// splitCmdline splits Falco's proc.cmdline ("name arg arg") into the
// name and the arguments.
func splitCmdline(cmd string) (string, string) {
	name, args, _ := strings.Cut(cmd, " ")
	return name, args
}
