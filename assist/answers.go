package assist

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/identity"
)

// This file holds the answers that read only the case (summary, explain,
// help) and the Markdown helpers every answer shares. Every value that
// came from an event is attacker-controlled: it is only ever written
// through mdCode or mdCell, so that it renders as inert code and can never
// become a heading, a link or HTML.

// answerSummary groups the case's detections by rule and severity and
// lists the workloads, hosts and identities involved.
func answerSummary(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	var a Answer
	var b strings.Builder
	label := c.Scope.Label()
	if len(c.Detections) == 0 {
		fmt.Fprintf(&b, "## Summary\n\nThere are no detections in %s.\n", label)
		if c.Scope.Filter() != "" || !c.Scope.Since.IsZero() {
			b.WriteString("\nThe scope may be too narrow: ask about everything, or about a longer time range.\n")
		}
		a.Text = b.String()
		a.Suggestions = []string{"Summarize all detections", "Summarize detections in the last 7 days", "What can you answer?"}
		return a, nil
	}
	ev := newEvidence()
	total := 0
	for i := range c.Detections {
		ev.add(c.Detections[i].ID)
		total += detCount(&c.Detections[i])
	}
	first, last := caseSpan(c)
	fmt.Fprintf(&b, "## Summary of %s\n\n", label)
	fmt.Fprintf(&b, "**%d detection groups** (%d detections in total) from %s to %s.", len(c.Detections), total, mdTime(first), mdTime(last))
	if sev := severityTally(c); sev != "" {
		fmt.Fprintf(&b, " By severity: %s.", sev)
	}
	b.WriteString("\n")
	if c.Truncated {
		fmt.Fprintf(&b, "\nOnly the first %d detection groups were read: narrow the scope for a complete picture.\n", MaxCaseDetections)
	}

	// By rule and severity.
	type ruleRow struct {
		rule        string
		sev         int64
		groups, n   int
		first, last time.Time
	}
	rows := map[string]*ruleRow{}
	for i := range c.Detections {
		d := &c.Detections[i]
		k := fmt.Sprintf("%d\x00%s", d.Severity, d.Rule)
		r := rows[k]
		if r == nil {
			r = &ruleRow{rule: d.Rule, sev: d.Severity, first: d.Time, last: detLast(d)}
			rows[k] = r
		}
		r.groups++
		r.n += detCount(d)
		if d.Time.Before(r.first) {
			r.first = d.Time
		}
		if l := detLast(d); l.After(r.last) {
			r.last = l
		}
	}
	list := make([]*ruleRow, 0, len(rows))
	for _, r := range rows {
		list = append(list, r)
	}
	slices.SortFunc(list, func(x, y *ruleRow) int {
		return cmp.Or(cmp.Compare(y.sev, x.sev), cmp.Compare(y.n, x.n), strings.Compare(x.rule, y.rule))
	})
	b.WriteString("\n### Detections by rule and severity\n\n| Severity | Rule | Groups | Total count | First seen | Last seen |\n| --- | --- | ---: | ---: | --- | --- |\n")
	for _, r := range list {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s |\n", field.SeverityName(r.sev), mdCell(r.rule), r.groups, r.n, mdTime(r.first), mdTime(r.last))
	}

	ws := caseWorkloads(c)
	if len(ws) > 0 {
		fmt.Fprintf(&b, "\n### Workloads involved (%d)\n\n| Cluster | Namespace | Pod | Image | Detections |\n| --- | --- | --- | --- | ---: |\n", len(ws))
		for _, w := range ws {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", mdCell(w.Cluster), mdCell(w.Namespace), mdCell(w.Pod), mdCell(w.Image), w.n)
		}
	}
	if hs := tally(c, func(d *cairn.Detection) string { return d.Entities.Host }); len(hs) > 0 {
		fmt.Fprintf(&b, "\n### Hosts (%d)\n\n", len(hs))
		for _, h := range hs {
			fmt.Fprintf(&b, "- %s: %s\n", mdCode(h.v), plural(h.n, "detection"))
		}
	}
	if ids := tally(c, func(d *cairn.Detection) string { return d.Entities.Identity }); len(ids) > 0 {
		fmt.Fprintf(&b, "\n### Cloud identities (%d)\n\n", len(ids))
		for _, id := range ids {
			fmt.Fprintf(&b, "- %s: %s\n", mdCode(id.v), plural(id.n, "detection"))
		}
	}
	a.Text = b.String()
	a.Evidence = ev.ids
	a.Suggestions = followUps(c, IntentSummary)
	return a, nil
}

