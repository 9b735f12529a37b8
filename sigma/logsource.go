package sigma

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// Logsource is a rule's logsource section.
type Logsource struct {
	Product, Category, Service string
	// Definition is the free text some rules give; cairn does not read it.
	Definition string
}

// String renders the logsource as a rule writes it.
func (l Logsource) String() string {
	var parts []string
	for _, kv := range [][2]string{{"product", l.Product}, {"category", l.Category}, {"service", l.Service}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, ", ")
}

// source is the kind of cairn event a supported logsource applies to.
type source int

// The supported sources.
const (
	srcNone       source = iota
	srcProcess           // product linux, category process_creation
	srcFile              // product linux, category file_event
	srcNetwork           // product linux, category network_connection
	srcCloudTrail        // product aws, service cloudtrail
)

var sourceNames = [...]string{"none", "linux/process_creation", "linux/file_event", "linux/network_connection", "aws/cloudtrail"}

func (s source) String() string { return sourceNames[s] }

// sourceOf returns the source a logsource selects. Linux categories are
// accepted with product linux or with no product (the category alone is
// generic), but not with a service: a service names a log cairn does not
// read.
func sourceOf(l Logsource) (source, error) {
	product := strings.ToLower(l.Product)
	category := strings.ToLower(l.Category)
	service := strings.ToLower(l.Service)
	switch {
	case (product == "linux" || product == "") && service == "":
		switch category {
		case "process_creation":
			return srcProcess, nil
		case "file_event":
			return srcFile, nil
		case "network_connection":
			return srcNetwork, nil
		}
	case product == "aws" && service == "cloudtrail":
		return srcCloudTrail, nil
	}
	return srcNone, fmt.Errorf("logsource %s not supported: cairn has no such events", l)
}

// eventSource returns the source an event belongs to: an execve is a
// process creation (a process found by scanning procfs is not), a file
// event a file_event, a connect or accept a network_connection, and a
// CloudTrail record cloudtrail.
func eventSource(ev *cairn.Event) source {
	switch {
	case ev.Cloud != nil || ev.Source == cairn.SourceCloudTrail:
		return srcCloudTrail
	case ev.Kind == cairn.KindExec:
		if ev.Type == "execve" {
			return srcProcess
		}
	case ev.Kind == cairn.KindFile:
		return srcFile
	case ev.Kind == cairn.KindNetwork:
		if ev.Net != nil && (ev.Net.Op == "connect" || ev.Net.Op == "accept") {
			return srcNetwork
		}
	}
	return srcNone
}

// getter reads a field's value from an event: a string, int64, bool,
// time.Time, []string (from the catalog) or a JSON value (from a
// CloudTrail record: string, json.Number, bool, nil, map[string]any,
// []any). It reports false when the event lacks the field.
type getter func(x *evalCtx) (any, bool)

// Mapping is one entry of the linux field mapping: a Sigma field of the
// linux taxonomy (Sysmon for Linux's names) and the catalog field that
// supplies it.
type Mapping struct {
	Sigma string
	// Catalog is the catalog field read (see package field).
	Catalog string
	// Categories lists the logsource categories where the field exists.
	Categories []string
	// Note says how the value differs from the Sigma field's, if it does.
	Note string

	convert func(v any) (any, bool)
	// argv0 names the catalog fields of the process name and executable
	// path, for a command line read in both spellings.
	argv0 [2]string
}

// alternatives are spellings of one value: a test holds when it holds for
// any, and the value's text is the first.
type alternatives []string

var (
	procCats = []string{"process_creation", "file_event", "network_connection"}
	fileCats = []string{"file_event"}
	netCats  = []string{"network_connection"}
)

