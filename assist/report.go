package assist

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn/internal/markdown"
)

// answerReport writes the detailed investigation report of the case: an
// overview, the timeline (the attack path), the root cause, what was
// affected, the identities, the indicators, the ATT&CK mapping and the
// recommended actions, in Markdown and HTML, each section built by the
// answer of that intent, so that the report says nothing they do not.
func answerReport(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	var b strings.Builder
	ev := newEvidence()
	var artifacts []Artifact
	fmt.Fprintf(&b, "# Investigation report: %s\n\n", mdText(c.Scope.Label()))
	fmt.Fprintf(&b, "Generated %s by cairn from %s.\n\n", mdTime(env.Now), plural(len(c.Detections), "detection group"))
	if len(c.Detections) == 0 {
		b.WriteString("There are no detections in this scope, so there is nothing to report. Widen the scope (ask about everything) or check the time range.\n")
		return Answer{Text: b.String(), Evidence: []string{}, Suggestions: []string{"Summarize all detections"}}, nil
	}
	sections := []struct {
		title string
		fn    answerFunc
	}{
		{"Summary", answerSummary},
		{"Timeline and attack path", answerPath},
		{"Root cause", answerRootCause},
		{"Affected resources", answerBlast},
		{"MITRE ATT&CK mapping", answerAttack},
		{"Recommended actions", answerFix},
	}
	for _, s := range sections {
		a, err := s.fn(ctx, env, c, p)
		if err != nil {
			return Answer{}, fmt.Errorf("report %s: %w", s.title, err)
		}
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", s.title, demote(a.Text))
		ev.add(a.Evidence...)
		artifacts = append(artifacts, a.Artifacts...)
		if s.title == "Root cause" {
			writeIndicators(&b, c)
		}
	}
	b.WriteString("## Evidence\n\n")
	for _, d := range c.Detections {
		fmt.Fprintf(&b, "- %s %s — %s\n", mdTime(d.Time), mdCode(d.Rule), mdCode(d.ID))
	}
	text := b.String()
	artifacts = append(artifacts,
		Artifact{Kind: ArtifactMarkdown, Name: "investigation-report.md", Content: text},
		Artifact{Kind: ArtifactHTML, Name: "investigation-report.html", Content: reportPage(text)})
	return Answer{Text: text, Evidence: ev.ids, Artifacts: artifacts,
		Suggestions: []string{"Give me detailed guidance on isolating affected resources", "How many workloads were impacted?"}}, nil
}

// demote shifts a section's headings one level down, under the report's.
func demote(md string) string {
	lines := strings.Split(strings.TrimSpace(md), "\n")
	inFence := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
		}
		if !inFence && strings.HasPrefix(l, "#") {
			lines[i] = "#" + l
		}
	}
	return strings.Join(lines, "\n")
}

// mdText is plain text that Markdown shows as it is.
func mdText(s string) string {
	return strings.NewReplacer("\\", "\\\\", "*", "\\*", "_", "\\_", "`", "\\`", "[", "\\[", "]", "\\]", "<", "&lt;", ">", "&gt;", "#", "\\#", "|", "\\|").Replace(s)
}

// reportPage is the report as a standalone HTML page with a policy that
// allows no script.
func reportPage(md string) string {
	return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cairn investigation report</title>\n" +
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n" +
		"<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}" +
		"table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}" +
		"code,pre{font-family:ui-monospace,monospace}pre{background:#f4f4f4;padding:.5rem;overflow:auto}</style>\n</head><body>\n" +
		string(markdown.HTML(md)) + "</body></html>\n"
}

