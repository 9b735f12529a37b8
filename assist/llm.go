package assist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/treeview"
)

// This file is the assistant's optional language-model mode: an
// OpenAI-compatible chat-completions endpoint (a local Ollama or vLLM, or
// a hosted API) reads the question, calls the same answers the offline
// assistant gives as tools, and writes the reply. The model only words
// the answer: every fact comes from the store through a tool, ids the
// tools did not return are struck from the reply, and any failure of the
// endpoint gives the offline answer instead.

// LLMConfig is the language model an engine may use.
type LLMConfig struct {
	// URL is the API's base, e.g. http://localhost:11434/v1; requests go
	// to URL/chat/completions.
	URL   string
	Model string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// Mask replaces IP addresses, AWS account ids and user names with
	// placeholders (IP_1, ACCOUNT_1, USER_1) in everything sent, and puts
	// them back in what the model returns.
	Mask bool
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
	// MaxRounds caps the rounds of tool calls for one question; 0 means
	// 6.
	MaxRounds int
	// Timeout bounds each request to the endpoint; 0 means 2 minutes
	// (a local model on a CPU is slow).
	Timeout time.Duration
}

// Limits of the language-model mode.
const (
	llmDefaultRounds  = 6
	llmDefaultTimeout = 2 * time.Minute
	llmMaxResponse    = 4 << 20  // bytes of one response read
	llmMaxToolResult  = 16 << 10 // bytes of one tool result sent
	llmMaxCalls       = 8        // tool calls answered per round
	llmDefaultLimit   = 20
	llmMaxLimit       = 50
	llmMaxOutput      = 600 // bytes of a detection's output in search results
	llmMaxEvidence    = 60  // ids listed in an answer tool's result
)

// Tool names.
const (
	toolSearch   = "search_detections"
	toolTree     = "process_tree"
	toolAnswer   = "answer"
	toolDescribe = "describe_rule"
)

var toolNames = []string{toolSearch, toolTree, toolAnswer, toolDescribe}

// llmIntents are the intents the answer tool takes (help is the
// assistant's own business).
var llmIntents = []Intent{IntentSummary, IntentReport, IntentRootCause, IntentAttack, IntentPath, IntentBlast, IntentFix, IntentIsolate, IntentExplain}

const llmSystemPrompt = `You are cairn's investigation assistant, helping a security analyst investigate detections from a cloud detection and response platform.

Rules:
- Every fact you state (ids, names, counts, times, addresses, commands) must come from a tool result in this conversation. Never invent or guess one. If the tools do not show something, say that it is not in the store.
- Cite detection ids in backticks, exactly as the tools return them (the first 12 characters are enough).
- Answer in Markdown, concisely, for an analyst.

Tools:
- answer runs one of the assistant's built-in analyses on a scope (summary, report, root_cause, attack, attack_path, blast_radius, remediation, isolation, explain) and returns its Markdown text, the evidence ids and the artifacts it produced (the analyst receives the artifacts, such as NetworkPolicy YAML or IAM policies, separately: mention them by name, do not reproduce them). Prefer it: call it with the intent that matches the question, then answer from its text.
- search_detections lists detections matching a filter in cairn's filter language, e.g. k8s.ns.name = payments and severity >= high, or rule.name contains "Miner", or cloud.identity = "arn:aws:iam::123456789012:user/alice". Fields include k8s.cluster.name, k8s.ns.name, k8s.workload.name, k8s.pod.name, container.image.repository, evt.hostname, cloud.identity, rule.name, proc.name, fd.rip, ct.srcip, severity.
- process_tree shows the process lineage (root first) of a detection or event id.
- describe_rule gives a rule's description.`

const llmMaskPrompt = `
- Values such as IP_1, ACCOUNT_1, USER_1 stand for masked IP addresses (also those spelled in EC2 host names), account ids and user names. Use them exactly as written, in tool arguments and in your answer.`

