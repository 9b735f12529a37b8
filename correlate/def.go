package correlate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cairn-cdr/cairn"
)

// The correlation types of the Sigma correlation specification (v2.1.0).
const (
	EventCount      = "event_count"
	ValueCount      = "value_count"
	ValueSum        = "value_sum"
	ValueAvg        = "value_avg"
	ValuePercentile = "value_percentile"
	Temporal        = "temporal"
	TemporalOrdered = "temporal_ordered"
)

// Def is one Sigma correlation rule, already parsed (the sigma package
// reads the YAML). An Engine keeps the Defs it is given: they must not
// change afterwards.
type Def struct {
	// ID and Name identify the correlation; other correlations refer to it
	// by either. Title and Level are carried to results untouched.
	ID, Name, Title, Level string
	Tags                   []string
	// Type is one of the type constants (EventCount, ...).
	Type string
	// Rules are the ids or names of the base rules or correlations whose
	// matches this correlation consumes. For temporal_ordered their order
	// is the required order of the events.
	Rules []string
	// GroupBy names the fields (or aliases) whose values must be equal for
	// hits to correlate. Empty means one group for all hits.
	GroupBy  []string
	Timespan time.Duration
	// Condition is the threshold; see Condition for the defaults.
	Condition Condition
	// Aliases maps an alias name used in GroupBy (or Condition.Field) to
	// the field to read for hits of each rule: alias → rule id or name →
	// field. Hits of a rule without an entry read the alias name itself.
	Aliases map[string]map[string]string
	// Generate reports that the referenced rules' own matches are wanted
	// as detections too. The engine only carries it: the caller emits
	// those matches.
	Generate bool
}

// Condition is a conjunction of comparisons of the measured value with
// thresholds; nil comparisons are absent. At least one is required,
// except for temporal types, where none means "every referenced rule"
// (gte len(Rules)).
type Condition struct {
	GT, GTE, LT, LTE, EQ, NEQ *float64
	// Field is the event field measured by the value_* types.
	Field string
	// Percentile is the percentile (0 < p <= 100) value_percentile
	// measures, by the nearest-rank method. The specification names no
	// key for it; 0 means 50, the median.
	Percentile float64
}

// bound is one compiled comparison.
type bound struct {
	op string
	v  float64
}

// cond is a compiled Condition.
type cond []bound

// holds reports whether x satisfies every comparison.
func (c cond) holds(x float64) bool {
	for _, b := range c {
		var ok bool
		switch b.op {
		case "gt":
			ok = x > b.v
		case "gte":
			ok = x >= b.v
		case "lt":
			ok = x < b.v
		case "lte":
			ok = x <= b.v
		case "eq":
			ok = x == b.v
		case "neq":
			ok = x != b.v
		}
		if !ok {
			return false
		}
	}
	return true
}

// lowerOnly reports whether every comparison is gt or gte, so that a
// measure that only grows as hits arrive can be decided at once.
func (c cond) lowerOnly() bool {
	for _, b := range c {
		if b.op != "gt" && b.op != "gte" {
			return false
		}
	}
	return len(c) > 0
}

// upper returns the smallest upper limit the condition puts on the
// measure (lt, lte or eq), or +Inf.
func (c cond) upper() float64 {
	u := math.Inf(1)
	for _, b := range c {
		if b.op == "lt" || b.op == "lte" || b.op == "eq" {
			u = min(u, b.v)
		}
	}
	return u
}

// compileCond checks the condition of d and compiles it.
func compileCond(d *Def) (cond, error) {
	c := d.Condition
	var out cond
	for _, b := range []struct {
		op string
		v  *float64
	}{{"gt", c.GT}, {"gte", c.GTE}, {"lt", c.LT}, {"lte", c.LTE}, {"eq", c.EQ}, {"neq", c.NEQ}} {
		if b.v == nil {
			continue
		}
		if math.IsNaN(*b.v) {
			return nil, fmt.Errorf("condition %s is not a number", b.op)
		}
		out = append(out, bound{b.op, *b.v})
	}
	valueType := d.Type == ValueCount || d.Type == ValueSum || d.Type == ValueAvg || d.Type == ValuePercentile
	switch {
	case valueType && c.Field == "":
		return nil, fmt.Errorf("%s needs condition.field", d.Type)
	case !valueType && c.Field != "":
		return nil, fmt.Errorf("condition.field is only used by value_* types, not %s", d.Type)
	case c.Percentile != 0 && d.Type != ValuePercentile:
		return nil, fmt.Errorf("condition.percentile is only used by %s", ValuePercentile)
	case c.Percentile < 0 || c.Percentile > 100 || math.IsNaN(c.Percentile):
		return nil, fmt.Errorf("condition.percentile must be in (0, 100], not %g", c.Percentile)
	}
	if len(out) == 0 {
		if d.Type != Temporal && d.Type != TemporalOrdered {
			return nil, fmt.Errorf("%s needs a condition (gt, gte, lt, lte, eq or neq)", d.Type)
		}
		out = cond{{"gte", float64(len(d.Rules))}}
	}
	return out, nil
}

