package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/server"
	"github.com/cairn-cdr/cairn/sqlite"
)

// testRules raise a detection for every shell and every stopped trail;
// the shell's output carries its command line, hostile bytes included.
const testRules = `
- rule: Shell spawned
  desc: a shell ran
  condition: evt.type = execve and proc.name = sh
  output: shell ran (cmd=%proc.cmdline)
  priority: WARNING
- rule: Trail stopped
  desc: CloudTrail logging stopped
  condition: ct.name = StopLogging
  output: trail stopped (%ct.name)
  priority: CRITICAL
  source: aws_cloudtrail
`

// hostileArgs is a command line that would run script in a page and
// drive a terminal if either ever saw it unescaped.
const hostileArgs = `-c <script>alert(1)</script>\u001b[31mred\u001b]0;pwned\u0007 & more`

// tetExec returns a Tetragon exec record of binary with args (JSON
// escapes allowed) at second sec.
func tetExec(pid int, binary, args string, sec int) string {
	return fmt.Sprintf(`{"process_exec":{"process":{"exec_id":"exec-%d","pid":%d,"uid":0,"cwd":"/","binary":%q,"arguments":"%s","flags":"execve",`+
		`"start_time":"2026-11-25T10:%02d:%02dZ","auid":4294967295,"parent_exec_id":"parent-0"}},"node_name":"node-a","time":"2026-11-25T10:%02d:%02dZ"}`,
		pid, pid, binary, args, sec/60, sec%60, sec/60, sec%60)
}

// ctRecord is a CloudTrail StopLogging call; i (1-9) varies the ids and
// the time.
func ctRecord(i int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice",`+
		`"accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2026-11-25T11:00:0%dZ","eventSource":"cloudtrail.amazonaws.com",`+
		`"eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"34.1.2.3","userAgent":"aws-cli/2","requestParameters":{"name":"trail"},`+
		`"responseElements":null,"requestID":"r%d","eventID":"00000000-0000-0000-0000-00000000000%d","readOnly":false,"eventType":"AwsApiCall",`+
		`"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`, i, i, i)
}

// The seed data set: 12 shells (8 "sh -c id", 4 "sh -c whoami"), one
// hostile shell, 10 curls, 2 CloudTrail calls and one undecodable line.
const (
	seedEvents     = 25
	seedShells     = 13
	seedShellsID   = 8
	seedDeadLetter = 1
)

func seedTetragon() string {
	var lines []string
	for i := range 12 {
		args := "-c id"
		if i%3 == 0 {
			args = "-c whoami"
		}
		lines = append(lines, tetExec(100+i, "/bin/sh", args, i))
	}
	lines = append(lines, tetExec(500, "/bin/sh", hostileArgs, 20))
	for i := range 10 {
		lines = append(lines, tetExec(200+i, "/usr/bin/curl", "-s http://example.com/"+fmt.Sprint(i), 30+i))
	}
	lines = append(lines, `{"process_exec":{"process":{"pid":1,`) // truncated: a dead letter
	return strings.Join(lines, "\n") + "\n"
}

func seedCloudTrail() string { return `{"Records":[` + ctRecord(1) + `,` + ctRecord(2) + `]}` }

// env is a running API over a seeded SQLite store, with one token per
// role.
type env struct {
	url    string
	st     *sqlite.Store
	now    time.Time
	secret map[string]string // by role
	logs   *syncBuffer
}

// tokenName is the name of the test token of a role.
func tokenName(role string) string { return "tok-" + role }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv starts a server; tune, if set, changes its Config first.
func newEnv(t *testing.T, tune func(*server.Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rs, err := falco.Load(falco.File{Name: "test.yaml", Data: []byte(testRules)})
	if err != nil || len(rs.Rules) != 2 {
		t.Fatalf("rules: %v %+v", err, rs)
	}
	engine := falco.NewEngine(rs.Rules)
	ingestFn := func(ctx context.Context, inputs []ingest.Input, f decode.Format) (*ingest.Report, error) {
		return ingest.Run(ctx, inputs, ingest.Options{Store: st, Format: f, Tree: ingest.NewTree(ctx, st), Rules: engine})
	}
	seed := []ingest.Input{textInput("seed-tetragon", seedTetragon()), textInput("seed-cloudtrail", seedCloudTrail())}
	rep, err := ingestFn(ctx, seed, decode.Auto)
	if err != nil || rep.Accepted != seedEvents || rep.Rejected != seedDeadLetter || len(rep.Failures) != 0 {
		t.Fatalf("seed ingest: %v %+v", err, rep)
	}

	e := &env{st: st, now: time.Now().UTC().Truncate(time.Second), secret: map[string]string{}, logs: &syncBuffer{}}
	tokens := &server.MemTokens{}
	for _, role := range []string{server.RoleViewer, server.RoleAnalyst, server.RoleAdmin} {
		if e.secret[role], err = tokens.NewToken(tokenName(role), role); err != nil {
			t.Fatal(err)
		}
	}
	cfg := server.Config{
		Store: st, Ingest: ingestFn, Tokens: tokens, Version: "test-1",
		Now:    func() time.Time { return e.now },
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	if tune != nil {
		tune(&cfg)
	}
	ts := httptest.NewServer(server.New(cfg))
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

func textInput(origin, s string) ingest.Input {
	return ingest.Input{Origin: origin, Size: int64(len(s)), Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }}
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the token of role ("" for none; "raw:X" sends
// the Authorization header X as it is).
func (e *env) do(t *testing.T, method, path, role string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(role, "raw:"):
		req.Header.Set("Authorization", strings.TrimPrefix(role, "raw:"))
	case role != "":
		req.Header.Set("Authorization", "Bearer "+e.secret[role])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// getJSON sends a GET as role and decodes a 200 answer into out.
func (e *env) getJSON(t *testing.T, path, role string, out any) {
	t.Helper()
	r := e.do(t, "GET", path, role, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, r.body)
	}
}

// postJSON sends v as JSON.
func (e *env) postJSON(t *testing.T, path, role string, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, "POST", path, role, bytes.NewReader(b))
}

// apiErr is an error response.
type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wantError checks that r is an error with the status and code and
// returns its message.
func wantError(t *testing.T, what string, r response, status int, code string) string {
	t.Helper()
	var e apiErr
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("%s: body is not an error object: %v\n%s", what, err, r.body)
	}
	if r.status != status || e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("%s: got %d %q %q, want %d %q and a message", what, r.status, e.Error.Code, e.Error.Message, status, code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	return e.Error.Message
}
