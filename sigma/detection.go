package sigma

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is returned when a rule names fields cairn cannot supply for
// its logsource. Fields lists them as written, in order of first use.
type FieldError struct {
	Source  string
	Fields  []string
	Reasons []string
}

// Error names the fields.
func (e *FieldError) Error() string {
	return "fields not available in cairn for " + e.Source + ": " + strings.Join(e.Fields, ", ")
}

// errMissing marks a field test left out because its field is missing;
// the compiler collects those into one FieldError.
var errMissing = errors.New("missing field")

// ident is one compiled search identifier.
type ident struct {
	name  string
	match pred
	// names is the set of eventName values (lower case) that an event
	// must have to match, when named is true.
	names map[string]bool
	named bool
}

// test decides a field's value: v and whether the event has the field.
type test func(v any, ok bool) bool

// compiler compiles one rule's detection.
type compiler struct {
	res     resolver
	opts    *Options
	missing *FieldError
	// used lists the Sigma fields the detection reads, in order.
	used []string
}

func (c *compiler) use(name string) {
	for _, u := range c.used {
		if u == name {
			return
		}
	}
	c.used = append(c.used, name)
}

// field resolves a Sigma field, recording it as missing if cairn cannot
// supply it.
func (c *compiler) field(name string) (access, error) {
	acc, err := c.res.access(name)
	if err != nil {
		if c.missing == nil {
			c.missing = &FieldError{Source: c.res.src.String()}
		}
		for _, f := range c.missing.Fields {
			if f == name {
				return access{}, errMissing
			}
		}
		c.missing.Fields = append(c.missing.Fields, name)
		c.missing.Reasons = append(c.missing.Reasons, err.Error())
		return access{}, errMissing
	}
	c.use(name)
	return acc, nil
}

// resolveAlias follows YAML aliases (*name) to the node they name.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// compileIdent compiles a search identifier: a map (AND of its fields), a
// list of maps (OR), or a list of keywords (OR).
func (c *compiler) compileIdent(name string, n *yaml.Node) (*ident, error) {
	n = resolveAlias(n)
	id := &ident{name: name}
	switch {
	case n == nil:
		return nil, fmt.Errorf("search identifier %s is empty", name)
	case n.Kind == yaml.MappingNode:
		m, names, named, err := c.compileMap(n)
		if err != nil {
			return nil, err
		}
		id.match, id.names, id.named = m, names, named
	case n.Kind == yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, fmt.Errorf("search identifier %s is an empty list", name)
		}
		var alts []pred
		var keywords []*yaml.Node
		id.named, id.names = true, map[string]bool{}
		for _, el := range n.Content {
			el = resolveAlias(el)
			switch {
			case el.Kind == yaml.MappingNode:
				m, names, named, err := c.compileMap(el)
				if errors.Is(err, errMissing) {
					continue
				}
				if err != nil {
					return nil, err
				}
				alts = append(alts, m)
				id.named = id.named && named
				for k := range names {
					id.names[k] = true
				}
			case el.Kind == yaml.ScalarNode && !isNull(el):
				keywords = append(keywords, el)
			default:
				return nil, fmt.Errorf("search identifier %s: a list holds maps or keywords, not %s", name, kindName(el))
			}
		}
		if len(keywords) > 0 {
			m, err := c.compileKeywords(modSpec{}, keywords)
			if err != nil {
				return nil, err
			}
			alts = append(alts, m)
			id.named = false
		}
		id.match = anyOf(alts)
	case n.Kind == yaml.ScalarNode && !isNull(n):
		m, err := c.compileKeywords(modSpec{}, []*yaml.Node{n})
		if err != nil {
			return nil, err
		}
		id.match = m
	default:
		return nil, fmt.Errorf("search identifier %s must be a map or a list, not %s", name, kindName(n))
	}
	if id.match == nil {
		id.match = func(*evalCtx) bool { return false }
	}
	if !id.named {
		id.names = nil
	}
	return id, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	}
	if isNull(n) {
		return "null"
	}
	return "a value"
}

func anyOf(fs []pred) pred {
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return func(x *evalCtx) bool {
		for _, f := range fs {
			if f(x) {
				return true
			}
		}
		return false
	}
}

func allOf(fs []pred) pred {
	switch len(fs) {
	case 1:
		return fs[0]
	case 2:
		a, b := fs[0], fs[1]
		return func(x *evalCtx) bool { return a(x) && b(x) }
	}
	return func(x *evalCtx) bool {
		for _, f := range fs {
			if !f(x) {
				return false
			}
		}
		return true
	}
}

