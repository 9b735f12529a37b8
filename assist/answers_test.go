package assist

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/internal/demostore"
)

// answersNow anchors the demo scenarios of the answer tests.
var answersNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// answerSeeds are the demo scenarios every answer is checked on.
var answerSeeds = []int64{1, 2}

type answerFixture struct {
	fx  *demostore.Fixture
	env Env
}

func openAnswers(t *testing.T, seed int64) *answerFixture {
	t.Helper()
	fx := demostore.Open(t, seed, answersNow)
	return &answerFixture{fx: fx, env: Env{Store: fx.Store, Now: answersNow}}
}

func (f *answerFixture) story(t *testing.T, id string) demo.Story {
	t.Helper()
	for _, st := range f.fx.Scenario.Truth.Stories {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("no story %s", id)
	return demo.Story{}
}

func (f *answerFixture) load(t *testing.T, es ...Entity) *Case {
	t.Helper()
	c, err := Load(context.Background(), f.fx.Store, NewScope(es...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ask runs an answer and checks what every answer must hold: text,
// evidence that exists (detections first), 2-3 suggestions, no HTML, and
// no name that is not in the evidence.
func (f *answerFixture) ask(t *testing.T, fn answerFunc, c *Case, p Parsed) Answer {
	t.Helper()
	a, err := fn(context.Background(), f.env, c, p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(a.Text) == "" {
		t.Fatal("empty answer")
	}
	if n := len(a.Suggestions); n < 2 || n > 3 {
		t.Errorf("%d suggestions %q, want 2-3", n, a.Suggestions)
	}
	if regexp.MustCompile(`<[a-zA-Z/]`).MatchString(stripCode(a.Text)) {
		t.Errorf("answer holds HTML outside code:\n%s", a.Text)
	}
	f.checkNoInvention(t, c, a)
	return a
}

// stripCode removes the code spans of Markdown text.
func stripCode(s string) string {
	return regexp.MustCompile("`+[^`]*`+").ReplaceAllString(s, "")
}

// codeSpans returns the contents of the code spans in Markdown text.
func codeSpans(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile("(`+) ?(.*?) ?`+").FindAllStringSubmatch(s, -1) {
		out = append(out, m[2])
	}
	return out
}

// written are the code spans answers write themselves, not values.
var written = []string{"kubectl exec", "(empty)"}

// checkNoInvention asserts that every value an answer quotes (every code
// span: names, commands, addresses, ids) appears in the case or in the
// evidence it cites, read back from the store; and that evidence lists
// detections before events.
func (f *answerFixture) checkNoInvention(t *testing.T, c *Case, a Answer) {
	t.Helper()
	ctx := context.Background()
	var known []string
	addEvent := func(ev *cairn.Event) {
		known = append(known, ev.ID, ev.Host, ev.Type)
		for _, p := range append([]*cairn.Process{ev.Process, ev.Parent}, ptrs(ev.Ancestors)...) {
			if p != nil {
				known = append(known, p.Cmdline(), p.Binary, p.User, p.ExecID)
			}
		}
		if ev.Container != nil {
			known = append(known, ev.Container.Name, ev.Container.ID, ev.Container.Image)
		}
		if ev.K8s != nil {
			for _, v := range ev.K8s.Labels {
				known = append(known, v)
			}
		}
		if ev.Net != nil {
			known = append(known, ev.Net.DstIP, ev.Net.SrcIP)
		}
		if ev.File != nil {
			known = append(known, ev.File.Path)
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				known = append(known, x)
			case map[string]any:
				for _, y := range x {
					walk(y)
				}
			case []any:
				for _, y := range x {
					walk(y)
				}
			}
		}
		walk(ev.Doc())
	}
	addDetection := func(d *cairn.Detection) {
		e := d.Entities
		known = append(known, d.ID, d.Rule, d.Output, d.Priority, d.Source, e.Pod, e.Namespace, e.Cluster, e.Host, e.Identity, e.Image, e.ContainerID)
		known = append(known, d.Techniques...)
		known = append(known, d.Tactics...)
	}
	for i := range c.Detections {
		addDetection(&c.Detections[i])
	}
	for _, ev := range c.Events {
		addEvent(ev)
	}
	seenEvent := false
	for _, id := range a.Evidence {
		if d, err := f.fx.Store.GetDetection(ctx, id); err == nil {
			if seenEvent {
				t.Errorf("evidence: detection %s after an event", id)
			}
			addDetection(&d)
			continue
		}
		ev, err := f.fx.Store.GetEvent(ctx, id)
		if err != nil {
			t.Errorf("evidence %s is neither a detection nor an event: %v", id, err)
			continue
		}
		seenEvent = true
		addEvent(&ev)
	}
	blob := strings.Join(known, "\n")
	for _, s := range codeSpans(a.Text) {
		s = strings.TrimSuffix(s, "…")
		if slices.Contains(written, s) || strings.Contains(blob, s) {
			continue
		}
		// A pod is quoted as namespace/pod.
		ok := true
		for _, part := range strings.Split(s, "/") {
			if !strings.Contains(blob, part) {
				ok = false
			}
		}
		if !ok {
			t.Errorf("answer quotes %q, which is in neither the case nor the evidence", s)
		}
	}
}

func ptrs(ps []cairn.Process) []*cairn.Process {
	out := make([]*cairn.Process, len(ps))
	for i := range ps {
		out[i] = &ps[i]
	}
	return out
}

func detectionIDs(c *Case) []string {
	var ids []string
	for _, d := range c.Detections {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestAnswerSummary(t *testing.T) {
	for _, seed := range answerSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := openAnswers(t, seed)
			miner := f.story(t, demo.StoryMiner)
			c := f.load(t, Entity{KindNamespace, miner.Workloads[0].Namespace})
			a := f.ask(t, answerSummary, c, Parsed{Intent: IntentSummary})
			for _, w := range miner.Workloads {
				if !strings.Contains(a.Text, "`"+w.Pod+"`") {
					t.Errorf("summary does not list pod %s:\n%s", w.Pod, a.Text)
				}
			}
			minerRule := ""
			for _, d := range c.Detections {
				if slices.Contains(d.Techniques, "T1496.001") && strings.Contains(strings.ToLower(d.Rule), "miner") {
					minerRule = d.Rule
				}
				if !strings.Contains(a.Text, "`"+d.Rule+"`") {
					t.Errorf("summary does not list rule %s", d.Rule)
				}
			}
			if minerRule == "" {
				t.Fatal("no miner rule among the namespace's detections")
			}
			if !strings.Contains(a.Text, fmt.Sprintf("**%d detection groups**", len(c.Detections))) {
				t.Errorf("summary does not count %d detection groups:\n%s", len(c.Detections), a.Text)
			}
			if !slices.Equal(a.Evidence, detectionIDs(c)) {
				t.Errorf("evidence %v, want the case's detections", a.Evidence)
			}
			for _, bg := range f.fx.Scenario.Truth.Background.Workloads {
				if strings.Contains(a.Text, bg.Pod) {
					t.Errorf("summary names background pod %s", bg.Pod)
				}
			}

			empty := f.load(t, Entity{KindNamespace, "no-such-namespace"})
			a = f.ask(t, answerSummary, empty, Parsed{Intent: IntentSummary})
			if !strings.Contains(a.Text, "no detections") || !strings.Contains(a.Text, "too narrow") {
				t.Errorf("empty summary:\n%s", a.Text)
			}
			if len(a.Evidence) != 0 {
				t.Errorf("empty summary cites %v", a.Evidence)
			}
		})
	}
}

func TestAnswerAttack(t *testing.T) {
	for _, seed := range answerSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := openAnswers(t, seed)
			c := f.load(t)
			a := f.ask(t, answerAttack, c, Parsed{Intent: IntentAttack})
			carried := map[string]bool{}
			for _, d := range c.Detections {
				for _, id := range d.Techniques {
					carried[id] = true
				}
			}
			checked := 0
			for _, st := range f.fx.Scenario.Truth.Stories {
				for _, id := range st.Techniques {
					if !carried[id] {
						continue // the pack does not detect it
					}
					checked++
					if !strings.Contains(a.Text, "`"+id+"`") {
						t.Errorf("technique %s of story %s missing", id, st.ID)
					}
				}
			}
			if checked < 10 {
				t.Errorf("only %d of the truth's techniques are carried by detections", checked)
			}
			// Tactic sections follow the kill chain.
			last := 0
			for _, m := range regexp.MustCompile(`(?m)^### \d+\. .* \((TA\d{4})\)$`).FindAllStringSubmatch(a.Text, -1) {
				tac, ok := attack.TacticByID(m[1])
				if !ok {
					t.Fatalf("unknown tactic %s", m[1])
				}
				if tac.Order <= last {
					t.Errorf("tactic %s out of kill-chain order", tac.Name)
				}
				last = tac.Order
			}
			if last == 0 {
				t.Errorf("no tactic sections:\n%s", a.Text)
			}
			if !strings.Contains(a.Text, "Exploit Public-Facing Application") {
				t.Error("technique names are not given")
			}
		})
	}
}

