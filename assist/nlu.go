package assist

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// MaxQuestion is the length of a question the parser reads, in bytes;
// the rest is ignored. Questions are a sentence or two, and the cap keeps
// the typo-tolerant matching fast whatever is pasted in.
const MaxQuestion = 2048

// Parse reads what a question asks: its intent, by rules over its
// normalised words (see intentRules), and the entities it names, matched
// against v (nil: none). It never fails: a question it does not
// understand is IntentHelp with Understood false.
func Parse(question string, v *Vocabulary) Parsed {
	toks := tokenize(clip(question))
	var p Parsed
	p.Entities = v.match(toks)
	var words []string // the words not consumed by an entity
	for _, t := range toks {
		if !t.used {
			words = append(words, t.words...)
		}
	}
	p.Intent, p.Understood = classify(words)
	if !p.Understood && len(p.Entities) > 0 {
		// A bare name ("payments?") asks what happened there.
		p.Intent, p.Understood = IntentSummary, true
	}
	p.All = asksAll(words)
	var all []string // every word, so "the payments incident" is not "the incident"
	for _, t := range toks {
		all = append(all, t.words...)
	}
	p.FollowUp = !p.All && (len(p.Entities) == 0 || refersBack(all))
	p.Since = since(words)
	p.MinSeverity = minSeverity(words)
	return p
}

// severityWords are the severities in rank order, lowest first.
var severityWords = []string{"info", "low", "medium", "high", "critical"}

// severityNouns make a severity word next to them about severity
// ("high alerts", "severity high"), rather than anything else ("high
// CPU").
var severityNouns = map[string]bool{"severity": true, "detection": true, "priority": true, "risk": true, "sev": true}

// minSeverity returns the least severity the words ask about: any
// severity word next to a severity noun (or "critical" anywhere, or one
// joined to such a word by "or"/"and"), the lowest of them; "" when none.
func minSeverity(words []string) string {
	near := func(i int) bool {
		for _, j := range []int{i - 3, i - 2, i - 1, i + 1, i + 2, i + 3} {
			if j >= 0 && j < len(words) && (severityNouns[words[j]] || severityNouns[norm(words[j])]) {
				return true
			}
		}
		return false
	}
	low := -1
	for i, w := range words {
		r := slices.Index(severityWords, w)
		if r < 0 || (w != "critical" && !near(i)) {
			continue
		}
		if low < 0 || r < low {
			low = r
		}
	}
	if low < 0 {
		return ""
	}
	return severityWords[low]
}

// clip cuts q to MaxQuestion bytes and replaces invalid UTF-8 (and a
// rune cut in half) with spaces.
func clip(q string) string {
	if len(q) > MaxQuestion {
		q = q[:MaxQuestion]
	}
	return strings.ToValidUTF8(q, " ")
}

// token is one whitespace- or punctuation-separated piece of a question,
// in lower case, keeping the characters names are made of (payment-api,
// ip-10-5-3-31.ec2.internal, arn:aws:iam::1:user/Admin6).
type token struct {
	text  string
	words []string // its letters-and-digits runs: what intents are read from
	used  bool     // consumed by an entity
}

func isNameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-._:/@+", r)
}

const nameEdge = "-._:/@+"

func tokenize(q string) []token {
	// ATT&CK would otherwise fall apart into "att" and "ck".
	q = strings.NewReplacer("att&ck", " mitre ", "att & ck", " mitre ", "att&amp;ck", " mitre ").Replace(strings.ToLower(q))
	var toks []token
	for _, f := range strings.FieldsFunc(q, func(r rune) bool { return !isNameRune(r) }) {
		f = strings.Trim(f, nameEdge)
		if f == "" {
			continue
		}
		toks = append(toks, token{text: f, words: strings.FieldsFunc(f, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})})
	}
	return toks
}

