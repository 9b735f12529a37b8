package server

import (
	"crypto/subtle"
	"net/http"
	"sync"
	"time"
)

// The web UI's sessions: logging in with a token makes a session whose
// random id travels in an HttpOnly, SameSite=Strict cookie; every
// state-changing request must also carry the session's CSRF secret (a
// hidden form field or the X-CSRF-Token header), which pages embed and
// other origins cannot read. Sessions live in memory: a restart logs
// everyone out.
const (
	sessionCookie = "cairn_session"
	sessionTTL    = 12 * time.Hour
	maxSessions   = 10000
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// session is one logged-in browser.
type session struct {
	id      string
	CSRF    string
	Tok     Token
	secret  string // the token's secret, re-checked so that revoking it ends the session
	expires time.Time
	// Assist is the session's assistant conversation and Chat its turns,
	// newest last.
	Assist string
	Chat   []chatTurn
}

// sessions keeps the live sessions.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

// add starts a session for the token and returns it.
func (ss *sessions) add(tok Token, secret string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*session{}
	}
	if len(ss.m) >= maxSessions {
		ss.prune(now)
	}
	if len(ss.m) >= maxSessions { // still full: drop the one ending first
		var oldest *session
		for _, s := range ss.m {
			if oldest == nil || s.expires.Before(oldest.expires) {
				oldest = s
			}
		}
		delete(ss.m, oldest.id)
	}
	s := &session{id: NewSecret(), CSRF: NewSecret(), Tok: tok, secret: secret, expires: now.Add(sessionTTL)}
	ss.m[s.id] = s
	return s
}

func (ss *sessions) prune(now time.Time) {
	for id, s := range ss.m {
		if !now.Before(s.expires) {
			delete(ss.m, id)
		}
	}
}

// get returns a copy of the live session with the id, or nil. The
// stored session is shared by the browser's concurrent requests, so it is
// read and written only under the lock.
func (ss *sessions) get(id string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return nil
	}
	if !now.Before(s.expires) {
		delete(ss.m, id)
		return nil
	}
	cp := *s
	cp.Chat = append([]chatTurn(nil), s.Chat...)
	return &cp
}

// chat records an assistant turn of the session, keeping the newest
// maxChatTurns.
func (ss *sessions) chat(id, assist string, t chatTurn) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return
	}
	s.Assist = assist
	s.Chat = append(s.Chat, t)
	if n := len(s.Chat) - maxChatTurns; n > 0 {
		s.Chat = append([]chatTurn(nil), s.Chat[n:]...)
	}
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// checkCSRF reports whether the request carries the session's CSRF
// secret.
func (s *session) checkCSRF(r *http.Request) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// setSessionCookie sends the session's cookie; Secure when the request
// came over TLS (directly or, per X-Forwarded-Proto, through a proxy).
func setSessionCookie(w http.ResponseWriter, r *http.Request, s *session) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.id, Path: "/", Expires: s.expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(r),
	})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(r)})
}

func isTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
