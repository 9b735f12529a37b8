package falco

import (
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/internal/pred"
)

// Condition is a compiled Falco condition.
type Condition struct {
	// Match reports whether an event satisfies the condition.
	Match func(ev *cairn.Event) bool
	// EvtTypes lists the evt.type values the condition requires, sorted;
	// nil means any event type may match.
	EvtTypes []string
	// Fields lists the fields the condition reads, in order of first use.
	Fields []string
}

// Compile parses and compiles a condition. Macros and lists come from env
// (nil for none). A condition using fields cairn lacks returns a
// *FieldError naming all of them; a malformed one a *cairn.Error.
func Compile(cond string, env *Env) (*Condition, error) {
	n, err := parse(cond, env)
	if err != nil {
		return nil, err
	}
	c := &compiler{seen: map[string]bool{}}
	m := c.node(n)
	if c.err != nil {
		return nil, c.err
	}
	if len(c.missing.Fields) > 0 {
		return nil, &c.missing
	}
	return &Condition{Match: m, EvtTypes: evtTypes(n), Fields: c.fields}, nil
}

type predicate = func(ev *cairn.Event) bool

// maxChecks bounds the size of a condition with its macros expanded:
// macros referring to macros can describe exponentially large trees.
const maxChecks = 50000

type compiler struct {
	checks  int
	missing FieldError
	err     error
	fields  []string
	seen    map[string]bool
}

func (c *compiler) fail(err error) predicate {
	if c.err == nil {
		c.err = err
	}
	return func(*cairn.Event) bool { return false }
}

func (c *compiler) node(n node) predicate {
	if c.err != nil {
		return nil
	}
	switch n := n.(type) {
	case *boolNode:
		ps := make([]pred.Func, len(n.xs))
		for i, x := range n.xs {
			ps[i] = c.node(x)
		}
		if n.and {
			return pred.And(ps)
		}
		return pred.Or(ps)
	case *notNode:
		p := c.node(n.x)
		return func(ev *cairn.Event) bool { return !p(ev) }
	case *checkNode:
		if c.checks++; c.checks > maxChecks {
			return c.fail(cairn.Errorf(cairn.EINVALID, "condition: more than %d checks once macros are expanded", maxChecks))
		}
		return c.check(n)
	}
	return c.fail(cairn.Errorf(cairn.EINVALID, "condition: unknown node"))
}

// getter is an operand's value reader, transformers applied.
type getter func(ev *cairn.Event) (any, bool)

// operand resolves a field; a missing field is recorded and nil returned.
func (c *compiler) operand(o operand) (getter, field.Type) {
	ref, err := field.Lookup(o.field)
	if err != nil {
		if !c.seen["!"+o.field] {
			c.seen["!"+o.field] = true
			c.missing.Fields = append(c.missing.Fields, o.field)
			c.missing.Reasons = append(c.missing.Reasons, cairn.ErrorMessage(err))
		}
		return nil, 0
	}
	if !c.seen[o.field] {
		c.seen[o.field] = true
		c.fields = append(c.fields, o.field)
	}
	get := getter(ref.Get)
	typ := ref.Field.Type
	for i := len(o.trans) - 1; i >= 0; i-- {
		fn := transform(o.trans[i])
		inner := get
		get = func(ev *cairn.Event) (any, bool) {
			v, ok := inner(ev)
			if !ok {
				return nil, false
			}
			if l, isList := v.([]string); isList {
				out := make([]string, 0, len(l))
				for _, s := range l {
					if t, ok := fn(s); ok {
						out = append(out, t)
					}
				}
				return out, len(out) > 0
			}
			s, _ := text(v)
			t, ok := fn(s)
			return t, ok
		}
		if typ != field.List {
			typ = field.String
		}
	}
	return get, typ
}

func transform(name string) func(string) (string, bool) {
	switch name {
	case "tolower":
		return func(s string) (string, bool) { return strings.ToLower(s), true }
	case "toupper":
		return func(s string) (string, bool) { return strings.ToUpper(s), true }
	case "b64":
		return func(s string) (string, bool) {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return "", false
			}
			return string(b), true
		}
	}
	return func(s string) (string, bool) { return path.Base(s), s != "" } // basename
}

// text renders a field value as text for the text operators.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return strconv.FormatInt(x.UnixNano(), 10), true
	}
	return "", false
}