// Indicators: observables worth blocking or hunting for, taken from the
// detections' events.
var (
	reURL    = regexp.MustCompile(`\b(?:https?|ldaps?|rmi|dns|ftp|stratum\+tcp|stratum\+ssl|tcp|udp)://[^\s'"<>` + "`" + `]+`)
	reHostIP = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b`)
	reDomain = regexp.MustCompile(`\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b`)
	reWallet = regexp.MustCompile(`\b[1-9A-HJ-NP-Za-km-z]{90,110}\b`)
	reARN    = regexp.MustCompile(`arn:aws:iam::\d{12}:[A-Za-z0-9/_+=,.@-]+`)
	rePath   = regexp.MustCompile(`(?:^|[\s=:'"])((?:/tmp|/var/tmp|/dev/shm|/usr/local/tomcat/webapps|/var/www)/[^\s'";|&]+|\./[A-Za-z0-9._-]+\.(?:sh|py|pl|bin))`)
)

// notDomains are file extensions a domain pattern would otherwise take.
var notDomains = []string{"jar", "sh", "class", "py", "txt", "json", "yaml", "yml", "log", "jsp", "conf", "so", "xml", "gz",
	"tar", "zip", "pem", "key", "csv", "pdf", "xlsx", "tfstate", "bin", "exe", "html", "js", "go", "java", "properties", "internal", "local"}

// commonTLDs are the top-level domains a bare word of a command line must
// end in to be taken for a domain.
var commonTLDs = []string{"com", "net", "org", "io", "co", "me", "info", "biz", "xyz", "top", "ru", "su", "cn", "tk", "pw", "cc",
	"ws", "to", "in", "us", "uk", "de", "fr", "nl", "eu", "pro", "stream", "online", "site", "club", "live", "link", "work",
	"space", "tech", "store", "cloud", "dev", "app", "sh", "gg", "ly", "onion", "host", "fun", "icu", "vip", "shop"}

type indicators struct {
	ips, urls, domains, paths, wallets, arns []string
}

func (in *indicators) addIP(s string) {
	host := s
	if h, _, ok := strings.Cut(s, ":"); ok {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() {
		return
	}
	addOnce(&in.ips, s)
}

// command takes the indicators of a command line: URLs, addresses,
// wallets and files anywhere in it, and domains that stand as a word of
// their own or are a URL's host (a Java property such as
// -Djava.io.tmpdir is not a domain).
func (in *indicators) command(s string) {
	for _, u := range reURL.FindAllString(s, -1) {
		u = strings.TrimRight(u, ".,;)")
		addOnce(&in.urls, u)
		if host := urlHost(u); host != "" && reDomain.MatchString(host) {
			in.domain(host)
		}
	}
	for _, ip := range reHostIP.FindAllString(s, -1) {
		in.addIP(ip)
	}
	for _, w := range strings.Fields(s) {
		w = strings.Trim(w, `'"`)
		if h, _, ok := strings.Cut(w, ":"); ok && !strings.Contains(w, "://") {
			w = h // host:port
		}
		// A bare word is a domain when it is in lower case (Java class
		// names are not) and ends in a common top-level domain.
		if w != "" && reDomain.FindString(w) == w && slices.Contains(commonTLDs, w[strings.LastIndexByte(w, '.')+1:]) {
			in.domain(w)
		}
	}
	for _, w := range reWallet.FindAllString(s, -1) {
		addOnce(&in.wallets, w)
	}
	for _, m := range rePath.FindAllStringSubmatch(s, -1) {
		addOnce(&in.paths, m[1])
	}
}

func (in *indicators) domain(d string) {
	d = strings.ToLower(d)
	last := d[strings.LastIndexByte(d, '.')+1:]
	if slices.Contains(notDomains, last) || strings.HasSuffix(d, ".amazonaws.com") || strings.HasSuffix(d, ".internal") {
		return
	}
	addOnce(&in.domains, d)
}

// urlHost is the host of a URL, without user or port.
func urlHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if h, _, ok := strings.Cut(rest, ":"); ok {
		rest = h
	}
	return rest
}

// cloud takes the indicators of a CloudTrail record: ARNs of accounts
// other than the case's own (a policy granting an outsider access).
func (in *indicators) cloud(raw string, own map[string]bool) {
	for _, a := range reARN.FindAllString(raw, -1) {
		acct := a[len("arn:aws:iam::") : len("arn:aws:iam::")+12]
		if !own[acct] {
			addOnce(&in.arns, a)
		}
	}
}

// writeIndicators lists the observables of the case's detections: the
// external addresses they connected to or called from, URLs, domains,
// files and wallets in their command lines and file names, and ARNs of
// other accounts in their API calls.
func writeIndicators(b *strings.Builder, c *Case) {
	var in indicators
	own := map[string]bool{}
	for _, d := range c.Detections {
		if e := c.Event(&d); e != nil && e.Cloud != nil {
			for _, a := range []string{e.Cloud.Identity.AccountID, e.Cloud.RecipientAccount} {
				if a != "" {
					own[a] = true
				}
			}
		}
	}
	for _, d := range c.Detections {
		e := c.Event(&d)
		if e == nil {
			continue
		}
		if p := e.Process; p != nil {
			in.command(p.Binary + " " + p.Args)
		}
		if e.File != nil {
			in.command(" " + e.File.Path)
		}
		if n := e.Net; n != nil {
			if n.DstIP != "" {
				in.addIP(fmt.Sprintf("%s:%d", n.DstIP, n.DstPort))
			}
		}
		if e.Cloud != nil {
			in.addIP(e.Cloud.SourceIP)
			// requestParameters may name another account's principal
			// (a bucket policy or a snapshot shared with the attacker).
			in.cloud(string(e.Raw), own)
		}
	}
	// An address seen with a port is listed with it, not again alone.
	var ips []string
	for _, ip := range in.ips {
		if !strings.Contains(ip, ":") && slices.ContainsFunc(in.ips, func(x string) bool { return strings.HasPrefix(x, ip+":") }) {
			continue
		}
		ips = append(ips, ip)
	}
	in.ips = ips
	b.WriteString("## Indicators\n\n")
	rows := []struct {
		name string
		vs   []string
	}{{"External addresses", in.ips}, {"URLs", in.urls}, {"Domains", in.domains}, {"Files", in.paths}, {"Wallets", in.wallets}, {"Other accounts' principals", in.arns}}
	found := false
	for _, r := range rows {
		if len(r.vs) == 0 {
			continue
		}
		found = true
		fmt.Fprintf(b, "- **%s**: ", r.name)
		for i, v := range r.vs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(mdCode(v))
		}
		b.WriteString("\n")
	}
	if !found {
		b.WriteString("No external addresses, URLs, domains, files or wallets in the detections' events.\n")
	}
	b.WriteString("\n")
}
