package sigma

import (
	"sort"

	"github.com/cairn-cdr/cairn"
)

// Rule is a loaded, compiled Sigma detection rule.
type Rule struct {
	ID    string
	Name  string // the name attribute, by which correlations may refer to the rule
	Title string
	// File is the name of the file the rule came from.
	File           string
	Status         string
	Level          string
	Description    string
	Author         string
	Date, Modified string
	Tags           []string
	Logsource      Logsource
	Falsepositives []string
	References     []string
	// DisplayFields is the rule's fields attribute: what an analyst
	// should see of a matching event.
	DisplayFields []string
	// Condition holds the condition as written; several are joined by or.
	Condition []string

	// Match reports whether an event triggers the rule: it is of the
	// rule's logsource and satisfies the detection.
	Match func(ev *cairn.Event) bool

	src    source
	res    resolver
	detect pred
	// names is the set of eventName values (lower case) the condition
	// requires, nil when it requires none (CloudTrail rules only).
	names map[string]bool
	// used lists the Sigma fields the detection reads.
	used []string
}

// UsedFields returns the Sigma fields the rule's detection reads, in
// order of first use.
func (r *Rule) UsedFields() []string { return append([]string(nil), r.used...) }

// Value returns the value of a Sigma field (as the rule's logsource names
// fields: Image, CommandLine, ... for linux, eventName,
// userIdentity.arn, ... for CloudTrail) in ev as text, for grouping
// matches. Numbers are decimal text, booleans true or false, times RFC
// 3339, a list of the record or an object its JSON text (see jsonText),
// a catalog list its elements joined by spaces. It reports false when the
// event lacks the field (or it is null) or the logsource has no such
// field.
func (r *Rule) Value(ev *cairn.Event, name string) (string, bool) {
	return r.value(newCtx(ev), name)
}

func (r *Rule) value(x *evalCtx, name string) (string, bool) {
	get, err := r.res.field(name)
	if err != nil {
		return "", false
	}
	v, ok := get(x)
	if !ok || v == nil {
		return "", false
	}
	if l, isList := v.([]any); isList {
		return jsonText(l), true
	}
	return text(v)
}

// Fields returns the values ev has of the fields the rule reads, of its
// display fields and, for linux rules, of every mapped field of its
// category: what a correlation may group by.
func (r *Rule) Fields(ev *cairn.Event) map[string]string {
	out := map[string]string{}
	x := newCtx(ev)
	add := func(names []string) {
		for _, n := range names {
			if _, done := out[n]; done {
				continue
			}
			if v, ok := r.value(x, n); ok {
				out[n] = v
			}
		}
	}
	add(r.used)
	add(r.DisplayFields)
	add(r.res.fieldNames())
	return out
}

// EventNames returns the CloudTrail eventName values (lower case, sorted)
// that the rule's condition requires, by which the engine indexes it; nil
// when the condition does not reduce to a set of names.
func (r *Rule) EventNames() []string {
	if r.names == nil {
		return nil
	}
	out := make([]string, 0, len(r.names))
	for n := range r.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
