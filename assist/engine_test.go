package assist_test

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/internal/demostore"
	"gopkg.in/yaml.v3"
)

// turn is one question of a conversation and what its answer must hold.
type turn struct {
	q      string
	intent assist.Intent
	// filter must be contained in the answer's feed filter ("" checks
	// nothing; "-" requires an empty filter).
	filter string
	// has must all appear in the answer's text (or its artifacts').
	has []string
	// check runs further checks.
	check func(t *testing.T, a assist.Answer)
}

func story(t *testing.T, tr demo.Truth, id string) demo.Story {
	t.Helper()
	for _, s := range tr.Stories {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no story %s", id)
	return demo.Story{}
}

// TestConversations asks the questions of DESIGN.md §1.2, paraphrases
// and follow-ups, as conversations, on the demo of two seeds, and checks
// every answer against the scenario's ground truth.
func TestConversations(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		t.Run("seed"+strconv.FormatInt(seed, 10), func(t *testing.T) { conversations(t, seed) })
	}
}

func conversations(t *testing.T, seed int64) {
	fx := demostore.Open(t, seed, demoNow)
	tr := fx.Scenario.Truth
	eng := assist.New(fx.Store, assist.Options{Describe: assist.Descriptions(fx.Falco, fx.Sigma), Now: func() time.Time { return demoNow }})
	miner, l4j, scar := story(t, tr, demo.StoryMiner), story(t, tr, demo.StoryLog4Shell), story(t, tr, demo.StoryScarleteel)
	minerNS, minerCluster := miner.Workloads[0].Namespace, miner.Workloads[0].Cluster
	l4jNS, l4jPod := l4j.Workloads[0].Namespace, l4j.Workloads[0].Pod
	var admin string // the SCARLETEEL IAM user
	for _, id := range scar.Identities {
		if strings.Contains(id, ":user/") {
			admin = id
		}
	}
	adminName := admin[strings.LastIndex(admin, "/")+1:]
	if len(userKeys(scar.AccessKeys)) == 0 {
		t.Fatalf("SCARLETEEL's truth names no IAM user key: %v", scar.AccessKeys)
	}
	var minerPods []string
	for _, w := range miner.Workloads {
		minerPods = append(minerPods, w.Pod)
	}
	workloadCount := func(n int) func(t *testing.T, a assist.Answer) {
		return func(t *testing.T, a assist.Answer) {
			t.Helper()
			if !strings.Contains(a.Text, "**"+strconv.Itoa(n)+" workload") {
				t.Errorf("want %d workloads first:\n%.600s", n, a.Text)
			}
		}
	}
	artifact := func(kind string) func(t *testing.T, a assist.Answer) {
		return func(t *testing.T, a assist.Answer) {
			t.Helper()
			if !slices.ContainsFunc(a.Artifacts, func(x assist.Artifact) bool { return x.Kind == kind }) {
				t.Errorf("no %s artifact among %d", kind, len(a.Artifacts))
			}
		}
	}
	networkPolicy := func(ns string, pods []string) func(t *testing.T, a assist.Answer) {
		return func(t *testing.T, a assist.Answer) {
			t.Helper()
			n := 0
			for _, x := range a.Artifacts {
				if x.Kind != assist.ArtifactNetworkPolicy {
					continue
				}
				dec := yaml.NewDecoder(strings.NewReader(x.Content))
				for {
					var np struct {
						Kind     string
						Metadata struct{ Namespace string }
					}
					if err := dec.Decode(&np); err != nil {
						break
					}
					if np.Kind != "NetworkPolicy" || np.Metadata.Namespace != ns {
						t.Errorf("policy kind %q namespace %q, want NetworkPolicy in %s", np.Kind, np.Metadata.Namespace, ns)
					}
					n++
				}
			}
			if n == 0 {
				t.Errorf("no NetworkPolicy for %s", ns)
			}
		}
	}
	techniques := func(t *testing.T, a assist.Answer) {
		t.Helper()
		// Every ATT&CK technique the scope's detections carry is named.
		c, err := assist.Load(context.Background(), fx.Store, assist.Scope{Extra: a.Filter})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range c.Detections {
			for _, tech := range d.Techniques {
				if !strings.Contains(a.Text, tech) {
					t.Errorf("technique %s of %q missing", tech, d.Rule)
				}
			}
		}
	}
	noteTechniques := func(st demo.Story) func(t *testing.T, a assist.Answer) {
		return func(t *testing.T, a assist.Answer) {
			t.Helper()
			found := 0
			for _, tech := range st.Techniques {
				if strings.Contains(a.Text, tech) {
					found++
				}
			}
			if found == 0 {
				t.Errorf("none of the story's techniques %v named", st.Techniques)
			}
		}
	}
	convs := [][]turn{{
		{q: "summarize events for cluster " + minerCluster, intent: assist.IntentSummary, filter: minerCluster, has: []string{minerNS}},
		{q: "what was the root cause for the malicious binary detected on " + minerNS + "?", intent: assist.IntentRootCause, filter: minerNS,
			has: []string{miner.RootCause.Args}},
		{q: "how many workloads were impacted?", intent: assist.IntentBlast, filter: minerNS, has: minerPods, check: workloadCount(len(miner.Workloads))},
		{q: "what MITRE ATT&CK tactics & techniques were used?", intent: assist.IntentAttack, filter: minerNS, check: techniques},
		{q: "list the attack path", intent: assist.IntentPath, filter: minerNS, has: []string{miner.RootCause.Args}},
		{q: "how do I fix this?", intent: assist.IntentFix, filter: minerNS, has: minerPods, check: artifact(assist.ArtifactKubectl)},
		{q: "give me detailed guidance on isolating affected resources", intent: assist.IntentIsolate, filter: minerNS, check: networkPolicy(minerNS, minerPods)},
		{q: "generate detailed investigation report", intent: assist.IntentReport, filter: minerNS,
			has: append(append([]string{miner.RootCause.Args}, minerPods...), miner.Indicators[1:]...), check: techniques},
	}, {
		{q: "what happened in namespace " + l4jNS + "?", intent: assist.IntentSummary, filter: l4jNS, has: []string{l4jPod}},
		{q: "how did the attacker get in?", intent: assist.IntentRootCause, filter: l4jNS, has: []string{"java", l4jPod}},
		{q: "which TTPs were used", intent: assist.IntentAttack, filter: l4jNS, check: noteTechniques(l4j)},
		{q: "what was the blast radius", intent: assist.IntentBlast, filter: l4jNS, check: workloadCount(1)},
		{q: "what should I do to remediate this", intent: assist.IntentFix, filter: l4jNS, has: []string{l4jPod}},
		{q: "quarantine the pods", intent: assist.IntentIsolate, filter: l4jNS, check: networkPolicy(l4jNS, []string{l4jPod})},
		{q: "show me the kill chain step by step", intent: assist.IntentPath, filter: l4jNS, has: []string{"java"}},
		// The exploit's LDAP and HTTP URLs travel in a request no source
		// records; the report names what the events hold.
		{q: "write up an incident report", intent: assist.IntentReport, filter: l4jNS,
			has: append([]string{l4jPod, l4j.Indicators[0], l4j.Indicators[len(l4j.Indicators)-1]}, l4j.AttackerIPs...), check: techniques},
	}, {
		{q: "what did " + adminName + " do?", intent: assist.IntentSummary, filter: admin},
		{q: "where did this come from", intent: assist.IntentRootCause, filter: admin, has: append([]string{admin}, scar.AttackerIPs...)},
		{q: "what was affected", intent: assist.IntentBlast, filter: admin, has: []string{admin}},
		{q: "how do I fix this?", intent: assist.IntentFix, filter: admin, has: userKeys(scar.AccessKeys), check: artifact(assist.ArtifactIAMPolicy)},
		{q: "explain this detection", intent: assist.IntentExplain, filter: admin},
		{q: "map this to mitre att&ck", intent: assist.IntentAttack, filter: admin, check: noteTechniques(scar)},
		{q: "generate a detailed investigation report", intent: assist.IntentReport, filter: admin,
			has: append([]string{admin}, scar.AttackerIPs...), check: techniques},
	}, {
		{q: "what can you answer?", intent: assist.IntentHelp},
		{q: "blorp zzkx qwv?", intent: assist.IntentHelp},
		{q: "summarize all detections across the whole environment", intent: assist.IntentSummary, filter: "-", has: []string{minerNS, l4jNS}},
		{q: "how many workloads were impacted?", intent: assist.IntentBlast, filter: "-", has: []string{minerNS, l4jNS}},
	}}
	ctx := context.Background()
	n := 0
	for ci, conv := range convs {
		sess := eng.Session("")
		for _, tt := range conv {
			n++
			a, err := eng.Ask(ctx, sess, tt.q, "")
			if err != nil {
				t.Fatalf("conversation %d %q: %v", ci, tt.q, err)
			}
			t.Run(tt.q, func(t *testing.T) {
				if a.Intent != tt.intent {
					t.Errorf("intent %s, want %s", a.Intent, tt.intent)
				}
				switch {
				case tt.filter == "-" && a.Filter != "":
					t.Errorf("filter %q, want none", a.Filter)
				case tt.filter != "-" && !strings.Contains(a.Filter, tt.filter):
					t.Errorf("filter %q does not name %q", a.Filter, tt.filter)
				}
				all := a.Text
				for _, x := range a.Artifacts {
					all += "\n" + x.Content
				}
				for _, h := range tt.has {
					if !strings.Contains(all, h) {
						t.Errorf("answer lacks %q:\n%.1500s", h, a.Text)
					}
				}
				if tt.intent != assist.IntentHelp && len(a.Evidence) == 0 {
					t.Errorf("no evidence")
				}
				for _, id := range a.Evidence {
					if _, err := fx.Store.GetDetection(ctx, id); err != nil {
						if _, err := fx.Store.GetEvent(ctx, id); err != nil {
							t.Errorf("evidence %s is neither a detection nor an event", id)
						}
					}
				}
				if tt.check != nil {
					tt.check(t, a)
				}
				background(t, tr, a)
			})
		}
	}
	if n < 20 {
		t.Errorf("only %d questions", n)
	}
}