// Intents are recognised by rules: each is a sequence of normalised words
// (see norm) that must appear in order, gaps allowed, and a weight. The
// intent of the best-weighted rule that matches wins; on a tie, the
// earlier intent in intentPriority (the more specific answer) does. The
// weights say how telling a cue is: 5 names a deliverable (a report
// trumps everything else asked of it), 4 is unambiguous, 3 is a clear
// cue, 2 a usual one and 1 a hint.
var intentRules = []struct {
	intent Intent
	weight int
	rules  []string
}{
	{IntentReport, 5, []string{"report", "export", "write up", "writeup", "postmortem", "post mortem"}},
	{IntentReport, 3, []string{"markdown", "html", "pdf"}},

	{IntentIsolate, 4, []string{"isolate", "quarantine", "contain", "cordon", "segment", "network policy", "networkpolicy",
		"lock down", "lockdown", "cut off", "evict"}},
	{IntentIsolate, 3, []string{"block", "stop spread"}},

	{IntentFix, 3, []string{"fix", "remedy", "mitigate", "recommend", "eradicate", "harden", "clean up", "cleanup",
		"next step", "what should do", "what i do", "should i", "rotate", "revoke", "how resolve"}},
	{IntentFix, 2, []string{"resolve", "patch", "prevent", "action", "respond", "response"}},

	{IntentRootCause, 4, []string{"root cause", "entry point", "initial access", "patient zero"}},
	{IntentRootCause, 3, []string{"cause", "origin", "how start", "where start", "how begin", "where come from",
		"how attacker get in", "how get in", "break in", "why happen", "who attacker", "who do this", "who is behind",
		"who responsible", "who is it", "who do"}},
	{IntentRootCause, 2, []string{"start", "begin", "come from", "first"}},

	{IntentAttack, 4, []string{"mitre", "tactic", "technique", "ttp"}},

	{IntentPath, 4, []string{"attack path", "kill chain", "killchain", "step by step", "timeline", "lateral movement"}},
	{IntentPath, 3, []string{"sequence", "order event", "what attacker do", "path", "progress", "walk through"}},
	{IntentPath, 2, []string{"what they do", "chain"}},

	{IntentBlast, 4, []string{"blast", "radius"}},
	{IntentBlast, 3, []string{"impact", "affect", "touch", "damage", "spread", "exfiltrate", "steal", "leak", "data access",
		"data read"}},
	{IntentBlast, 2, []string{"compromise", "how many", "which pod", "which host", "which identity", "which workload",
		"which user", "which namespace", "scope", "reach"}},

	{IntentExplain, 4, []string{"explain", "why fire", "why trigger", "why flag", "why detection", "false positive"}},
	{IntentExplain, 3, []string{"mean", "describe", "what is rule", "what do rule"}},

	{IntentHelp, 4, []string{"what can you", "capability", "how you work", "who is you", "what question"}},
	{IntentHelp, 3, []string{"help"}},
	{IntentHelp, 2, []string{"example", "usage"}},

	{IntentSummary, 2, []string{"summary", "what happen", "what going on", "brief"}},
	{IntentSummary, 1, []string{"happen", "status", "tell about", "detection", "event", "activity", "show", "list"}},
}

// intentPriority breaks ties between intents, most specific first: the
// report covers everything, isolating is a particular fix, and summary
// and help are what is left.
var intentPriority = []Intent{IntentReport, IntentIsolate, IntentFix, IntentRootCause, IntentAttack, IntentPath,
	IntentBlast, IntentExplain, IntentSummary, IntentHelp}