func TestAnswerBlast(t *testing.T) {
	for _, seed := range answerSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := openAnswers(t, seed)
			miner := f.story(t, demo.StoryMiner)
			c := f.load(t, Entity{KindNamespace, miner.Workloads[0].Namespace})
			a := f.ask(t, answerBlast, c, Parsed{Intent: IntentBlast})
			body := a.Text[strings.Index(a.Text, "\n\n")+2:]
			want := fmt.Sprintf("**%d workloads impacted**", len(miner.Workloads))
			if !strings.HasPrefix(body, want) {
				t.Errorf("blast radius starts %q, want %q", body[:min(80, len(body))], want)
			}
			for _, w := range miner.Workloads {
				if !strings.Contains(a.Text, "`"+w.Pod+"`") {
					t.Errorf("pod %s missing", w.Pod)
				}
			}
			for _, bg := range f.fx.Scenario.Truth.Background.Workloads {
				if strings.Contains(a.Text, bg.Pod) {
					t.Errorf("background pod %s counted", bg.Pod)
				}
			}
			for _, ip := range miner.AttackerIPs {
				if !strings.Contains(a.Text, "`"+ip+"`") {
					t.Errorf("external address %s missing", ip)
				}
			}
			for _, h := range miner.Hosts {
				if !strings.Contains(a.Text, "`"+h+"`") {
					t.Errorf("host %s missing", h)
				}
			}

			// The stolen instance role: the Terraform state it read.
			sc := f.story(t, demo.StoryScarleteel)
			c = f.load(t, Entity{KindIdentity, sc.RootCause.Identity})
			a = f.ask(t, answerBlast, c, Parsed{Intent: IntentBlast})
			for _, s := range []string{sc.RootCause.AccessKeyID, sc.RootCause.InstanceID, sc.AttackerIPs[0], "S3 bucket"} {
				if !strings.Contains(a.Text, s) {
					t.Errorf("blast radius of %s lacks %s:\n%s", sc.RootCause.Identity, s, a.Text)
				}
			}
			if !strings.HasPrefix(a.Text[strings.Index(a.Text, "\n\n")+2:], "**0 workloads impacted**") {
				t.Errorf("identity blast radius:\n%s", a.Text)
			}
		})
	}
}

