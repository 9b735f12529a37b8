package assist

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Limits of the engine's memory.
const (
	MaxQuestionBytes = 4096
	maxSessions      = 1000
	sessionIdle      = 2 * time.Hour
	vocabularyTTL    = 30 * time.Second
)

// Engine answers questions from a store. It is safe for concurrent use.
type Engine struct {
	st       Store
	describe Describer
	now      func() time.Time
	llm      *LLMConfig

	mu       sync.Mutex
	sessions map[string]*Session
	vocab    *Vocabulary
	vocabAt  time.Time
}

// Options tune an engine.
type Options struct {
	// Describe gives rules' descriptions for explanations.
	Describe Describer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LLM, when set, has a language model compose the answers from the
	// same answers, as tools (see LLMConfig); nil answers offline.
	LLM *LLMConfig
}

// New returns an engine on the store.
func New(st Store, opts Options) *Engine {
	e := &Engine{st: st, describe: opts.Describe, now: opts.Now, sessions: map[string]*Session{}}
	if e.now == nil {
		e.now = time.Now
	}
	if opts.LLM != nil {
		cfg := *opts.LLM
		e.llm = &cfg
	}
	return e
}

// Session is one conversation: the scope of its last answer, which a
// follow-up question ("how many workloads were impacted?", "how do I fix
// this?") refers to.
type Session struct {
	ID string `json:"id"`
	// Scope is the scope of the last answer.
	Scope Scope `json:"scope"`
	// Last is the last intent answered.
	Last  Intent `json:"last,omitempty"`
	Turns int    `json:"turns"`

	used time.Time
}

// Session returns the session with the id, or a new one (with a new id
// when id is "" or unknown). Sessions live in memory and end after two
// idle hours.
func (e *Engine) Session(id string) *Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if s, ok := e.sessions[id]; ok && now.Sub(s.used) < sessionIdle {
		s.used = now
		return s
	}
	if len(e.sessions) >= maxSessions {
		var oldest *Session
		for k, s := range e.sessions {
			if now.Sub(s.used) >= sessionIdle {
				delete(e.sessions, k)
			} else if oldest == nil || s.used.Before(oldest.used) {
				oldest = s
			}
		}
		if len(e.sessions) >= maxSessions && oldest != nil {
			delete(e.sessions, oldest.ID)
		}
	}
	var b [9]byte
	rand.Read(b[:])
	s := &Session{ID: "s-" + hex.EncodeToString(b[:]), used: now}
	e.sessions[s.ID] = s
	return s
}

// Resume puts a session kept elsewhere (the CLI keeps one in a file
// between runs) back into the engine under its id and returns it.
func (e *Engine) Resume(saved Session) *Session {
	s := saved
	if !sessionID(s.ID) {
		s.ID = ""
	}
	fresh := e.Session("")
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.ID == "" {
		s.ID = fresh.ID
	} else {
		delete(e.sessions, fresh.ID)
	}
	s.used = e.now()
	e.sessions[s.ID] = &s
	return &s
}

// sessionID reports whether id is usable as a session id.
func sessionID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Ask answers a question in a session (nil: a one-off question). feed is
// the filter of the feed the analyst is looking at, "" for none: a
// question that names no scope and follows no earlier answer is about
// it ("summarize this").
func (e *Engine) Ask(ctx context.Context, sess *Session, question, feed string) (Answer, error) {
	if len(question) > MaxQuestionBytes {
		question = question[:MaxQuestionBytes]
	}
	question = strings.ToValidUTF8(question, " ")
	if sess == nil {
		sess = &Session{}
	}
	vocab, err := e.vocabulary(ctx)
	if err != nil {
		return Answer{}, err
	}
	p := Parse(question, vocab)
	now := e.now()
	scope := e.scopeOf(sess, p, feed, now)
	if e.llm != nil {
		return e.askLLM(ctx, sess, question, p, scope, now)
	}
	c, err := Load(ctx, e.st, scope)
	if err != nil {
		return Answer{}, err
	}
	a, err := e.offline(ctx, c, p, scope, now)
	if err != nil {
		return Answer{}, err
	}
	e.mu.Lock()
	if p.Understood {
		sess.Scope, sess.Last = scope, p.Intent
	}
	sess.Turns++
	e.mu.Unlock()
	return a, nil
}

// scopeOf decides what a question is about: the entities it names; all
// of the store when it says so; else the session's scope; else the feed
// the analyst is looking at.
func (e *Engine) scopeOf(sess *Session, p Parsed, feed string, now time.Time) Scope {
	var s Scope
	e.mu.Lock()
	prev := sess.Scope
	e.mu.Unlock()
	switch {
	case len(p.Entities) > 0:
		s = NewScope(p.Entities...)
	case p.All:
		s = NewScope()
	case len(prev.Entities) > 0 || prev.Extra != "" || !prev.Since.IsZero():
		s = prev
	case feed != "":
		s = NewScope()
		s.Extra = feed
	}
	if p.Since > 0 {
		s.Since = now.Add(-p.Since)
	}
	if p.MinSeverity != "" {
		sev := "severity >= " + p.MinSeverity
		if s.Extra != "" && !strings.Contains(s.Extra, sev) {
			sev = s.Extra + " and " + sev
		} else if s.Extra != "" {
			sev = s.Extra
		}
		s.Extra = sev
	}
	return s
}

// vocabulary returns the values the store holds, for recognising
// entities, refreshed every vocabularyTTL.
func (e *Engine) vocabulary(ctx context.Context) (*Vocabulary, error) {
	e.mu.Lock()
	v, at := e.vocab, e.vocabAt
	e.mu.Unlock()
	if v != nil && e.now().Sub(at) < vocabularyTTL {
		return v, nil
	}
	c, err := Load(ctx, e.st, NewScope())
	if err != nil {
		return nil, err
	}
	v = NewVocabulary(c)
	e.mu.Lock()
	e.vocab, e.vocabAt = v, e.now()
	e.mu.Unlock()
	return v, nil
}

// answerers are the answers of the intents.
var answerers = map[Intent]answerFunc{
	IntentSummary:   answerSummary,
	IntentReport:    answerReport,
	IntentRootCause: answerRootCause,
	IntentAttack:    answerAttack,
	IntentPath:      answerPath,
	IntentBlast:     answerBlast,
	IntentFix:       answerFix,
	IntentIsolate:   answerIsolate,
	IntentExplain:   answerExplain,
	IntentHelp:      answerHelp,
}
