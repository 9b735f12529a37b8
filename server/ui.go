package server

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/geo"
	"github.com/cairn-cdr/cairn/internal/termsafe"
)

// The web UI: server-rendered pages (html/template escapes every string
// by its context), a stylesheet and one script served from the binary,
// and a Content-Security-Policy that allows no inline script or style
// and nothing from another origin. Pages work without the script; it
// adds keyboard navigation, live detections and the login link.

//go:embed ui
var uiFiles embed.FS

// uiCSP is the policy of every UI response.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var uiTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"sev":        field.SeverityName,
	"ts":         timeTag,
	"statusName": statusName,
	"deref":      func(p *int64) int64 { return *p },
	"inc":        func(i int) int { return i + 1 },
	"div":        func(a, b float64) float64 { return a / b },
	"pathEscape": url.PathEscape,
	"lonLines":   func() []float64 { return []float64{-150, -120, -90, -60, -30, 0, 30, 60, 90, 120, 150} },
	"latLines":   func() []float64 { return []float64{-60, -30, 0, 30, 60} },
	"gx":         func(lon, w float64) float64 { x, _ := geo.Project(0, lon, w, 1); return x },
	"gy":         func(lat, h float64) float64 { _, y := geo.Project(lat, 0, 1, h); return y },
	"pct":        func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"short": func(s string, n int) string {
		if len(s) <= n {
			return s
		}
		return strings.ToValidUTF8(s[:n], "") + "…"
	},
}).ParseFS(uiFiles, "ui/*.html"))

// uiRoute is one page or form of the UI; role "" serves without a
// session (the login page).
type uiRoute struct {
	method, path, role string
	handle             func(w http.ResponseWriter, r *http.Request, sess *session) error
}

func (s *server) uiRoutes() []uiRoute {
	return []uiRoute{
		{"GET", "/{$}", RoleViewer, s.uiFeed},
		{"GET", "/events", RoleViewer, s.uiEvents},
		{"GET", "/events/{id}", RoleViewer, s.uiEvent},
		{"GET", "/evidence/{id}", RoleViewer, s.uiEvidence},
		{"POST", "/ask", RoleViewer, s.uiAsk},
		{"GET", "/detections/{id}", RoleViewer, s.uiDetection},
		{"POST", "/detections/{id}/triage", RoleAnalyst, s.uiTriage},
		{"POST", "/detections/{id}/comments", RoleAnalyst, s.uiComment},
		{"POST", "/detections/{id}/exception", RoleAnalyst, s.uiException},
		{"GET", "/graph", RoleViewer, s.uiGraph},
		{"GET", "/risks", RoleViewer, s.uiRisks},
		{"GET", "/sources", RoleViewer, s.uiSources},
		{"GET", "/identities", RoleViewer, s.uiIdentities},
		{"GET", "/identities/{id}", RoleViewer, s.uiIdentity},
		{"POST", "/identities/{id}/status", RoleAnalyst, s.uiFlagIdentity},
		{"GET", "/exceptions", RoleViewer, s.uiExceptions},
		{"POST", "/exceptions/{id}/delete", RoleAnalyst, s.uiDeleteException},
		{"GET", "/audit", RoleAdmin, s.uiAudit},
		{"GET", "/stream", RoleViewer, s.uiStream},
		{"GET", "/login", "", s.uiLoginPage},
		{"POST", "/login", "", s.uiLogin},
		{"POST", "/logout", RoleViewer, s.uiLogout},
	}
}

// registerUI adds the UI's pages and static files to the mux.
func (s *server) registerUI() {
	for _, rt := range s.uiRoutes() {
		s.mux.Handle(rt.method+" "+rt.path, s.wrapUI(rt))
	}
	static, _ := fs.Sub(uiFiles, "ui/static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	s.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Del("Content-Type") // the file server sets it from the name
		w.Header().Set("Content-Security-Policy", uiCSP)
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
}

// wrapUI adds what every UI route does: HTML headers, recovery, the
// session, the role check, a same-origin and CSRF check on every POST.
func (s *server) wrapUI(rt uiRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("X-Frame-Options", "DENY")
		// Same-origin, not the API's no-referrer: with no-referrer a
		// browser sends Origin: null on the UI's own forms, which the
		// same-origin check must refuse.
		h.Set("Referrer-Policy", "same-origin")
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.uiFail(w, r, nil, fmt.Errorf("panic: %v", v))
			}
		}()
		if r.Method == http.MethodPost && !sameOrigin(r) {
			s.uiFail(w, r, nil, &apiError{code: codeForbidden, msg: "cross-origin form refused"})
			return
		}
		var sess *session
		if rt.role != "" {
			sess = s.uiSession(r)
			if sess == nil {
				if r.Method == http.MethodGet && rt.path != "/stream" {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				s.uiFail(w, r, nil, &apiError{code: codeUnauthorized, msg: "your session has ended; log in again"})
				return
			}
			if r.Method == http.MethodPost && !sess.checkCSRF(r) {
				s.uiFail(w, r, sess, &apiError{code: codeForbidden, msg: "the form is out of date (CSRF check failed); reload the page and try again"})
				return
			}
			if !roleAllows(sess.Tok.Role, rt.role) {
				s.uiFail(w, r, sess, &apiError{code: codeForbidden, msg: fmt.Sprintf("%s has role %s; this needs %s", sess.Tok.Name, sess.Tok.Role, rt.role)})
				return
			}
		}
		if err := rt.handle(w, r, sess); err != nil {
			s.uiFail(w, r, sess, err)
		}
	})
}

