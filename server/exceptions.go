package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/exception"
	"github.com/cairn-cdr/cairn/internal/when"
)

// Bounds on what a request may ask for.
const (
	maxExceptionFields = 16
	maxNoteBytes       = 4096
	maxNameBytes       = 200
)

// exceptionRequest is the body of POST /exceptions.
type exceptionRequest struct {
	FromDetection string   `json:"from_detection"`
	Fields        []string `json:"fields"`
	// Expires is a duration from now (30d, 12h) or an RFC 3339 time.
	Expires string `json:"expires"`
	Note    string `json:"note"`
	Name    string `json:"name"`
	DryRun  bool   `json:"dry_run"`
}

// exceptionAdded is the answer of POST /exceptions.
type exceptionAdded struct {
	Exception cairn.Exception    `json:"exception"`
	Backtest  exception.Backtest `json:"backtest"`
	Stored    bool               `json:"stored"`
}

func (s *server) listExceptions(w http.ResponseWriter, r *http.Request, _ Token) error {
	xs, err := s.cfg.Store.Exceptions(r.Context())
	if err != nil {
		return err
	}
	if xs == nil {
		xs = []cairn.Exception{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"exceptions": xs})
}

// addException builds an exception from a detection's event, backtests
// it against the rule's past detections and, unless it is a dry run,
// stores it with an audit entry naming the token.
func (s *server) addException(w http.ResponseWriter, r *http.Request, tok Token) error {
	var req exceptionRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	out, err := s.makeException(r.Context(), req, tok)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if out.Stored {
		status = http.StatusCreated
	}
	return writeJSON(w, status, out)
}

// makeException does what POST /exceptions asks, for the API and the UI.
func (s *server) makeException(ctx context.Context, req exceptionRequest, tok Token) (exceptionAdded, error) {
	var out exceptionAdded
	switch {
	case req.FromDetection == "":
		return out, cairn.Errorf(cairn.EINVALID, "from_detection is required: the id of the detection to make the exception from")
	case len(req.Fields) > maxExceptionFields:
		return out, cairn.Errorf(cairn.EINVALID, "at most %d fields", maxExceptionFields)
	case len(req.Note) > maxNoteBytes:
		return out, cairn.Errorf(cairn.EINVALID, "note is longer than %d bytes", maxNoteBytes)
	case len(req.Name) > maxNameBytes:
		return out, cairn.Errorf(cairn.EINVALID, "name is longer than %d bytes", maxNameBytes)
	}
	now := s.now().UTC()
	var until time.Time
	if req.Expires != "" {
		t, err := when.Later(req.Expires, now)
		if err != nil {
			return out, cairn.Errorf(cairn.EINVALID, "expires: %v", err)
		}
		if !t.After(now) {
			return out, cairn.Errorf(cairn.EINVALID, "expires: %s is not in the future", t.Format(time.RFC3339))
		}
		until = t
	}
	d, err := s.cfg.Store.GetDetection(ctx, req.FromDetection)
	if err != nil {
		return out, err
	}
	if len(d.EventIDs) == 0 {
		return out, cairn.Errorf(cairn.EINVALID, "detection %s names no event to take values from", d.ID)
	}
	ev, err := s.cfg.Store.GetEvent(ctx, d.EventIDs[0])
	if cairn.ErrorCode(err) == cairn.ENOTFOUND {
		return out, cairn.Errorf(cairn.EINVALID, "the event of detection %s is no longer stored", d.ID)
	} else if err != nil {
		return out, err
	}
	x, err := exception.FromEvent(d, &ev, req.Fields)
	if err != nil {
		return out, err
	}
	x.ID = exception.NewID()
	x.Name = req.Name
	if x.Name == "" {
		x.Name = "cairn_" + strings.ReplaceAll(x.ID, "-", "_")
	}
	x.Note, x.Author, x.Created, x.Expires, x.Detection = req.Note, tok.Name, now, until, d.ID
	bt, err := exception.Replay(ctx, s.cfg.Store, &x)
	if err != nil {
		return out, err
	}
	if !req.DryRun {
		detail, err := json.Marshal(x)
		if err != nil {
			return out, err
		}
		audit := cairn.AuditEntry{Time: now, Actor: tok.Name, Action: "exception.add", Detail: string(detail)}
		if err := s.cfg.Store.AddException(ctx, x, audit); err != nil {
			return out, err
		}
	}
	return exceptionAdded{Exception: x, Backtest: bt, Stored: !req.DryRun}, nil
}

func (s *server) removeException(w http.ResponseWriter, r *http.Request, tok Token) error {
	audit := cairn.AuditEntry{Time: s.now().UTC(), Actor: tok.Name, Action: "exception.rm"}
	x, err := s.cfg.Store.RemoveException(r.Context(), r.PathValue("id"), audit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"removed": x})
}

// decodeBody reads a request body holding one JSON object into v,
// rejecting unknown fields and bodies over maxJSONBody.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: cairn.EINVALID, msg: fmt.Sprintf("request body exceeds %d bytes", maxJSONBody)}
	case errors.Is(err, io.EOF):
		return cairn.Errorf(cairn.EINVALID, "request body: want a JSON object, got nothing")
	}
	return cairn.Errorf(cairn.EINVALID, "request body: %v", err)
}
