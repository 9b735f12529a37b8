package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/server"
)

func withAssistant(cfg *server.Config) { cfg.Assistant = assist.New(cfg.Store, assist.Options{}) }

type askResp struct {
	Answer   string   `json:"answer"`
	Intent   string   `json:"intent"`
	Filter   string   `json:"filter"`
	Evidence []string `json:"evidence"`
	Session  string   `json:"session"`
}

func TestAskAPI(t *testing.T) {
	e := newEnv(t, withAssistant)
	r := e.postJSON(t, "/api/v1/ask", server.RoleViewer, map[string]string{"question": "summarize all detections"})
	var a askResp
	decodeResp(t, "ask", r, &a)
	if r.status != http.StatusOK || a.Intent != "summary" || a.Session == "" || len(a.Evidence) == 0 {
		t.Fatalf("ask: %d %+v", r.status, a)
	}
	if !strings.Contains(a.Answer, "Shell spawned") || !strings.Contains(a.Answer, "Trail stopped") {
		t.Errorf("summary lacks the rules:\n%s", a.Answer)
	}
	// Evidence ids are detections.
	for _, id := range a.Evidence {
		if _, err := e.st.GetDetection(t.Context(), id); err != nil {
			if _, err := e.st.GetEvent(t.Context(), id); err != nil {
				t.Errorf("evidence %s: %v", id, err)
			}
		}
	}
	// A follow-up in the session keeps the scope of an answer that named
	// an identity.
	r = e.postJSON(t, "/api/v1/ask", server.RoleViewer, map[string]string{"question": "what did alice do?", "session": a.Session})
	decodeResp(t, "ask alice", r, &a)
	if !strings.Contains(a.Filter, "arn:aws:iam::111122223333:user/alice") {
		t.Fatalf("alice: filter %q", a.Filter)
	}
	r = e.postJSON(t, "/api/v1/ask", server.RoleViewer, map[string]string{"question": "how do I fix this?", "session": a.Session})
	var fix askResp
	decodeResp(t, "fix", r, &fix)
	if fix.Intent != "remediation" || fix.Filter != a.Filter {
		t.Errorf("follow-up: intent %s filter %q, want remediation in %q", fix.Intent, fix.Filter, a.Filter)
	}
	// The feed filter is the scope of a question that names none.
	r = e.postJSON(t, "/api/v1/ask", server.RoleViewer, map[string]string{"question": "summarize this", "filter": "proc.name = sh"})
	decodeResp(t, "this", r, &a)
	if !strings.Contains(a.Filter, "proc.name = sh") || strings.Contains(a.Answer, "Trail stopped") {
		t.Errorf("this: filter %q\n%s", a.Filter, a.Answer)
	}

	wantError(t, "empty", e.postJSON(t, "/api/v1/ask", server.RoleViewer, map[string]string{"question": " "}), http.StatusBadRequest, cairn.EINVALID)
	wantError(t, "too long", e.postJSON(t, "/api/v1/ask", server.RoleViewer, map[string]string{"question": strings.Repeat("x", 5000)}), http.StatusBadRequest, cairn.EINVALID)
	wantError(t, "unknown field", e.postJSON(t, "/api/v1/ask", server.RoleViewer, map[string]string{"q": "x"}), http.StatusBadRequest, cairn.EINVALID)
	wantError(t, "no token", e.do(t, "POST", "/api/v1/ask", "", strings.NewReader(`{"question":"help"}`)), http.StatusUnauthorized, "unauthorized")

	off := newEnv(t, nil)
	wantError(t, "no assistant", off.postJSON(t, "/api/v1/ask", server.RoleViewer, map[string]string{"question": "help"}), http.StatusNotFound, cairn.ENOTFOUND)
}

func TestAskUI(t *testing.T) {
	e := newEnv(t, withAssistant)
	b := e.login(t, server.RoleViewer)
	feed := b.get(t, "/")
	csrf := csrfOf(t, feed)
	if !strings.Contains(string(feed.body), `id="chat"`) {
		t.Fatal("no assistant panel on the feed")
	}
	// Without the CSRF secret nothing is asked.
	if r := b.post(t, "/ask", url.Values{"question": {"summarize"}}); r.status != http.StatusForbidden {
		t.Errorf("ask without csrf: %d", r.status)
	}
	r := b.post(t, "/ask", url.Values{"csrf": {csrf}, "question": {"what did alice do? <script>alert(1)</script>"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("ask: %d %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/" || !strings.Contains(u.Query().Get("q"), "user/alice") {
		t.Fatalf("ask redirects to %q, want the feed filtered on alice", loc)
	}
	page := b.get(t, u.RequestURI())
	body := string(page.body)
	wantUIHeaders(t, "feed with an answer", page)
	for _, want := range []string{"what did alice do? &lt;script&gt;", "Trail stopped", "/evidence/"} {
		if !strings.Contains(body, want) {
			t.Errorf("feed lacks %q", want)
		}
	}
	// The feed is the answer's scope: alice's detections, not the shells.
	if strings.Contains(body, "shell ran") {
		t.Error("the feed still shows the shells")
	}
	// Evidence links open the detection.
	i := strings.Index(body, `href="/evidence/`)
	id := body[i+len(`href="/evidence/`):]
	id = id[:strings.IndexByte(id, '"')]
	ev := b.get(t, "/evidence/"+id)
	if ev.status != http.StatusSeeOther || !strings.HasPrefix(ev.header.Get("Location"), "/detections/") {
		t.Errorf("evidence %s: %d %s", id, ev.status, ev.header.Get("Location"))
	}
}
