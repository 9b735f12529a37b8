package assist

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/internal/demostore"
)

var llmNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fakeLLM is a chat-completions endpoint that answers each request with
// what its script says for that request's number and records what it
// received.
type fakeLLM struct {
	srv    *httptest.Server
	script func(n int, req chatRequest) (status int, body string)

	mu      sync.Mutex
	bodies  []string
	reqs    []chatRequest
	headers []http.Header
}

func newFakeLLM(t *testing.T, script func(n int, req chatRequest) (int, string)) *fakeLLM {
	t.Helper()
	f := &fakeLLM{script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var req chatRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("request %d is not JSON: %v", len(f.bodies), err)
		}
		f.mu.Lock()
		n := len(f.bodies)
		f.bodies = append(f.bodies, string(body))
		f.reqs = append(f.reqs, req)
		f.headers = append(f.headers, r.Header.Clone())
		f.mu.Unlock()
		status, resp := f.script(n, req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, resp)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLLM) requests() []chatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// call is a tool call a scripted model makes.
type call struct{ name, args string }

func toolCalls(calls ...call) string {
	var tcs []map[string]any
	for i, c := range calls {
		tcs = append(tcs, map[string]any{"id": fmt.Sprintf("call_%d", i), "type": "function",
			"function": map[string]any{"name": c.name, "arguments": c.args}})
	}
	return reply(map[string]any{"role": "assistant", "content": nil, "tool_calls": tcs})
}

func finalText(text string) string {
	return reply(map[string]any{"role": "assistant", "content": text})
}

func reply(msg map[string]any) string {
	b, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion",
		"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": "stop"}}})
	return string(b)
}

func argsJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// toolMessages returns the tool messages at the end of a request: the
// results of the previous round's calls.
func toolMessages(req chatRequest) []chatMessage {
	var out []chatMessage
	for i := len(req.Messages) - 1; i >= 0 && req.Messages[i].Role == "tool"; i-- {
		out = append([]chatMessage{req.Messages[i]}, out...)
	}
	return out
}

// searchResult decodes a search_detections result.
type searchResult struct {
	Detections []llmDetection `json:"detections"`
	More       bool           `json:"more"`
}

func llmEngine(fx *demostore.Fixture, cfg *LLMConfig) *Engine {
	return New(fx.Store, Options{Describe: Descriptions(fx.Falco, fx.Sigma), Now: func() time.Time { return llmNow }, LLM: cfg})
}

