package falco

import (
	"path"
	"sort"
	"strings"
)

// glob matches s against a shell pattern (* ? [...]), where * also
// matches /, as Falco's glob operator does.
func glob(pat, s string) bool {
	// Iterative matcher with backtracking on the last star.
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				px++
				sx++
				continue
			case '[':
				if end, ok := classMatch(pat[px:], s[sx]); end > 0 {
					if ok {
						px += end
						sx++
						continue
					}
				} else if s[sx] == '[' {
					px++
					sx++
					continue
				}
			case '\\':
				if px+1 < len(pat) && pat[px+1] == s[sx] {
					px += 2
					sx++
					continue
				}
			default:
				if c == s[sx] {
					px++
					sx++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		px, sx = starP+1, starS
	}
	for px < len(pat) && pat[px] == '*' {
		px++
	}
	return px == len(pat)
}

// classMatch matches c against the bracket expression at the start of
// pat, returning its length (0 when it is not closed).
func classMatch(pat string, c byte) (int, bool) {
	i := 1
	neg := false
	if i < len(pat) && (pat[i] == '!' || pat[i] == '^') {
		neg = true
		i++
	}
	matched := false
	first := true
	for i < len(pat) {
		if pat[i] == ']' && !first {
			return i + 1, matched != neg
		}
		first = false
		lo := pat[i]
		hi := lo
		if i+2 < len(pat) && pat[i+1] == '-' && pat[i+2] != ']' {
			hi = pat[i+2]
			i += 2
		}
		if lo <= c && c <= hi {
			matched = true
		}
		i++
	}
	return 0, false
}

// pmatch returns a test of whether a path lies at or below one of the
// given directories, whose components may hold glob patterns.
func pmatch(vals []value) func(string) bool {
	var plain = map[string]bool{}
	var globs [][]string
	for _, v := range vals {
		p := strings.TrimSuffix(v.text, "/")
		if strings.ContainsAny(p, "*?[") {
			globs = append(globs, strings.Split(p, "/"))
		} else {
			plain[p] = true
		}
	}
	return func(s string) bool {
		for p := s; ; {
			if plain[p] {
				return true
			}
			i := strings.LastIndexByte(p, '/')
			if i < 0 {
				break
			}
			p = p[:i]
		}
		parts := strings.Split(s, "/")
	next:
		for _, g := range globs {
			if len(g) > len(parts) {
				continue
			}
			for i, gp := range g {
				if ok, _ := path.Match(gp, parts[i]); !ok {
					continue next
				}
			}
			return true
		}
		return false
	}
}

// evtTypes returns the evt.type values n requires (sorted), or nil when
// any type may match.
func evtTypes(n node) []string {
	set, all := types(n)
	if all {
		return nil
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// types returns the set of event types n can match, or all=true.
func types(n node) (set map[string]bool, all bool) {
	switch n := n.(type) {
	case *checkNode:
		if n.lhs.field != "evt.type" || len(n.lhs.trans) > 0 || n.rhs != nil || n.op != "=" && n.op != "==" && n.op != "in" {
			return nil, true
		}
		set = map[string]bool{}
		for _, v := range n.vals {
			set[v.text] = true
		}
		return set, false
	case *boolNode:
		if n.and {
			all = true
			for _, x := range n.xs {
				s, a := types(x)
				if a {
					continue
				}
				if all {
					set, all = s, false
					continue
				}
				for t := range set {
					if !s[t] {
						delete(set, t)
					}
				}
			}
			return set, all
		}
		set = map[string]bool{}
		for _, x := range n.xs {
			s, a := types(x)
			if a {
				return nil, true
			}
			for t := range s {
				set[t] = true
			}
		}
		return set, false
	}
	return nil, true
}
