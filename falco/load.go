package falco

import (
	"strings"

	"github.com/cairn-cdr/cairn"
)

// File is one rules file to load.
type File struct {
	Name string
	Data []byte
}

// Rule is a loaded, compiled Falco rule.
type Rule struct {
	Name, Desc, Output, Priority, Source string
	Tags                                 []string
	// Match reports whether an event triggers the rule.
	Match func(ev *cairn.Event) bool
	// EvtTypes lists the evt.type values the condition requires, for
	// indexing; nil means any.
	EvtTypes []string
	// Condition is the full condition, exceptions included.
	Condition string

	output template
}

// Skipped is a rule that was not loaded, with the reason; Fields lists
// the fields cairn lacks when that is the reason.
type Skipped struct {
	Rule, Reason string
	Fields       []string
}

// FileStats counts what one file defined (appends and overrides
// included).
type FileStats struct {
	Name                 string
	Rules, Macros, Lists int
}

// RuleSet is the result of Load: the enabled rules that compiled, in the
// order of their first definition, and the ones skipped.
type RuleSet struct {
	Rules    []*Rule
	Skipped  []Skipped
	Disabled []string
	Files    []FileStats
}

// Supported sources: runtime (syscall) and CloudTrail rules.
var sources = map[string]bool{"syscall": true, "aws_cloudtrail": true}

// ruleDef is a rule as defined by the files, before compiling.
type ruleDef struct {
	name, desc, cond, output, priority, source string
	tags                                       []string
	enabled                                    bool
	exceptions                                 []exception
}

type loader struct {
	lists     map[string][]string
	macros    map[string]string
	rules     map[string]*ruleDef
	order     []string
	file      string
	listOrder []string
}

func (l *loader) errorf(it *item, format string, args ...any) error {
	return cairn.Errorf(cairn.EINVALID, "%s: line %d: %s", l.file, it.line, sprintf(format, args...))
}

// Load reads rules files in order, later files amending earlier ones
// (append, override, redefinition, enabled), then compiles every enabled
// rule. A malformed file is an error; a rule that cannot be compiled
// (fields cairn lacks, an unsupported source, a bad condition) is
// reported in Skipped.
func Load(files ...File) (*RuleSet, error) {
	l := &loader{lists: map[string][]string{}, macros: map[string]string{}, rules: map[string]*ruleDef{}}
	rs := &RuleSet{}
	for _, f := range files {
		l.file = f.Name
		items, err := parseFile(f.Data)
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "%s: %v", f.Name, err)
		}
		st := FileStats{Name: f.Name}
		for i := range items {
			it := &items[i]
			switch {
			case it.Rule != nil:
				err = l.rule(it)
				st.Rules++
			case it.Macro != nil:
				err = l.macro(it)
				st.Macros++
			case it.List != nil:
				err = l.list(it)
				st.Lists++
			case it.RequiredEngineVersion != nil || it.RequiredPluginVersions != nil:
			default:
				err = l.errorf(it, "item is not a rule, macro or list")
			}
			if err != nil {
				return nil, err
			}
		}
		rs.Files = append(rs.Files, st)
	}
	if err := l.compile(rs); err != nil {
		return nil, err
	}
	return rs, nil
}

// mode returns how an amendment applies to key: "append", "replace", or
// "" when the item does not amend key.
func mode(it *item, key string) string {
	if it.Override != nil {
		return it.Override[key]
	}
	if it.Append {
		return "append"
	}
	return ""
}

// ruleMode is mode for a rule's key: the deprecated append: true amends
// a rule's condition and exceptions only, and its other keys are not
// read, as in Falco.
func ruleMode(it *item, key string) string {
	if it.Append && it.Override == nil && key != "condition" && key != "exceptions" {
		return "ignore"
	}
	return mode(it, key)
}

// Falco's rule override keys: what each may do.
var ruleOverrides = map[string]map[string]bool{
	"condition":  {"append": true, "replace": true},
	"output":     {"append": true, "replace": true},
	"desc":       {"append": true, "replace": true},
	"tags":       {"append": true, "replace": true},
	"exceptions": {"append": true, "replace": true},
	"priority":   {"replace": true},
	"enabled":    {"replace": true},
}

