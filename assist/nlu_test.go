package assist_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/internal/demostore"
)

// nluNow anchors the demo scenarios of the parser's tests.
var nluNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// demoNames are the names of a demo scenario's ground truth that
// questions use.
type demoNames struct {
	cluster                            string // the cryptominer's cluster
	minerNS, minerWorkload             string
	minerPods                          []string
	l4NS, l4Pod, l4Workload, l4Cluster string
	l4Image                            string // repository without the tag
	l4Host                             string
	admin                              string // the SCARLETEEL user's ARN
	attackerIP                         string
}

func demoVocabulary(t *testing.T, seed int64) (*assist.Vocabulary, demoNames) {
	t.Helper()
	fx := demostore.Open(t, seed, nluNow)
	c, err := assist.Load(context.Background(), fx.Store, assist.NewScope())
	if err != nil {
		t.Fatal(err)
	}
	var n demoNames
	for _, st := range fx.Scenario.Truth.Stories {
		switch st.ID {
		case demo.StoryMiner:
			w := st.Workloads[0]
			n.cluster, n.minerNS, n.minerWorkload = w.Cluster, w.Namespace, w.Workload
			for _, x := range st.Workloads {
				if x.Workload == w.Workload {
					n.minerPods = append(n.minerPods, x.Pod)
				}
			}
		case demo.StoryLog4Shell:
			w := st.Workloads[0]
			n.l4NS, n.l4Pod, n.l4Workload, n.l4Cluster, n.l4Host = w.Namespace, w.Pod, w.Workload, w.Cluster, w.Node
			n.l4Image, _, _ = strings.Cut(w.Image, ":")
			n.attackerIP = st.AttackerIPs[len(st.AttackerIPs)-1]
		case demo.StoryScarleteel:
			for _, id := range st.Identities {
				if strings.Contains(id, ":user/") {
					n.admin = id
				}
			}
		}
	}
	if n.minerNS == "" || n.l4Pod == "" || n.admin == "" {
		t.Fatalf("seed %d: names missing from the truth: %+v", seed, n)
	}
	return assist.NewVocabulary(c), n
}

// typo drops the letter nearest the middle of s.
func typo(s string) string {
	r := []rune(s)
	for i := len(r) / 2; i < len(r); i++ {
		if unicode.IsLetter(r[i]) {
			return string(r[:i]) + string(r[i+1:])
		}
	}
	return s
}

// swap exchanges two letters near the middle of s: two edits.
func swap(s string) string {
	r := []rune(s)
	for i := len(r) / 2; i+1 < len(r); i++ {
		if unicode.IsLetter(r[i]) && unicode.IsLetter(r[i+1]) && r[i] != r[i+1] {
			r[i], r[i+1] = r[i+1], r[i]
			return string(r)
		}
	}
	return s
}

func after(s, sep string) string { return s[strings.LastIndex(s, sep)+1:] }

func TestVocabularyDemo(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		v, n := demoVocabulary(t, seed)
		for _, c := range []struct {
			kind assist.EntityKind
			want string
		}{
			{assist.KindCluster, n.cluster}, {assist.KindCluster, n.l4Cluster},
			{assist.KindNamespace, n.minerNS}, {assist.KindNamespace, n.l4NS},
			{assist.KindWorkload, n.minerWorkload}, {assist.KindWorkload, n.l4Workload},
			{assist.KindPod, n.l4Pod}, {assist.KindImage, n.l4Image}, {assist.KindHost, n.l4Host},
			{assist.KindIdentity, n.admin}, {assist.KindIP, n.attackerIP},
			{assist.KindRule, "Reverse Shell"}, {assist.KindProcess, "java"},
		} {
			if !slices.Contains(v.Values(c.kind), c.want) {
				t.Errorf("seed %d: Values(%s) = %q, missing %q", seed, c.kind, v.Values(c.kind), c.want)
			}
		}
		ns := v.Values(assist.KindNamespace)
		for i := 1; i < len(ns); i++ {
			if v.Count(assist.KindNamespace, ns[i]) > v.Count(assist.KindNamespace, ns[i-1]) {
				t.Errorf("seed %d: namespaces not most frequent first: %q", seed, ns)
			}
		}
	}
}