// compileMap compiles a map of fields, all of which must match. It also
// returns the eventName values the map requires, if it requires any.
func (c *compiler) compileMap(n *yaml.Node) (pred, map[string]bool, bool, error) {
	if len(n.Content) == 0 {
		return nil, nil, false, errors.New("a selection map is empty")
	}
	var tests []pred
	var names map[string]bool
	missing := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveAlias(n.Content[i]), resolveAlias(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, nil, false, errors.New("a selection key must be a field name")
		}
		spec, err := parseKey(k.Value)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s: %v", k.Value, err)
		}
		var t pred
		if spec.field == "" {
			vals, err := scalars(k.Value, v)
			if err != nil {
				return nil, nil, false, err
			}
			t, err = c.compileKeywords(spec, vals)
			if err != nil {
				return nil, nil, false, err
			}
		} else {
			t, err = c.compileField(spec, v)
			if errors.Is(err, errMissing) {
				missing = true
				continue
			}
			if err != nil {
				return nil, nil, false, fmt.Errorf("%s: %v", k.Value, err)
			}
			if set, ok := nameSet(spec, v); ok {
				names = set
			}
		}
		tests = append(tests, t)
	}
	if missing {
		return nil, nil, false, errMissing
	}
	return allOf(tests), names, names != nil, nil
}

// nameSet returns the eventName values a field test requires: plain
// values of eventName without wildcards.
func nameSet(spec modSpec, v *yaml.Node) (map[string]bool, bool) {
	if spec.field != "eventName" || len(spec.transforms) > 0 || spec.kind != "" || spec.neq || spec.timePart != "" {
		return nil, false
	}
	vals := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		vals = v.Content
	}
	set := map[string]bool{}
	for _, el := range vals {
		el = resolveAlias(el)
		if el.Kind != yaml.ScalarNode || isNull(el) {
			return nil, false
		}
		lit, ok := pattern{toks: parseWildcards(el.Value)}.literal()
		if !ok {
			return nil, false
		}
		set[strings.ToLower(lit)] = true
	}
	return set, len(set) > 0
}

// scalars returns a field's values: one scalar or a list of scalars.
func scalars(key string, v *yaml.Node) ([]*yaml.Node, error) {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
		if len(items) == 0 {
			return nil, fmt.Errorf("%s: empty list of values", key)
		}
	}
	vals := make([]*yaml.Node, len(items))
	for i, el := range items {
		el = resolveAlias(el)
		if el == nil || el.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: values must be strings, numbers, booleans or null", key)
		}
		vals[i] = el
	}
	return vals, nil
}

// compileField compiles one field with its modifiers and values.
func (c *compiler) compileField(spec modSpec, v *yaml.Node) (pred, error) {
	acc, err := c.field(spec.field)
	if err != nil {
		return nil, err
	}
	vals, err := scalars(spec.field, v)
	if err != nil {
		return nil, err
	}
	if spec.kind == "fieldref" {
		return c.fieldrefTest(spec, acc.get, vals)
	}
	p, err := c.fieldTest(spec, acc, vals)
	if err != nil {
		return nil, err
	}
	if spec.neq {
		pos, get := p, acc.get
		p = func(x *evalCtx) bool {
			v, ok := get(x)
			return ok && v != nil && !pos(x)
		}
	}
	return p, nil
}

// fieldTest builds the test of a field's values under its modifiers:
// the values joined by OR, or by AND under all.
func (c *compiler) fieldTest(spec modSpec, acc access, vals []*yaml.Node) (pred, error) {
	if spec.kind == "exists" {
		if len(vals) != 1 {
			return nil, errors.New("exists takes one value, true or false")
		}
		want, err := strconv.ParseBool(vals[0].Value)
		if err != nil {
			return nil, fmt.Errorf("exists takes true or false, not %q", vals[0].Value)
		}
		get := acc.get
		return func(x *evalCtx) bool { _, ok := get(x); return ok == want }, nil
	}
	var ps []pred
	var strs []pattern // OR-joined string values, tested in one pass
	for _, n := range vals {
		if isNull(n) {
			get := acc.get
			ps = append(ps, func(x *evalCtx) bool { v, ok := get(x); return !ok || v == nil })
			continue
		}
		t, pats, err := c.valueTest(spec, n)
		if err != nil {
			return nil, err
		}
		switch {
		case t != nil:
			get := acc.get
			ps = append(ps, func(x *evalCtx) bool { v, ok := get(x); return t(v, ok) })
		case spec.all:
			ps = append(ps, c.stringPred(acc, pats))
		default:
			strs = append(strs, pats...)
		}
	}
	if len(strs) > 0 {
		ps = append(ps, c.stringPred(acc, strs))
	}
	if spec.all {
		return allOf(ps), nil
	}
	return anyOf(ps), nil
}