// section returns the text of the answer's n-th origin (### n.).
func section(text string, n int) string {
	start := strings.Index(text, fmt.Sprintf("\n### %d. ", n))
	if start < 0 {
		return ""
	}
	rest := text[start+1:]
	if end := strings.Index(rest, "\n### "); end >= 0 {
		return rest[:end]
	}
	return rest
}

func TestAnswerRootCause(t *testing.T) {
	for _, seed := range answerSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := openAnswers(t, seed)

			miner := f.story(t, demo.StoryMiner)
			c := f.load(t, Entity{KindNamespace, miner.Workloads[0].Namespace})
			a := f.ask(t, answerRootCause, c, Parsed{Intent: IntentRootCause})
			first := section(a.Text, 1)
			rc := miner.RootCause
			if !strings.Contains(first, "Script") || !strings.Contains(first, "`"+rc.Process+" "+rc.Args+"`") || !strings.Contains(first, rc.Workload.Pod) {
				t.Errorf("miner root cause: first origin is not %s %s in %s:\n%s", rc.Process, rc.Args, rc.Workload.Pod, a.Text)
			}
			if strings.Count(a.Text, "\n### ") != len(miner.Workloads) {
				t.Errorf("want one origin per pod (%d):\n%s", len(miner.Workloads), a.Text)
			}

			l4j := f.story(t, demo.StoryLog4Shell)
			c = f.load(t, Entity{KindNamespace, l4j.Workloads[0].Namespace})
			a = f.ask(t, answerRootCause, c, Parsed{Intent: IntentRootCause})
			first = section(a.Text, 1)
			rc = l4j.RootCause
			if !strings.Contains(first, "Exploited service: `"+rc.Process+"`") || !strings.Contains(first, rc.Args) || !strings.Contains(first, rc.Workload.Pod) {
				t.Errorf("log4shell root cause is not the %s service in %s:\n%s", rc.Process, rc.Workload.Pod, a.Text)
			}
			if strings.Count(a.Text, "\n### ") != 1 {
				t.Errorf("log4shell: want one origin:\n%s", a.Text)
			}

			sc := f.story(t, demo.StoryScarleteel)
			rc = sc.RootCause
			c = f.load(t, Entity{KindIdentity, rc.Identity})
			a = f.ask(t, answerRootCause, c, Parsed{Intent: IntentRootCause})
			for _, s := range []string{rc.Identity, rc.AccessKeyID, rc.InstanceID, rc.Workload.Pod, sc.AttackerIPs[0], "instance credentials"} {
				if !strings.Contains(a.Text, s) {
					t.Errorf("SCARLETEEL root cause lacks %s:\n%s", s, a.Text)
				}
			}
			// The metadata read is cited, though outside the identity's case.
			imds := false
			for _, id := range a.Evidence {
				if d, err := f.fx.Store.GetDetection(context.Background(), id); err == nil && d.Entities.Pod == rc.Workload.Pod {
					imds = true
				}
			}
			if !imds {
				t.Errorf("the metadata read in %s is not cited: %v", rc.Workload.Pod, a.Evidence)
			}

			// Everything: the earliest origin first, a scheduled job for the
			// benchmark.
			all := f.load(t)
			a = f.ask(t, answerRootCause, all, Parsed{Intent: IntentRootCause})
			cis := f.story(t, demo.StoryCIS)
			if !strings.Contains(a.Text, "Scheduled job: `"+cis.RootCause.Process+"`") {
				t.Errorf("the CIS benchmark is not a scheduled job:\n%s", a.Text)
			}
			var starts []time.Time
			for _, m := range regexp.MustCompile(`started (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC`).FindAllStringSubmatch(a.Text, -1) {
				ts, _ := time.Parse("2006-01-02 15:04:05", m[1])
				starts = append(starts, ts)
			}
			if len(starts) < 3 || !slices.IsSortedFunc(starts, func(x, y time.Time) int { return x.Compare(y) }) {
				t.Errorf("origins not earliest first: %v", starts)
			}

			// A question naming the miner's binary.
			bin := ""
			for _, d := range miner.Detections {
				if strings.Contains(d.What, "malicious binary") {
					bin = d.Process
				}
			}
			a = f.ask(t, answerRootCause, all, Parsed{Intent: IntentRootCause, Entities: []Entity{{KindProcess, bin}}})
			if !strings.Contains(a.Text, "Focused on") || strings.Contains(a.Text, l4j.Workloads[0].Pod) || !strings.Contains(section(a.Text, 1), miner.RootCause.Args) {
				t.Errorf("root cause of process %s:\n%s", bin, a.Text)
			}
		})
	}
}

