package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/when"
	"github.com/cairn-cdr/cairn/treeview"
)

// maxAuditLimit caps an audit page; the store itself has no cap.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 10000
	maxContext        = 100 // context events before or after, in a tree
)

func (s *server) healthz(w http.ResponseWriter, _ *http.Request, _ Token) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

// eventList is the answer of GET /events.
type eventList struct {
	Events []cairn.Event `json:"events"`
	// Next is the cursor of the following page, "" at the end.
	Next string `json:"next"`
}

func (s *server) listEvents(w http.ResponseWriter, r *http.Request, _ Token) error {
	q := cairn.EventQuery{Filter: r.URL.Query().Get("filter"), Cursor: r.URL.Query().Get("cursor")}
	var err error
	if q.Since, q.Until, err = s.timeRange(r); err != nil {
		return err
	}
	if q.Limit, err = intParam(r, "limit", 0); err != nil {
		return err
	}
	if v := r.URL.Query().Get("oldest"); v != "" {
		if q.Oldest, err = strconv.ParseBool(v); err != nil {
			return cairn.Errorf(cairn.EINVALID, "oldest must be true or false, got %q", v)
		}
	}
	page, err := s.cfg.Store.QueryEvents(r.Context(), q)
	if err != nil {
		return err
	}
	if page.Events == nil {
		page.Events = []cairn.Event{}
	}
	return writeJSON(w, http.StatusOK, eventList{Events: page.Events, Next: page.Next})
}

func (s *server) getEvent(w http.ResponseWriter, r *http.Request, _ Token) error {
	ev, err := s.cfg.Store.GetEvent(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ev)
}

// detectionList is the answer of GET /detections.
type detectionList struct {
	Detections []cairn.Detection `json:"detections"`
	Next       string            `json:"next"`
}

func (s *server) listDetections(w http.ResponseWriter, r *http.Request, _ Token) error {
	q := cairn.DetectionQuery{Filter: r.URL.Query().Get("filter"), Cursor: r.URL.Query().Get("cursor")}
	var err error
	if q.Since, q.Until, err = s.timeRange(r); err != nil {
		return err
	}
	if q.Limit, err = intParam(r, "limit", 0); err != nil {
		return err
	}
	page, err := s.cfg.Store.QueryDetections(r.Context(), q)
	if err != nil {
		return err
	}
	if page.Detections == nil {
		page.Detections = []cairn.Detection{}
	}
	return writeJSON(w, http.StatusOK, detectionList{Detections: page.Detections, Next: page.Next})
}

// detectionView is the answer of GET /detections/{id}: the detection
// and the process tree and context of its first event; Tree is null for
// a detection without a process (a cloud API call) or whose event is no
// longer stored, and TreeNote says why.
type detectionView struct {
	Detection cairn.Detection `json:"detection"`
	Tree      *treeview.View  `json:"tree"`
	TreeNote  string          `json:"tree_note,omitempty"`
	Comments  []cairn.Comment `json:"comments"`
}

func (s *server) getDetection(w http.ResponseWriter, r *http.Request, _ Token) error {
	d, err := s.cfg.Store.GetDetection(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := detectionView{Detection: d, Comments: []cairn.Comment{}}
	if cs, err := s.cfg.Store.Comments(r.Context(), d.ID); err != nil {
		return err
	} else if cs != nil {
		out.Comments = cs
	}
	out.Tree, err = treeview.Build(r.Context(), s.cfg.Store, d.ID, treeview.Options{Before: -1, After: -1})
	switch cairn.ErrorCode(err) {
	case "":
	case cairn.EINVALID, cairn.ENOTFOUND:
		out.TreeNote = cairn.ErrorMessage(err)
	default:
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) getTree(w http.ResponseWriter, r *http.Request, _ Token) error {
	opts := treeview.Options{}
	var err error
	if opts.Before, err = intParam(r, "before", -1); err != nil {
		return err
	}
	if opts.After, err = intParam(r, "after", -1); err != nil {
		return err
	}
	if opts.Before > maxContext || opts.After > maxContext {
		return cairn.Errorf(cairn.EINVALID, "before and after are at most %d", maxContext)
	}
	v, err := treeview.Build(r.Context(), s.cfg.Store, r.PathValue("id"), opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *server) stats(w http.ResponseWriter, r *http.Request, _ Token) error {
	st, err := s.cfg.Store.Stats(r.Context())
	if err != nil {
		return err
	}
	if st.ByKind == nil {
		st.ByKind = []cairn.Count{}
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *server) listDeadLetters(w http.ResponseWriter, r *http.Request, _ Token) error {
	limit, err := intParam(r, "limit", 0)
	if err != nil {
		return err
	}
	dls, err := s.cfg.Store.DeadLetters(r.Context(), limit)
	if err != nil {
		return err
	}
	if dls == nil {
		dls = []cairn.DeadLetter{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"dead_letters": dls})
}

func (s *server) listAudit(w http.ResponseWriter, r *http.Request, _ Token) error {
	limit, err := intParam(r, "limit", 0)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)
	entries, err := s.cfg.Store.Audit(r.Context(), limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []cairn.AuditEntry{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// intParam reads a query parameter that is a whole number not below 0,
// def when it is absent.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, cairn.Errorf(cairn.EINVALID, "%s must be a whole number, 0 or more; got %q", name, v)
	}
	return n, nil
}

// timeRange reads since and until.
func (s *server) timeRange(r *http.Request) (since, until time.Time, err error) {
	now := s.now()
	if since, err = when.Ago(r.URL.Query().Get("since"), now); err != nil {
		return since, until, cairn.Errorf(cairn.EINVALID, "since: %v", err)
	}
	if until, err = when.Ago(r.URL.Query().Get("until"), now); err != nil {
		return since, until, cairn.Errorf(cairn.EINVALID, "until: %v", err)
	}
	return since, until, nil
}