func (l *loader) checkOverride(it *item, allowed ...string) error {
	for k, v := range it.Override {
		if v != "append" && v != "replace" {
			return l.errorf(it, "override of %s must be append or replace, not %q", k, v)
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return l.errorf(it, "%s cannot be overridden", k)
		}
	}
	if it.Append && it.Override != nil {
		return l.errorf(it, "append and override cannot be used together")
	}
	return nil
}

func (l *loader) list(it *item) error {
	name := *it.List
	items, ok := strs(it.Items)
	if !ok {
		return l.errorf(it, "list %s: items must be scalars", name)
	}
	if err := l.checkOverride(it, "items"); err != nil {
		return err
	}
	old, exists := l.lists[name]
	switch mode(it, "items") {
	case "append":
		if !exists {
			return l.errorf(it, "list %s: append to a list that is not defined", name)
		}
		l.lists[name] = append(append([]string(nil), old...), items...)
	case "replace":
		if !exists {
			return l.errorf(it, "list %s: override of a list that is not defined", name)
		}
		l.lists[name] = items
	default:
		if !exists {
			l.listOrder = append(l.listOrder, name)
		}
		l.lists[name] = items
	}
	return nil
}

func (l *loader) macro(it *item) error {
	name := *it.Macro
	if err := l.checkOverride(it, "condition"); err != nil {
		return err
	}
	if it.Condition == nil {
		return l.errorf(it, "macro %s has no condition", name)
	}
	old, exists := l.macros[name]
	switch mode(it, "condition") {
	case "append":
		if !exists {
			return l.errorf(it, "macro %s: append to a macro that is not defined", name)
		}
		l.macros[name] = old + " " + *it.Condition
	case "replace":
		if !exists {
			return l.errorf(it, "macro %s: override of a macro that is not defined", name)
		}
		l.macros[name] = *it.Condition
	default:
		l.macros[name] = *it.Condition
	}
	return nil
}

func (l *loader) rule(it *item) error {
	name := *it.Rule
	if err := l.checkOverride(it, "desc", "condition", "output", "priority", "tags", "exceptions", "enabled"); err != nil {
		return err
	}
	for k, v := range it.Override {
		if !ruleOverrides[k][v] {
			return l.errorf(it, "rule %s: %s cannot be overridden with %s; use replace", name, k, v)
		}
	}
	old, exists := l.rules[name]
	amend := it.Append || it.Override != nil
	// An item with only rule and enabled turns an existing rule on or off.
	if !amend && exists && it.Enabled != nil && it.Condition == nil && it.Output == nil && it.Desc == nil && it.Priority == nil {
		old.enabled = *it.Enabled
		return nil
	}
	if !amend {
		if it.Condition == nil || it.Output == nil || it.Priority == nil {
			return l.errorf(it, "rule %s needs condition, output and priority", name)
		}
		d := &ruleDef{name: name, cond: *it.Condition, output: strings.TrimSpace(*it.Output), priority: *it.Priority,
			source: "syscall", tags: it.Tags, enabled: true, exceptions: it.Exceptions}
		if it.Desc != nil {
			d.desc = *it.Desc
		}
		if it.Source != nil {
			d.source = *it.Source
		}
		if it.Enabled != nil {
			d.enabled = *it.Enabled
		}
		if !exists {
			l.order = append(l.order, name)
		}
		l.rules[name] = d
		return nil
	}
	if !exists {
		return l.errorf(it, "rule %s: append or override of a rule that is not defined", name)
	}
	return l.amendRule(it, old)
}

