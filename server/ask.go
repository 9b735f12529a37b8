package server

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/internal/markdown"
)

// askRequest is the body of POST /ask.
type askRequest struct {
	Question string `json:"question"`
	// Session continues a conversation ("" starts one).
	Session string `json:"session"`
	// Filter is the feed filter the asker is looking at: what "this"
	// means when the question names nothing else.
	Filter string `json:"filter"`
}

// askAnswer is the answer of POST /ask.
type askAnswer struct {
	assist.Answer
	Session string `json:"session"`
}

// askTimeout bounds one question's work.
const askTimeout = 30 * time.Second

func (s *server) ask(w http.ResponseWriter, r *http.Request, _ Token) error {
	if s.cfg.Assistant == nil {
		return cairn.Errorf(cairn.ENOTFOUND, "the assistant is not enabled on this server")
	}
	var req askRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	a, sess, err := s.askEngine(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, askAnswer{Answer: a, Session: sess})
}

// askEngine asks the assistant for the API and the UI.
func (s *server) askEngine(ctx context.Context, req askRequest) (assist.Answer, string, error) {
	q := strings.TrimSpace(req.Question)
	switch {
	case q == "":
		return assist.Answer{}, "", cairn.Errorf(cairn.EINVALID, "question is required")
	case len(q) > assist.MaxQuestionBytes:
		return assist.Answer{}, "", cairn.Errorf(cairn.EINVALID, "question is longer than %d bytes", assist.MaxQuestionBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	sess := s.cfg.Assistant.Session(req.Session)
	a, err := s.cfg.Assistant.Ask(ctx, sess, q, strings.TrimSpace(req.Filter))
	if err != nil {
		return assist.Answer{}, "", err
	}
	return a, sess.ID, nil
}

// chatTurn is one question and answer of the UI's assistant panel.
type chatTurn struct {
	Question string
	Answer   assist.Answer
	HTML     template.HTML // the answer's Markdown, rendered safely
}

// maxChatTurns is how many turns the panel keeps per session.
const maxChatTurns = 20

// uiAsk asks the assistant from the feed's panel and shows the feed with
// the answer's filter applied.
func (s *server) uiAsk(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.cfg.Assistant == nil {
		return cairn.Errorf(cairn.ENOTFOUND, "the assistant is not enabled on this server")
	}
	q := r.PostFormValue("question")
	a, id, err := s.askEngine(r.Context(), askRequest{Question: q, Session: sess.Assist, Filter: r.PostFormValue("q")})
	if cairn.ErrorCode(err) == cairn.EINVALID {
		http.Redirect(w, r, "/#chat", http.StatusSeeOther)
		return nil
	} else if err != nil {
		return err
	}
	s.sessions.chat(sess.id, id, chatTurn{Question: strings.TrimSpace(q), Answer: a, HTML: markdown.HTML(a.Text)})
	target := "/"
	if a.Filter != "" {
		target = "/?" + url.Values{"q": {a.Filter}}.Encode()
	}
	http.Redirect(w, r, target+"#chat", http.StatusSeeOther)
	return nil
}

// uiEvidence opens an answer's evidence: a detection's page, or the
// page of an event's process tree.
func (s *server) uiEvidence(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("id")
	if d, err := s.cfg.Store.GetDetection(r.Context(), id); err == nil {
		http.Redirect(w, r, "/detections/"+url.PathEscape(d.ID), http.StatusSeeOther)
		return nil
	} else if cairn.ErrorCode(err) != cairn.ENOTFOUND {
		return err
	}
	return s.uiEvent(w, r, sess)
}
