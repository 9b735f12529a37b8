package server_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/server"
)

// noRedirect sends a request without following redirects (nor parsing
// the Location header, which a client would refuse when it holds control
// characters), so that tests see the 303s and the cookies they set.
var noRedirect = roundTripper{}

type roundTripper struct{}

func (roundTripper) Do(req *http.Request) (*http.Response, error) {
	return http.DefaultTransport.RoundTrip(req)
}

// browser is a logged-in (or not) web UI user: it keeps the session
// cookie and sends Origin on POSTs as browsers do.
type browser struct {
	e      *env
	cookie string // the cairn_session value; "" for none
}

// send makes a request with the browser's cookie and any extra headers
// and reads the whole answer.
func (b *browser) send(t *testing.T, method, path string, body io.Reader, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, b.e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if b.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "cairn_session", Value: b.cookie})
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func (b *browser) get(t *testing.T, path string) response {
	t.Helper()
	return b.send(t, "GET", path, nil, nil)
}

// post submits a form from a page of this server.
func (b *browser) post(t *testing.T, path string, form url.Values) response {
	t.Helper()
	return b.postFrom(t, b.e.url, path, form)
}

// postFrom submits a form from a page of origin ("" sends no Origin).
func (b *browser) postFrom(t *testing.T, origin, path string, form url.Values) response {
	t.Helper()
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if origin != "" {
		hdr["Origin"] = origin
	}
	return b.send(t, "POST", path, strings.NewReader(form.Encode()), hdr)
}

// sessionCookie returns the cairn_session cookie a response sets, or nil.
func sessionCookie(r response) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "cairn_session" {
			return c
		}
	}
	return nil
}

// login logs in with the token of role and returns the browser.
func (e *env) login(t *testing.T, role string) *browser {
	t.Helper()
	b := &browser{e: e}
	r := b.post(t, "/login", url.Values{"token": {e.secret[role]}, "next": {"/"}})
	c := sessionCookie(r)
	if r.status != http.StatusSeeOther || c == nil || c.Value == "" {
		t.Fatalf("login as %s: %d %v %s", role, r.status, r.header, r.body)
	}
	b.cookie = c.Value
	return b
}

var csrfInput = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]*)">`)

// csrfOf returns the CSRF secret a page embeds; every form on it must
// carry the same one.
func csrfOf(t *testing.T, r response) string {
	t.Helper()
	ms := csrfInput.FindAllSubmatch(r.body, -1)
	if len(ms) == 0 {
		t.Fatalf("no csrf field in the page (%d):\n%s", r.status, r.body)
	}
	v := string(ms[0][1])
	for _, m := range ms {
		if string(m[1]) != v {
			t.Fatalf("the page's forms carry different csrf values: %q %q", v, m[1])
		}
	}
	if v == "" {
		t.Fatal("empty csrf value")
	}
	return html.UnescapeString(v)
}

// auditEntries returns the audit log as an admin reads it.
func (e *env) auditEntries(t *testing.T) []cairn.AuditEntry {
	t.Helper()
	var a struct {
		Entries []cairn.AuditEntry `json:"entries"`
	}
	e.getJSON(t, "/api/v1/audit?limit=1000", server.RoleAdmin, &a)
	return a.Entries
}

// auditOf returns the audit entries with the action.
func (e *env) auditOf(t *testing.T, action string) []cairn.AuditEntry {
	t.Helper()
	var out []cairn.AuditEntry
	for _, a := range e.auditEntries(t) {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

// detectionView is GET /api/v1/detections/{id}'s answer, in part.
type detectionView struct {
	Detection cairn.Detection `json:"detection"`
	Comments  []cairn.Comment `json:"comments"`
}

func (e *env) detection(t *testing.T, id string) detectionView {
	t.Helper()
	var v detectionView
	e.getJSON(t, "/api/v1/detections/"+url.PathEscape(id), server.RoleViewer, &v)
	return v
}

// exceptions returns the stored exceptions.
func (e *env) exceptions(t *testing.T) []cairn.Exception {
	t.Helper()
	var l exceptionList
	e.getJSON(t, "/api/v1/exceptions", server.RoleViewer, &l)
	return l.Exceptions
}

// patch sends a JSON body with PATCH.
func (e *env) patch(t *testing.T, path, role, body string) response {
	t.Helper()
	return e.do(t, "PATCH", path, role, strings.NewReader(body))
}

// decodeResp unmarshals a response body, failing the test when it is not
// JSON of that shape.
func decodeResp(t *testing.T, what string, r response, out any) {
	t.Helper()
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, r.body)
	}
}