// stringPred matches a field's text against patterns joined by OR. Case-
// insensitive patterns are matched against the lower-cased text when the
// field has it cached (linux fields), and fold the text as they compare
// otherwise. An absent field of the catalog counts as empty text.
func (c *compiler) stringPred(acc access, pats []pattern) pred {
	var cased, folded []strMatcher
	matchesEmpty := false
	for _, p := range pats {
		m := p.compile()
		if c.res.absentIsEmpty() && m("") {
			matchesEmpty = true
		}
		switch {
		case p.cased:
			cased = append(cased, m)
		case acc.lower != nil:
			folded = append(folded, p.compileLowered())
		default:
			folded = append(folded, m)
		}
	}
	casedM, foldedM := orMatchers(cased), orMatchers(folded)
	get, lower := acc.get, acc.lower
	return func(x *evalCtx) bool {
		v, ok := get(x)
		if !ok {
			return matchesEmpty
		}
		if casedM != nil && anyString(v, casedM) {
			return true
		}
		if foldedM == nil {
			return false
		}
		if lower != nil {
			v, _ = lower(x)
		}
		return anyString(v, foldedM)
	}
}

// orMatchers joins matchers by OR; nil for none.
func orMatchers(ms []strMatcher) strMatcher {
	switch len(ms) {
	case 0:
		return nil
	case 1:
		return ms[0]
	}
	return func(s string) bool {
		for _, m := range ms {
			if m(s) {
				return true
			}
		}
		return false
	}
}

// valueTest builds the test of one value; for string values it returns
// the patterns (alternatives) instead, so that values can share a pass.
func (c *compiler) valueTest(spec modSpec, n *yaml.Node) (test, []pattern, error) {
	tag := n.ShortTag()
	numeric := tag == "!!int" || tag == "!!float"
	switch {
	case spec.kind == "re":
		expr := n.Value
		if spec.reFlags != "" {
			expr = "(?" + spec.reFlags + ")" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, nil, fmt.Errorf("regular expression %q: %v", n.Value, err)
		}
		match := re.MatchString
		if lit := requiredLiteral(expr); lit != "" {
			match = func(s string) bool { return strings.Contains(s, lit) && re.MatchString(s) }
		}
		return func(v any, ok bool) bool { return ok && anyString(v, match) }, nil, nil
	case spec.kind == "cidr":
		p, err := netip.ParsePrefix(strings.TrimSpace(n.Value))
		if err != nil {
			return nil, nil, fmt.Errorf("cidr: %v", err)
		}
		nets := []netip.Prefix{p.Masked()}
		return func(v any, ok bool) bool {
			return ok && anyString(v, func(s string) bool { return inPrefixes(s, nets) })
		}, nil, nil
	case isCompare(spec.kind) || spec.timePart != "":
		want, err := strconv.ParseFloat(strings.TrimSpace(n.Value), 64)
		if err != nil || math.IsNaN(want) {
			if numeric {
				var i int64
				if n.Decode(&i) == nil {
					want, err = float64(i), nil
				}
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%q is not a number", n.Value)
			}
		}
		cmp := compareFunc(spec.kind, want)
		if part := spec.timePart; part != "" {
			return func(v any, ok bool) bool { return ok && anyTime(v, part, cmp) }, nil, nil
		}
		return func(v any, ok bool) bool { return ok && anyNumber(v, cmp) }, nil, nil
	case numeric && len(spec.transforms) == 0:
		// A number matches an equal number, or the same text.
		var want float64
		var i int64
		if n.Decode(&i) == nil {
			want = float64(i)
		} else if err := n.Decode(&want); err != nil {
			return nil, nil, fmt.Errorf("%q is not a number", n.Value)
		}
		m := pattern{toks: literalToks(n.Value), cased: spec.cased}.compile()
		return func(v any, ok bool) bool {
			return ok && (anyNumber(v, func(f float64) bool { return f == want }) || anyString(v, m))
		}, nil, nil
	}
	raws := []string{n.Value}
	if hasMod(spec.transforms, "expand") {
		var err error
		if raws, err = expandPlaceholders(n.Value, c.opts.Placeholders); err != nil {
			return nil, nil, err
		}
	}
	var ps []pattern
	for _, r := range raws {
		ps = append(ps, pattern{toks: parseWildcards(r), cased: spec.cased})
	}
	for _, mod := range spec.transforms {
		if mod == "expand" {
			continue
		}
		var err error
		if ps, err = applyTransform(mod, ps); err != nil {
			return nil, nil, err
		}
	}
	return nil, ps, nil
}