// llmToolDefs are the tools as the chat-completions API describes them.
var llmToolDefs = []map[string]any{
	toolDef(toolSearch, "List detections (newest first) matching a filter in cairn's filter language.", map[string]any{
		"filter": map[string]any{"type": "string", "description": `cairn filter, e.g. k8s.ns.name = payments and severity >= high; "" for all detections`},
		"since":  map[string]any{"type": "string", "description": `how far back to look, e.g. 24h, 90m, 7d; "" for all time`},
		"limit":  map[string]any{"type": "integer", "minimum": 1, "maximum": llmMaxLimit, "description": "how many detections, at most 50 (default 20)"},
	}),
	toolDef(toolTree, "The process lineage, root first, of a runtime detection's or event's process.", map[string]any{
		"id": map[string]any{"type": "string", "description": "a detection or event id"},
	}, "id"),
	toolDef(toolAnswer, "Run one of the assistant's analyses on a scope and get its Markdown text, evidence ids and artifacts.", map[string]any{
		"intent": map[string]any{"type": "string", "enum": llmIntents, "description": "the analysis"},
		"filter": map[string]any{"type": "string", "description": `cairn filter of the scope; "" for the conversation's scope`},
	}, "intent"),
	toolDef(toolDescribe, "The description of a detection rule.", map[string]any{
		"rule": map[string]any{"type": "string", "description": "the rule's name, exactly as a detection gives it"},
	}, "rule"),
}

func toolDef(name, desc string, props map[string]any, required ...string) map[string]any {
	params := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		params["required"] = required
	}
	return map[string]any{"type": "function", "function": map[string]any{"name": name, "description": desc, "parameters": params}}
}

// chatMessage is one message of the conversation with the model.
type chatMessage struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type toolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string   `json:"name"`
		Arguments argsText `json:"arguments"`
	} `json:"function"`
}

// argsText is a tool call's arguments: a JSON text in a string, as the
// API specifies, or (from some servers) the JSON object itself.
type argsText string

func (a *argsText) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		*a = argsText(s)
		return err
	case string(b) == "null":
		*a = ""
	default:
		*a = argsText(b)
	}
	return nil
}

type chatRequest struct {
	Model      string           `json:"model"`
	Messages   []chatMessage    `json:"messages"`
	Tools      []map[string]any `json:"tools"`
	ToolChoice string           `json:"tool_choice"`
}

type chatResponse struct {
	Choices []struct {
		Message chatMessage `json:"message"`
	} `json:"choices"`
}

// askLLM answers a question with the language model; when the model
// cannot be used it gives the offline answer with a note saying why.
func (e *Engine) askLLM(ctx context.Context, sess *Session, question string, p Parsed, scope Scope, now time.Time) (Answer, error) {
	c, err := Load(ctx, e.st, scope)
	if err != nil {
		return Answer{}, err
	}
	r := &llmRun{cfg: *e.llm, env: Env{Store: e.st, Describe: e.describe, Now: now}, p: p, scope: scope, c: c, ev: newEvidence()}
	if r.cfg.Mask {
		// The user names of the whole store are learnt first: a tool
		// result may name one (an instance id as a session name) where
		// nothing marks it as a user name.
		all, err := Load(ctx, e.st, NewScope())
		if err != nil {
			return Answer{}, err
		}
		r.mask = newMasker()
		r.mask.learnCase(all)
	}
	text, why := r.run(ctx, question)
	var a Answer
	if why != "" {
		if a, err = e.offline(ctx, c, p, scope, now); err != nil {
			return Answer{}, err
		}
		a.Text = strings.TrimRight(a.Text, "\n") + "\n\n> The language model was not used: " + why + ". This is the offline answer.\n"
	} else {
		a = r.answer(text)
	}
	e.mu.Lock()
	if p.Understood || why == "" {
		sess.Last = a.Intent
		sess.Scope = scope
		if r.last != nil && why == "" {
			sess.Scope = r.last.scope
		}
	}
	sess.Turns++
	e.mu.Unlock()
	return a, nil
}