// answerExplain says what the rules of the case's detections mean: their
// description, an example output, the ATT&CK mapping and what to check.
func answerExplain(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	var a Answer
	var b strings.Builder
	if len(c.Detections) == 0 {
		fmt.Fprintf(&b, "## Explanation\n\nThere are no detections in %s to explain.\n", c.Scope.Label())
		a.Text = b.String()
		a.Suggestions = []string{"Summarize all detections", "What can you answer?"}
		return a, nil
	}
	// One section per rule, the rules the question names first, then by
	// severity.
	type ruleInfo struct {
		rule   string
		ds     []*cairn.Detection
		sev    int64
		named  bool
		source string
	}
	named := map[string]bool{}
	for _, e := range p.Entities {
		if e.Kind == KindRule {
			named[e.Value] = true
		}
	}
	byRule := map[string]*ruleInfo{}
	var rules []*ruleInfo
	for i := range c.Detections {
		d := &c.Detections[i]
		r := byRule[d.Rule]
		if r == nil {
			r = &ruleInfo{rule: d.Rule, named: named[d.Rule], source: d.Source}
			byRule[d.Rule] = r
			rules = append(rules, r)
		}
		r.ds = append(r.ds, d)
		r.sev = max(r.sev, d.Severity)
	}
	slices.SortStableFunc(rules, func(x, y *ruleInfo) int {
		if x.named != y.named {
			if x.named {
				return -1
			}
			return 1
		}
		return cmp.Compare(y.sev, x.sev)
	})
	const maxRules = 12
	ev := newEvidence()
	fmt.Fprintf(&b, "## What the detections in %s mean\n\n", c.Scope.Label())
	if len(rules) > 1 {
		fmt.Fprintf(&b, "%s fired in this scope.\n\n", plural(len(rules), "rule"))
	}
	for i, r := range rules {
		if i == maxRules {
			fmt.Fprintf(&b, "%d more rules are not explained here: ask about one by name.\n", len(rules)-maxRules)
			break
		}
		d := r.ds[0]
		n := 0
		for _, x := range r.ds {
			n += detCount(x)
			ev.add(x.ID)
		}
		fmt.Fprintf(&b, "### %s\n\n", mdCode(r.rule))
		if env.Describe != nil {
			if desc, ok := env.Describe(r.rule); ok && desc != "" {
				fmt.Fprintf(&b, "%s\n\n", mdQuote(desc))
			}
		}
		fmt.Fprintf(&b, "- **Severity:** %s (rule priority %s)\n", field.SeverityName(r.sev), mdCode(d.Priority))
		if r.source != "" {
			fmt.Fprintf(&b, "- **Engine:** %s\n", mdCode(r.source))
		}
		fmt.Fprintf(&b, "- **Fired:** %s in %s, from %s to %s\n", plural(n, "time"), plural(len(r.ds), "group"), mdTime(d.Time), mdTime(detLast(r.ds[len(r.ds)-1])))
		if m := attackLine(d); m != "" {
			fmt.Fprintf(&b, "- **ATT&CK:** %s\n", m)
		}
		fmt.Fprintf(&b, "- **Example output:** %s\n", mdCode(d.Output))
		if w := whereText(c, d); w != "" {
			fmt.Fprintf(&b, "- **Where:** %s\n", w)
		}
		b.WriteString("- **What to check:**\n")
		for _, s := range checksFor(c, d) {
			fmt.Fprintf(&b, "  - %s\n", s)
		}
		b.WriteString("\n")
	}
	a.Text = b.String()
	a.Evidence = ev.ids
	a.Suggestions = followUps(c, IntentExplain)
	return a, nil
}

