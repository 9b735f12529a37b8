// Package field is cairn's field catalog: the one place where a field is
// defined (its name, type, description and how it is read from an Event).
// Rules, the filter language, the store, the API and the assistant all read
// fields through it, so a field means the same thing everywhere.
//
// Names follow Falco's (proc.cmdline, k8s.ns.name, ct.name, ...), with
// Sysdig-style aliases (kubernetes.namespace.name) and cairn's own fields
// (cloud.identity, k8s.cluster.name).
package field

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/sysarg"
)

// Type is the type of a field's values.
type Type int

// The field types. Values are Go values of one type each: String and IP
// are string, Int is int64, Bool is bool, Time is time.Time, Severity is
// int64 (a rank, see Severities), List is []string.
const (
	String Type = iota
	Int
	Bool
	Time
	IP
	Severity
	List
)

var typeNames = [...]string{"string", "int", "bool", "time", "ip", "severity", "list"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// ArgKind says whether a field takes an argument in brackets.
type ArgKind int

// The argument kinds.
const (
	NoArg      ArgKind = iota
	IndexArg           // proc.aname[2]: a non-negative integer
	KeyArg             // k8s.pod.label[app]: a key
	PointerArg         // json.value[/a/b]: a JSON pointer
)

// Getter reads a field from an event. arg is the bracketed argument ("" if
// none). It reports false when the event does not have the field.
type Getter func(ev *cairn.Event, arg string) (any, bool)

// Field is one entry of the catalog.
type Field struct {
	Name string
	Type Type
	Desc string
	Arg  ArgKind
	// ArgOptional means the field is valid with and without an argument
	// (proc.aname and proc.aname[N]).
	ArgOptional bool
	Get         Getter
	// Aliases are other names accepted for the field.
	Aliases []string
	// Unstored marks a field whose values are whole objects of the raw
	// record re-encoded (ct.request, ct.response, ...): large, and
	// readable from the raw record anyway, so Flatten leaves them out.
	// A store filtering on one selects a superset in SQL and refines it
	// with the in-memory predicate.
	Unstored bool
}

var (
	catalog []*Field
	byName  = map[string]*Field{}
)

// register adds fields to the catalog; it panics on a duplicate name,
// which is a programming error caught by any test.
func register(fs ...*Field) {
	for _, f := range fs {
		for _, n := range append([]string{f.Name}, f.Aliases...) {
			if _, dup := byName[n]; dup {
				panic("field: duplicate name " + n)
			}
			byName[n] = f
		}
		catalog = append(catalog, f)
	}
}

// All returns the catalog sorted by name.
func All() []*Field {
	out := append([]*Field(nil), catalog...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Ref is a field with its argument, as written in a rule or filter.
type Ref struct {
	Field *Field
	Arg   string
	// HasArg distinguishes proc.aname from proc.aname[0] style forms.
	HasArg bool
}

// Name returns the reference as written canonically.
func (r Ref) Name() string {
	if r.HasArg {
		return r.Field.Name + "[" + r.Arg + "]"
	}
	return r.Field.Name
}

// Get reads the referenced field from ev.
func (r Ref) Get(ev *cairn.Event) (any, bool) { return r.Field.Get(ev, r.Arg) }

// Lookup resolves a field name, with an optional bracketed argument
// ("proc.aname[2]", "json.value[/eventName]"), or an alias. The error is a
// *cairn.Error with code EINVALID that names the nearest known fields.
func Lookup(name string) (Ref, error) {
	base, arg, hasArg := name, "", false
	if i := strings.IndexByte(name, '['); i >= 0 && strings.HasSuffix(name, "]") {
		base, arg, hasArg = name[:i], name[i+1:len(name)-1], true
	}
	f, ok := byName[base]
	if !ok && !hasArg && strings.HasPrefix(name, "evt.arg.") {
		// Falco's dotted form of a call argument: evt.arg.flags.
		base, arg, hasArg = "evt.arg", name[len("evt.arg."):], true
		f, ok = byName[base]
	}
	if !ok {
		return Ref{}, unknown(base)
	}
	if f.Name == "evt.arg" && hasArg && !sysarg.Known(arg) {
		return Ref{}, cairn.Errorf(cairn.EINVALID, "field %s: no source cairn reads reports a call argument named %q", name, arg)
	}
	switch {
	case hasArg && f.Arg == NoArg:
		return Ref{}, cairn.Errorf(cairn.EINVALID, "field %s takes no argument", f.Name)
	case !hasArg && f.Arg != NoArg && !f.ArgOptional:
		return Ref{}, cairn.Errorf(cairn.EINVALID, "field %s needs an argument in brackets, as in %s", f.Name, argExample(f))
	case hasArg && f.Arg == IndexArg:
		for _, c := range arg {
			if c < '0' || c > '9' {
				return Ref{}, cairn.Errorf(cairn.EINVALID, "field %s takes a non-negative index, not %q", f.Name, arg)
			}
		}
		if arg == "" || len(arg) > 4 {
			return Ref{}, cairn.Errorf(cairn.EINVALID, "field %s takes an index from 0 to 9999", f.Name)
		}
	case hasArg && f.Arg == PointerArg:
		if arg != "" && !strings.HasPrefix(arg, "/") {
			return Ref{}, cairn.Errorf(cairn.EINVALID, "field %s takes a JSON pointer starting with /, not %q", f.Name, arg)
		}
	case hasArg && f.Arg == KeyArg && arg == "":
		return Ref{}, cairn.Errorf(cairn.EINVALID, "field %s needs a key in brackets", f.Name)
	}
	return Ref{Field: f, Arg: arg, HasArg: hasArg}, nil
}

func argExample(f *Field) string {
	switch f.Arg {
	case IndexArg:
		return f.Name + "[1]"
	case PointerArg:
		return f.Name + "[/eventName]"
	default:
		return f.Name + "[key]"
	}
}

func unknown(name string) error {
	if near := Suggest(name, 3); len(near) > 0 {
		return cairn.Errorf(cairn.EINVALID, "unknown field %q; did you mean %s?", name, strings.Join(near, ", "))
	}
	return cairn.Errorf(cairn.EINVALID, "unknown field %q; `cairn fields` lists them", name)
}

// Suggest returns up to n known names nearest to name, by edit distance
// and shared prefix, nearest first.
func Suggest(name string, n int) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for known := range byName {
		d := distance(name, known)
		// A name that contains the typed text, or the typed text's last
		// segment, is a good suggestion even when far by edit distance.
		if strings.Contains(known, name) || strings.HasSuffix(known, "."+lastSegment(name)) {
			d = min(d, 2)
		}
		if d <= max(2, len(name)/3) {
			cs = append(cs, cand{known, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// TimeLayout is how Time values are written as text by Flatten: fixed
// width, UTC, so that text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Flatten returns the value of every argument-less field the event has,
// keyed by field name, with times as TimeLayout text and severities as
// ranks. The store keeps it so that any field can be filtered in SQL.
func Flatten(ev *cairn.Event) map[string]any {
	out := make(map[string]any, 48)
	for _, f := range catalog {
		if f.Unstored || f.Arg != NoArg && !f.ArgOptional {
			continue
		}
		v, ok := f.Get(ev, "")
		if !ok {
			continue
		}
		if t, isTime := v.(time.Time); isTime {
			v = t.UTC().Format(TimeLayout)
		}
		out[f.Name] = v
	}
	return out
}