// offline is the offline answer of the parsed question on its case.
func (e *Engine) offline(ctx context.Context, c *Case, p Parsed, scope Scope, now time.Time) (Answer, error) {
	answer := answerers[p.Intent]
	if answer == nil {
		answer = answerHelp
	}
	a, err := answer(ctx, Env{Store: e.st, Describe: e.describe, Now: now}, c, p)
	if err != nil {
		return Answer{}, err
	}
	a.Intent, a.Filter, a.Scope = p.Intent, scope.Filter(), scope.Label()
	if a.Evidence == nil {
		a.Evidence = []string{}
	}
	if a.Artifacts == nil {
		a.Artifacts = []Artifact{}
	}
	return a, nil
}

// llmRun is one question's conversation with the model.
type llmRun struct {
	cfg   LLMConfig
	env   Env
	p     Parsed
	scope Scope
	c     *Case
	mask  *masker // nil: nothing is masked

	ev        *evidence       // the ids the tools returned
	seen      strings.Builder // every tool result, unmasked, to check the reply's ids against
	artifacts []Artifact
	last      *answerCall // the last answer tool call
}

type answerCall struct {
	intent Intent
	scope  Scope
	c      *Case
}

// out masks text about to be sent; in unmasks text the model wrote.
func (r *llmRun) out(s string) string {
	if r.mask == nil {
		return s
	}
	return r.mask.mask(s)
}

func (r *llmRun) in(s string) string {
	if r.mask == nil {
		return s
	}
	return r.mask.unmask(s)
}

// run holds the conversation and returns the model's reply, unmasked,
// or why there is none.
func (r *llmRun) run(ctx context.Context, question string) (text, why string) {
	rounds := r.cfg.MaxRounds
	if rounds <= 0 {
		rounds = llmDefaultRounds
	}
	endpoint, why := r.endpoint()
	if why != "" {
		return "", why
	}
	system := llmSystemPrompt
	if r.mask != nil {
		system += llmMaskPrompt
	}
	system += "\n\n" + r.out(r.contextText())
	msgs := []chatMessage{{Role: "system", Content: system}, {Role: "user", Content: r.out(question)}}
	for round := 0; ; round++ {
		m, why := r.complete(ctx, endpoint, msgs)
		if why != "" {
			return "", why
		}
		if len(m.ToolCalls) == 0 {
			if strings.TrimSpace(m.Content) == "" {
				return "", "the model returned no answer"
			}
			return r.in(strings.TrimSpace(m.Content)), ""
		}
		if round == rounds {
			return "", fmt.Sprintf("the model was still calling tools after %d rounds", rounds)
		}
		for i := range m.ToolCalls {
			if m.ToolCalls[i].ID == "" {
				m.ToolCalls[i].ID = fmt.Sprintf("call_%d_%d", round, i)
			}
			m.ToolCalls[i].Type = "function"
		}
		msgs = append(msgs, chatMessage{Role: "assistant", Content: m.Content, ToolCalls: m.ToolCalls})
		for i, tc := range m.ToolCalls {
			res := errorResult(fmt.Sprintf("too many tool calls in one round: at most %d are answered", llmMaxCalls))
			if i < llmMaxCalls {
				res = r.call(ctx, tc.Function.Name, string(tc.Function.Arguments))
			}
			msgs = append(msgs, chatMessage{Role: "tool", ToolCallID: tc.ID, Content: res})
		}
	}
}

// endpoint is the chat-completions URL, or why the configuration is not
// usable. The URL itself is never part of the reason: it may hold a
// secret.
func (r *llmRun) endpoint() (string, string) {
	u, err := url.Parse(strings.TrimRight(r.cfg.URL, "/"))
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", "the endpoint URL is not an http or https URL"
	case strings.TrimSpace(r.cfg.Model) == "":
		return "", "no model is configured"
	}
	return u.String() + "/chat/completions", ""
}