// checksFor lists what an analyst should verify about a detection, by
// what kind of activity it flags.
func checksFor(c *Case, d *cairn.Detection) []string {
	var out []string
	ev := c.Event(d)
	switch {
	case ev != nil && ev.Cloud != nil:
		id := ev.Cloud.Identity
		out = append(out, fmt.Sprintf("whether %s is expected to call %s from %s", mdCode(id.Key), mdCode(ev.Cloud.EventName), mdCode(ev.Cloud.SourceIP)))
		if id.AccessKeyID != "" {
			out = append(out, fmt.Sprintf("which other calls the access key %s made (filter `cloud.accesskey.id = %s`)", mdCode(id.AccessKeyID), strings.ReplaceAll(id.AccessKeyID, "`", "")))
		}
		if identity.IsInstanceID(id.SessionName) {
			out = append(out, fmt.Sprintf("whether the session %s (EC2 instance credentials) was used from an address that is not the instance's", mdCode(id.SessionName)))
		}
	case ev != nil && ev.Process != nil:
		out = append(out, fmt.Sprintf("the process tree of the detection: is %s expected to run %s in this workload?", mdCode(parentName(ev)), mdCode(ev.Process.Cmdline())))
		if ev.Net != nil && ev.Net.DstIP != "" {
			out = append(out, fmt.Sprintf("who owns %s and whether other workloads contacted it", mdCode(ev.Net.DstIP)))
		}
		if ev.File != nil && ev.File.Path != "" {
			out = append(out, fmt.Sprintf("what wrote or read %s and whether it is part of the image", mdCode(ev.File.Path)))
		}
		if d.Entities.Image != "" {
			out = append(out, fmt.Sprintf("whether other containers of the image %s do the same", mdCode(d.Entities.Image)))
		}
	}
	out = append(out, "whether the activity is legitimate (then add an exception from the detection) or part of an attack (then ask for the root cause and the blast radius)")
	return out
}

// answerHelp says what the assistant can answer, with example questions
// built from the case's own values.
func answerHelp(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	var a Answer
	var b strings.Builder
	if !p.Understood {
		b.WriteString("I did not understand the question. ")
	}
	b.WriteString("I answer questions about the stored detections, events and process trees, offline; every answer cites the evidence it rests on.\n\n")
	b.WriteString("## What you can ask\n\n| Question | Example |\n| --- | --- |\n")
	ns := firstValue(c, func(d *cairn.Detection) string { return d.Entities.Namespace })
	ident := firstValue(c, func(d *cairn.Detection) string { return d.Entities.Identity })
	// The example questions quote the case's values as code, the rest is
	// the assistant's own text.
	scope := "this scope"
	switch {
	case ns != "":
		scope = "namespace " + mdCell(ns)
	case ident != "":
		scope = "identity " + mdCell(ident)
	}
	examples := map[Intent]string{
		IntentSummary:   "Summarize the events for " + scope,
		IntentReport:    "Generate a detailed investigation report",
		IntentRootCause: "What was the root cause in " + scope + "?",
		IntentAttack:    "What MITRE ATT&CK tactics and techniques were used?",
		IntentPath:      "List the attack path",
		IntentBlast:     "How many workloads were impacted?",
		IntentFix:       "How do I fix this?",
		IntentIsolate:   "Give me detailed guidance on isolating the affected resources",
		IntentExplain:   "What does this detection mean?",
		IntentHelp:      "What can you answer?",
	}
	what := map[Intent]string{
		IntentSummary:   "detections grouped by rule and severity, with the workloads, hosts and identities involved",
		IntentReport:    "a detailed investigation report (Markdown and HTML)",
		IntentRootCause: "where it started: the script, the exploited service, the stolen credential",
		IntentAttack:    "the ATT&CK tactics and techniques, along the kill chain",
		IntentPath:      "the detections in time and kill-chain order, with the process lineage",
		IntentBlast:     "which and how many workloads, hosts, identities and resources were touched",
		IntentFix:       "remediation steps with ready artifacts",
		IntentIsolate:   "how to isolate the affected resources",
		IntentExplain:   "what a rule or detection means and what to check",
		IntentHelp:      "this list",
	}
	for _, in := range Intents {
		fmt.Fprintf(&b, "| %s | %s |\n", what[in], examples[in])
	}
	b.WriteString("\nName a cluster, namespace, pod, image, host, identity, rule, process or IP to narrow the scope, or add a time range (\"in the last 24 hours\").\n")
	if len(c.Detections) == 0 {
		b.WriteString("\nThere are no detections in the current scope yet.\n")
	}
	a.Text = b.String()
	switch {
	case ns != "":
		a.Suggestions = []string{"Summarize the events in namespace " + ns, "What was the root cause in namespace " + ns + "?"}
	case ident != "":
		a.Suggestions = []string{"Summarize the activity of " + ident, "What was the root cause for " + ident + "?"}
	default:
		a.Suggestions = []string{"Summarize all detections"}
	}
	a.Suggestions = append(a.Suggestions, "What MITRE ATT&CK tactics and techniques were used?")
	return a, nil
}

