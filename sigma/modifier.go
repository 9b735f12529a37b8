package sigma

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf16"
)

// The modifiers of the specification's appendix, by what they do.
var (
	// transformModifiers change string values, in the order written.
	transformModifiers = map[string]bool{
		"contains": true, "startswith": true, "endswith": true,
		"base64": true, "base64offset": true,
		"utf16le": true, "utf16be": true, "utf16": true, "wide": true,
		"windash": true, "expand": true,
	}
	// kindModifiers change how values are compared; a field takes one.
	kindModifiers = map[string]bool{
		"re": true, "cidr": true, "exists": true, "fieldref": true,
		"lt": true, "lte": true, "gt": true, "gte": true,
	}
	// timeModifiers extract a number from a date before comparing it.
	timeModifiers = map[string]bool{"minute": true, "hour": true, "day": true, "week": true, "month": true, "year": true}
	// reFlags are the sub-modifiers of re.
	reFlags = map[string]bool{"i": true, "m": true, "s": true}
)

// modSpec is a field's modifier chain, read from a selection key such as
// CommandLine|contains|all.
type modSpec struct {
	field      string
	transforms []string // in the order written
	kind       string   // "" (string values), re, cidr, exists, fieldref, lt, lte, gt, gte
	timePart   string   // minute ... year, or ""
	reFlags    string   // i, m, s as given after re
	all        bool
	cased      bool
	neq        bool
}

// parseKey splits a selection key into the field name and its modifiers,
// checking that they exist and go together.
func parseKey(key string) (modSpec, error) {
	parts := strings.Split(key, "|")
	m := modSpec{field: parts[0]}
	for _, mod := range parts[1:] {
		switch {
		case mod == "all":
			m.all = true
		case mod == "cased":
			m.cased = true
		case mod == "neq":
			m.neq = true
		case transformModifiers[mod]:
			m.transforms = append(m.transforms, mod)
		case timeModifiers[mod]:
			if m.timePart != "" {
				return m, fmt.Errorf("modifiers %s and %s both extract a part of a date", m.timePart, mod)
			}
			m.timePart = mod
		case reFlags[mod] && m.kind == "re":
			if !strings.Contains(m.reFlags, mod) {
				m.reFlags += mod
			}
		case kindModifiers[mod]:
			if m.kind != "" {
				return m, fmt.Errorf("modifiers %s and %s cannot be combined", m.kind, mod)
			}
			m.kind = mod
		case reFlags[mod]:
			return m, fmt.Errorf("modifier %s is a sub-modifier of re and must follow it", mod)
		default:
			return m, fmt.Errorf("unknown modifier %q", mod)
		}
	}
	if len(m.transforms) > 0 && m.kind != "" {
		return m, fmt.Errorf("modifier %s cannot be combined with %s", m.transforms[0], m.kind)
	}
	if m.timePart != "" && m.kind != "" && !isCompare(m.kind) {
		return m, fmt.Errorf("modifier %s cannot be combined with %s", m.timePart, m.kind)
	}
	if m.timePart != "" && len(m.transforms) > 0 {
		return m, fmt.Errorf("modifier %s cannot be combined with %s", m.timePart, m.transforms[0])
	}
	if m.neq && (m.kind == "exists" || isCompare(m.kind)) {
		return m, fmt.Errorf("modifier neq cannot be combined with %s", m.kind)
	}
	return m, nil
}

func isCompare(kind string) bool {
	return kind == "lt" || kind == "lte" || kind == "gt" || kind == "gte"
}

// maxExpansion bounds the values one value may expand into (placeholders,
// windash before an encoding).
const maxExpansion = 4096