// contextText tells the model the conversation's scope.
func (r *llmRun) contextText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "The conversation's scope is %s", r.scope.Label())
	if f := r.scope.Filter(); f != "" {
		fmt.Fprintf(&b, " (filter: %s)", f)
	}
	fmt.Fprintf(&b, "; it holds %s", plural(len(r.c.Detections), "detection group"))
	if r.c.Truncated {
		b.WriteString(" (only the first ones were read)")
	}
	fmt.Fprintf(&b, ". The question was read as intent %s", r.p.Intent)
	if !r.p.Understood {
		b.WriteString(" (not understood by the offline parser)")
	}
	for i, e := range r.p.Entities {
		if i == 0 {
			b.WriteString(", naming")
		}
		fmt.Fprintf(&b, " %s %q", e.Kind, e.Value)
	}
	b.WriteString(". The current time is " + r.env.Now.UTC().Format(time.RFC3339) + ".")
	return b.String()
}

// complete sends the conversation and returns the model's message, or
// why there is none. A 5xx answer is tried once more.
func (r *llmRun) complete(ctx context.Context, endpoint string, msgs []chatMessage) (chatMessage, string) {
	body, err := json.Marshal(chatRequest{Model: r.cfg.Model, Messages: msgs, Tools: llmToolDefs, ToolChoice: "auto"})
	if err != nil {
		return chatMessage{}, "the request could not be encoded"
	}
	var status int
	var data []byte
	for attempt := 0; attempt < 2; attempt++ {
		var why string
		status, data, why = r.post(ctx, endpoint, body)
		if why != "" {
			return chatMessage{}, why
		}
		if status < 500 {
			break
		}
	}
	if status != http.StatusOK {
		return chatMessage{}, fmt.Sprintf("the endpoint answered HTTP %d", status)
	}
	var resp chatResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return chatMessage{}, "the endpoint returned malformed JSON"
	}
	if len(resp.Choices) == 0 {
		return chatMessage{}, "the endpoint returned no choices"
	}
	return resp.Choices[0].Message, ""
}

// post sends one request under its own deadline.
func (r *llmRun) post(ctx context.Context, endpoint string, body []byte) (int, []byte, string) {
	timeout := r.cfg.Timeout
	if timeout <= 0 {
		timeout = llmDefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "the endpoint URL is not valid"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if r.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
	}
	client := r.cfg.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// The error names the URL; say only what happened.
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, "the endpoint did not answer in time"
		}
		return 0, nil, "the endpoint could not be reached"
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, llmMaxResponse+1))
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return 0, nil, "the endpoint did not answer in time"
	case err != nil:
		return 0, nil, "the endpoint's response could not be read"
	case len(data) > llmMaxResponse:
		return 0, nil, "the endpoint's response was larger than 4 MB"
	}
	return resp.StatusCode, data, ""
}

// call runs one tool call and returns what is sent back: the result or
// the problem with the call, masked and capped.
func (r *llmRun) call(ctx context.Context, name, args string) string {
	var res any
	var ids []string
	var err error
	switch name {
	case toolSearch:
		res, ids, err = r.searchDetections(ctx, args)
	case toolTree:
		res, ids, err = r.processTree(ctx, args)
	case toolAnswer:
		res, ids, err = r.answerTool(ctx, args)
	case toolDescribe:
		res, err = r.describeRule(args)
	default:
		name = strings.ToValidUTF8(name, "?")
		if len(name) > 64 {
			name = name[:64]
		}
		err = fmt.Errorf("unknown tool %q: the tools are %s", name, strings.Join(toolNames, ", "))
	}
	var text string
	if err != nil {
		// Not kept in seen: an error may quote the model's own
		// arguments, which would then pass for the store's ids.
		text = errorResult(err.Error())
	} else {
		text = compactJSON(res)
		r.ev.add(ids...)
		r.seen.WriteString(text)
		r.seen.WriteByte('\n')
	}
	return capResult(r.out(text))
}

func errorResult(msg string) string { return compactJSON(map[string]string{"error": msg}) }

// compactJSON writes v as JSON without HTML escapes (the model reads it,
// no browser does).
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return `{"error":"the result could not be encoded"}`
	}
	return strings.TrimRight(b.String(), "\n")
}

// capResult cuts a tool result to llmMaxToolResult bytes, saying so.
func capResult(s string) string {
	if len(s) <= llmMaxToolResult {
		return s
	}
	note := fmt.Sprintf("\n[truncated: the result had %d bytes; narrow the filter or lower the limit]", len(s))
	return clipUTF8(s, llmMaxToolResult-len(note)) + note
}