func TestParseDemo(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		v, n := demoVocabulary(t, seed)
		ns := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindNamespace, Value: s} }
		cl := assist.Entity{Kind: assist.KindCluster, Value: n.cluster}
		minerNS, l4NS := ns(n.minerNS), ns(n.l4NS)
		l4Pod := assist.Entity{Kind: assist.KindPod, Value: n.l4Pod}
		l4Wl := assist.Entity{Kind: assist.KindWorkload, Value: n.l4Workload}
		minerWl := assist.Entity{Kind: assist.KindWorkload, Value: n.minerWorkload}
		admin := assist.Entity{Kind: assist.KindIdentity, Value: n.admin}
		host := assist.Entity{Kind: assist.KindHost, Value: n.l4Host}
		image := assist.Entity{Kind: assist.KindImage, Value: n.l4Image}
		ip := assist.Entity{Kind: assist.KindIP, Value: n.attackerIP}
		rule := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindRule, Value: s} }
		// The pods of a workload are alternatives, most frequent first.
		var minerPods []assist.Entity
		for _, p := range v.Values(assist.KindPod) {
			if slices.Contains(n.minerPods, p) {
				minerPods = append(minerPods, assist.Entity{Kind: assist.KindPod, Value: p})
			}
		}
		if len(minerPods) < 2 || len(minerPods) != len(n.minerPods) {
			t.Fatalf("seed %d: pods of %s: %v, truth %v", seed, n.minerWorkload, minerPods, n.minerPods)
		}
		adminName := after(n.admin, "/")
		hostShort, _, _ := strings.Cut(n.l4Host, ".")
		none := []assist.Entity(nil)
		es := func(e ...assist.Entity) []assist.Entity { return e }

		cases := []struct {
			q      string
			intent assist.Intent
			want   []assist.Entity
		}{
			// Summary.
			{"summarize events for this cluster", assist.IntentSummary, none},
			{"summarize events for cluster " + n.cluster, assist.IntentSummary, es(cl)},
			{"give me an overview of " + n.l4NS, assist.IntentSummary, es(l4NS)},
			{"what happened in namespace " + n.minerNS, assist.IntentSummary, es(minerNS)},
			{"what's going on?", assist.IntentSummary, none},
			{"brief me on " + n.minerNS, assist.IntentSummary, es(minerNS)},
			{"Summarise the " + n.l4NS + " namespace", assist.IntentSummary, es(l4NS)},
			{"any news about " + typo(n.minerNS) + "?", assist.IntentSummary, es(minerNS)},
			{"recap of the last 24 hours", assist.IntentSummary, none},
			{"what happened on host " + hostShort, assist.IntentSummary, es(host)},
			{"show detections for " + n.l4Workload, assist.IntentSummary, es(l4Wl)},
			{"overview of " + swap(n.minerNS), assist.IntentSummary, es(minerNS)},
			{"summary of cluster " + n.cluster + " namespace " + n.minerNS, assist.IntentSummary, es(cl, minerNS)},
			{"what happened to " + adminName, assist.IntentSummary, es(admin)},
			{"summarize image " + after(n.l4Image, "/"), assist.IntentSummary, es(image)},
			{"what did " + n.attackerIP + " do", assist.IntentSummary, es(ip)},
			{n.l4NS + "?", assist.IntentSummary, es(l4NS)},
			// Report.
			{"generate detailed investigation report", assist.IntentReport, none},
			{"write up an incident report for " + n.l4NS, assist.IntentReport, es(l4NS)},
			{"export a report", assist.IntentReport, none},
			{"Can you produce a post-mortem of the " + n.minerNS + " incident?", assist.IntentReport, es(minerNS)},
			{"summarize everything in a report", assist.IntentReport, none},
			{"generate the report for the attack path", assist.IntentReport, none},
			// Root cause.
			{"what was the root cause for the malicious binary detected on " + n.minerNS + "?", assist.IntentRootCause, es(minerNS)},
			{"how did this start", assist.IntentRootCause, none},
			{"where did the attack come from", assist.IntentRootCause, none},
			{"what is the origin of the compromise in " + n.l4NS, assist.IntentRootCause, es(l4NS)},
			{"how did the attacker get in to " + n.l4Pod, assist.IntentRootCause, es(l4Pod)},
			{"What caused the alerts on " + typo(n.l4NS) + "?", assist.IntentRootCause, es(l4NS)},
			{"find the entry point", assist.IntentRootCause, none},
			{"how did it begin?", assist.IntentRootCause, none},
			{"what is the root cause", assist.IntentRootCause, none},
			{"root cause on node " + hostShort, assist.IntentRootCause, es(host)},
			// ATT&CK.
			{"what MITRE ATT&CK tactics & techniques were used?", assist.IntentAttack, none},
			{"which TTPs", assist.IntentAttack, none},
			{"map this to mitre", assist.IntentAttack, none},
			{"list the techniques seen in " + n.minerNS, assist.IntentAttack, es(minerNS)},
			{"Which ATT&CK tactics did user " + adminName + " use?", assist.IntentAttack, es(admin)},
			// Attack path.
			{"list the attack path", assist.IntentPath, none},
			{"show the kill chain for " + n.l4NS, assist.IntentPath, es(l4NS)},
			{"what did the attacker do step by step", assist.IntentPath, none},
			{"timeline of the attack", assist.IntentPath, none},
			{"walk me through the sequence of events in " + n.minerNS, assist.IntentPath, es(minerNS)},
			{"chronology of " + adminName + "'s activity", assist.IntentPath, es(admin)},
			// Blast radius.
			{"how many workloads were impacted?", assist.IntentBlast, none},
			{"what was affected", assist.IntentBlast, none},
			{"blast radius", assist.IntentBlast, none},
			{"which pods/hosts/identities were touched", assist.IntentBlast, none},
			{"what's the blast radius of " + n.cluster, assist.IntentBlast, es(cl)},
			{"how far did it spread in " + n.minerNS, assist.IntentBlast, es(minerNS)},
			{"Which hosts did " + n.minerWorkload + " reach?", assist.IntentBlast, es(minerWl)},
			// Remediation.
			{"how do I fix this?", assist.IntentFix, none},
			{"how to remediate", assist.IntentFix, none},
			{"what should I do", assist.IntentFix, none},
			{"recommended actions", assist.IntentFix, none},
			{"how do I remediate user " + adminName + "?", assist.IntentFix, es(admin)},
			{"what are the next steps for " + n.l4NS, assist.IntentFix, es(l4NS)},
			{"steps to mitigate the compromise of " + typo(adminName), assist.IntentFix, es(admin)},
			// Isolation.
			{"give me detailed guidance on isolating affected resources", assist.IntentIsolate, none},
			{"how do I contain this", assist.IntentIsolate, none},
			{"quarantine the pods", assist.IntentIsolate, none},
			{"isolate the workload", assist.IntentIsolate, none},
			{"isolate pod " + n.l4Workload, assist.IntentIsolate, es(l4Pod)},
			{"isolate the " + n.minerWorkload + " pods", assist.IntentIsolate, minerPods},
			{"cut off " + n.l4Workload + " from the network", assist.IntentIsolate, es(l4Wl)},
			{"write a network policy to isolate " + n.minerNS, assist.IntentIsolate, es(minerNS)},
			{"help me fix and isolate " + n.l4Pod, assist.IntentIsolate, es(l4Pod)},
			// Explain.
			{"explain this detection", assist.IntentExplain, none},
			{"what does rule Reverse Shell mean", assist.IntentExplain, es(rule("Reverse Shell"))},
			{"why did this fire", assist.IntentExplain, none},
			{"explain the Crypto Miner Started detection", assist.IntentExplain, es(rule("Crypto Miner Started"))},
			{"what does reverse shel mean in " + n.l4NS, assist.IntentExplain, es(rule("Reverse Shell"), l4NS)},
			// Help.
			{"what can you answer?", assist.IntentHelp, none},
			{"help", assist.IntentHelp, none},
			{"what questions can I ask?", assist.IntentHelp, none},
		}
		if len(cases) < 60 {
			t.Fatalf("only %d questions", len(cases))
		}
		for _, c := range cases {
			p := assist.Parse(c.q, v)
			if p.Intent != c.intent || !p.Understood {
				t.Errorf("seed %d: Parse(%q) intent %s (understood %v), want %s", seed, c.q, p.Intent, p.Understood, c.intent)
			}
			if !slices.Equal(p.Entities, c.want) {
				t.Errorf("seed %d: Parse(%q) entities %v, want %v", seed, c.q, p.Entities, c.want)
			}
			if len(c.want) == 0 && !p.FollowUp && !p.All {
				t.Errorf("seed %d: Parse(%q) names nothing but is no follow-up", seed, c.q)
			}
		}
	}
}

