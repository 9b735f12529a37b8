package falco

import (
	"fmt"
	"strings"

	"github.com/cairn-cdr/cairn"
)

// exceptionCondition returns the rule's condition with its exceptions
// appended as "and not (...)", as Falco does: each value tuple of an
// exception is a conjunction of "field comp value", the tuples are or-ed.
func exceptionCondition(d *ruleDef) (string, error) {
	var alts []string
	for _, ex := range d.exceptions {
		if len(ex.Values) == 0 {
			continue
		}
		fields, ok := strs(ex.Fields)
		if !ok || len(fields) == 0 {
			return "", fmt.Errorf("exception %s: fields must be a field or a list of fields", ex.Name)
		}
		comps, ok := strs(ex.Comps)
		if !ok {
			return "", fmt.Errorf("exception %s: comps must be an operator or a list of operators", ex.Name)
		}
		if _, single := ex.Fields.(string); single {
			// One field: values is a list of values compared with comps
			// (in by default).
			comp := "in"
			if len(comps) > 0 {
				comp = comps[0]
			}
			if comp != "in" && comp != "pmatch" && comp != "intersects" {
				return "", fmt.Errorf("exception %s: with a single field, comps must be in, pmatch or intersects, not %s", ex.Name, comp)
			}
			vals := make([]string, 0, len(ex.Values))
			for _, v := range ex.Values {
				s, ok := scalar(v)
				if !ok {
					return "", fmt.Errorf("exception %s: values of a single field must be scalars", ex.Name)
				}
				vals = append(vals, quote(s))
			}
			if setOps[comp] {
				alts = append(alts, fields[0]+" "+comp+" ("+strings.Join(vals, ", ")+")")
			} else {
				for _, v := range vals {
					alts = append(alts, fields[0]+" "+comp+" "+v)
				}
			}
			continue
		}
		if len(comps) == 0 {
			for range fields {
				comps = append(comps, "=")
			}
		}
		if len(comps) != len(fields) {
			return "", fmt.Errorf("exception %s: %d fields but %d comps", ex.Name, len(fields), len(comps))
		}
		for _, v := range ex.Values {
			tuple, ok := v.([]any)
			if !ok || len(tuple) != len(fields) {
				return "", fmt.Errorf("exception %s: each value must be a list of %d values", ex.Name, len(fields))
			}
			parts := make([]string, len(fields))
			for i, f := range fields {
				rhs, err := exceptionValue(tuple[i], comps[i])
				if err != nil {
					return "", fmt.Errorf("exception %s: %v", ex.Name, err)
				}
				parts[i] = f + " " + comps[i] + " " + rhs
			}
			alts = append(alts, "("+strings.Join(parts, " and ")+")")
		}
	}
	if len(alts) == 0 {
		return d.cond, nil
	}
	return "(" + d.cond + ") and not (" + strings.Join(alts, " or ") + ")", nil
}

// exceptionValue renders one value of an exception tuple: a list for the
// set operators, a literal otherwise.
func exceptionValue(v any, comp string) (string, error) {
	if l, isList := v.([]any); isList {
		vals := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := scalar(e)
			if !ok {
				return "", fmt.Errorf("nested lists are not values")
			}
			vals = append(vals, quote(s))
		}
		return "(" + strings.Join(vals, ", ") + ")", nil
	}
	s, ok := scalar(v)
	if !ok {
		return "", fmt.Errorf("value %v is not a scalar", v)
	}
	if setOps[comp] {
		// A bare name inside a set names a list, as in Falco.
		return "(" + quote(s) + ")", nil
	}
	return quote(s), nil
}

// quote leaves a value bare when the condition lexer reads it back
// unchanged (so that a list name still names a list) and quotes it
// otherwise.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n\f\v(),\"'\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// CompileException compiles a stored exception into the test of an
// event: true when the event matches one of its value tuples. A value
// compared with in or intersects is a one-element set.
func CompileException(x *cairn.Exception) (func(ev *cairn.Event) bool, error) {
	if len(x.Fields) == 0 {
		return nil, cairn.Errorf(cairn.EINVALID, "exception %s: no fields", x.ID)
	}
	comps := x.Comps
	if len(comps) == 0 {
		comps = make([]string, len(x.Fields))
		for i := range comps {
			comps[i] = "="
		}
	}
	if len(comps) != len(x.Fields) {
		return nil, cairn.Errorf(cairn.EINVALID, "exception %s: %d fields but %d comps", x.ID, len(x.Fields), len(comps))
	}
	if len(x.Values) == 0 {
		return nil, cairn.Errorf(cairn.EINVALID, "exception %s: no values", x.ID)
	}
	alts := make([]string, 0, len(x.Values))
	for _, tuple := range x.Values {
		if len(tuple) != len(x.Fields) {
			return nil, cairn.Errorf(cairn.EINVALID, "exception %s: a value tuple has %d values for %d fields", x.ID, len(tuple), len(x.Fields))
		}
		parts := make([]string, len(tuple))
		for i, v := range tuple {
			rhs := quoteLiteral(v)
			if setOps[comps[i]] {
				rhs = "(" + rhs + ")"
			}
			parts[i] = x.Fields[i] + " " + comps[i] + " " + rhs
		}
		alts = append(alts, "("+strings.Join(parts, " and ")+")")
	}
	c, err := Compile(strings.Join(alts, " or "), nil)
	if err != nil {
		return nil, fmt.Errorf("exception %s: %w", x.ID, err)
	}
	return c.Match, nil
}

// quoteLiteral quotes a value unless it reads back unchanged as a bare
// word that cannot name a list or macro (nil Env): always quoting is
// simplest and safe.
func quoteLiteral(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