// userKeys are the long-term (IAM user) access keys among keys.
func userKeys(keys []string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, "AKIA") {
			out = append(out, k)
		}
	}
	return out
}

// background fails the test when an answer names a workload or identity
// of the benign background.
func background(t *testing.T, tr demo.Truth, a assist.Answer) {
	t.Helper()
	if a.Intent == assist.IntentHelp {
		return
	}
	for _, w := range tr.Background.Workloads {
		if regexp.MustCompile(`\b` + regexp.QuoteMeta(w.Pod) + `\b`).MatchString(a.Text) {
			t.Errorf("answer names background pod %s", w.Pod)
		}
	}
}

// TestReportCoversTruth asks for the report of everything and checks it
// names every workload, identity and ATT&CK technique of the malicious
// stories, and every indicator the recorded data holds (an indicator only the attacker's request carried, such as
// a JNDI URL in an HTTP header no source records, cannot be known).
func TestReportCoversTruth(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		t.Run("seed"+strconv.FormatInt(seed, 10), func(t *testing.T) {
			fx := demostore.Open(t, seed, demoNow)
			eng := assist.New(fx.Store, assist.Options{Now: func() time.Time { return demoNow }})
			a, err := eng.Ask(context.Background(), nil, "generate detailed investigation report for everything", "")
			if err != nil {
				t.Fatal(err)
			}
			if a.Intent != assist.IntentReport {
				t.Fatalf("intent %s", a.Intent)
			}
			var raw strings.Builder
			for _, r := range fx.Scenario.Tetragon {
				raw.Write(r)
			}
			for _, r := range fx.Scenario.CloudTrail {
				raw.Write(r)
			}
			for _, st := range fx.Scenario.Truth.Stories {
				if !st.Malicious {
					continue
				}
				for _, w := range st.Workloads {
					if !strings.Contains(a.Text, w.Pod) {
						t.Errorf("%s: workload %s missing", st.ID, w.Pod)
					}
				}
				for _, id := range st.Identities {
					if !strings.Contains(a.Text, id) {
						t.Errorf("%s: identity %s missing", st.ID, id)
					}
				}
				for _, tech := range st.Techniques {
					if !strings.Contains(a.Text, tech) {
						t.Errorf("%s: technique %s missing", st.ID, tech)
					}
				}
				for _, ind := range append(st.Indicators, st.AttackerIPs...) {
					inData := strings.Contains(raw.String(), ind) || strings.Contains(raw.String(), strings.ReplaceAll(ind, "/", `\/`))
					if inData && !strings.Contains(a.Text, ind) {
						t.Errorf("%s: indicator %s (in the data) missing", st.ID, ind)
					}
				}
			}
			var html bool
			for _, x := range a.Artifacts {
				if x.Kind == assist.ArtifactHTML {
					html = strings.Contains(x.Content, "<h1>") && !strings.Contains(x.Content, "<script")
				}
			}
			if !html {
				t.Error("no HTML report artifact")
			}
		})
	}
}