func (l *loader) amendRule(it *item, d *ruleDef) error {
	str := func(key string, p *string, dst *string, sep string) error {
		m := ruleMode(it, key)
		switch {
		case m == "ignore":
		case p == nil && m != "":
			if it.Override != nil {
				return l.errorf(it, "rule %s: override of %s without a value", d.name, key)
			}
		case p == nil:
		case m == "append":
			*dst += sep + *p
		case m == "replace":
			*dst = *p
		default:
			return l.errorf(it, "rule %s: %s given without an override for it", d.name, key)
		}
		return nil
	}
	if err := str("condition", it.Condition, &d.cond, " "); err != nil {
		return err
	}
	if err := str("output", it.Output, &d.output, " "); err != nil {
		return err
	}
	if err := str("desc", it.Desc, &d.desc, " "); err != nil {
		return err
	}
	if err := str("priority", it.Priority, &d.priority, ""); err != nil {
		return err
	}
	if err := str("source", it.Source, &d.source, ""); err != nil {
		return err
	}
	if it.Override != nil {
		// Every amendable key the item gives needs an override entry.
		for key, given := range map[string]bool{"enabled": it.Enabled != nil, "tags": it.Tags != nil, "exceptions": it.Exceptions != nil} {
			if given && it.Override[key] == "" {
				return l.errorf(it, "rule %s: %s given without an override for it", d.name, key)
			}
		}
	}
	if it.Enabled != nil && ruleMode(it, "enabled") != "ignore" {
		d.enabled = *it.Enabled
	}
	switch ruleMode(it, "tags") {
	case "append":
		d.tags = append(append([]string(nil), d.tags...), it.Tags...)
	case "replace":
		d.tags = it.Tags
	}
	switch ruleMode(it, "exceptions") {
	case "append":
		d.exceptions = appendExceptions(d.exceptions, it.Exceptions)
	case "replace":
		d.exceptions = it.Exceptions
	}
	return nil
}

// appendExceptions adds exceptions; values of an exception that already
// exists by name are added to it.
func appendExceptions(old, add []exception) []exception {
	out := append([]exception(nil), old...)
	for _, a := range add {
		found := false
		for i := range out {
			if out[i].Name == a.Name {
				out[i].Values = append(append([]any(nil), out[i].Values...), a.Values...)
				found = true
				break
			}
		}
		if !found {
			out = append(out, a)
		}
	}
	return out
}

// maxListItems bounds a list once the lists it names are expanded.
const maxListItems = 1 << 16

// expandLists resolves list items naming other lists; an item naming a
// list being expanded (a cycle) stays a literal.
func (l *loader) expandLists() (map[string][]string, error) {
	out := make(map[string][]string, len(l.lists))
	active := map[string]bool{}
	var expand func(name string) ([]string, error)
	expand = func(name string) ([]string, error) {
		if v, ok := out[name]; ok {
			return v, nil
		}
		active[name] = true
		defer delete(active, name)
		var items []string
		for _, it := range l.lists[name] {
			if _, isList := l.lists[it]; isList && !active[it] {
				sub, err := expand(it)
				if err != nil {
					return nil, err
				}
				items = append(items, sub...)
			} else {
				items = append(items, it)
			}
			if len(items) > maxListItems {
				return nil, cairn.Errorf(cairn.EINVALID, "list %s has more than %d items once expanded", name, maxListItems)
			}
		}
		out[name] = items
		return items, nil
	}
	for _, name := range l.listOrder {
		if _, err := expand(name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (l *loader) compile(rs *RuleSet) error {
	lists, err := l.expandLists()
	if err != nil {
		return err
	}
	env := &Env{Lists: lists, Macros: l.macros}
	for _, name := range l.order {
		d := l.rules[name]
		if !d.enabled {
			rs.Disabled = append(rs.Disabled, name)
			continue
		}
		if !sources[d.source] {
			rs.Skipped = append(rs.Skipped, Skipped{Rule: name, Reason: "source " + d.source + " is not supported"})
			continue
		}
		cond, err := exceptionCondition(d)
		if err != nil {
			rs.Skipped = append(rs.Skipped, Skipped{Rule: name, Reason: err.Error()})
			continue
		}
		c, err := Compile(cond, env)
		if err != nil {
			s := Skipped{Rule: name, Reason: err.Error()}
			if fe, ok := err.(*FieldError); ok {
				s.Fields = fe.Fields
			}
			rs.Skipped = append(rs.Skipped, s)
			continue
		}
		rs.Rules = append(rs.Rules, &Rule{Name: name, Desc: strings.TrimSpace(d.desc), Output: d.output, Priority: d.priority,
			Source: d.source, Tags: d.tags, Match: c.Match, EvtTypes: c.EvtTypes, Condition: cond, output: parseTemplate(d.output)})
	}
	return nil
}