// sameOrigin reports whether a POST comes from a page of this server: its
// Origin (or, lacking one, its Referer) names this host. Browsers send
// Origin on every cross-origin POST.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
		if o == "" {
			return true // not a browser form: the CSRF secret still applies
		}
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// uiSession returns a copy of the request's live session carrying its
// token as it now is, or nil; a session whose token has been revoked
// ends.
func (s *server) uiSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	sess := s.sessions.get(c.Value, s.now())
	if sess == nil {
		return nil
	}
	tok, err := s.cfg.Tokens.Lookup(r.Context(), sess.secret)
	switch {
	case cairn.ErrorCode(err) == cairn.ENOTFOUND: // revoked
		s.sessions.remove(sess.id)
		return nil
	case err != nil: // the token store failed: refuse this request, keep the session
		s.log.Error("ui session: token lookup failed", "err", err)
		return nil
	}
	sess.Tok = tok // sess is the caller's copy
	return sess
}

// page is what every page's template gets.
type page struct {
	Title string
	Nav   string
	Sess  *session
	// CanEdit is true for analysts and admins.
	CanEdit, IsAdmin bool
	Data             any
}

func (s *server) render(w http.ResponseWriter, status int, name string, p page) error {
	if p.Sess != nil {
		p.CanEdit = roleAllows(p.Sess.Tok.Role, RoleAnalyst)
		p.IsAdmin = roleAllows(p.Sess.Tok.Role, RoleAdmin)
	}
	var b strings.Builder
	if err := uiTemplates.ExecuteTemplate(&b, name, p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.WriteHeader(status)
	_, err := w.Write([]byte(inert(b.String())))
	return err
}

// inert shows the control characters (but newline, tab and carriage
// return), bidirectional overrides and invisible formatting characters of
// a rendered page as visible escapes (\x1b): html/template escapes markup
// but passes them through, and an event's terminal escapes would reach
// anyone reading the page's source on a terminal, or reorder what a
// browser shows. The templates write none of these themselves.
func inert(page string) string {
	var b strings.Builder
	last := 0
	for i, r := range page {
		if r == '\n' || r == '\t' || r == '\r' {
			continue
		}
		size := utf8.RuneLen(r)
		if r == utf8.RuneError {
			size = 1
		}
		esc := termsafe.String(page[i : i+size])
		if esc == page[i:i+size] {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(page) + 16)
		}
		b.WriteString(page[last:i])
		b.WriteString(esc)
		last = i + size
	}
	if last == 0 {
		return page
	}
	b.WriteString(page[last:])
	return b.String()
}

// uiFail shows an error page with the error's status; internal errors
// are logged and shown without their details.
func (s *server) uiFail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	status, msg := http.StatusInternalServerError, "internal error; the server log has the details"
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		status, msg = ae.status, ae.msg
		if status == 0 {
			status = statusOf[ae.code]
		}
	case cairn.ErrorCode(err) != cairn.EINTERNAL && statusOf[cairn.ErrorCode(err)] != 0:
		status, msg = statusOf[cairn.ErrorCode(err)], cairn.ErrorMessage(err)
	default:
		s.log.Error("ui request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if rerr := s.render(w, status, "error.html", page{Title: "Error", Sess: sess, Data: msg}); rerr != nil {
		s.log.Error("ui error page", "err", rerr)
	}
}

func (s *server) uiLoginPage(w http.ResponseWriter, r *http.Request, _ *session) error {
	return s.render(w, http.StatusOK, "login.html", page{Title: "Log in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

type loginData struct {
	Next, Err string
}

// uiLogin checks the token and starts a session.
func (s *server) uiLogin(w http.ResponseWriter, r *http.Request, _ *session) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	secret := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	tok, err := s.cfg.Tokens.Lookup(r.Context(), secret)
	if secret == "" || cairn.ErrorCode(err) == cairn.ENOTFOUND {
		return s.render(w, http.StatusUnauthorized, "login.html", page{Title: "Log in", Data: loginData{Next: next, Err: "That token is not valid (or has been revoked)."}})
	} else if err != nil {
		return err
	}
	sess := s.sessions.add(tok, secret, s.now())
	setSessionCookie(w, r, sess)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *server) uiLogout(w http.ResponseWriter, r *http.Request, sess *session) error {
	s.sessions.remove(sess.id)
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps a redirect target on this site: a path, not //host or
// a scheme. Browsers drop tabs and newlines from a Location (and the
// server writes CR and LF as spaces), so "/\t/evil.com" would become
// //evil.com: a target with a control character is refused too.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	return next
}

// timeTag writes a time as a <time> element in UTC, with UTC in its
// title too: the page's script shows it in the viewer's zone and keeps
// UTC on hover. It writes only what time formatting produces, no event
// text.
func timeTag(t time.Time) template.HTML {
	if t.IsZero() {
		return "-"
	}
	u := t.UTC()
	utc := u.Format("2006-01-02 15:04:05") + " UTC"
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339Nano) + `" title="` + utc + `">` + utc + `</time>`)
}

// statusName is a triage status as a person reads it.
func statusName(s string) string {
	switch s {
	case cairn.StatusFalsePositive:
		return "false positive"
	case "":
		return cairn.StatusNew
	}
	return s
}