// clipUTF8 cuts s to at most n bytes without splitting a character.
func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// decodeArgs reads a tool call's arguments into v.
func decodeArgs(args string, v any) error {
	if strings.TrimSpace(args) == "" {
		args = "{}"
	}
	if err := json.Unmarshal([]byte(args), v); err != nil {
		return fmt.Errorf("the arguments are not a valid JSON object of the tool's parameters: %v", err)
	}
	return nil
}

// toolError turns a store error into what the model is told: the
// message of a user-facing error, nothing of an internal one.
func toolError(err error) error {
	switch cairn.ErrorCode(err) {
	case cairn.EINVALID, cairn.ENOTFOUND:
		return errors.New(cairn.ErrorMessage(err))
	}
	return errors.New("internal error reading the store")
}

// checkFilter validates a filter the model wrote.
func checkFilter(f string) error {
	if len(f) > 4096 {
		return errors.New("the filter is longer than 4096 bytes")
	}
	if _, err := filter.Parse(f); err != nil {
		return fmt.Errorf("invalid filter: %s", cairn.ErrorMessage(err))
	}
	return nil
}

// parseSince reads a time range: a Go duration (24h, 90m) or days (7d).
func parseSince(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 3660 {
			return 0, fmt.Errorf("since %q is not a time range such as 24h or 7d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return 0, fmt.Errorf("since %q is not a time range such as 24h or 7d", s)
		}
	}
	return d, nil
}

// llmDetection is a detection as search_detections shows it.
type llmDetection struct {
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	Rule       string         `json:"rule"`
	Severity   string         `json:"severity"`
	Output     string         `json:"output"`
	Entities   cairn.Entities `json:"entities"`
	Tactics    []string       `json:"tactics,omitempty"`
	Techniques []string       `json:"techniques,omitempty"`
	Count      int            `json:"count,omitempty"`
}

func (r *llmRun) searchDetections(ctx context.Context, args string) (any, []string, error) {
	var a struct {
		Filter string `json:"filter"`
		Since  string `json:"since"`
		Limit  *int   `json:"limit"`
	}
	if err := decodeArgs(args, &a); err != nil {
		return nil, nil, err
	}
	f := strings.TrimSpace(r.in(a.Filter))
	if err := checkFilter(f); err != nil {
		return nil, nil, err
	}
	since, err := parseSince(a.Since)
	if err != nil {
		return nil, nil, err
	}
	limit := llmDefaultLimit
	if a.Limit != nil {
		if *a.Limit < 1 {
			return nil, nil, fmt.Errorf("limit must be between 1 and %d", llmMaxLimit)
		}
		limit = min(*a.Limit, llmMaxLimit)
	}
	q := cairn.DetectionQuery{Filter: f, Limit: limit}
	if since > 0 {
		q.Since = r.env.Now.Add(-since)
	}
	page, err := r.env.Store.QueryDetections(ctx, q)
	if err != nil {
		return nil, nil, toolError(err)
	}
	// Whole detections are left out rather than the JSON cut, with
	// room for masking to lengthen the text.
	out := struct {
		Detections []llmDetection `json:"detections"`
		More       bool           `json:"more"`
		Omitted    int            `json:"omitted,omitempty"`
		Note       string         `json:"note,omitempty"`
	}{Detections: []llmDetection{}, More: page.Next != ""}
	var ids []string
	size := 0
	for i, d := range page.Detections {
		ent := d.Entities
		ent.ExecID = "" // an internal key; process_tree takes the detection id
		ld := llmDetection{ID: d.ID, Time: d.Time, Rule: d.Rule, Severity: field.SeverityName(d.Severity),
			Output: clipUTF8(d.Output, llmMaxOutput), Entities: ent, Tactics: d.Tactics, Techniques: d.Techniques}
		if d.Count > 1 {
			ld.Count = d.Count
		}
		if size += len(compactJSON(ld)) + 1; size > llmMaxToolResult*3/4 {
			out.Omitted = len(page.Detections) - i
			out.Note = "the result is too long: lower the limit or narrow the filter to see the omitted detections"
			break
		}
		out.Detections = append(out.Detections, ld)
		ids = append(ids, d.ID)
	}
	return out, ids, nil
}

