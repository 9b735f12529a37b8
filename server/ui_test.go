package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/server"
)

// rawHostile is the markup of the seeded command line as it must never
// reach a page; escapedHostile is how html/template writes it.
const (
	rawHostile     = "<script>alert(1)</script>"
	escapedHostile = "&lt;script&gt;alert(1)&lt;/script&gt;"
)

// wantUIHeaders checks the headers every UI response carries.
func wantUIHeaders(t *testing.T, what string, r response) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
		!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s (%d): Content-Security-Policy %q", what, r.status, csp)
	}
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s (%d): X-Content-Type-Options %q", what, r.status, got)
	}
	if bytes.Contains(r.body, []byte(rawHostile)) {
		t.Errorf("%s (%d): the raw hostile markup is in the body", what, r.status)
	}
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") && bytes.ContainsAny(r.body, "\x1b\x07") {
		t.Errorf("%s (%d): a terminal escape of an event is in the body", what, r.status)
	}
}

// wantPage checks a 200 HTML page with the UI's headers.
func wantPage(t *testing.T, what string, r response) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s: %d\n%s", what, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	wantUIHeaders(t, what, r)
	return string(r.body)
}

func detPath(id string) string { return "/detections/" + url.PathEscape(id) }

// Logging in: pages redirect to the login form, a bad token is refused,
// a good one sets a strict HttpOnly cookie and goes to next, which may
// only name a path of this site; logging out ends the session.
func TestUILogin(t *testing.T) {
	e := newEnv(t, nil)
	anon := &browser{e: e}
	r := anon.get(t, "/")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2F" {
		t.Fatalf("GET / without a session: %d %q", r.status, r.header.Get("Location"))
	}
	wantUIHeaders(t, "redirect to login", r)
	r = anon.get(t, "/events?q=proc.pid%3D500")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next="+url.QueryEscape("/events?q=proc.pid%3D500") {
		t.Fatalf("GET /events without a session: %d %q", r.status, r.header.Get("Location"))
	}
	page := wantPage(t, "login page", anon.get(t, "/login?next=%2Fevents"))
	if !strings.Contains(page, `<input type="hidden" name="next" value="/events">`) || !strings.Contains(page, `id="login"`) {
		t.Fatalf("login page lacks its form or next:\n%s", page)
	}
	if page := wantPage(t, "login page, hostile next", anon.get(t, "/login?next="+url.QueryEscape("//evil.com"))); !strings.Contains(page, `name="next" value="/"`) {
		t.Errorf("login page keeps a hostile next:\n%s", page)
	}

	for _, bad := range []string{"", "nope", e.secret[server.RoleAdmin] + "x"} {
		r := anon.post(t, "/login", url.Values{"token": {bad}, "next": {"/"}})
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), "That token is not valid") || sessionCookie(r) != nil {
			t.Fatalf("login with %q: %d %v\n%s", bad, r.status, r.header, r.body)
		}
		wantUIHeaders(t, "bad login", r)
	}

	r = anon.post(t, "/login", url.Values{"token": {e.secret[server.RoleAnalyst]}, "next": {"/events?q=x"}})
	c := sessionCookie(r)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/events?q=x" || c == nil {
		t.Fatalf("good login: %d %q %v", r.status, r.header.Get("Location"), r.header)
	}
	set := r.header.Get("Set-Cookie")
	for _, want := range []string{"cairn_session=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %s", set, want)
		}
	}
	if c.Value == "" || strings.Contains(c.Value, e.secret[server.RoleAnalyst]) || strings.Contains(set, "Secure") {
		t.Errorf("cookie %+v: want a session id, not the token, and no Secure over plain HTTP", c)
	}
	b := &browser{e: e, cookie: c.Value}
	page = wantPage(t, "feed", b.get(t, "/"))
	if !strings.Contains(page, tokenName(server.RoleAnalyst)) || !strings.Contains(page, `id="feed"`) {
		t.Fatalf("feed after login:\n%s", page)
	}

	// Redirects stay on this site.
	for _, next := range []string{"//evil.com", "https://evil.com", "/\\evil.com", "\\\\evil.com", "evil.com", "/\t/evil.com", "/\n/evil.com", "/\r/evil.com", "javascript:alert(1)"} {
		r := anon.post(t, "/login", url.Values{"token": {e.secret[server.RoleViewer]}, "next": {next}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Errorf("login with next %q: %d Location %q, want /", next, r.status, r.header.Get("Location"))
		}
	}

	// Logging out ends the session and clears the cookie; the old cookie
	// no longer works.
	other := e.login(t, server.RoleAnalyst) // a second session of the same token
	csrf := csrfOf(t, b.get(t, "/"))
	r = b.post(t, "/logout", url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", r.status, r.header.Get("Location"))
	}
	if c := sessionCookie(r); c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("logout does not clear the cookie: %q", r.header.Get("Set-Cookie"))
	}
	if r := b.get(t, "/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Fatalf("GET / after logout: %d %q", r.status, r.header.Get("Location"))
	}
	if r := b.post(t, "/logout", url.Values{"csrf": {csrf}}); r.status != http.StatusUnauthorized {
		t.Fatalf("POST after logout: %d", r.status)
	}
	wantPage(t, "the other session after logout", other.get(t, "/"))
}

