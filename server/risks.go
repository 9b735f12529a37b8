package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/filter"
)

// risksOf groups the detections a filter selects since a time into
// incidents, ordered by score (assist.Risks).
func (s *server) risksOf(ctx context.Context, flt string, since time.Time) ([]assist.Risk, error) {
	ctx, cancel := context.WithTimeout(ctx, graphTimeout)
	defer cancel()
	st, ok := s.cfg.Store.(assist.Store)
	if !ok { // every cairn.Store is one; a guard, not a path
		return nil, fmt.Errorf("risks: the store does not read what the assistant reads")
	}
	c, err := assist.Load(ctx, st, assist.Scope{Extra: strings.TrimSpace(flt), Since: since})
	if err != nil {
		return nil, err
	}
	rs := assist.Risks(c)
	if rs == nil {
		rs = []assist.Risk{}
	}
	// The identity insights of the identities involved: their verdicts,
	// risk and posture raise the incidents they are in.
	ids := map[string]assist.IdentityRisk{}
	for _, r := range rs {
		for _, key := range r.Identities {
			ids[key] = assist.IdentityRisk{}
		}
	}
	if len(ids) > 0 {
		// Only the identities involved are built, not every one stored.
		keys := make([]string, 0, len(ids))
		for k := range ids {
			keys = append(keys, filter.Text(k))
		}
		slices.Sort(keys)
		vs, err := s.identities(ctx, "cloud.identity in ("+strings.Join(keys, ", ")+")")
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if _, ok := ids[v.Key]; ok {
				ids[v.Key] = assist.IdentityRisk{State: v.Status.State, Level: v.Risk.Level, Reasons: v.Risk.Reasons}
			}
		}
		rs = assist.WithIdentities(rs, ids)
	}
	return rs, nil
}

func (s *server) getRisks(w http.ResponseWriter, r *http.Request, _ Token) error {
	since, _, err := s.timeRange(r)
	if err != nil {
		return err
	}
	rs, err := s.risksOf(r.Context(), r.URL.Query().Get("filter"), since)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"risks": rs})
}

type risksData struct {
	Q, Err string
	Risks  []assist.Risk
}

func (s *server) uiRisks(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := risksData{Q: q}
	rs, err := s.risksOf(r.Context(), q, time.Time{})
	switch {
	case cairn.ErrorCode(err) == cairn.EINVALID:
		d.Err = cairn.ErrorMessage(err)
	case err != nil:
		return err
	}
	d.Risks = rs
	return s.render(w, http.StatusOK, "risks.html", page{Title: "Risks", Nav: "risks", Sess: sess, Data: d})
}