// compiled is a Def prepared for the engine, with its live groups.
type compiled struct {
	*Def
	key   string // ID, else Name, else Title: what result IDs hash
	index int
	span  int64
	cond  cond
	// eager correlations are decided on each hit over a sliding window;
	// the others when their anchored window closes.
	eager bool
	// fields are the group-by fields read for a hit, by the hit's rule
	// id or name when aliases differ from the group-by names.
	fields      []string
	aliasFields map[string][]string
	valueField  string
	aliasValue  map[string]string

	// tab holds the groups, at pos in each slot.
	tab *table
	pos int
	// lru lists the groups least recently updated first.
	lru groupList
	// closing lists the open anchored windows in opening order, which is
	// also the order of their ends (deferred correlations only).
	closing deque[*group]
}

// fieldsFor returns the group-by fields and value field to read for a hit
// of the rule with this id and name.
func (d *compiled) fieldsFor(id, name string) ([]string, string) {
	fields, value := d.fields, d.valueField
	if d.aliasFields != nil {
		if f, ok := d.aliasFields[name]; ok {
			fields = f
		} else if f, ok := d.aliasFields[id]; ok {
			fields = f
		}
		if v, ok := d.aliasValue[name]; ok {
			value = v
		} else if v, ok := d.aliasValue[id]; ok {
			value = v
		}
	}
	return fields, value
}

