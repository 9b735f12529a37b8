package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/server"
)

// served is a cairn serve running in-process for a test.
type served struct {
	url string
	// printed is what serve wrote to stdout up to its listening line.
	printed []string
	stop    func()
}

// startServe runs cairn serve with args (after --addr 127.0.0.1:0, and
// --sensor=off unless args say otherwise) until it prints its address;
// stop ends it and checks it exits 0.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errb strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: pw, stderr: &errb, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() {
		base := []string{"serve", "--addr", "127.0.0.1:0"}
		if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--sensor") }) {
			base = append(base, "--sensor=off") // the machine's own processes stay out of the tests' stores
		}
		done <- run(ctx, e, append(base, args...))
		pw.Close()
	}()
	s := &served{}
	sc := bufio.NewScanner(pr)
	for s.url == "" && sc.Scan() {
		l := sc.Text()
		s.printed = append(s.printed, l)
		if i := strings.Index(l, "listening on http://"); i >= 0 {
			s.url = strings.Fields(l[i+len("listening on "):])[0]
		}
	}
	go io.Copy(io.Discard, pr)
	if s.url == "" {
		cancel()
		t.Fatalf("no address printed; stdout %q; stderr: %s", s.printed, errb.String())
	}
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, errb.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop")
		}
	}
	t.Cleanup(s.stop)
	return s
}

// call sends a request with the bearer secret tok ("" for none) and
// returns the status and body.
func (s *served) call(t *testing.T, method, path, tok, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// printedSecret returns what follows prefix on the first of lines that
// holds it, or "" when none does.
func printedSecret(lines []string, prefix string) string {
	for _, l := range lines {
		if i := strings.Index(l, prefix); i >= 0 {
			return strings.TrimSpace(l[i+len(prefix):])
		}
	}
	return ""
}

// TestServe runs cairn serve twice on one store: the first start creates
// and prints the admin token, the second prints no secret and the first
// token still works; tokens made with cairn tokens create have their
// role, and a revoked one is refused.
func TestServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	first := startServe(t, "--db", db, "--demo")
	admin := printedSecret(first.printed, "admin token (shown once): ")
	if !strings.HasPrefix(admin, "cairn_") {
		t.Fatalf("first start printed no admin token: %q", first.printed)
	}
	if !strings.Contains(strings.Join(first.printed, "\n"), "cairn tokens create") {
		t.Errorf("first start does not suggest cairn tokens create: %q", first.printed)
	}
	if code, _ := first.call(t, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz = %d", code)
	}
	if code, _ := first.call(t, "GET", "/api/v1/detections", "", ""); code != 401 {
		t.Errorf("no token = %d, want 401", code)
	}
	if code, _ := first.call(t, "GET", "/api/v1/detections", "cairn_not-a-token", ""); code != 401 {
		t.Errorf("unknown token = %d, want 401", code)
	}
	if code, body := first.call(t, "GET", "/api/v1/detections?filter=rule.name%3D%22Reverse%20Shell%22", admin, ""); code != 200 || !strings.Contains(body, "Reverse Shell") {
		t.Errorf("detections = %d %.200s", code, body)
	}
	first.stop()

	second := startServe(t, "--db", db)
	for _, l := range second.printed {
		if strings.Contains(l, "cairn_") || strings.Contains(l, "token") {
			t.Errorf("second start printed %q, want no token", l)
		}
	}
	if code, body := second.call(t, "GET", "/api/v1/detections", admin, ""); code != 200 || !strings.Contains(body, "Reverse Shell") {
		t.Errorf("first admin token on the second start = %d %.200s", code, body)
	}

	code, out, errs := cli(t, "", "tokens", "create", "--db", db, "--role", "viewer", "--name", "ci")
	viewer := lastLine(out)
	if code != 0 || !strings.HasPrefix(viewer, "cairn_") {
		t.Fatalf("tokens create = %d %q %s", code, out, errs)
	}
	const exc = `{"from_detection":"nope","dry_run":true}`
	if code, body := second.call(t, "GET", "/api/v1/events?limit=1", viewer, ""); code != 200 {
		t.Errorf("viewer GET events = %d %.200s", code, body)
	}
	if code, body := second.call(t, "POST", "/api/v1/exceptions", viewer, exc); code != 403 {
		t.Errorf("viewer POST exceptions = %d %.200s, want 403", code, body)
	}
	if code, body := second.call(t, "POST", "/api/v1/exceptions", admin, exc); code != 404 {
		t.Errorf("admin POST exceptions = %d %.200s, want 404 (allowed; no such detection)", code, body)
	}

	if code, _, errs := cli(t, "", "tokens", "revoke", "--db", db, "ci"); code != 0 {
		t.Fatalf("tokens revoke = %d %s", code, errs)
	}
	if code, body := second.call(t, "GET", "/api/v1/events?limit=1", viewer, ""); code != 401 {
		t.Errorf("revoked token = %d %.200s, want 401", code, body)
	}
	if code, _ := second.call(t, "GET", "/api/v1/events?limit=1", admin, ""); code != 200 {
		t.Errorf("admin token after another's revoke = %d", code)
	}
}