// followUps are the questions to suggest after an answer of intent in,
// naming the case's real values.
func followUps(c *Case, in Intent) []string {
	ns := firstValue(c, func(d *cairn.Detection) string { return d.Entities.Namespace })
	ident := firstValue(c, func(d *cairn.Detection) string { return d.Entities.Identity })
	var where string
	switch {
	case ns != "" && !scopeNames(c, KindNamespace):
		where = " in namespace " + ns
	case ident != "" && !scopeNames(c, KindIdentity) && ns == "":
		where = " for " + ident
	}
	all := []struct {
		in Intent
		q  string
	}{
		{IntentRootCause, "What was the root cause" + where + "?"},
		{IntentBlast, "How many workloads were impacted" + where + "?"},
		{IntentAttack, "What MITRE ATT&CK tactics and techniques were used?"},
		{IntentPath, "List the attack path"},
		{IntentFix, "How do I fix this?"},
		{IntentSummary, "Summarize the detections" + where},
	}
	var out []string
	for _, s := range all {
		if s.in != in && len(out) < 3 {
			out = append(out, s.q)
		}
	}
	return out
}

func scopeNames(c *Case, k EntityKind) bool {
	for _, e := range c.Scope.Entities {
		if e.Kind == k {
			return true
		}
	}
	return false
}

// firstValue is the value of get on the case's most severe detection
// that has one.
func firstValue(c *Case, get func(*cairn.Detection) string) string {
	best, v := int64(-1), ""
	for i := range c.Detections {
		d := &c.Detections[i]
		if s := get(d); s != "" && d.Severity > best {
			best, v = d.Severity, s
		}
	}
	return v
}

// evidence collects ids in order, once each.
type evidence struct {
	ids  []string
	seen map[string]bool
}

func newEvidence() *evidence { return &evidence{ids: []string{}, seen: map[string]bool{}} }

func (e *evidence) add(ids ...string) {
	for _, id := range ids {
		if id != "" && !e.seen[id] {
			e.seen[id] = true
			e.ids = append(e.ids, id)
		}
	}
}

// workloadRow is one container's workload with its detections.
type workloadRow struct {
	Cluster, Namespace, Pod, Container, Image string
	n                                         int
	first                                     time.Time
}

func (w workloadRow) key() string {
	return w.Cluster + "\x00" + w.Namespace + "\x00" + w.Pod + "\x00" + w.Container
}

// caseWorkloads lists the workloads (pods, or containers outside
// Kubernetes) of the case's detections, most detections first.
func caseWorkloads(c *Case) []workloadRow {
	m := map[string]*workloadRow{}
	var order []*workloadRow
	for i := range c.Detections {
		d := &c.Detections[i]
		e := d.Entities
		if e.Pod == "" && (e.ContainerID == "" || e.ContainerID == "host") {
			continue
		}
		w := workloadRow{Cluster: e.Cluster, Namespace: e.Namespace, Pod: e.Pod, Image: e.Image, first: d.Time}
		if e.Pod == "" {
			w.Container = e.ContainerID
		}
		r := m[w.key()]
		if r == nil {
			r = &w
			m[w.key()] = r
			order = append(order, r)
		}
		r.n += detCount(d)
	}
	out := make([]workloadRow, 0, len(order))
	for _, r := range order {
		out = append(out, *r)
	}
	slices.SortStableFunc(out, func(x, y workloadRow) int { return cmp.Compare(y.n, x.n) })
	return out
}