// LinuxFields is the mapping of Sigma's linux fields onto cairn's
// catalog, the one table the engine reads them from. Fields a rule names
// that are not here (or not in its category) make the rule skipped, with
// the fields named.
//
// CommandLine is argv as invoked, program first; cairn does not know
// argv[0], so a command line has two spellings and a value matches when
// either does: proc.cmdline (the process name and the arguments, as a
// program found on PATH is typed: the corpus's CommandLine|startswith
// 'sh -c ', exact 'chmod 0775 /etc/landscape/', ParentCommandLine
// 'bash -i') and the executable path and the arguments (as a program run
// by path: CommandLine|contains '/bin/sh' for OMIGOD's /bin/sh -c,
// endswith '/TeamViewer_Desktop --IPCport ...'). Value returns the first
// spelling. ParentCommandLine is read the same way.
//
// Destination* and Source* follow the connection's server and client
// sides (Sysmon reports an accepted connection with the local address as
// the destination and Initiated false); for a connect they are the remote
// and the local end.
var LinuxFields = []Mapping{
	{Sigma: "Image", Catalog: "proc.exepath", Categories: procCats},
	{Sigma: "CommandLine", Catalog: "proc.cmdline", Categories: procCats, Note: "process name and arguments, or executable path and arguments",
		argv0: [2]string{"proc.name", "proc.exepath"}},
	{Sigma: "ParentImage", Catalog: "proc.pexepath", Categories: procCats},
	{Sigma: "ParentCommandLine", Catalog: "proc.pcmdline", Categories: procCats, Note: "as CommandLine, of the parent",
		argv0: [2]string{"proc.pname", "proc.pexepath"}},
	{Sigma: "CurrentDirectory", Catalog: "proc.cwd", Categories: procCats},
	{Sigma: "User", Catalog: "user.name", Categories: procCats},
	{Sigma: "LogonId", Catalog: "user.loginuid", Categories: procCats, Note: "audit login uid"},
	{Sigma: "ProcessId", Catalog: "proc.pid", Categories: procCats},
	{Sigma: "ParentProcessId", Catalog: "proc.ppid", Categories: procCats},
	{Sigma: "ProcessGuid", Catalog: "proc.exec_id", Categories: procCats, Note: "the source's execution id"},
	{Sigma: "ParentProcessGuid", Catalog: "proc.pexec_id", Categories: procCats, Note: "the source's execution id"},
	{Sigma: "Computer", Catalog: "evt.hostname", Categories: procCats},
	{Sigma: "UtcTime", Catalog: "evt.time", Categories: procCats},
	{Sigma: "TargetFilename", Catalog: "fd.name", Categories: fileCats, Note: "any file event (open, read, write, ...), not only creation"},
	{Sigma: "DestinationIp", Catalog: "fd.sip", Categories: netCats},
	{Sigma: "DestinationPort", Catalog: "fd.sport", Categories: netCats},
	{Sigma: "SourceIp", Catalog: "fd.cip", Categories: netCats},
	{Sigma: "SourcePort", Catalog: "fd.cport", Categories: netCats},
	{Sigma: "Protocol", Catalog: "fd.l4proto", Categories: netCats},
	{Sigma: "Initiated", Catalog: "net.op", Categories: netCats, Note: "true for connect, false for accept",
		convert: func(v any) (any, bool) {
			switch v {
			case "connect":
				return true, true
			case "accept":
				return false, true
			}
			return nil, false
		}},
	{Sigma: "DestinationIsIpv6", Catalog: "fd.type", Categories: netCats, Note: "from the address family",
		convert: func(v any) (any, bool) { return v == "ipv6", v != nil }},
	{Sigma: "SourceIsIpv6", Catalog: "fd.type", Categories: netCats, Note: "from the address family",
		convert: func(v any) (any, bool) { return v == "ipv6", v != nil }},
}

// access reads a field: get gives its value, lower (when not nil) the
// value lower-cased, both cached for the event being evaluated.
type access struct {
	get, lower getter
}

// linuxField holds a mapping entry resolved against the catalog.
type linuxField struct {
	m   *Mapping
	acc access
}