// requiredLiteral returns the longest case-sensitive literal that every
// match of the regular expression contains, or "": text without it is
// rejected before running the expression (a leading .+ makes Go's
// matcher try every start position).
func requiredLiteral(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	best := ""
	for _, p := range parts {
		if p.Op == syntax.OpLiteral && p.Flags&syntax.FoldCase == 0 && len(string(p.Rune)) > len(best) {
			best = string(p.Rune)
		}
	}
	return best
}

func hasMod(mods []string, m string) bool {
	for _, x := range mods {
		if x == m {
			return true
		}
	}
	return false
}

// fieldrefTest compares the field with other fields of the same event:
// equal text, case-insensitive unless cased; with neq, present and
// different from every one.
func (c *compiler) fieldrefTest(spec modSpec, get getter, vals []*yaml.Node) (pred, error) {
	var others []getter
	for _, n := range vals {
		if isNull(n) || n.Value == "" {
			return nil, errors.New("fieldref takes the name of a field")
		}
		other, err := c.field(n.Value)
		if err != nil {
			return nil, err
		}
		others = append(others, other.get)
	}
	cased, all, neq := spec.cased, spec.all, spec.neq
	equal := func(v, w any) bool {
		return anyString(v, func(a string) bool {
			return anyString(w, func(b string) bool {
				if cased {
					return a == b
				}
				return strings.EqualFold(a, b)
			})
		})
	}
	return func(x *evalCtx) bool {
		v, ok := get(x)
		if !ok || v == nil {
			return false
		}
		for _, other := range others {
			w, ok := other(x)
			eq := ok && equal(v, w)
			switch {
			case neq && eq:
				return false
			case !neq && all && !eq:
				return false
			case !neq && !all && eq:
				return true
			}
		}
		return neq || all
	}, nil
}

// compileKeywords compiles keywords: values searched for anywhere in the
// event (see resolver.keywordFields), as if with contains unless the
// modifiers anchor them. They are joined by OR, or AND with all.
func (c *compiler) compileKeywords(spec modSpec, vals []*yaml.Node) (pred, error) {
	switch spec.kind {
	case "", "re":
	default:
		return nil, fmt.Errorf("modifier %s cannot apply to keywords", spec.kind)
	}
	if spec.neq || spec.timePart != "" {
		return nil, errors.New("keywords take string modifiers only")
	}
	anchored := spec.kind == "re" || hasMod(spec.transforms, "contains") || hasMod(spec.transforms, "startswith") || hasMod(spec.transforms, "endswith")
	if !anchored {
		spec.transforms = append(spec.transforms, "contains")
	}
	fields := c.res.keywordFields()
	// inAnyField tests a value's patterns (or test) against every field.
	inAnyField := func(t test, pats []pattern) pred {
		var ps []pred
		for _, acc := range fields {
			if t != nil {
				get := acc.get
				ps = append(ps, func(x *evalCtx) bool { v, ok := get(x); return ok && t(v, ok) })
			} else {
				ps = append(ps, c.stringPred(acc, pats))
			}
		}
		if len(ps) == 0 {
			return func(*evalCtx) bool { return false }
		}
		return anyOf(ps)
	}
	var ps []pred
	var pats []pattern
	for _, n := range vals {
		if isNull(n) {
			return nil, errors.New("a keyword cannot be null")
		}
		n2 := *n
		n2.Tag = "!!str" // a keyword is text, even 42
		t, vp, err := c.valueTest(spec, &n2)
		if err != nil {
			return nil, err
		}
		if t != nil || spec.all {
			ps = append(ps, inAnyField(t, vp))
		} else {
			pats = append(pats, vp...)
		}
	}
	if len(pats) > 0 {
		ps = append(ps, inAnyField(nil, pats))
	}
	if spec.all {
		return allOf(ps), nil
	}
	return anyOf(ps), nil
}