// TestLLMToolsAnswer: the model searches, runs two answers and replies
// citing a detection the search returned.
func TestLLMToolsAnswer(t *testing.T) {
	fx := demostore.Open(t, 1, llmNow)
	const f = `k8s.ns.name = "payments"`
	var cited, final string
	fake := newFakeLLM(t, func(n int, req chatRequest) (int, string) {
		switch n {
		case 0:
			return 200, toolCalls(call{toolSearch, argsJSON(map[string]any{"filter": f, "limit": 5})})
		case 1:
			var res searchResult
			tm := toolMessages(req)
			if len(tm) != 1 || json.Unmarshal([]byte(tm[0].Content), &res) != nil || len(res.Detections) == 0 {
				t.Errorf("search result: %+v", tm)
				return 200, finalText("no detections")
			}
			cited = res.Detections[len(res.Detections)-1].ID
			return 200, toolCalls(call{toolAnswer, argsJSON(map[string]string{"intent": "remediation", "filter": f})},
				call{toolAnswer, argsJSON(map[string]string{"intent": "root_cause", "filter": f})})
		default:
			final = fmt.Sprintf("## Root cause\n\nIt started with `%s` (Log4Shell); the remediation artifacts are attached.", cited[:12])
			return 200, finalText(final)
		}
	})
	eng := llmEngine(fx, &LLMConfig{URL: fake.srv.URL + "/v1/", Model: "test-model", APIKey: "sk-test"})
	sess := eng.Session("")
	a, err := eng.Ask(context.Background(), sess, "What was the root cause in namespace payments?", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != final {
		t.Fatalf("answer text is not the model's:\n%s", a.Text)
	}
	if !slices.Contains(a.Evidence, cited) {
		t.Errorf("evidence %v lacks the cited %s", a.Evidence, cited)
	}
	if a.Intent != IntentRootCause || a.Filter != "("+f+")" || sess.Last != IntentRootCause || sess.Scope.Extra != f {
		t.Errorf("intent %s filter %q, session %s %+v", a.Intent, a.Filter, sess.Last, sess.Scope)
	}

	// The artifacts are those the remediation answer produced.
	c, err := Load(context.Background(), fx.Store, Scope{Extra: f})
	if err != nil {
		t.Fatal(err)
	}
	fix, err := answerFix(context.Background(), Env{Store: fx.Store, Now: llmNow}, c, Parsed{Intent: IntentFix})
	if err != nil {
		t.Fatal(err)
	}
	if len(fix.Artifacts) == 0 || len(a.Artifacts) != len(fix.Artifacts) {
		t.Fatalf("artifacts: got %d, the remediation has %d", len(a.Artifacts), len(fix.Artifacts))
	}
	for i := range fix.Artifacts {
		if a.Artifacts[i] != fix.Artifacts[i] {
			t.Errorf("artifact %d: got %s %s, want %s %s", i, a.Artifacts[i].Kind, a.Artifacts[i].Name, fix.Artifacts[i].Kind, fix.Artifacts[i].Name)
		}
	}

	reqs := fake.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	r0 := reqs[0]
	var names []string
	for _, td := range r0.Tools {
		fn, _ := td["function"].(map[string]any)
		names = append(names, fmt.Sprint(fn["name"]))
	}
	if r0.Model != "test-model" || r0.ToolChoice != "auto" || !slices.Equal(names, toolNames) {
		t.Errorf("request: model %q tool_choice %q tools %v", r0.Model, r0.ToolChoice, names)
	}
	if len(r0.Messages) != 2 || r0.Messages[0].Role != "system" || !strings.Contains(r0.Messages[0].Content, "namespace payments") ||
		r0.Messages[1].Content != "What was the root cause in namespace payments?" {
		t.Errorf("first messages: %+v", r0.Messages)
	}
	if got := fake.headers[0].Get("Authorization"); got != "Bearer sk-test" {
		t.Errorf("Authorization %q", got)
	}
	// The root cause's own text went to the model.
	tm := toolMessages(reqs[2])
	if len(tm) != 2 || tm[0].ToolCallID != "call_0" || tm[1].ToolCallID != "call_1" || !strings.Contains(tm[1].Content, `"intent":"root_cause"`) ||
		!strings.Contains(tm[1].Content, "Root cause") || !strings.Contains(tm[0].Content, `{"name":"`+fix.Artifacts[0].Name+`","kind":"`+fix.Artifacts[0].Kind+`"}`) {
		t.Errorf("answer tool results:\n%.800s", tm)
	}
}

// TestLLMToolErrors: an unknown tool, malformed arguments, a bad filter
// and a bad intent are each reported to the model, which then answers.
func TestLLMToolErrors(t *testing.T) {
	fx := demostore.Open(t, 1, llmNow)
	fake := newFakeLLM(t, func(n int, req chatRequest) (int, string) {
		switch n {
		case 0:
			return 200, toolCalls(call{"delete_everything", `{}`})
		case 1:
			return 200, toolCalls(call{toolSearch, `{"filter": "k8s.ns.name = payments"`})
		case 2:
			return 200, toolCalls(call{toolSearch, `{"filter": "k8s.ns.name === payments"}`}, call{toolAnswer, `{"intent": "everything"}`},
				call{toolTree, `{"id": ""}`}, call{toolDescribe, `{"rule": "No Such Rule"}`}, call{toolSearch, `{"since": "yesterday"}`})
		default:
			return 200, finalText("Nothing could be read.")
		}
	})
	eng := llmEngine(fx, &LLMConfig{URL: fake.srv.URL + "/v1", Model: "m"})
	a, err := eng.Ask(context.Background(), nil, "Summarize all detections", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != "Nothing could be read." || a.Intent != IntentSummary {
		t.Errorf("answer %s: %q", a.Intent, a.Text)
	}
	reqs := fake.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	want := [][]string{
		nil,
		{`unknown tool \"delete_everything\": the tools are search_detections, process_tree, answer, describe_rule`},
		{"the arguments are not a valid JSON object"},
		{"invalid filter: col 15", "intent must be one of summary, report, root_cause", "id is required", `there is no rule named \"No Such Rule\"`, `since \"yesterday\" is not a time range`},
	}
	for i := 1; i < 4; i++ {
		tm := toolMessages(reqs[i])
		if len(tm) != len(want[i]) {
			t.Fatalf("request %d: %d tool messages, want %d: %+v", i, len(tm), len(want[i]), tm)
		}
		for j, w := range want[i] {
			if !strings.Contains(tm[j].Content, `"error":`) || !strings.Contains(tm[j].Content, w) || tm[j].ToolCallID != fmt.Sprintf("call_%d", j) {
				t.Errorf("request %d, tool message %d: %+v, want an error with %q", i, j, tm[j], w)
			}
		}
		// The model's own calls are part of the conversation.
		if as := reqs[i].Messages[len(reqs[i].Messages)-len(tm)-1]; as.Role != "assistant" || len(as.ToolCalls) != len(tm) {
			t.Errorf("request %d: the message before the results is %+v", i, as)
		}
	}
}

// TestLLMUnverifiedID: ids no tool returned are struck from the reply.
func TestLLMUnverifiedID(t *testing.T) {
	fx := demostore.Open(t, 1, llmNow)
	const fakeDet = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const fakeEvent = "tt-5f3a0c1d9e8b7a6f5e4d3c2b1a098765"
	var real string
	fake := newFakeLLM(t, func(n int, req chatRequest) (int, string) {
		if n == 0 {
			// Asking for a made-up id does not make it the store's.
			return 200, toolCalls(call{toolSearch, `{"limit": 3}`}, call{toolTree, `{"id": "` + fakeDet + `"}`})
		}
		var res searchResult
		tm := toolMessages(req)
		if len(tm) != 2 || json.Unmarshal([]byte(tm[0].Content), &res) != nil || len(res.Detections) != 3 || !strings.Contains(tm[1].Content, `"error":`) {
			t.Errorf("search result: %+v", tm)
			return 200, finalText("?")
		}
		real = res.Detections[0].ID
		return 200, finalText(fmt.Sprintf("The latest detection is `%s`; it follows `%s` and event `%s`.", real, fakeDet, fakeEvent))
	})
	eng := llmEngine(fx, &LLMConfig{URL: fake.srv.URL + "/v1", Model: "m"})
	a, err := eng.Ask(context.Background(), nil, "Summarize all detections", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a.Text, fakeDet) || strings.Contains(a.Text, fakeEvent) || strings.Count(a.Text, "`[unverified]`") != 2 {
		t.Errorf("made-up ids kept:\n%s", a.Text)
	}
	if !strings.Contains(a.Text, "`"+real+"`") || !strings.Contains(a.Text, "unverified id removed") {
		t.Errorf("answer:\n%s", a.Text)
	}
	if !slices.Equal(a.Evidence, []string{real}) {
		t.Errorf("evidence %v, want [%s]", a.Evidence, real)
	}
}

// TestLLMFallback: whatever goes wrong with the endpoint, the answer is
// the offline one with a note saying why, and the note holds no secret.
func TestLLMFallback(t *testing.T) {
	fx := demostore.Open(t, 1, llmNow)
	const question = "How many workloads were impacted in namespace payments?"
	want, err := New(fx.Store, Options{Describe: Descriptions(fx.Falco, fx.Sigma), Now: func() time.Time { return llmNow }}).
		Ask(context.Background(), nil, question, "")
	if err != nil {
		t.Fatal(err)
	}
	loop := toolCalls(call{toolSearch, `{"limit": 1}`})
	for _, tc := range []struct {
		name     string
		script   func(n int) (int, string)
		rounds   int
		timeout  time.Duration
		requests int
		note     string
	}{
		{"500 twice", func(int) (int, string) { return 500, `{"error":{"message":"overloaded"}}` }, 0, 0, 2, "the endpoint answered HTTP 500"},
		{"401", func(int) (int, string) { return 401, `{"error":{"message":"bad key sk-secret"}}` }, 0, 0, 1, "the endpoint answered HTTP 401"},
		{"garbage", func(int) (int, string) { return 200, `{"choices": [{"message": {"content": "hi"` }, 0, 0, 1, "the endpoint returned malformed JSON"},
		{"no choices", func(int) (int, string) { return 200, `{"choices": []}` }, 0, 0, 1, "the endpoint returned no choices"},
		{"empty content", func(int) (int, string) { return 200, finalText("  ") }, 0, 0, 1, "the model returned no answer"},
		{"loops forever", func(int) (int, string) { return 200, loop }, 3, 0, 4, "the model was still calling tools after 3 rounds"},
		{"loops forever, default rounds", func(int) (int, string) { return 200, loop }, 0, 0, 7, "after 6 rounds"},
		{"too slow", func(int) (int, string) { time.Sleep(300 * time.Millisecond); return 200, finalText("late") }, 0, 50 * time.Millisecond, 1, "the endpoint did not answer in time"},
		{"too large", func(int) (int, string) { return 200, finalText(strings.Repeat("a", llmMaxResponse)) }, 0, 0, 1, "the endpoint's response was larger than 4 MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeLLM(t, func(n int, _ chatRequest) (int, string) { return tc.script(n) })
			eng := llmEngine(fx, &LLMConfig{URL: fake.srv.URL + "/v1", Model: "m", APIKey: "sk-secret", MaxRounds: tc.rounds, Timeout: tc.timeout})
			a, err := eng.Ask(context.Background(), nil, question, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := len(fake.requests()); got != tc.requests {
				t.Errorf("%d requests, want %d", got, tc.requests)
			}
			note := "\n\n> The language model was not used: " + tc.note
			if !strings.HasPrefix(a.Text, strings.TrimRight(want.Text, "\n")+note) && !(tc.note == "after 6 rounds" && strings.Contains(a.Text, tc.note)) {
				t.Errorf("not the offline answer with the note %q:\n...%s", tc.note, a.Text[max(0, len(a.Text)-300):])
			}
			if strings.Count(a.Text, "language model") != 1 || strings.Contains(a.Text, "sk-secret") || strings.Contains(a.Text, fake.srv.URL) {
				t.Errorf("note: %s", a.Text[strings.LastIndex(a.Text, "\n>"):])
			}
			if a.Intent != want.Intent || !slices.Equal(a.Evidence, want.Evidence) || a.Filter != want.Filter {
				t.Errorf("got %s %q %v, want %s %q %v", a.Intent, a.Filter, a.Evidence, want.Intent, want.Filter, want.Evidence)
			}
		})
	}
	// One 5xx is tried again.
	fake := newFakeLLM(t, func(n int, _ chatRequest) (int, string) {
		if n == 0 {
			return 503, "busy"
		}
		return 200, finalText("Done.")
	})
	a, err := llmEngine(fx, &LLMConfig{URL: fake.srv.URL + "/v1", Model: "m"}).Ask(context.Background(), nil, question, "")
	if err != nil || a.Text != "Done." {
		t.Errorf("after one 503: %q, %v", a.Text, err)
	}
	// A configuration that cannot work says so without a request.
	for _, cfg := range []LLMConfig{{URL: "ftp://x/v1", Model: "m"}, {URL: fake.srv.URL + "/v1"}} {
		a, err := llmEngine(fx, &cfg).Ask(context.Background(), nil, question, "")
		if err != nil || !strings.Contains(a.Text, "> The language model was not used: ") || a.Text == want.Text {
			t.Errorf("config %+v: %v\n%s", cfg, err, a.Text)
		}
	}
}

var (
	reTestIPv4    = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b`)
	reTestAccount = regexp.MustCompile(`\b\d{12}\b`)
	reTestEC2Host = regexp.MustCompile(`\bip-\d+-\d+-\d+-\d+\b`)
)

// demoSecrets returns what masking must keep from the endpoint: the demo
// store's IP addresses (also as EC2 host names), account ids and user
// names, found independently of the masker.
func demoSecrets(t *testing.T, fx *demostore.Fixture) (ips, accounts, users []string) {
	t.Helper()
	c, err := Load(context.Background(), fx.Store, NewScope())
	if err != nil {
		t.Fatal(err)
	}
	add := func(list *[]string, vs ...string) {
		for _, v := range vs {
			if v != "" && !slices.Contains(*list, v) {
				*list = append(*list, v)
			}
		}
	}
	for _, d := range c.Detections {
		text := d.Output + " " + d.Entities.Identity + " " + d.Entities.Image + " " + d.Entities.Host + " " + strings.Join(d.EventIDs, " ")
		add(&ips, reTestIPv4.FindAllString(text, -1)...)
		add(&ips, reTestEC2Host.FindAllString(text, -1)...)
		add(&accounts, reTestAccount.FindAllString(text, -1)...)
		if i := strings.Index(d.Entities.Identity, ":user/"); i >= 0 {
			add(&users, d.Entities.Identity[i+len(":user/"):])
		}
	}
	for _, ev := range c.Events {
		if n := ev.Net; n != nil {
			add(&ips, n.SrcIP, n.DstIP)
		}
		if cl := ev.Cloud; cl != nil {
			add(&ips, reTestIPv4.FindAllString(cl.SourceIP, -1)...)
			add(&accounts, cl.Identity.AccountID, cl.RecipientAccount)
			add(&users, cl.Identity.UserName, cl.Identity.SessionName)
		}
	}
	if len(ips) < 5 || len(accounts) == 0 || len(users) < 2 {
		t.Fatalf("the demo store should hold addresses, accounts and users: %v %v %v", ips, accounts, users)
	}
	return ips, accounts, users
}

// TestLLMMask: with masking on, no address, account id or user name of
// the store reaches the endpoint, the model's placeholders work as tool
// arguments, and the answer has the real values back.
func TestLLMMask(t *testing.T) {
	fx := demostore.Open(t, 1, llmNow)
	ips, accounts, users := demoSecrets(t, fx)
	var maskedOut, maskedIdentity, cited, runtimeID string
	var identityHits int
	fake := newFakeLLM(t, func(n int, req chatRequest) (int, string) {
		switch n {
		case 0:
			return 200, toolCalls(call{toolSearch, `{"limit": 50}`})
		case 1:
			var res searchResult
			if tm := toolMessages(req); len(tm) != 1 || json.Unmarshal([]byte(tm[0].Content), &res) != nil {
				t.Errorf("search result: %+v", tm)
				return 200, finalText("?")
			}
			for _, d := range res.Detections {
				if maskedOut == "" && strings.Contains(d.Output, ":user/") && strings.Contains(d.Output, "ip=") {
					maskedOut, maskedIdentity, cited = d.Output, d.Entities.Identity, d.ID
				}
				if runtimeID == "" && d.Entities.Host != "" {
					runtimeID = d.ID
				}
			}
			return 200, toolCalls(call{toolSearch, argsJSON(map[string]string{"filter": `cloud.identity = "` + maskedIdentity + `"`})},
				call{toolTree, argsJSON(map[string]string{"id": runtimeID})},
				call{toolAnswer, `{"intent": "remediation"}`},
				call{toolAnswer, argsJSON(map[string]string{"intent": "blast_radius", "filter": `cloud.identity = "` + maskedIdentity + `"`})})
		default:
			var res searchResult
			if tm := toolMessages(req); len(tm) == 4 && json.Unmarshal([]byte(tm[0].Content), &res) == nil {
				identityHits = len(res.Detections)
			}
			return 200, finalText(fmt.Sprintf("Identity `%s` did this: %s (see `%s`).", maskedIdentity, maskedOut, cited))
		}
	})
	eng := llmEngine(fx, &LLMConfig{URL: fake.srv.URL + "/v1", Model: "m", Mask: true})
	question := fmt.Sprintf("What did user %s do from %s in account %s?", users[0], ips[len(ips)-1], accounts[0])
	a, err := eng.Ask(context.Background(), nil, question, "")
	if err != nil {
		t.Fatal(err)
	}
	if maskedOut == "" || !strings.Contains(maskedOut, "USER_") || !strings.Contains(maskedOut, "ACCOUNT_") || !strings.Contains(maskedOut, "IP_") {
		t.Fatalf("the model saw no masked detection output: %q", maskedOut)
	}
	if identityHits == 0 {
		t.Errorf("the search by the masked identity %q found nothing: the arguments were not unmasked", maskedIdentity)
	}
	fake.mu.Lock()
	bodies := slices.Clone(fake.bodies)
	fake.mu.Unlock()
	if len(bodies) != 3 {
		t.Fatalf("%d requests, want 3", len(bodies))
	}
	for i, body := range bodies {
		for _, v := range slices.Concat(ips, accounts, users) {
			if strings.Contains(body, v) {
				t.Errorf("request %d holds %q: %.300s", i, v, body[max(0, strings.Index(body, v)-150):])
			}
		}
	}
	if !strings.Contains(bodies[0], "What did user USER_") {
		t.Errorf("the question was not sent masked")
	}
	d, err := fx.Store.GetDetection(context.Background(), cited)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.Text, d.Output) || !strings.Contains(a.Text, "`"+d.Entities.Identity+"`") {
		t.Errorf("the answer does not have the real values back:\n%s\nwant %s", a.Text, d.Output)
	}
	if rePlaceholder.MatchString(a.Text) || strings.Contains(a.Text, "unverified") {
		t.Errorf("answer: %s", a.Text)
	}
	if !slices.Equal(a.Evidence, []string{cited}) || a.Intent != IntentBlast || a.Filter != `(cloud.identity = "`+d.Entities.Identity+`")` {
		t.Errorf("evidence %v intent %s filter %q", a.Evidence, a.Intent, a.Filter)
	}
	if len(a.Artifacts) == 0 {
		t.Errorf("no artifacts from the remediation answer")
	}
}