// compile checks defs and resolves their references. base lists the
// known base rule ids and names; nil means any reference that names no
// correlation is taken to be a base rule.
func compile(defs []*Def, base []string) ([]*compiled, error) {
	var errs []error
	fail := func(d *Def, format string, args ...any) {
		errs = append(errs, cairn.Errorf(cairn.EINVALID, "correlation %s: %s", label(d), fmt.Sprintf(format, args...)))
	}
	baseSet := make(map[string]bool, len(base))
	for _, b := range base {
		baseSet[b] = true
	}
	byRef := map[string]*compiled{}
	keys := map[string]bool{}
	var out []*compiled
	for i, d := range defs {
		if d == nil {
			errs = append(errs, cairn.Errorf(cairn.EINVALID, "correlation %d is nil", i))
			continue
		}
		c := &compiled{Def: d, index: len(out), span: int64(d.Timespan)}
		c.key = firstNonEmpty(d.ID, d.Name, d.Title)
		if c.key == "" {
			fail(d, "needs an id, a name or a title")
		} else if d.ID == "" && d.Name == "" && keys[c.key] {
			fail(d, "needs an id or a name: another correlation has this title as its id, name or title")
		}
		keys[c.key] = true
		for j, ref := range []string{d.ID, d.Name} {
			if ref == "" || (j == 1 && ref == d.ID) {
				continue
			}
			if prev, ok := byRef[ref]; ok {
				fail(d, "id or name %q is also used by correlation %s", ref, label(prev.Def))
			}
			if baseSet[ref] {
				fail(d, "id or name %q is also a base rule", ref)
			}
			byRef[ref] = c
		}
		switch d.Type {
		case EventCount, ValueCount, ValueSum, ValueAvg, ValuePercentile, Temporal, TemporalOrdered:
		default:
			fail(d, "unknown type %q", d.Type)
		}
		if d.Timespan <= 0 || d.Timespan > maxSpan {
			fail(d, "timespan must be positive and at most 10 years, not %s", d.Timespan)
		}
		if len(d.Rules) == 0 {
			fail(d, "references no rules")
		}
		for j, r := range d.Rules {
			if r == "" || slices.Contains(d.Rules[:j], r) {
				fail(d, "rule reference %q is empty or repeated", r)
			}
		}
		for j, g := range d.GroupBy {
			if g == "" || slices.Contains(d.GroupBy[:j], g) {
				fail(d, "group-by field %q is empty or repeated", g)
			}
		}
		var err error
		if c.cond, err = compileCond(d); err != nil {
			fail(d, "%v", err)
		}
		mono := d.Type == EventCount || d.Type == ValueCount || d.Type == ValueSum || d.Type == Temporal || d.Type == TemporalOrdered
		c.eager = mono && c.cond.lowerOnly()
		c.fields = d.GroupBy
		c.valueField = d.Condition.Field
		out = append(out, c)
	}
	// References and aliases need every correlation's id and name.
	for _, c := range out {
		for _, r := range c.Rules {
			if _, ok := byRef[r]; !ok && base != nil && !baseSet[r] {
				fail(c.Def, "rule %q is neither a correlation nor a known base rule", r)
			}
		}
		compileAliases(c, byRef, baseSet, base == nil, func(format string, args ...any) { fail(c.Def, format, args...) })
	}
	if err := checkCycles(out, byRef); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// FieldsFor returns the group-by fields and the condition field read for
// a hit of the rule with this id and name: GroupBy and Condition.Field
// with the aliases given for the rule's name applied, else those given
// for its id.
func (d *Def) FieldsFor(id, name string) ([]string, string) {
	for _, ref := range []string{name, id} {
		fields, value, mapped := slices.Clone(d.GroupBy), d.Condition.Field, false
		for alias, byRule := range d.Aliases {
			f, ok := byRule[ref]
			if !ok {
				continue
			}
			mapped = true
			for i, g := range d.GroupBy {
				if g == alias {
					fields[i] = f
				}
			}
			if alias == d.Condition.Field {
				value = f
			}
		}
		if mapped {
			return fields, value
		}
	}
	return d.GroupBy, d.Condition.Field
}

// compileAliases fills c's per-rule field lists from its aliases.
// Unless anyBase, the rules aliases name must be referenced by c or known.
func compileAliases(c *compiled, byRef map[string]*compiled, baseSet map[string]bool, anyBase bool, fail func(string, ...any)) {
	if len(c.Aliases) == 0 {
		return
	}
	used := map[string]bool{}
	for _, g := range c.GroupBy {
		used[g] = true
	}
	used[c.Condition.Field] = true
	c.aliasFields = map[string][]string{}
	c.aliasValue = map[string]string{}
	for _, alias := range sortedKeys(c.Aliases) {
		if !used[alias] {
			fail("alias %q is used neither in group-by nor as condition.field", alias)
		}
		for _, rule := range sortedKeys(c.Aliases[alias]) {
			_, isDef := byRef[rule]
			if !slices.Contains(c.Rules, rule) && !isDef && !baseSet[rule] && !anyBase {
				fail("alias %q names rule %q, which the correlation does not reference", alias, rule)
			}
			if c.Aliases[alias][rule] == "" {
				fail("alias %q maps rule %q to an empty field", alias, rule)
			}
			c.aliasFields[rule], c.aliasValue[rule] = c.Def.FieldsFor(rule, rule)
		}
	}
}

// checkCycles reports correlations that reference themselves, directly
// or through others.
func checkCycles(defs []*compiled, byRef map[string]*compiled) error {
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(defs))
	var visit func(c *compiled, path []string) error
	visit = func(c *compiled, path []string) error {
		switch state[c.index] {
		case active:
			return cairn.Errorf(cairn.EINVALID, "correlations reference each other in a cycle: %v", append(path, label(c.Def)))
		case done:
			return nil
		}
		state[c.index] = active
		for _, r := range c.Rules {
			if next, ok := byRef[r]; ok {
				if err := visit(next, append(path, label(c.Def))); err != nil {
					return err
				}
			}
		}
		state[c.index] = done
		return nil
	}
	for _, c := range defs {
		if err := visit(c, nil); err != nil {
			return err
		}
	}
	return nil
}

// label names d in error messages.
func label(d *Def) string {
	if s := firstNonEmpty(d.Name, d.ID); s != "" {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("titled %q", d.Title)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