func (c *compiler) check(n *checkNode) predicate {
	get, typ := c.operand(n.lhs)
	if n.op == "exists" {
		if get == nil {
			return nil
		}
		return func(ev *cairn.Event) bool { _, ok := get(ev); return ok }
	}
	if n.rhs != nil {
		rget, _ := c.operand(*n.rhs)
		if get == nil || rget == nil {
			return nil
		}
		return c.fieldCompare(n, get, rget)
	}
	if get == nil {
		return nil
	}
	test, err := valueTest(n, typ)
	if err != nil {
		return c.fail(err)
	}
	if n.op == "intersects" {
		return func(ev *cairn.Event) bool {
			v, ok := get(ev)
			return ok && test(v)
		}
	}
	return func(ev *cairn.Event) bool {
		v, ok := get(ev)
		if !ok {
			return false
		}
		if l, isList := v.([]string); isList {
			// A list satisfies a comparison when any element does.
			for _, s := range l {
				if test(s) {
					return true
				}
			}
			return false
		}
		return test(v)
	}
}

// fieldCompare compares two fields' values: numerically when both are
// integers, as text otherwise.
func (c *compiler) fieldCompare(n *checkNode, get, rget getter) predicate {
	op := n.op
	if setOps[op] || op == "bcontains" || op == "bstartswith" || op == "regex" || op == "glob" {
		return c.fail(cairn.Errorf(cairn.EINVALID, "condition: at offset %d: %s does not take a field on its right", n.pos, op))
	}
	strTest := textOp(op)
	return func(ev *cairn.Event) bool {
		a, ok := get(ev)
		if !ok {
			return false
		}
		b, ok := rget(ev)
		if !ok {
			return false
		}
		if x, isInt := a.(int64); isInt {
			if y, isInt := b.(int64); isInt {
				if cmp, isOrder := orderOp(op); isOrder {
					return cmp(compareInt(x, y))
				}
			}
		}
		bs, ok := text(b)
		if !ok {
			return false
		}
		if l, isList := a.([]string); isList {
			for _, s := range l {
				if strTest(s, bs) {
					return true
				}
			}
			return false
		}
		as, ok := text(a)
		return ok && strTest(as, bs)
	}
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// orderOp returns the test of a comparison result for the ordering
// operators.
func orderOp(op string) (func(int) bool, bool) {
	switch op {
	case "=", "==":
		return func(c int) bool { return c == 0 }, true
	case "!=":
		return func(c int) bool { return c != 0 }, true
	case "<":
		return func(c int) bool { return c < 0 }, true
	case "<=":
		return func(c int) bool { return c <= 0 }, true
	case ">":
		return func(c int) bool { return c > 0 }, true
	case ">=":
		return func(c int) bool { return c >= 0 }, true
	}
	return nil, false
}

// textOp returns a binary text operator (not the set operators).
func textOp(op string) func(s, lit string) bool {
	if cmp, ok := orderOp(op); ok {
		return func(s, lit string) bool { return cmp(strings.Compare(s, lit)) }
	}
	switch op {
	case "contains":
		return strings.Contains
	case "icontains":
		return func(s, lit string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(lit)) }
	case "startswith":
		return strings.HasPrefix
	case "endswith":
		return strings.HasSuffix
	}
	return func(string, string) bool { return false }
}

func badValue(n *checkNode, typ field.Type, v string) error {
	return cairn.Errorf(cairn.EINVALID, "condition: at offset %d: %s is of type %s; %q is not a valid value for %s", n.pos, n.lhs.field, typ, v, n.op)
}

// valueTest compiles the test of one (non-list) field value against the
// check's literals.
func valueTest(n *checkNode, typ field.Type) (func(v any) bool, error) {
	op := n.op
	if len(n.vals) == 0 && !setOps[op] {
		return nil, cairn.Errorf(cairn.EINVALID, "condition: at offset %d: %s needs a value", n.pos, op)
	}
	switch op {
	case "contains", "icontains", "startswith", "endswith", "glob", "regex", "bcontains", "bstartswith", "pmatch":
		t, err := textTest(n)
		if err != nil {
			return nil, err
		}
		return func(v any) bool {
			s, ok := text(v)
			return ok && t(s)
		}, nil
	case "intersects":
		set := make(map[string]bool, len(n.vals))
		for _, v := range n.vals {
			set[v.text] = true
		}
		return func(v any) bool {
			switch x := v.(type) {
			case []string:
				for _, s := range x {
					if set[s] {
						return true
					}
				}
			default:
				s, ok := text(x)
				return ok && set[s]
			}
			return false
		}, nil
	}
	switch typ {
	case field.Int, field.Severity, field.Time, field.Bool:
		return numTest(n, typ)
	case field.IP:
		return ipTest(n)
	}
	if op == "in" {
		set := make(map[string]bool, len(n.vals))
		for _, v := range n.vals {
			set[v.text] = true
		}
		return func(v any) bool {
			s, ok := text(v)
			return ok && set[s]
		}, nil
	}
	lit := n.vals[0].text
	t := textOp(op)
	return func(v any) bool {
		s, ok := text(v)
		return ok && t(s, lit)
	}, nil
}