// llmNode is a process of a lineage as process_tree shows it.
type llmNode struct {
	PID       int64     `json:"pid,omitempty"`
	Exe       string    `json:"exe,omitempty"`
	Cmdline   string    `json:"cmdline,omitempty"`
	User      string    `json:"user,omitempty"`
	Start     time.Time `json:"start,omitzero"`
	Container string    `json:"container,omitempty"`
	Pod       string    `json:"pod,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	Host      string    `json:"host,omitempty"`
	Flagged   bool      `json:"flagged,omitempty"`
}

func (r *llmRun) processTree(ctx context.Context, args string) (any, []string, error) {
	var a struct {
		ID string `json:"id"`
	}
	if err := decodeArgs(args, &a); err != nil {
		return nil, nil, err
	}
	id := strings.Trim(strings.TrimSpace(r.in(a.ID)), "`")
	switch {
	case id == "":
		return nil, nil, errors.New("id is required: a detection or event id")
	case len(id) > 200 || strings.ContainsFunc(id, func(c rune) bool { return c <= ' ' || c > '~' }):
		return nil, nil, errors.New("id is not a detection or event id")
	}
	v, err := treeview.Build(ctx, r.env.Store, id, treeview.Options{Before: 0, After: 0})
	if err != nil {
		return nil, nil, toolError(err)
	}
	out := struct {
		Event   string    `json:"event"`
		Lineage []llmNode `json:"lineage"`
	}{Event: v.Event.ID, Lineage: []llmNode{}}
	for _, n := range v.Lineage {
		out.Lineage = append(out.Lineage, llmNode{PID: n.PID, Exe: n.Exe, Cmdline: clipUTF8(n.Cmdline, llmMaxOutput), User: n.User,
			Start: n.Start, Container: n.Container, Pod: n.Pod, Namespace: n.Namespace, Host: n.Host, Flagged: n.Flagged})
	}
	return out, []string{id, v.Event.ID}, nil
}

func (r *llmRun) answerTool(ctx context.Context, args string) (any, []string, error) {
	var a struct {
		Intent string `json:"intent"`
		Filter string `json:"filter"`
	}
	if err := decodeArgs(args, &a); err != nil {
		return nil, nil, err
	}
	in := Intent(strings.TrimSpace(a.Intent))
	if !slices.Contains(llmIntents, in) {
		names := make([]string, len(llmIntents))
		for i, x := range llmIntents {
			names[i] = string(x)
		}
		return nil, nil, fmt.Errorf("intent must be one of %s", strings.Join(names, ", "))
	}
	scope, c := r.scope, r.c
	if f := strings.TrimSpace(r.in(a.Filter)); f != "" {
		if err := checkFilter(f); err != nil {
			return nil, nil, err
		}
		// The question's time range still applies.
		scope = Scope{Extra: f, Since: r.scope.Since}
		var err error
		if c, err = Load(ctx, r.env.Store, scope); err != nil {
			return nil, nil, toolError(err)
		}
		if r.mask != nil {
			r.mask.learnCase(c)
		}
	}
	p := r.p
	p.Intent = in
	ans, err := answerers[in](ctx, r.env, c, p)
	if err != nil {
		return nil, nil, toolError(err)
	}
	r.last = &answerCall{intent: in, scope: scope, c: c}
	type artifactRef struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	}
	// The text comes last: a long one (a report) is what the cap cuts.
	out := struct {
		Intent        Intent        `json:"intent"`
		Scope         string        `json:"scope"`
		Artifacts     []artifactRef `json:"artifacts"`
		Evidence      []string      `json:"evidence"`
		EvidenceTotal int           `json:"evidence_total,omitempty"`
		Text          string        `json:"text"`
	}{Intent: in, Scope: scope.Label(), Text: ans.Text, Evidence: ans.Evidence, Artifacts: []artifactRef{}}
	if out.Evidence == nil {
		out.Evidence = []string{}
	}
	if len(out.Evidence) > llmMaxEvidence {
		out.Evidence, out.EvidenceTotal = out.Evidence[:llmMaxEvidence], len(ans.Evidence)
	}
	for _, art := range ans.Artifacts {
		out.Artifacts = append(out.Artifacts, artifactRef{Name: art.Name, Kind: art.Kind})
		r.artifacts = slices.DeleteFunc(r.artifacts, func(x Artifact) bool { return x.Kind == art.Kind && x.Name == art.Name })
		r.artifacts = append(r.artifacts, art)
	}
	return out, ans.Evidence, nil
}