// synonyms maps the forms of a word to the one form rules use. A form
// ending in * is a prefix. Every form here is also a word that never
// names an entity on its own (see stopword).
var synonyms = []struct {
	norm  string
	forms string
}{
	{"summary", "summar* overview recap brief briefing rundown digest gist synopsis tldr"},
	{"happen", "happen* occur*"},
	{"report", "report*"},
	{"export", "export*"},
	{"cause", "caus*"},
	{"origin", "origin*"},
	{"start", "start* kick*"},
	{"begin", "begin* began begun"},
	{"come", "come comes came coming"},
	{"get", "get gets got gotten getting"},
	{"break", "break breaks broke broken breaking"},
	{"in", "in into inside"},
	{"mitre", "mitre miter attck att&ck"},
	{"tactic", "tactic*"},
	{"technique", "techniqu*"},
	{"ttp", "ttp ttps"},
	{"timeline", "timeline* chronolog*"},
	{"sequence", "sequenc*"},
	{"progress", "progress*"},
	{"movement", "movement move moved"},
	{"impact", "impact*"},
	{"affect", "affect*"},
	{"touch", "touch*"},
	{"damage", "damag*"},
	{"spread", "spread*"},
	{"compromise", "compromis*"},
	{"exfiltrate", "exfiltrat* exfil"},
	{"steal", "steal steals stole stolen stealing theft"},
	{"leak", "leak leaks leaked leaking"},
	{"responsible", "responsible culprit"},
	{"fix", "fix fixed fixes fixing"},
	{"remedy", "remed*"},
	{"mitigate", "mitigat*"},
	{"resolve", "resolv*"},
	{"patch", "patch*"},
	{"recommend", "recommend* advice advise suggest*"},
	{"eradicate", "eradicat*"},
	{"harden", "harden*"},
	{"prevent", "prevent*"},
	{"rotate", "rotat*"},
	{"revoke", "revok*"},
	{"respond", "respond*"},
	{"isolate", "isolat*"},
	{"quarantine", "quarantin*"},
	{"contain", "contain contains contained containing containment"},
	{"cordon", "cordon*"},
	{"segment", "segment* segregat*"},
	{"block", "block blocks blocked blocking"},
	{"evict", "evict*"},
	{"explain", "explain* explanation"},
	{"mean", "mean means meaning meant"},
	{"describe", "describ* description"},
	{"fire", "fire fires fired firing"},
	{"trigger", "trigger*"},
	{"flag", "flag flags flagged flagging"},
	{"detection", "detect* alert alerts alerted finding findings"},
	{"event", "event events"},
	{"help", "help helps"},
	{"capability", "capabilit*"},
	{"attacker", "attacker attackers adversary adversaries hacker hackers intruder intruders"},
	{"what", "what whats"},
	{"how", "how hows"},
	{"where", "where wheres"},
	{"is", "is are was were be been being isnt arent wasnt"},
	{"do", "do does did doing done dont didnt"},
	{"can", "can could cannot cant"},
	{"should", "should shall must ought"},
	{"i", "i we me us"},
}

var synExact, synPrefix = func() (map[string]string, [][2]string) {
	exact := map[string]string{}
	var prefix [][2]string
	for _, s := range synonyms {
		for _, f := range strings.Fields(s.forms) {
			if p, ok := strings.CutSuffix(f, "*"); ok {
				prefix = append(prefix, [2]string{p, s.norm})
			} else {
				exact[f] = s.norm
			}
		}
	}
	return exact, prefix
}()

// norm is the form of a word that intent rules use: its synonym's, or
// the word without a plural s.
func norm(w string) string {
	if n, ok := synExact[w]; ok {
		return n
	}
	for _, p := range synPrefix {
		if strings.HasPrefix(w, p[0]) {
			return p[1]
		}
	}
	if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
		return w[:len(w)-1]
	}
	return w
}

// classify returns the intent of the words, false when no rule matched.
func classify(words []string) (Intent, bool) {
	normed := make([]string, len(words))
	for i, w := range words {
		normed[i] = norm(w)
	}
	best, bestWeight := IntentHelp, 0
	for _, g := range intentRules {
		if g.weight < bestWeight {
			continue
		}
		for _, r := range g.rules {
			if !subsequence(strings.Fields(r), normed) {
				continue
			}
			if g.weight > bestWeight || slices.Index(intentPriority, g.intent) < slices.Index(intentPriority, best) {
				best, bestWeight = g.intent, g.weight
			}
		}
	}
	return best, bestWeight > 0
}

// subsequence reports whether want appears in words in order.
func subsequence(want, words []string) bool {
	i := 0
	for _, w := range words {
		if i < len(want) && w == want[i] {
			i++
		}
	}
	return i == len(want)
}