// TestTokensCLI: list shows names, roles, creators and revocations but
// no secret or hash; the audit log records creation and revocation; bad
// input is a usage error or a clear failure.
func TestTokensCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	code, out, errs := cli(t, "", "tokens", "create", "--db", db, "--role", "analyst", "--name", "alice")
	secret := lastLine(out)
	if code != 0 || !strings.HasPrefix(secret, "cairn_") {
		t.Fatalf("tokens create = %d %q %s", code, out, errs)
	}
	if code, _, errs := cli(t, "", "tokens", "revoke", "--db", db, "alice"); code != 0 {
		t.Fatalf("tokens revoke = %d %s", code, errs)
	}
	for _, format := range []string{"text", "json"} {
		code, out, errs := cli(t, "", "tokens", "list", "--db", db, "-o", format)
		if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "analyst") || !strings.Contains(out, actor(&env{getenv: func(string) string { return "" }})) {
			t.Errorf("tokens list -o %s = %d %q %s", format, code, out, errs)
		}
		if strings.Contains(out, secret[6:]) || strings.Contains(out, server.HashSecret(secret)) {
			t.Errorf("tokens list -o %s shows the secret or its hash: %s", format, out)
		}
		if (format == "text" && !strings.Contains(out, "yes")) || (format == "json" && !strings.Contains(out, `"revoked": true`)) {
			t.Errorf("tokens list -o %s does not show the revocation: %s", format, out)
		}
	}
	code, out, _ = cli(t, "", "audit", "--db", db)
	if code != 0 || !strings.Contains(out, "token.create") || !strings.Contains(out, "token.revoke") || strings.Contains(out, server.HashSecret(secret)) {
		t.Errorf("audit = %d %s", code, out)
	}
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"tokens"}, exitUsage, "create|list|revoke"},
		{[]string{"tokens", "mint"}, exitUsage, "unknown subcommand"},
		{[]string{"tokens", "create", "--db", db, "--role", "root", "--name", "x"}, exitUsage, "--role"},
		{[]string{"tokens", "create", "--db", db, "--role", "viewer"}, exitUsage, "--name"},
		{[]string{"tokens", "create", "--db", db, "--role", "viewer", "--name", "alice"}, exitFailure, "alice"},
		{[]string{"tokens", "revoke", "--db", db, "alice"}, exitFailure, "no token named"},
		{[]string{"tokens", "revoke", "--db", db}, exitUsage, "NAME"},
	}
	for _, tt := range tests {
		if code, _, errs := cli(t, "", tt.args...); code != tt.code || !strings.Contains(errs, tt.err) {
			t.Errorf("%q = %d %q, want %d and %q", tt.args, code, errs, tt.code, tt.err)
		}
	}
}

func TestServeRefusesRemoteWithoutTLS(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	if code, _, errs := cli(t, "", "serve", "--db", db, "--addr", "0.0.0.0:0"); code != exitUsage || !strings.Contains(errs, "--allow-remote") {
		t.Errorf("serve on 0.0.0.0 = %d %s", code, errs)
	}
}

// lastLine returns the last line of out, where tokens create prints the
// secret.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func TestNotifierFlags(t *testing.T) {
	if n, err := newNotifier("", "", "high"); n != nil || err != nil {
		t.Errorf("no targets: %v %v", n, err)
	}
	if _, err := newNotifier("http://127.0.0.1:9/hook", "", "loud"); err == nil {
		t.Error("bad severity accepted")
	}
	if _, err := newNotifier("ftp://x/", "", "high"); err == nil {
		t.Error("bad URL accepted")
	}
	n, err := newNotifier("http://127.0.0.1:9/hook", "https://hooks.example/services/x", "critical")
	if err != nil || n == nil {
		t.Fatalf("two targets: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n.Close(ctx)
}

// waitEvents waits up to 10 s for the store behind s to hold want events
// (read through the API with the bearer secret admin) and fails the test
// when it does not.
func (s *served) waitEvents(t *testing.T, admin string, want int) {
	t.Helper()
	var n int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, body := s.call(t, "GET", "/api/v1/stats", admin, "")
		var st struct {
			Events int `json:"events"`
		}
		json.Unmarshal([]byte(body), &st)
		if n = st.Events; n == want {
			return
		}
	}
	t.Fatalf("%d events stored, want %d", n, want)
}