func TestParseScope(t *testing.T) {
	v := assist.NewVocabulary(handCase())
	cases := []struct {
		q        string
		followUp bool
		all      bool
		since    time.Duration
	}{
		{"isolate them", true, false, 0},
		{"summarize payments", false, false, 0},
		{"how do I fix this pod in payments", true, false, 0},
		{"what is the root cause of that", true, false, 0},
		{"tell me more about the attack in payments", true, false, 0},
		{"and those hosts?", true, false, 0},
		{"blast radius", true, false, 0},
		{"summarize everything", false, true, 0},
		{"list all detections", false, true, 0},
		{"attack path across all clusters", false, true, 0},
		{"summary of the whole environment", false, true, 0},
		{"isolate all affected pods", true, false, 0},
		{"what happened in payments in the last 24 hours", false, false, 24 * time.Hour},
		{"detections in the past hour", true, false, time.Hour},
		{"summarize the last 7 days", true, false, 7 * 24 * time.Hour},
		{"what happened today", true, false, 24 * time.Hour},
		{"alerts over the previous two weeks", true, false, 14 * 24 * time.Hour},
		{"payments last 30m", false, false, 30 * time.Minute},
		{"what happened in shop over the last day", false, false, 24 * time.Hour},
		{"last step of the attack path", true, false, 0},
		{"write up the payments incident", false, false, 0},
		{"write up the incident in payments", true, false, 0},
	}
	for _, c := range cases {
		p := assist.Parse(c.q, v)
		if p.FollowUp != c.followUp || p.All != c.all || p.Since != c.since {
			t.Errorf("Parse(%q) = follow-up %v, all %v, since %v; want %v, %v, %v", c.q, p.FollowUp, p.All, p.Since, c.followUp, c.all, c.since)
		}
	}
	if p := assist.Parse("events in the last 99999999999999 days", v); p.Since <= 0 || p.Since > 11*365*24*time.Hour {
		t.Errorf("huge range gave Since %v", p.Since)
	}
}