func (r *llmRun) describeRule(args string) (any, error) {
	var a struct {
		Rule string `json:"rule"`
	}
	if err := decodeArgs(args, &a); err != nil {
		return nil, err
	}
	rule := strings.TrimSpace(r.in(a.Rule))
	switch {
	case rule == "":
		return nil, errors.New("rule is required: a rule's name")
	case len(rule) > 512:
		return nil, errors.New("rule is longer than any rule's name")
	case r.env.Describe == nil:
		return nil, errors.New("rule descriptions are not available")
	}
	desc, ok := r.env.Describe(rule)
	if !ok {
		return nil, fmt.Errorf("there is no rule named %q", rule)
	}
	return map[string]string{"rule": rule, "description": desc}, nil
}

// reIDToken finds what looks like a detection or event id: a prefixed
// id (dt-, tt-, fa-, ct-) or a run of 12 to 64 hex digits.
var reIDToken = regexp.MustCompile(`\b(?:(?:dt|tt|fa|ct)-[0-9a-f]{8}(?:-?[0-9a-f]+)*|[0-9a-f]{12,64})\b`)

// answer builds the answer from the model's reply.
func (r *llmRun) answer(text string) Answer {
	text, removed := r.verify(text)
	if removed > 0 {
		text += fmt.Sprintf("\n\n> Note: unverified id removed: the model cited %s that no tool returned, shown as [unverified].\n", plural(removed, "id"))
	}
	in, scope, c := r.p.Intent, r.scope, r.c
	if r.last != nil {
		in, scope, c = r.last.intent, r.last.scope, r.last.c
	}
	a := Answer{Text: text, Intent: in, Filter: scope.Filter(), Scope: scope.Label(),
		Evidence: r.evidenceFor(text), Artifacts: r.artifacts, Suggestions: followUps(c, in)}
	if a.Artifacts == nil {
		a.Artifacts = []Artifact{}
	}
	return a
}

// verify replaces the id-looking tokens of text that no tool returned
// with [unverified] and counts them.
func (r *llmRun) verify(text string) (string, int) {
	seen := r.seen.String()
	removed := 0
	text = reIDToken.ReplaceAllStringFunc(text, func(tok string) string {
		if !strings.Contains(tok, "-") && (strings.Trim(tok, "0123456789") == "" || strings.Trim(tok, "abcdef") == "") {
			return tok // a number or a word, not an id
		}
		if strings.Contains(seen, tok) {
			return tok
		}
		removed++
		return "[unverified]"
	})
	return text, removed
}

// evidenceFor returns the ids the tools returned that text mentions
// (whole or by their first 12 characters), or all of them when it
// mentions none; detections first.
func (r *llmRun) evidenceFor(text string) []string {
	var ids []string
	for _, id := range r.ev.ids {
		if strings.Contains(text, id) || (len(id) > 12 && strings.Contains(text, id[:12])) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		ids = slices.Clone(r.ev.ids)
	}
	isEvent := func(id string) bool {
		return strings.HasPrefix(id, "tt-") || strings.HasPrefix(id, "fa-") || strings.HasPrefix(id, "ct-")
	}
	slices.SortStableFunc(ids, func(a, b string) int {
		switch ea, eb := isEvent(a), isEvent(b); {
		case ea == eb:
			return 0
		case eb:
			return -1
		}
		return 1
	})
	if ids == nil {
		ids = []string{}
	}
	return ids
}
