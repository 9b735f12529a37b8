package server

import (
	"net/http"
	"slices"
	"time"

	"github.com/cairn-cdr/cairn/health"
)

// The sources' health: GET /api/v1/sources and the UI's Sources page.

// sourceView is one stream as the API and the page show it, durations
// in seconds.
type sourceView struct {
	health.Stream
	LagSeconds       float64 `json:"lag_seconds"`
	ExpectedSeconds  float64 `json:"expected_seconds"`
	SilentForSeconds float64 `json:"silent_for_seconds"`
}

func (s *server) sources() []sourceView {
	if s.cfg.Health == nil {
		return []sourceView{}
	}
	streams := s.cfg.Health.Streams()
	out := make([]sourceView, 0, len(streams))
	for _, st := range streams {
		out = append(out, sourceView{Stream: st, LagSeconds: st.Lag.Seconds(), ExpectedSeconds: st.Expected.Seconds(), SilentForSeconds: st.SilentFor.Seconds()})
	}
	slices.SortStableFunc(out, func(a, b sourceView) int { // silent first
		switch {
		case a.Silent && !b.Silent:
			return -1
		case b.Silent && !a.Silent:
			return 1
		}
		return 0
	})
	return out
}

func (s *server) listSources(w http.ResponseWriter, _ *http.Request, _ Token) error {
	return writeJSON(w, http.StatusOK, map[string]any{"sources": s.sources()})
}

func (s *server) uiSources(w http.ResponseWriter, _ *http.Request, sess *session) error {
	d := struct {
		On      bool
		Sources []sourceView
		Now     time.Time
	}{On: s.cfg.Health != nil, Sources: s.sources(), Now: s.now()}
	return s.render(w, http.StatusOK, "sources.html", page{Title: "Sources", Nav: "sources", Sess: sess, Data: d})
}