type valueCount struct {
	v string
	n int
}

// tally counts the detections by a value, most first.
func tally(c *Case, get func(*cairn.Detection) string) []valueCount {
	m := map[string]int{}
	var order []string
	for i := range c.Detections {
		d := &c.Detections[i]
		v := get(d)
		if v == "" {
			continue
		}
		if _, ok := m[v]; !ok {
			order = append(order, v)
		}
		m[v] += detCount(d)
	}
	out := make([]valueCount, 0, len(order))
	for _, v := range order {
		out = append(out, valueCount{v, m[v]})
	}
	slices.SortStableFunc(out, func(x, y valueCount) int { return cmp.Compare(y.n, x.n) })
	return out
}

func severityTally(c *Case) string {
	m := map[int64]int{}
	for i := range c.Detections {
		m[c.Detections[i].Severity] += detCount(&c.Detections[i])
	}
	var ranks []int64
	for r := range m {
		ranks = append(ranks, r)
	}
	slices.Sort(ranks)
	slices.Reverse(ranks)
	var parts []string
	for _, r := range ranks {
		parts = append(parts, fmt.Sprintf("%d %s", m[r], field.SeverityName(r)))
	}
	return strings.Join(parts, ", ")
}

func caseSpan(c *Case) (first, last time.Time) {
	for i := range c.Detections {
		d := &c.Detections[i]
		if first.IsZero() || d.Time.Before(first) {
			first = d.Time
		}
		if l := detLast(d); l.After(last) {
			last = l
		}
	}
	return first, last
}

// detCount is how many detections a group stands for.
func detCount(d *cairn.Detection) int { return max(d.Count, 1) }

func detLast(d *cairn.Detection) time.Time {
	if d.LastTime.After(d.Time) {
		return d.LastTime
	}
	return d.Time
}

// whereText says where a detection happened: workload and host, or the
// identity.
func whereText(c *Case, d *cairn.Detection) string {
	e := d.Entities
	var parts []string
	if e.Pod != "" {
		parts = append(parts, "pod "+mdCode(e.Namespace+"/"+e.Pod))
		if e.Cluster != "" {
			parts = append(parts, "cluster "+mdCode(e.Cluster))
		}
	} else if e.ContainerID != "" && e.ContainerID != "host" {
		parts = append(parts, "container "+mdCode(e.ContainerID))
	}
	if e.Image != "" {
		parts = append(parts, "image "+mdCode(e.Image))
	}
	if e.Host != "" {
		parts = append(parts, "host "+mdCode(e.Host))
	}
	if e.Identity != "" {
		parts = append(parts, "identity "+mdCode(e.Identity))
		if ev := c.Event(d); ev != nil && ev.Cloud != nil && ev.Cloud.SourceIP != "" {
			parts = append(parts, "from "+mdCode(ev.Cloud.SourceIP))
		}
	}
	return strings.Join(parts, ", ")
}

func parentName(ev *cairn.Event) string {
	if ev.Parent != nil {
		return ev.Parent.Comm()
	}
	return "its parent"
}

// mdTime formats a time for answers, in UTC.
func mdTime(t time.Time) string {
	if t.IsZero() {
		return "unknown time"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// mdCode renders a value as a Markdown code span, whatever it holds:
// control characters become spaces, the fence is longer than any run of
// backticks inside, so the value cannot end the span early.
func mdCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
	const maxLen = 400
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if s == "" {
		return "(empty)"
	}
	run, longest := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// mdCell is mdCode for a table cell: a pipe would end the cell even
// inside a code span, so it is escaped.
func mdCell(s string) string {
	if s == "" {
		return ""
	}
	return strings.ReplaceAll(mdCode(s), "|", `\|`)
}

// mdQuote renders a rule description (written by a rule author, not an
// attacker, but still text from a file) as a Markdown quote whose lines
// cannot open HTML.
func mdQuote(s string) string {
	s = strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(strings.TrimSpace(s))
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "> " + strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") && !strings.HasSuffix(noun, "ey") {
		return fmt.Sprintf("%d %sies", n, noun[:len(noun)-1])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
