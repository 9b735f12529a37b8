package sigma

import (
	"strings"
	"unicode/utf8"
)

// tok is one token of a Sigma string value: a literal byte (0-255) or one
// of the special tokens below.
type tok int16

// The special tokens.
const (
	tokOne  tok = -1 // ?: exactly one character
	tokStar tok = -2 // *: any run of characters, empty included
	tokDash tok = -3 // windash: one of - / – — ―
)

// windashChars are the characters the windash modifier makes
// interchangeable.
var windashChars = []string{"-", "/", "–", "—", "―"}

// pattern is a Sigma string value as tokens, with whether it is compared
// case-sensitively.
type pattern struct {
	toks  []tok
	cased bool
}

// parseWildcards turns a Sigma string into tokens, the way the
// specification's escape rules read it: * and ? are wildcards; a
// backslash before *, ? or another backslash makes that character
// literal; any other backslash is literal itself. So \* is a literal
// star, \\* a backslash and a wildcard, \\\* a backslash and a literal
// star, and both \\ and \\\ (before a non-special character) stand for
// one and two backslashes.
func parseWildcards(s string) []tok {
	out := make([]tok, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*':
			out = append(out, tokStar)
		case '?':
			out = append(out, tokOne)
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				i++
				out = append(out, tok(s[i]))
			} else {
				out = append(out, '\\')
			}
		default:
			out = append(out, tok(c))
		}
	}
	return out
}

// literalToks returns the tokens of s taken literally.
func literalToks(s string) []tok {
	out := make([]tok, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = tok(s[i])
	}
	return out
}

// literal returns the pattern's text when it has no special token.
func (p pattern) literal() (string, bool) {
	b := make([]byte, 0, len(p.toks))
	for _, t := range p.toks {
		if t < 0 {
			return "", false
		}
		b = append(b, byte(t))
	}
	return string(b), true
}

// String renders the pattern back in Sigma's notation (for messages and
// tests).
func (p pattern) String() string {
	var b strings.Builder
	for _, t := range p.toks {
		switch t {
		case tokOne:
			b.WriteByte('?')
		case tokStar:
			b.WriteByte('*')
		case tokDash:
			b.WriteString("[-/–—―]")
		case '*', '?', '\\':
			b.WriteByte('\\')
			b.WriteByte(byte(t))
		default:
			b.WriteByte(byte(t))
		}
	}
	return b.String()
}

// strMatcher reports whether a string matches a compiled pattern.
type strMatcher func(s string) bool

// compile builds the matcher of a pattern. Case-insensitive patterns have
// their literal text lowered once here; the event's text is folded while
// it is compared (ASCII), or lowered when it is not ASCII. Patterns made
// of one literal run between optional stars use plain string functions;
// the others a glob matcher. No regular expression is involved.
func (p pattern) compile() strMatcher {
	toks := p.toks
	if !p.cased {
		toks = lowerToks(toks)
	}
	lead := len(toks) > 0 && toks[0] == tokStar
	trail := len(toks) > 1 && toks[len(toks)-1] == tokStar || len(toks) == 1 && lead
	inner := toks
	if lead {
		inner = inner[1:]
	}
	if trail && len(inner) > 0 {
		inner = inner[:len(inner)-1]
	}
	lit, isLit := pattern{toks: inner}.literal()
	cased := p.cased
	fold := func(s string) string {
		if !cased && !isASCII(s) {
			return lowerText(s)
		}
		return s
	}
	switch {
	case !isLit:
		return func(s string) bool { return glob(toks, fold(s), !cased) }
	case lead && trail && lit == "":
		return func(string) bool { return true }
	case cased && lead && trail:
		return func(s string) bool { return strings.Contains(s, lit) }
	case cased && lead:
		return func(s string) bool { return strings.HasSuffix(s, lit) }
	case cased && trail:
		return func(s string) bool { return strings.HasPrefix(s, lit) }
	case cased:
		return func(s string) bool { return s == lit }
	case lead && trail:
		return func(s string) bool { return indexFold(fold(s), lit) >= 0 }
	case lead:
		return func(s string) bool {
			s = fold(s)
			return len(s) >= len(lit) && equalFold(s[len(s)-len(lit):], lit)
		}
	case trail:
		return func(s string) bool {
			s = fold(s)
			return len(s) >= len(lit) && equalFold(s[:len(lit)], lit)
		}
	}
	return func(s string) bool {
		s = fold(s)
		return len(s) == len(lit) && equalFold(s, lit)
	}
}

// compileLowered builds the matcher of a case-insensitive pattern for
// text that is lower-cased already (lowerText): plain string functions,
// or the glob matcher without folding.
func (p pattern) compileLowered() strMatcher {
	if p.cased {
		return p.compile()
	}
	return pattern{toks: lowerToks(p.toks), cased: true}.compile()
}

// lowerToks lowers the literal runs of toks (Unicode-aware).
func lowerToks(toks []tok) []tok {
	out := make([]tok, 0, len(toks))
	var run []byte
	flush := func() {
		if len(run) > 0 {
			out = append(out, literalToks(lowerText(string(run)))...)
			run = run[:0]
		}
	}
	for _, t := range toks {
		if t >= 0 {
			run = append(run, byte(t))
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// lowerText lowers s: Unicode-aware when s is valid UTF-8, byte by byte
// in ASCII otherwise (encoded values such as UTF-16 are not UTF-8, and
// strings.ToLower would replace their bytes).
func lowerText(s string) string {
	if utf8.ValidString(s) {
		return strings.ToLower(s)
	}
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerByte(c)
	}
	return string(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold compares s, folded to lower case in ASCII, with lower, which
// is already lower case.
func equalFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerByte(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

// indexFold returns the first index of lower in s folded to lower case in
// ASCII, or -1.
func indexFold(s, lower string) int {
	if len(lower) == 0 {
		return 0
	}
	c := lower[0]
	u := c
	if 'a' <= c && c <= 'z' {
		u = c - ('a' - 'A')
	}
	for i := 0; i+len(lower) <= len(s); i++ {
		if b := s[i]; b != c && b != u {
			continue
		}
		if equalFold(s[i+1:i+len(lower)], lower[1:]) {
			return i
		}
	}
	return -1
}

// step reports whether token t matches s at i, and how many bytes it
// takes.
func step(t tok, s string, i int, fold bool) (int, bool) {
	switch t {
	case tokOne:
		_, n := utf8.DecodeRuneInString(s[i:])
		return n, true
	case tokDash:
		for _, d := range windashChars {
			if strings.HasPrefix(s[i:], d) {
				return len(d), true
			}
		}
		return 0, false
	}
	c := s[i]
	if fold {
		c = lowerByte(c)
	}
	return 1, c == byte(t)
}

// glob matches s against tokens with wildcards: the classic matcher that
// remembers the last star and retries from one character further on a
// mismatch. Each token other than a star matches a fixed, determined text
// at a position, which makes that strategy exact.
func glob(toks []tok, s string, fold bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(toks) && toks[pi] != tokStar {
			if n, ok := step(toks[pi], s, si, fold); ok {
				pi++
				si += n
				continue
			}
		} else if pi < len(toks) {
			starP, starS = pi, si
			pi++
			continue
		}
		if starP < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		pi, si = starP+1, starS
	}
	for pi < len(toks) && toks[pi] == tokStar {
		pi++
	}
	return pi == len(toks)
}