// expandPlaceholders replaces %name% placeholders in s by each of their
// values (every combination), for the expand modifier. \% is a plain %.
func expandPlaceholders(s string, values map[string][]string) ([]string, error) {
	outs := []string{""}
	for len(s) > 0 {
		i := strings.IndexAny(s, `%\`)
		if i < 0 {
			outs = appendAll(outs, s)
			break
		}
		if s[i] == '\\' {
			if strings.HasPrefix(s[i:], `\%`) {
				outs = appendAll(outs, s[:i]+"%")
				s = s[i+2:]
			} else {
				outs = appendAll(outs, s[:i+1])
				s = s[i+1:]
			}
			continue
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			outs = appendAll(outs, s)
			break
		}
		name := s[i+1 : i+1+j]
		vals, ok := values[name]
		if !ok {
			return nil, fmt.Errorf("placeholder %%%s%% has no value: cairn needs a value list for it (Options.Placeholders)", name)
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("placeholder %%%s%% has an empty value list", name)
		}
		prefix := s[:i]
		var next []string
		for _, o := range outs {
			for _, v := range vals {
				next = append(next, o+prefix+v)
			}
		}
		if len(next) > maxExpansion {
			return nil, fmt.Errorf("placeholders expand into more than %d values", maxExpansion)
		}
		outs = next
		s = s[i+2+j:]
	}
	return outs, nil
}

func appendAll(outs []string, s string) []string {
	for i := range outs {
		outs[i] += s
	}
	return outs
}

// applyTransform applies one transformation modifier to every pattern;
// a pattern may become several, which are alternatives (OR).
func applyTransform(mod string, ps []pattern) ([]pattern, error) {
	var out []pattern
	for _, p := range ps {
		switch mod {
		case "contains":
			out = append(out, wrap(p, true, true))
		case "startswith":
			out = append(out, wrap(p, false, true))
		case "endswith":
			out = append(out, wrap(p, true, false))
		case "windash":
			out = append(out, windash(p))
		case "base64", "base64offset", "utf16le", "wide", "utf16be", "utf16":
			plains, err := plainTexts(mod, p)
			if err != nil {
				return nil, err
			}
			for _, s := range plains {
				for _, enc := range encode(mod, s) {
					// Encoded text is compared byte for byte: case
					// folding would match other encodings.
					out = append(out, pattern{toks: literalToks(enc), cased: p.cased || strings.HasPrefix(mod, "base64")})
				}
			}
		default:
			return nil, fmt.Errorf("modifier %s is not a transformation", mod)
		}
		if len(out) > maxExpansion {
			return nil, fmt.Errorf("modifier %s expands a value into more than %d values", mod, maxExpansion)
		}
	}
	return out, nil
}

// wrap adds leading and trailing stars unless they are there.
func wrap(p pattern, lead, trail bool) pattern {
	toks := make([]tok, 0, len(p.toks)+2)
	if lead && (len(p.toks) == 0 || p.toks[0] != tokStar) {
		toks = append(toks, tokStar)
	}
	toks = append(toks, p.toks...)
	if trail && (len(toks) == 0 || toks[len(toks)-1] != tokStar) {
		toks = append(toks, tokStar)
	}
	return pattern{toks: toks, cased: p.cased}
}

// plainTexts returns the texts an encoding modifier encodes: the literal
// text of p, or every spelling of a windash pattern. Wildcards cannot be
// encoded.
func plainTexts(mod string, p pattern) ([]string, error) {
	texts := []string{""}
	for _, t := range p.toks {
		switch {
		case t == tokDash:
			var next []string
			for _, s := range texts {
				for _, d := range windashChars {
					next = append(next, s+d)
				}
			}
			if len(next) > maxExpansion {
				return nil, fmt.Errorf("modifier %s: windash before it expands into more than %d values", mod, maxExpansion)
			}
			texts = next
		case t < 0:
			return nil, fmt.Errorf("modifier %s cannot encode a value with wildcards (%s); put contains, startswith or endswith after it", mod, p)
		default:
			texts = appendAll(texts, string([]byte{byte(t)}))
		}
	}
	return texts, nil
}

// encode applies an encoding modifier to s.
func encode(mod, s string) []string {
	switch mod {
	case "base64":
		return []string{base64.StdEncoding.EncodeToString([]byte(s))}
	case "base64offset":
		return base64Offsets(s)
	case "utf16le", "wide":
		return []string{utf16Bytes(s, false, false)}
	case "utf16be":
		return []string{utf16Bytes(s, true, false)}
	}
	return []string{utf16Bytes(s, false, true)} // utf16: little-endian with a byte order mark
}

// base64Offsets returns the three texts that s shows inside any base64
// text, whatever its offset modulo 3 in the encoded bytes: s is encoded
// after 0, 1 and 2 filler bytes, and the characters that depend on the
// filler or on what follows are cut off (as pySigma does).
func base64Offsets(s string) []string {
	start := [3]int{0, 2, 3}
	endCut := [3]int{0, 3, 2}
	var out []string
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), s...))
		end := len(enc)
		if cut := endCut[(len(s)+i)%3]; cut > 0 {
			end -= cut
		}
		if start[i] >= end {
			continue
		}
		out = append(out, enc[start[i]:end])
	}
	return out
}

// utf16Bytes encodes s in UTF-16, big- or little-endian, with a byte
// order mark if asked.
func utf16Bytes(s string, bigEndian, bom bool) string {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(units)+2)
	put := func(u uint16) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	if bom {
		put(0xFEFF)
	}
	for _, u := range units {
		put(u)
	}
	return string(b)
}

// windash makes each dash or slash that starts a command-line flag (after
// a non-word character and before a word character, pySigma's \B[-/]\b)
// match any of the windash characters. The characters are one token
// class, so the pattern does not multiply into permutations.
func windash(p pattern) pattern {
	toks := append([]tok(nil), p.toks...)
	isWord := func(t tok) bool {
		c := byte(t)
		return t >= 0 && (c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z')
	}
	for i := 0; i < len(toks); i++ {
		n := dashAt(toks, i)
		if n == 0 {
			continue
		}
		before := i == 0 || toks[i-1] < 0 || !isWord(toks[i-1])
		after := i+n < len(toks) && isWord(toks[i+n])
		if !before || !after {
			continue
		}
		toks = append(append(toks[:i:i], tokDash), toks[i+n:]...)
	}
	return pattern{toks: toks, cased: p.cased}
}

// dashAt returns the length in tokens of a windash character at toks[i],
// or 0.
func dashAt(toks []tok, i int) int {
	for _, d := range windashChars {
		if len(toks)-i < len(d) {
			continue
		}
		ok := true
		for j := 0; j < len(d); j++ {
			if toks[i+j] != tok(d[j]) {
				ok = false
				break
			}
		}
		if ok {
			return len(d)
		}
	}
	return 0
}