func TestAnswerPath(t *testing.T) {
	for _, seed := range answerSeeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			f := openAnswers(t, seed)
			c := f.load(t)
			a := f.ask(t, answerPath, c, Parsed{Intent: IntentPath})
			if n := strings.Count(a.Text, "\n### "); n != len(c.Detections) {
				t.Errorf("%d steps, want %d", n, len(c.Detections))
			}
			l4j := f.story(t, demo.StoryLog4Shell)
			if !strings.Contains(a.Text, "**Lineage:**") || !strings.Contains(a.Text, "`"+l4j.RootCause.Process+" "+l4j.RootCause.Args+"`") {
				t.Error("runtime steps lack the lineage to the java service")
			}
			sc := f.story(t, demo.StoryScarleteel)
			linked := false
			for _, line := range strings.Split(a.Text, "\n") {
				if strings.HasPrefix(line, "- **Linked:**") && strings.Contains(line, sc.RootCause.InstanceID) && strings.Contains(line, sc.RootCause.Workload.Pod) {
					linked = true
				}
			}
			if !linked {
				t.Errorf("the stolen instance session is not linked to the metadata read:\n%s", a.Text)
			}
			if !strings.Contains(a.Text, "Initial Access") || !strings.Contains(a.Text, "Impact") {
				t.Error("steps lack their kill-chain stage")
			}
		})
	}
}

func TestAnswerExplainAndHelp(t *testing.T) {
	f := openAnswers(t, 1)
	l4j := f.story(t, demo.StoryLog4Shell)
	c := f.load(t, Entity{KindNamespace, l4j.Workloads[0].Namespace})
	f.env.Describe = func(rule string) (string, bool) {
		return "Described: " + rule, true
	}
	a := f.ask(t, answerExplain, c, Parsed{Intent: IntentExplain})
	for _, d := range c.Detections {
		if !strings.Contains(a.Text, "Described: "+d.Rule) {
			t.Errorf("explanation lacks the description of %s", d.Rule)
		}
	}
	if !strings.Contains(a.Text, "T1190") || !strings.Contains(a.Text, "What to check") {
		t.Errorf("explanation:\n%s", a.Text)
	}

	a = f.ask(t, answerHelp, c, Parsed{Intent: IntentHelp})
	if !strings.Contains(a.Text, "How many workloads were impacted?") || !strings.Contains(strings.Join(a.Suggestions, " "), l4j.Workloads[0].Namespace) {
		t.Errorf("help: %s\n%q", a.Text, a.Suggestions)
	}
}

func TestMdCode(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "`plain`",
		"a`b":          "`` a`b ``",
		"x\ny":         "`x y`",
		"":             "(empty)",
		"<script>":     "`<script>`",
		"``` fence ``": "```` ``` fence `` ````",
	} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
	if got := mdCell("a|b"); got != "`a\\|b`" {
		t.Errorf("mdCell = %q", got)
	}
}
