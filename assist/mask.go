package assist

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// masker replaces the values that point at people and accounts (IP
// addresses, AWS account ids, user names) with placeholders before text
// leaves the machine for a language model, and puts them back in what
// the model returns. A value always gets the same placeholder within one
// masker, so the model can still tell that two detections name the same
// address; one masker lives for one question. It is not safe for
// concurrent use.
type masker struct {
	toPH   map[string]string // value → placeholder
	fromPH map[string]string // placeholder → value
	next   map[string]int    // kind → last number given
	users  []string          // the user names known, longest first
}

func newMasker() *masker {
	return &masker{toPH: map[string]string{}, fromPH: map[string]string{}, next: map[string]int{}}
}

// Placeholder kinds.
const (
	maskIP      = "IP"
	maskAccount = "ACCOUNT"
	maskUser    = "USER"
)

var (
	// reARNUser finds IAM user names (the last part of a user's path)
	// and the session names of assumed roles in ARNs.
	reARNUser = regexp.MustCompile(`:user/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)|assumed-role/[\w+=,.@-]+/([\w+=,.@-]+)`)
	// reUserField finds user names in detection outputs (user=NAME, from
	// %user.name and %ct.user) and in the tools' JSON ("user": "NAME",
	// "user_name": "NAME").
	reUserField = regexp.MustCompile(`\b(?:user|user_name|user\.name|userName)"?\s*[=:]\s*"?([\w+=,.@-]+)`)
	reIPv4      = regexp.MustCompile(`\d+(?:\.\d+){3,}`) // longer runs are versions or OIDs: ParseAddr refuses them
	reIPv6      = regexp.MustCompile(`(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:\d{1,3}(?:\.\d{1,3}){3})?`)
	reDigits    = regexp.MustCompile(`\d{12,}`)
	// reEC2Host finds the EC2 host names that spell out a private
	// address (ip-10-5-25-61): the part that does gets a placeholder of
	// its own (IP_2.ec2.internal).
	reEC2Host     = regexp.MustCompile(`\bip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}\b`)
	rePlaceholder = regexp.MustCompile(`\b(?:IP|ACCOUNT|USER)_\d+\b`)
)

// systemUsers are accounts every Linux host has: they name no one, and
// masking them would also mask ordinary words ("the root cause").
var systemUsers = []string{"root", "nobody", "daemon", "bin", "sys", "sync", "games", "man", "mail", "news", "www-data", "backup", "list", "irc", "nogroup", "user", "users", "name", "unknown", "none", "null", "true", "false"}

// learn records the user names s names, so that they are masked
// wherever they appear, also where nothing marks them as user names.
func (m *masker) learn(s string) {
	for _, g := range reARNUser.FindAllStringSubmatch(s, -1) {
		m.learnUser(g[1])
		m.learnUser(g[2])
	}
	for _, g := range reUserField.FindAllStringSubmatch(s, -1) {
		m.learnUser(g[1])
	}
}

// learnUser records one user name. Names shorter than three characters,
// the system accounts, numeric ids and AWS services are left alone.
func (m *masker) learnUser(name string) {
	name = strings.Trim(name, ".,")
	switch {
	case len(name) < 3 || len(name) > 128,
		slices.Contains(systemUsers, strings.ToLower(name)),
		strings.HasSuffix(name, ".amazonaws.com"),
		rePlaceholder.MatchString(name),
		strings.Trim(name, "0123456789") == "":
		return
	}
	if _, ok := m.toPH[name]; ok {
		return
	}
	m.placeholder(maskUser, name)
	m.users = append(m.users, name)
	slices.SortStableFunc(m.users, func(a, b string) int { return len(b) - len(a) })
}

func (m *masker) placeholder(kind, v string) string {
	if ph, ok := m.toPH[v]; ok {
		return ph
	}
	m.next[kind]++
	ph := kind + "_" + strconv.Itoa(m.next[kind])
	m.toPH[v], m.fromPH[ph] = ph, v
	return ph
}

// mask returns s with every user name, AWS account id and IP address
// replaced by its placeholder.
func (m *masker) mask(s string) string {
	m.learn(s)
	for _, u := range m.users {
		s = replaceWord(s, u, m.toPH[u])
	}
	// Account ids first: the IPv6 pattern would otherwise take the
	// "::9974" of "arn:aws:iam::997428336893".
	s = replaceMatches(s, reDigits, func(v string, before, after byte) (string, bool) {
		if len(v) != 12 || isWordByte(before) || isWordByte(after) {
			return "", false
		}
		return m.placeholder(maskAccount, v), true
	})
	s = replaceMatches(s, reEC2Host, func(v string, before, after byte) (string, bool) {
		return m.placeholder(maskIP, v), true
	})
	s = replaceMatches(s, reIPv4, func(v string, before, after byte) (string, bool) {
		if isWordByte(before) || before == '.' || isWordByte(after) {
			return "", false
		}
		if _, err := netip.ParseAddr(v); err != nil {
			return "", false
		}
		return m.placeholder(maskIP, v), true
	})
	s = replaceMatches(s, reIPv6, func(v string, before, after byte) (string, bool) {
		if len(v) < 3 || isWordByte(before) || before == ':' || before == '.' || isWordByte(after) || after == ':' {
			return "", false
		}
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is6() {
			return "", false
		}
		return m.placeholder(maskIP, v), true
	})
	return s
}

// unmask returns s with the placeholders put back; unknown ones stay.
func (m *masker) unmask(s string) string {
	return rePlaceholder.ReplaceAllStringFunc(s, func(ph string) string {
		if v, ok := m.fromPH[ph]; ok {
			return v
		}
		return ph
	})
}

// replaceMatches replaces the matches of re in s for which repl, given
// the match and the bytes around it (0 at the ends), returns true.
func replaceMatches(s string, re *regexp.Regexp, repl func(v string, before, after byte) (string, bool)) string {
	locs := re.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		var before, after byte
		if l[0] > 0 {
			before = s[l[0]-1]
		}
		if l[1] < len(s) {
			after = s[l[1]]
		}
		r, ok := repl(s[l[0]:l[1]], before, after)
		if !ok {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(r)
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// replaceWord replaces the occurrences of w in s that are not part of a
// longer word.
func replaceWord(s, w, repl string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, w)
		if i < 0 {
			break
		}
		j := i + len(w)
		if (i > 0 && isWordByte(s[i-1])) || (j < len(s) && isWordByte(s[j])) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s = s[j:]
	}
	b.WriteString(s)
	return b.String()
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// learnCase records the user names of a case's detections and events:
// process users and cloud identities, which an answer's text may name
// without anything marking them as user names.
func (m *masker) learnCase(c *Case) {
	for i := range c.Detections {
		d := &c.Detections[i]
		m.learn(d.Entities.Identity)
		m.learn(d.Output)
	}
	for _, ev := range c.Events {
		if p := ev.Process; p != nil {
			m.learnUser(p.User)
		}
		if cl := ev.Cloud; cl != nil {
			m.learn(cl.Identity.ARN)
			m.learnUser(cl.Identity.UserName)
			m.learnUser(cl.Identity.SessionName)
		}
	}
}