// textTest compiles the text-only operators.
func textTest(n *checkNode) (func(string) bool, error) {
	lit := n.vals
	switch n.op {
	case "pmatch":
		return pmatch(lit), nil
	case "glob":
		pat := lit[0].text
		return func(s string) bool { return glob(pat, s) }, nil
	case "regex":
		re, err := regexp.Compile(`^(?:` + lit[0].text + `)$`)
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "condition: at offset %d: bad regex %q: %v", n.pos, lit[0].text, err)
		}
		return re.MatchString, nil
	case "bcontains", "bstartswith":
		b, err := hex.DecodeString(lit[0].text)
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "condition: at offset %d: %s takes hex bytes, not %q", n.pos, n.op, lit[0].text)
		}
		if n.op == "bcontains" {
			return func(s string) bool { return strings.Contains(s, string(b)) }, nil
		}
		return func(s string) bool { return strings.HasPrefix(s, string(b)) }, nil
	case "icontains":
		l := strings.ToLower(lit[0].text)
		return func(s string) bool { return strings.Contains(strings.ToLower(s), l) }, nil
	}
	t, l := textOp(n.op), lit[0].text
	return func(s string) bool { return t(s, l) }, nil
}

// numTest compiles comparisons of integers, severities, times and bools.
func numTest(n *checkNode, typ field.Type) (func(v any) bool, error) {
	nums := make([]int64, len(n.vals))
	for i, v := range n.vals {
		x, ok := parseNum(v.text, typ)
		if !ok {
			return nil, badValue(n, typ, v.text)
		}
		nums[i] = x
	}
	if n.op == "in" {
		return func(v any) bool {
			x, ok := asNum(v)
			if !ok {
				return false
			}
			for _, y := range nums {
				if x == y {
					return true
				}
			}
			return false
		}, nil
	}
	cmp, ok := orderOp(n.op)
	if !ok {
		return nil, cairn.Errorf(cairn.EINVALID, "condition: at offset %d: %s does not apply to %s (type %s)", n.pos, n.op, n.lhs.field, typ)
	}
	y := nums[0]
	return func(v any) bool {
		x, ok := asNum(v)
		return ok && cmp(compareInt(x, y))
	}, nil
}

func parseNum(s string, typ field.Type) (int64, bool) {
	switch typ {
	case field.Bool:
		switch strings.ToLower(s) {
		case "true", "1":
			return 1, true
		case "false", "0":
			return 0, true
		}
		return 0, false
	case field.Severity:
		if r, ok := field.SeverityRank(s); ok {
			return r, true
		}
	case field.Time:
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UnixNano(), true
		}
	}
	x, err := strconv.ParseInt(s, 0, 64)
	return x, err == nil
}

func asNum(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case time.Time:
		return x.UnixNano(), true
	case string:
		// An element of a list of numbers (fd.port: both ends' ports).
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// ipTest compiles comparisons of IP addresses with addresses or CIDR
// networks; a literal that is neither is compared as text.
func ipTest(n *checkNode) (func(v any) bool, error) {
	type lit struct {
		pfx    netip.Prefix
		isPfx  bool
		addr   netip.Addr
		isAddr bool
		text   string
	}
	lits := make([]lit, len(n.vals))
	for i, v := range n.vals {
		l := lit{text: v.text}
		if p, err := netip.ParsePrefix(v.text); err == nil {
			l.pfx, l.isPfx = p.Masked(), true
		} else if a, err := netip.ParseAddr(v.text); err == nil {
			l.addr, l.isAddr = a.Unmap(), true
		}
		lits[i] = l
	}
	match := func(s string, l lit) bool {
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			return s == l.text
		case l.isPfx:
			return l.pfx.Contains(a.Unmap())
		case l.isAddr:
			return a.Unmap() == l.addr
		}
		return s == l.text
	}
	switch n.op {
	case "in", "=", "==":
		return func(v any) bool {
			s, ok := v.(string)
			if !ok {
				return false
			}
			for _, l := range lits {
				if match(s, l) {
					return true
				}
			}
			return false
		}, nil
	case "!=":
		return func(v any) bool {
			s, ok := v.(string)
			return ok && !match(s, lits[0])
		}, nil
	}
	t, l := textOp(n.op), n.vals[0].text
	return func(v any) bool {
		s, ok := v.(string)
		return ok && t(s, l)
	}, nil
}