// refersBack reports whether the words point at something said before.
func refersBack(words []string) bool {
	for i, w := range words {
		switch w {
		case "this", "that", "it", "these", "those", "them", "they", "same":
			return true
		case "the":
			if i+1 < len(words) {
				switch words[i+1] {
				case "attack", "attacker", "attackers", "incident", "breach", "intrusion":
					return true
				}
			}
		}
	}
	return false
}

// allNouns are what "all" asks about when it means everything stored.
var allNouns = map[string]bool{"detections": true, "alerts": true, "events": true, "clusters": true, "namespaces": true,
	"environments": true, "incidents": true, "attacks": true, "findings": true, "activity": true, "data": true, "time": true,
	"accounts": true, "stories": true}

// wholeNouns are what "whole" and "entire" ask about when they mean
// everything stored.
var wholeNouns = map[string]bool{"environment": true, "fleet": true, "estate": true, "account": true, "organization": true,
	"organisation": true, "org": true, "infrastructure": true, "infra": true, "company": true, "platform": true, "store": true}

// asksAll reports whether the words ask about everything stored: "all",
// "everything", "the whole environment", "across all clusters". A plain
// "all" before anything else ("isolate all affected pods") does not.
func asksAll(words []string) bool {
	for i, w := range words {
		next := ""
		if i+1 < len(words) {
			next = words[i+1]
		}
		switch w {
		case "everything", "everywhere", "overall", "globally", "fleetwide":
			return true
		case "all":
			if next == "" || allNouns[next] {
				return true
			}
		case "across":
			if next == "all" || next == "every" || allNouns[next] {
				return true
			}
		case "whole", "entire":
			if wholeNouns[next] {
				return true
			}
		}
	}
	return false
}

var numberWords = map[string]int{"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
	"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
	"thirty": 30, "fortyeight": 48, "few": 3, "couple": 2}

// unit returns the duration a time word stands for.
func unit(w string) (time.Duration, bool) {
	switch w {
	case "m", "min", "mins", "minute", "minutes":
		return time.Minute, true
	case "h", "hr", "hrs", "hour", "hours":
		return time.Hour, true
	case "d", "day", "days":
		return 24 * time.Hour, true
	case "w", "wk", "wks", "week", "weeks":
		return 7 * 24 * time.Hour, true
	case "month", "months":
		return 30 * 24 * time.Hour, true
	}
	return 0, false
}

// maxSince bounds a time range, so that a large number cannot overflow.
const maxSince = 10 * 365 * 24 * time.Hour

// since returns the time range the words give, 0 when none: "last 24
// hours", "past hour", "last 7 days", "24h", "today" (24h), "yesterday"
// (48h, to cover all of it), "this week".
func since(words []string) time.Duration {
	for i, w := range words {
		switch w {
		case "today":
			return 24 * time.Hour
		case "yesterday":
			return 48 * time.Hour
		case "this":
			if i+1 < len(words) && (words[i+1] == "week" || words[i+1] == "month") {
				u, _ := unit(words[i+1])
				return u
			}
		case "last", "past", "previous", "recent", "prior":
			j, n := i+1, 1
			if j < len(words) {
				if k, ok := count(words[j]); ok {
					n, j = k, j+1
				}
			}
			if j < len(words) {
				if u, ok := unit(words[j]); ok {
					return span(n, u)
				}
				if d := compact(words[j]); d > 0 {
					return d
				}
			}
		default:
			if d := compact(w); d > 0 {
				return d
			}
		}
	}
	return 0
}

// count reads a number written in digits or words.
func count(w string) (int, bool) {
	if n, ok := numberWords[w]; ok {
		return n, true
	}
	n, err := strconv.Atoi(w)
	return n, err == nil && n > 0
}

// compact reads "24h", "7d", "30m", "2w".
func compact(w string) time.Duration {
	if len(w) < 2 {
		return 0
	}
	n, err := strconv.Atoi(w[:len(w)-1])
	if err != nil || n <= 0 {
		return 0
	}
	u, ok := unit(w[len(w)-1:])
	if !ok {
		return 0
	}
	return span(n, u)
}

func span(n int, u time.Duration) time.Duration {
	if n <= 0 || time.Duration(n) > maxSince/u {
		return maxSince
	}
	return time.Duration(n) * u
}
