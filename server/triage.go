package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/cairn-cdr/cairn"
)

// triageRequest is the body of PATCH /detections/{id}: the fields given
// change, the others stay.
type triageRequest struct {
	Status   *string `json:"status"`
	Assignee *string `json:"assignee"`
}

func (s *server) patchDetection(w http.ResponseWriter, r *http.Request, tok Token) error {
	var req triageRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Status == nil && req.Assignee == nil {
		return cairn.Errorf(cairn.EINVALID, "nothing to change: give status and/or assignee")
	}
	d, err := s.setTriage(r.Context(), r.PathValue("id"), req, tok)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// setTriage changes a detection's triage for the API and the UI.
func (s *server) setTriage(ctx context.Context, id string, req triageRequest, tok Token) (cairn.Detection, error) {
	if req.Status != nil && !cairn.ValidStatus(*req.Status) {
		return cairn.Detection{}, cairn.Errorf(cairn.EINVALID, "status must be one of %s", strings.Join(cairn.Statuses, ", "))
	}
	if req.Assignee != nil {
		a := strings.TrimSpace(*req.Assignee)
		req.Assignee = &a
	}
	audit := cairn.AuditEntry{Time: s.now().UTC(), Actor: tok.Name}
	return s.cfg.Store.SetTriage(ctx, id, cairn.TriageChange{Status: req.Status, Assignee: req.Assignee}, audit)
}

// commentRequest is the body of POST /detections/{id}/comments.
type commentRequest struct {
	Text string `json:"text"`
}

func (s *server) addComment(w http.ResponseWriter, r *http.Request, tok Token) error {
	var req commentRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	c, err := s.comment(r.Context(), r.PathValue("id"), req.Text, tok)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

// comment adds an analyst's comment for the API and the UI.
func (s *server) comment(ctx context.Context, id, text string, tok Token) (cairn.Comment, error) {
	text = strings.TrimSpace(text)
	now := s.now().UTC()
	c := cairn.Comment{Time: now, Author: tok.Name, Text: text}
	detail, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return cairn.Comment{}, err
	}
	audit := cairn.AuditEntry{Time: now, Actor: tok.Name, Detail: string(detail)}
	return s.cfg.Store.AddComment(ctx, id, c, audit)
}

func (s *server) listComments(w http.ResponseWriter, r *http.Request, _ Token) error {
	d, err := s.cfg.Store.GetDetection(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	cs, err := s.cfg.Store.Comments(r.Context(), d.ID)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []cairn.Comment{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"comments": cs})
}

func (s *server) detectionFacets(w http.ResponseWriter, r *http.Request, _ Token) error {
	q := cairn.DetectionQuery{Filter: r.URL.Query().Get("filter")}
	var err error
	if q.Since, q.Until, err = s.timeRange(r); err != nil {
		return err
	}
	f, err := s.cfg.Store.CountDetections(r.Context(), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}