// A session ends when its token is revoked.
func TestUISessionRevoked(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *server.Config) { c.Tokens = server.StoreTokens{Store: c.Store} })
	for _, role := range []string{server.RoleViewer, server.RoleAnalyst} {
		secret := server.NewSecret()
		if err := e.st.CreateToken(ctx, cairn.APIToken{Name: tokenName(role), Role: role, Hash: server.HashSecret(secret), CreatedBy: "test"}, cairn.AuditEntry{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		e.secret[role] = secret
	}
	b := e.login(t, server.RoleAnalyst)
	viewer := e.login(t, server.RoleViewer)
	d := e.findDetection(t, hostileFilter)
	csrf := csrfOf(t, pageText(wantPage(t, "detection", b.get(t, detPath(d.ID)))).resp())
	if err := e.st.RevokeToken(ctx, tokenName(server.RoleAnalyst), cairn.AuditEntry{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if r := b.get(t, detPath(d.ID)); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
		t.Fatalf("GET after revoke: %d %q", r.status, r.header.Get("Location"))
	}
	r := b.post(t, detPath(d.ID)+"/triage", url.Values{"csrf": {csrf}, "status": {"resolved"}})
	if r.status != http.StatusUnauthorized {
		t.Fatalf("POST after revoke: %d %s", r.status, r.body)
	}
	if got := e.detection(t, d.ID).Detection.Status; got != cairn.StatusNew {
		t.Fatalf("a revoked session changed the status to %q", got)
	}
	if r := (&browser{e: e}).post(t, "/login", url.Values{"token": {e.secret[server.RoleAnalyst]}}); r.status != http.StatusUnauthorized {
		t.Fatalf("login with a revoked token: %d", r.status)
	}
	wantPage(t, "another token's session", viewer.get(t, "/"))
}

// pageText is a checked page's text; resp lets csrfOf parse it.
type pageText string

func (p pageText) resp() response { return response{status: 200, body: []byte(p)} }

// Every state-changing UI form needs the session's CSRF secret and a
// same-origin request; without them nothing changes.
func TestUICSRF(t *testing.T) {
	e := newEnv(t, nil)
	b := e.login(t, server.RoleAnalyst)
	other := e.login(t, server.RoleAnalyst)
	d := e.findDetection(t, hostileFilter)
	csrf := csrfOf(t, b.get(t, detPath(d.ID)))
	otherCSRF := csrfOf(t, other.get(t, "/"))
	if csrf == otherCSRF {
		t.Fatal("two sessions share a CSRF secret")
	}
	// An exception to delete, made through the API.
	r := e.postJSON(t, "/api/v1/exceptions", server.RoleAnalyst, map[string]any{"from_detection": d.ID, "fields": []string{"proc.cmdline"}})
	var x added
	decodeResp(t, "add exception", r, &x)
	if r.status != http.StatusCreated || !x.Stored {
		t.Fatalf("add exception: %d %s", r.status, r.body)
	}
	auditBefore := len(e.auditEntries(t))

	forms := []struct {
		name, path string
		form       url.Values
	}{
		{"triage", detPath(d.ID) + "/triage", url.Values{"status": {"resolved"}, "assignee": {"mallory"}}},
		{"comment", detPath(d.ID) + "/comments", url.Values{"text": {"forged"}}},
		{"exception", detPath(d.ID) + "/exception", url.Values{"field": {"proc.name"}, "action": {"save"}}},
		{"exception delete", "/exceptions/" + url.PathEscape(x.Exception.ID) + "/delete", url.Values{}},
		{"logout", "/logout", url.Values{}},
	}
	with := func(f url.Values, token string) url.Values {
		out := url.Values{}
		for k, v := range f {
			out[k] = v
		}
		if token != "" {
			out.Set("csrf", token)
		}
		return out
	}
	for _, f := range forms {
		for _, c := range []struct {
			what, origin, token string
		}{
			{"no csrf", e.url, ""},
			{"no csrf, no Origin", "", ""},
			{"wrong csrf", e.url, csrf + "x"},
			{"another session's csrf", e.url, otherCSRF},
			{"cross-origin", "http://evil.example", csrf},
			{"null origin", "null", csrf},
		} {
			r := b.postFrom(t, c.origin, f.path, with(f.form, c.token))
			if r.status != http.StatusForbidden {
				t.Errorf("%s, %s: %d, want 403\n%s", f.name, c.what, r.status, r.body)
			}
			wantUIHeaders(t, f.name+", "+c.what, r)
		}
		// A cross-site Referer without Origin is refused too.
		r := b.send(t, "POST", f.path, strings.NewReader(with(f.form, csrf).Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Referer": "http://evil.example/page"})
		if r.status != http.StatusForbidden {
			t.Errorf("%s, cross-site Referer: %d, want 403", f.name, r.status)
		}
	}
	// Nothing changed.
	v := e.detection(t, d.ID)
	if v.Detection.Status != cairn.StatusNew || v.Detection.Assignee != "" || len(v.Comments) != 0 {
		t.Fatalf("refused forms changed the detection: %+v %+v", v.Detection, v.Comments)
	}
	if xs := e.exceptions(t); len(xs) != 1 || xs[0].ID != x.Exception.ID {
		t.Fatalf("refused forms changed the exceptions: %+v", xs)
	}
	if n := len(e.auditEntries(t)); n != auditBefore {
		t.Fatalf("refused forms wrote %d audit entries", n-auditBefore)
	}
	wantPage(t, "session after a refused logout", b.get(t, "/"))

	// With the page's secret (as a field or the header) each works.
	r = b.post(t, forms[0].path, with(forms[0].form, csrf))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != detPath(d.ID) {
		t.Fatalf("triage: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if got := e.detection(t, d.ID).Detection; got.Status != cairn.StatusResolved || got.Assignee != "mallory" {
		t.Fatalf("after the triage form: %q %q", got.Status, got.Assignee)
	}
	page := wantPage(t, "detection after triage", b.get(t, detPath(d.ID)))
	if !strings.Contains(page, `<option value="resolved" selected>`) || !strings.Contains(page, `<b id="assignee">mallory</b>`) {
		t.Errorf("the page does not show the triage:\n%s", page)
	}
	r = b.send(t, "POST", forms[1].path, strings.NewReader(forms[1].form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": e.url, "X-CSRF-Token": csrf})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != detPath(d.ID)+"#comments" {
		t.Fatalf("comment: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if cs := e.detection(t, d.ID).Comments; len(cs) != 1 || cs[0].Text != "forged" || cs[0].Author != tokenName(server.RoleAnalyst) {
		t.Fatalf("after the comment form: %+v", cs)
	}
	r = b.post(t, forms[2].path, with(forms[2].form, csrf))
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `id="saved"`) {
		t.Fatalf("exception: %d\n%s", r.status, r.body)
	}
	if xs := e.exceptions(t); len(xs) != 2 {
		t.Fatalf("after the exception form: %d exceptions", len(xs))
	}
	r = b.post(t, forms[3].path, with(forms[3].form, csrf))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/exceptions" {
		t.Fatalf("exception delete: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	for _, x2 := range e.exceptions(t) {
		if x2.ID == x.Exception.ID {
			t.Fatalf("deleted exception %s is still there", x.Exception.ID)
		}
	}
	if rm := e.auditOf(t, "exception.rm"); len(rm) != 1 || rm[0].Object != x.Exception.ID || rm[0].Actor != tokenName(server.RoleAnalyst) {
		t.Fatalf("exception.rm audit: %+v", rm)
	}
	if r := b.post(t, forms[3].path, with(forms[3].form, csrf)); r.status != http.StatusNotFound {
		t.Errorf("deleting it again: %d, want 404", r.status)
	}
	r = b.post(t, "/logout", url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	if r := b.get(t, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", r.status)
	}
}

// Viewers see no forms that change anything and may not post them;
// only admins read the audit log.
func TestUIRoles(t *testing.T) {
	e := newEnv(t, nil)
	d := e.findDetection(t, hostileFilter)
	r := e.postJSON(t, "/api/v1/exceptions", server.RoleAnalyst, map[string]any{"from_detection": d.ID, "fields": []string{"proc.cmdline"}})
	var x added
	decodeResp(t, "add exception", r, &x)

	viewer := e.login(t, server.RoleViewer)
	page := wantPage(t, "viewer detection page", viewer.get(t, detPath(d.ID)))
	for _, form := range []string{`/triage"`, `/exception#exception"`, `/comments"`, `name="status"`, `name="field"`} {
		if strings.Contains(page, form) {
			t.Errorf("a viewer's detection page holds %s", form)
		}
	}
	if !strings.Contains(page, "Viewers cannot change triage") || !strings.Contains(page, "Viewers cannot add exceptions") {
		t.Errorf("the viewer's page does not say why there are no forms")
	}
	if page := wantPage(t, "viewer exceptions page", viewer.get(t, "/exceptions")); strings.Contains(page, "/delete") || !strings.Contains(page, "<code>proc.cmdline = sh -c "+escapedHostile) {
		t.Errorf("a viewer's exceptions page: delete form or missing exception:\n%s", page)
	}
	csrf := csrfOf(t, viewer.get(t, "/")) // the logout form's
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{detPath(d.ID) + "/triage", url.Values{"status": {"resolved"}}},
		{detPath(d.ID) + "/comments", url.Values{"text": {"hi"}}},
		{detPath(d.ID) + "/exception", url.Values{"field": {"proc.name"}, "action": {"save"}}},
		{"/exceptions/" + url.PathEscape(x.Exception.ID) + "/delete", url.Values{}},
	} {
		f.form.Set("csrf", csrf)
		if r := viewer.post(t, f.path, f.form); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "needs analyst") {
			t.Errorf("viewer POST %s: %d\n%s", f.path, r.status, r.body)
		}
	}
	if v := e.detection(t, d.ID); v.Detection.Status != cairn.StatusNew || len(v.Comments) != 0 {
		t.Fatalf("a viewer changed the detection: %+v", v)
	}
	if xs := e.exceptions(t); len(xs) != 1 {
		t.Fatalf("a viewer changed the exceptions: %+v", xs)
	}
	if n := len(e.auditOf(t, "detection.triage")) + len(e.auditOf(t, "detection.comment")) + len(e.auditOf(t, "exception.rm")); n != 0 {
		t.Fatalf("viewer posts wrote %d audit entries", n)
	}

	analyst := e.login(t, server.RoleAnalyst)
	page = wantPage(t, "analyst detection page", analyst.get(t, detPath(d.ID)))
	for _, form := range []string{`action="` + detPath(d.ID) + `/triage"`, `action="` + detPath(d.ID) + `/exception#exception"`, `action="` + detPath(d.ID) + `/comments"`} {
		if !strings.Contains(page, form) {
			t.Errorf("the analyst's page lacks %s", form)
		}
	}
	for _, b := range []*browser{viewer, analyst} {
		r := b.get(t, "/audit")
		if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "needs admin") {
			t.Errorf("/audit for a non-admin: %d", r.status)
		}
		wantUIHeaders(t, "/audit refused", r)
		if strings.Contains(string(r.body), `href="/audit"`) {
			t.Errorf("a non-admin's nav links the audit log")
		}
	}
	admin := e.login(t, server.RoleAdmin)
	page = wantPage(t, "admin audit", admin.get(t, "/audit"))
	if !strings.Contains(page, "exception.add") || !strings.Contains(page, tokenName(server.RoleAnalyst)) || !strings.Contains(page, `href="/audit"`) {
		t.Errorf("the audit page lacks the exception.add entry:\n%s", page)
	}
}

// The hostile command line is escaped on every page that shows it.
func TestUIEscaping(t *testing.T) {
	e := newEnv(t, nil)
	d := e.findDetection(t, hostileFilter)
	b := e.login(t, server.RoleAnalyst)
	for _, path := range []string{"/", "/?q=" + url.QueryEscape(hostileFilter), detPath(d.ID), "/events", "/events?q=" + url.QueryEscape(hostileFilter)} {
		page := wantPage(t, path, b.get(t, path))
		if !strings.Contains(page, escapedHostile) {
			t.Errorf("%s: the escaped command line is missing", path)
		}
		if strings.ContainsAny(page, "\x00") {
			t.Errorf("%s: NUL in the page", path)
		}
	}
	// The detection page shows it in the output, the facts, the tree, the
	// exception values and (JSON-escaped) the raw record.
	page := string(b.get(t, detPath(d.ID)).body)
	if n := strings.Count(page, escapedHostile); n < 4 {
		t.Errorf("detection page: the escaped command line appears %d times, want it in output, facts, tree and exception values", n)
	}
	if !strings.Contains(page, `&#34;arguments&#34;: &#34;-c `+escapedHostile+`\u001b[31mred\u001b]0;pwned\u0007 &amp; more&#34;`) {
		t.Errorf("detection page: the raw record lacks the arguments as the record holds them")
	}
	// Errors, the login page and pages that do not exist carry the
	// headers too, and echo nothing raw.
	for _, path := range []string{"/detections/" + url.PathEscape(rawHostile), "/?q=" + url.QueryEscape(rawHostile), "/events?q=" + url.QueryEscape(rawHostile)} {
		r := b.get(t, path)
		wantUIHeaders(t, path, r)
		if r.status != http.StatusNotFound && r.status != http.StatusOK {
			t.Errorf("%s: %d", path, r.status)
		}
	}
	wantUIHeaders(t, "login", (&browser{e: e}).get(t, "/login?next="+url.QueryEscape("/"+rawHostile)))
}

// A filter that does not parse is shown on the page, not a failure.
func TestUIFilterError(t *testing.T) {
	e := newEnv(t, nil)
	b := e.login(t, server.RoleViewer)
	for _, path := range []string{"/?q=proc.name%20%3D%20%3D", "/?q=proc.name%20%3D%20%3D&status=new&sev=high&range=24h", "/events?q=proc.name%20%3D%20%3D"} {
		page := wantPage(t, path, b.get(t, path))
		i := strings.Index(page, `id="filter-error">`)
		if i < 0 || !strings.Contains(page, `<p class="error filter-error"`) {
			t.Fatalf("%s: no p#filter-error:\n%s", path, page)
		}
		msg := page[i+len(`id="filter-error">`):]
		msg = msg[:strings.Index(msg, "</p>")]
		if strings.TrimSpace(msg) == "" {
			t.Errorf("%s: empty filter error", path)
		}
		if !strings.Contains(page, `value="proc.name = ="`) {
			t.Errorf("%s: the search box lost the filter", path)
		}
	}
	// A filter that parses selects.
	page := wantPage(t, "good filter", b.get(t, "/?q="+url.QueryEscape(hostileFilter)))
	if strings.Contains(page, `id="filter-error"`) || strings.Count(page, `<tr class="row"`) != 1 {
		t.Errorf("the hostile filter's feed: %d rows\n%s", strings.Count(page, `<tr class="row"`), page)
	}
	page = wantPage(t, "status facet", b.get(t, "/?status=acknowledged"))
	if !strings.Contains(page, "No detections match.") {
		t.Errorf("status=acknowledged shows detections before any triage")
	}
}

// An exception made from the detection page: the preview backtests and
// stores nothing, saving stores it and audits it.
func TestUIException(t *testing.T) {
	e := newEnv(t, nil)
	d := e.findDetection(t, hostileFilter)
	b := e.login(t, server.RoleAnalyst)
	page := wantPage(t, "detection", b.get(t, detPath(d.ID)))
	csrf := csrfOf(t, pageText(page).resp())
	if !strings.Contains(page, `<input type="checkbox" name="field" value="proc.name" checked>`) {
		t.Errorf("proc.name is not offered (ticked):\n%s", page)
	}
	path := detPath(d.ID) + "/exception"

	r := b.post(t, path, url.Values{"csrf": {csrf}, "field": {"proc.name"}, "action": {"preview"}, "note": {"shells are fine"}})
	page = wantPage(t, "preview", r)
	// proc.name = sh holds for every seeded shell.
	want := `<p class="backtest" id="backtest">Backtest: this exception would have suppressed <b>13</b> of 13 past detections of this rule (13 of 13 groups)`
	if !strings.Contains(page, want) {
		t.Fatalf("preview lacks the backtest %q:\n%s", want, page)
	}
	if !strings.Contains(page, `id="save-exception"`) || !strings.Contains(page, `value="shells are fine"`) || strings.Contains(page, `id="saved"`) {
		t.Errorf("preview: no save button, lost note, or saved")
	}
	if xs := e.exceptions(t); len(xs) != 0 {
		t.Fatalf("the preview stored %+v", xs)
	}
	if a := e.auditOf(t, "exception.add"); len(a) != 0 {
		t.Fatalf("the preview audited %+v", a)
	}

	r = b.post(t, path, url.Values{"csrf": {csrf}, "action": {"save"}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Tick at least one field.") {
		t.Fatalf("no fields: %d", r.status)
	}
	r = b.post(t, path, url.Values{"csrf": {csrf}, "field": {"proc.name"}, "action": {"save"}, "expires": {"soon"}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `role="alert"`) {
		t.Fatalf("bad expiry: %d\n%s", r.status, r.body)
	}
	if xs := e.exceptions(t); len(xs) != 0 {
		t.Fatalf("refused saves stored %+v", xs)
	}

	r = b.post(t, path, url.Values{"csrf": {csrf}, "field": {"proc.name"}, "action": {"save"}, "note": {"shells are fine"}})
	page = wantPage(t, "save", r)
	xs := e.exceptions(t)
	if len(xs) != 1 {
		t.Fatalf("after save: %d exceptions", len(xs))
	}
	x := xs[0]
	if x.Rule != "Shell spawned" || len(x.Fields) != 1 || x.Fields[0] != "proc.name" || len(x.Values) != 1 || x.Values[0][0] != "sh" ||
		x.Note != "shells are fine" || x.Author != tokenName(server.RoleAnalyst) {
		t.Fatalf("stored exception: %+v", x)
	}
	if !strings.Contains(page, `id="saved">Saved exception <code>`+x.ID+`</code>`) {
		t.Errorf("the page does not name the saved exception %s:\n%s", x.ID, page)
	}
	a := e.auditOf(t, "exception.add")
	if len(a) != 1 || a[0].Actor != tokenName(server.RoleAnalyst) || a[0].Object != x.ID {
		t.Fatalf("exception.add audit: %+v", a)
	}
	page = wantPage(t, "exceptions page", b.get(t, "/exceptions"))
	if !strings.Contains(page, "<code>proc.name = sh</code>") || !strings.Contains(page, `action="/exceptions/`+x.ID+`/delete"`) {
		t.Errorf("the exceptions page lacks it:\n%s", page)
	}
	if r := b.post(t, "/detections/nope/exception", url.Values{"csrf": {csrf}, "field": {"proc.name"}}); r.status != http.StatusNotFound {
		t.Errorf("exception from an unknown detection: %d", r.status)
	}
}

// sseEvent is one server-sent event.
type sseEvent struct{ name, id, data string }

// openStream opens /stream?query as b and returns its events as they
// arrive; the stream ends with the test.
func openStream(t *testing.T, b *browser, query string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", b.e.url+"/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "cairn_session", Value: b.cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	events := make(chan sseEvent, 16)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	go func() {
		defer close(done)
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return resp, events
}

// streamDetection is the JSON of a detection event.
type streamDetection struct {
	ID       string `json:"id"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	Output   string `json:"output"`
	Count    int    `json:"count"`
}

// next waits up to 5 s for the next detection event.
func nextDetection(t *testing.T, events <-chan sseEvent) streamDetection {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the stream ended")
		}
		if ev.name != "detection" {
			t.Fatalf("event %q, want detection: %+v", ev.name, ev)
		}
		var d streamDetection
		if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
			t.Fatalf("detection data %q: %v", ev.data, err)
		}
		if ev.id != d.ID {
			t.Fatalf("event id %q, data id %q", ev.id, d.ID)
		}
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no detection within 5 s")
	}
	panic("unreachable")
}

// The live feed sends detections ingested after it opened, those its
// filter selects only, and needs a session.
func TestUIStream(t *testing.T) {
	e := newEnv(t, nil)
	b := e.login(t, server.RoleViewer)

	anon := (&browser{e: e}).get(t, "/stream")
	if anon.status != http.StatusUnauthorized {
		t.Fatalf("stream without a session: %d", anon.status)
	}
	wantUIHeaders(t, "anonymous stream", anon)
	if r := b.get(t, "/stream?since=yesterday"); r.status != http.StatusBadRequest {
		t.Fatalf("stream with a bad since: %d", r.status)
	}

	resp, all := openStream(t, b, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_, trails := openStream(t, b, "?filter="+url.QueryEscape(`rule.name = "Trail stopped"`))

	rep := e.postIngest(t, "/api/v1/ingest", strings.NewReader(tetExec(900, "/bin/sh", "-c uname <i>x</i>", 300)+"\n"))
	if rep.Detections != 1 {
		t.Fatalf("ingest: %+v", rep)
	}
	want := e.findDetection(t, "proc.pid = 900")
	got := nextDetection(t, all)
	if got.ID != want.ID || got.Rule != "Shell spawned" || got.Severity != "medium" || got.Status != "new" || got.Count != 1 ||
		!strings.Contains(got.Output, "sh -c uname <i>x</i>") {
		t.Fatalf("streamed %+v, want %s", got, want.ID)
	}

	// A third StopLogging call joins the existing group, which has grown:
	// both streams send it.
	rep = e.postIngest(t, "/api/v1/ingest?format=cloudtrail", strings.NewReader(`{"Records":[`+ctRecord(5)+`]}`))
	if rep.Detections != 1 {
		t.Fatalf("ingest CloudTrail: %+v", rep)
	}
	trail := e.findDetection(t, `rule.name = "Trail stopped"`)
	for _, ch := range []<-chan sseEvent{trails, all} {
		got := nextDetection(t, ch)
		if got.ID != trail.ID || got.Rule != "Trail stopped" || got.Count != 3 || got.Severity != "critical" {
			t.Fatalf("streamed %+v, want the grown trail group %s", got, trail.ID)
		}
	}
	select {
	case ev := <-trails:
		t.Fatalf("the filtered stream sent more: %+v", ev)
	case <-time.After(1200 * time.Millisecond):
	}
}

// The script and the stylesheet are served with their types.
func TestUIStatic(t *testing.T) {
	e := newEnv(t, nil)
	anon := &browser{e: e}
	for _, c := range []struct{ path, file, ct string }{
		{"/static/app.js", "ui/static/app.js", "text/javascript; charset=utf-8"},
		{"/static/app.css", "ui/static/app.css", "text/css; charset=utf-8"},
	} {
		want, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		r := anon.get(t, c.path)
		if r.status != 200 || r.header.Get("Content-Type") != c.ct || !bytes.Equal(r.body, want) {
			t.Errorf("%s: %d %q, %d bytes (want %d)", c.path, r.status, r.header.Get("Content-Type"), len(r.body), len(want))
		}
		wantUIHeaders(t, c.path, r)
	}
	if r := anon.get(t, "/static/nope.js"); r.status != http.StatusNotFound {
		t.Errorf("/static/nope.js: %d", r.status)
	}
}

// Requests of one session at once share its state safely (run with
// -race).
func TestUIConcurrentSession(t *testing.T) {
	e := newEnv(t, nil)
	b := e.login(t, server.RoleAnalyst)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 8 {
		wg.Go(func() {
			for range 4 {
				req, _ := http.NewRequest("GET", e.url+"/exceptions", nil)
				req.AddCookie(&http.Cookie{Name: "cairn_session", Value: b.cookie})
				resp, err := noRedirect.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- resp.Status
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