var linuxByName = func() map[string]linuxField {
	if len(LinuxFields) > maxSlots {
		panic("sigma: more linux fields than evaluation slots") // a programming error caught by any test
	}
	out := map[string]linuxField{}
	for i := range LinuxFields {
		m := &LinuxFields[i]
		ref := mustLookup(m.Catalog)
		read := ref.Get
		if m.argv0[0] != "" {
			read = argvForms(ref, mustLookup(m.argv0[0]), mustLookup(m.argv0[1]))
		}
		if conv := m.convert; conv != nil {
			read = func(ev *cairn.Event) (any, bool) {
				v, ok := ref.Get(ev)
				if !ok {
					return nil, false
				}
				return conv(v)
			}
		}
		slot := i
		out[m.Sigma] = linuxField{m: m, acc: access{
			get:   func(x *evalCtx) (any, bool) { return x.cached(slot, read) },
			lower: func(x *evalCtx) (any, bool) { return x.cachedLower(slot, read) },
		}}
	}
	return out
}()

func mustLookup(name string) field.Ref {
	ref, err := field.Lookup(name)
	if err != nil {
		panic("sigma: field mapping: " + err.Error()) // a programming error caught by any test
	}
	return ref
}

// argvForms reads a command line in its two spellings: as the catalog
// gives it (name and arguments) and with the executable path in place of
// the name.
func argvForms(cmdline, name, exe field.Ref) func(ev *cairn.Event) (any, bool) {
	return func(ev *cairn.Event) (any, bool) {
		v, ok := cmdline.Get(ev)
		if !ok {
			return nil, false
		}
		line, _ := v.(string)
		n, _ := name.Get(ev)
		p, _ := exe.Get(ev)
		ns, _ := n.(string)
		ps, _ := p.(string)
		if ns == "" || ps == "" || ns == ps || !strings.HasPrefix(line, ns) {
			return line, true
		}
		return alternatives{line, ps + line[len(ns):]}, true
	}
}

// resolver finds the fields of one source.
type resolver struct {
	src source
}

// field returns the getter of a Sigma field.
func (r resolver) field(name string) (getter, error) {
	acc, err := r.access(name)
	return acc.get, err
}

// access returns how to read a Sigma field.
func (r resolver) access(name string) (access, error) {
	if r.src == srcCloudTrail {
		g, err := cloudGetter(name)
		return access{get: g}, err
	}
	lf, ok := linuxByName[name]
	if !ok {
		// Sigma field names are case-sensitive, but backends are not.
		for n, f := range linuxByName {
			if strings.EqualFold(n, name) {
				lf, ok = f, true
				break
			}
		}
	}
	if !ok {
		return access{}, fmt.Errorf("%s has no such field", r.src)
	}
	cat := strings.TrimPrefix(r.src.String(), "linux/")
	for _, c := range lf.m.Categories {
		if c == cat {
			return lf.acc, nil
		}
	}
	return access{}, fmt.Errorf("%s is not a field of %s", name, r.src)
}

// absentIsEmpty reports whether an absent field may be an empty one: the
// catalog reports empty strings as absent.
func (r resolver) absentIsEmpty() bool { return r.src != srcCloudTrail }

// keywordFields returns what a keyword search looks in: for linux the
// mapped string fields of the category, command line first; for
// CloudTrail the record's raw text.
func (r resolver) keywordFields() []access {
	if r.src == srcCloudTrail {
		return []access{{get: func(x *evalCtx) (any, bool) {
			if len(x.ev.Raw) == 0 {
				return nil, false
			}
			return string(x.ev.Raw), true
		}}}
	}
	names := []string{"CommandLine", "Image", "ParentCommandLine", "ParentImage", "CurrentDirectory", "User", "TargetFilename", "DestinationIp", "SourceIp"}
	var out []access
	for _, n := range names {
		if acc, err := r.access(n); err == nil {
			out = append(out, acc)
		}
	}
	return out
}