func TestParseNotUnderstood(t *testing.T) {
	v := assist.NewVocabulary(handCase())
	for _, q := range []string{"", "   ", "asdf qwerty zxcv", "lorem ipsum dolor sit amet", "🤷", "the of and", "42"} {
		p := assist.Parse(q, v)
		if p.Intent != assist.IntentHelp || p.Understood || len(p.Entities) != 0 {
			t.Errorf("Parse(%q) = %+v, want help, not understood", q, p)
		}
	}
}

func TestParseHostile(t *testing.T) {
	v := assist.NewVocabulary(handCase())
	big := strings.Repeat("payment-api payments admn6 ", 4000) // ~100 KB
	for _, q := range []string{
		"<script>alert(1)</script> summarize <b>payments</b>",
		"isolate \x00\x1b[31mpayments\x1b[0m\u202e\r\n",
		"[payments](javascript:alert(1)) `rm -rf /` ${jndi:ldap://x}",
		big,
		strings.Repeat("a", 100_000),
		strings.Repeat("-", 100_000),
		strings.Repeat("é", 50_000),
		"\xff\xfe payments \xc3",
		strings.Repeat("last ", 20_000),
	} {
		start := time.Now()
		p := assist.Parse(q, v)
		if d := time.Since(start); d > time.Second {
			t.Errorf("Parse of %d bytes took %v", len(q), d)
		}
		checkParsed(t, v, q, p)
	}
	if p := assist.Parse("<script>alert(1)</script> summarize <b>payments</b>", v); p.Intent != assist.IntentSummary ||
		!slices.Equal(p.Entities, []assist.Entity{{Kind: assist.KindNamespace, Value: "payments"}}) {
		t.Errorf("markup question = %+v", p)
	}
	if p := assist.Parse(big, v); len(p.Entities) == 0 {
		t.Errorf("long question named nothing: %+v", p)
	}
}

// checkParsed asserts what holds of every parse: a known intent, help
// when not understood, entities only from the vocabulary, not both
// follow-up and all.
func checkParsed(t *testing.T, v *assist.Vocabulary, q string, p assist.Parsed) {
	t.Helper()
	if !slices.Contains(assist.Intents, p.Intent) {
		t.Errorf("Parse(%.40q): unknown intent %q", q, p.Intent)
	}
	if !p.Understood && p.Intent != assist.IntentHelp {
		t.Errorf("Parse(%.40q): not understood but intent %s", q, p.Intent)
	}
	for _, e := range p.Entities {
		if !slices.Contains(v.Values(e.Kind), e.Value) {
			t.Errorf("Parse(%.40q): entity %v not in the vocabulary", q, e)
		}
	}
	if p.All && p.FollowUp {
		t.Errorf("Parse(%.40q): both all and follow-up", q)
	}
	if p.Since < 0 {
		t.Errorf("Parse(%.40q): negative Since %v", q, p.Since)
	}
}

func FuzzParse(f *testing.F) {
	for _, q := range []string{
		"summarize events for this cluster",
		"what was the root cause for the malicious binary detected on payments?",
		"isolate pod payment-api in the last 24 hours",
		"what does rule Reverse Shell mean",
		"what did arn:aws:iam::123:user/Admin6 do across all clusters",
		"MITRE ATT&CK tactics & techniques",
		"host ip-10-1-2-3 last 99999999999999999999 days",
		"\x00\xff<script>",
		"crypto minr started",
	} {
		f.Add(q)
	}
	v := assist.NewVocabulary(handCase())
	f.Fuzz(func(t *testing.T, q string) {
		p := assist.Parse(q, v)
		checkParsed(t, v, q, p)
		if again := assist.Parse(q, v); !slices.Equal(again.Entities, p.Entities) || again.Intent != p.Intent {
			t.Errorf("Parse(%q) not deterministic: %+v then %+v", q, p, again)
		}
	})
}