// fieldNames returns the Sigma fields the source supplies, sorted (for
// Rule.Fields); CloudTrail has none fixed.
func (r resolver) fieldNames() []string {
	if r.src == srcCloudTrail {
		return nil
	}
	var out []string
	for n := range linuxByName {
		if _, err := r.field(n); err == nil {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// cloudGetter reads a CloudTrail field, named by the record's own keys
// joined with dots (userIdentity.sessionContext.sessionIssuer.type), from
// the parsed record. Arrays on the way are looked into, element by
// element, so that a value matches when any element's does. An event
// with no raw record falls back on the fields cairn lifted (eventName,
// eventSource, ...).
func cloudGetter(name string) (getter, error) {
	if name == "" {
		return nil, fmt.Errorf("empty field name")
	}
	parts := strings.Split(name, ".")
	lifted := liftedCloud[name]
	return func(x *evalCtx) (any, bool) {
		doc := x.ev.Doc()
		if doc == nil {
			if lifted != nil && x.ev.Cloud != nil {
				if s := lifted(x.ev.Cloud); s != "" {
					return s, true
				}
			}
			return nil, false
		}
		return lookupPath(doc, parts)
	}, nil
}

// lookupPath walks a JSON value along keys. A key holding dots itself
// ("a.b": 1) is found as well.
func lookupPath(v any, parts []string) (any, bool) {
	for i, p := range parts {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[p]
			if !ok {
				if i < len(parts)-1 {
					if whole, ok := x[strings.Join(parts[i:], ".")]; ok {
						return whole, true
					}
				}
				return nil, false
			}
			v = next
		case []any:
			var out []any
			for _, el := range x {
				if r, ok := lookupPath(el, parts[i:]); ok {
					out = append(out, r)
				}
			}
			return out, len(out) > 0
		default:
			return nil, false
		}
	}
	return v, true
}

// liftedCloud reads the top-level fields cairn lifts from a CloudTrail
// record, for events that carry no raw record.
var liftedCloud = map[string]func(c *cairn.CloudCall) string{
	"eventName":          func(c *cairn.CloudCall) string { return c.EventName },
	"eventSource":        func(c *cairn.CloudCall) string { return c.EventSource },
	"eventType":          func(c *cairn.CloudCall) string { return c.EventType },
	"eventCategory":      func(c *cairn.CloudCall) string { return c.EventCategory },
	"eventID":            func(c *cairn.CloudCall) string { return c.EventID },
	"awsRegion":          func(c *cairn.CloudCall) string { return c.Region },
	"sourceIPAddress":    func(c *cairn.CloudCall) string { return c.SourceIP },
	"userAgent":          func(c *cairn.CloudCall) string { return c.UserAgent },
	"errorCode":          func(c *cairn.CloudCall) string { return c.ErrorCode },
	"errorMessage":       func(c *cairn.CloudCall) string { return c.ErrorMessage },
	"recipientAccountId": func(c *cairn.CloudCall) string { return c.RecipientAccount },
	"userIdentity.type":  func(c *cairn.CloudCall) string { return c.Identity.Type },
	"userIdentity.arn":   func(c *cairn.CloudCall) string { return c.Identity.ARN },
}

// eventName returns a CloudTrail event's eventName.
func eventName(ev *cairn.Event) string {
	if ev.Cloud != nil && ev.Cloud.EventName != "" {
		return ev.Cloud.EventName
	}
	if m, ok := ev.Doc().(map[string]any); ok {
		if s, ok := m["eventName"].(string); ok {
			return s
		}
	}
	return ""
}

// jsonText renders a JSON value (an object or array of a CloudTrail
// record) as compact text with sorted keys and strings written without
// escapes, so that a rule's requestParameters|contains: '"s3:GetObject"'
// finds the quoted text even inside a policy document that the record
// holds as a JSON string.
func jsonText(v any) string {
	var b strings.Builder
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteByte('"')
		b.WriteString(x)
		b.WriteByte('"')
	case json.Number:
		b.WriteString(string(x))
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('"')
			b.WriteString(k)
			b.WriteString(`":`)
			writeJSON(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, el)
		}
		b.WriteByte(']')
	default:
		fmt.Fprint(b, x)
	}
}
