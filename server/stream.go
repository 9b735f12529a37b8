package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// Live detections for the feed, as server-sent events: the stream polls
// the store (so that detections another process ingests arrive too) and
// sends each detection group that is new, or has grown, since the stream
// began and matches the feed's filter.
const (
	streamPoll      = 500 * time.Millisecond
	streamKeepAlive = 15 * time.Second
	streamRecheck   = time.Minute // how often a stream's session is checked again
	maxStreams      = 64
	streamPage      = 50
)

// streamItem is one detection sent to the feed; the page's script builds
// its row with textContent, never as markup.
type streamItem struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	Status   string    `json:"status"`
	Assignee string    `json:"assignee"`
	Output   string    `json:"output"`
	Where    string    `json:"where"`
	Count    int       `json:"count"`
}

func (s *server) uiStream(w http.ResponseWriter, r *http.Request, sess *session) error {
	fl, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("stream: the response writer cannot flush")
	}
	q := cairn.DetectionQuery{Filter: r.URL.Query().Get("filter"), Limit: streamPage}
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return cairn.Errorf(cairn.EINVALID, "since: want an RFC 3339 time, got %q", v)
		}
		q.Since = t
	}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		return &apiError{status: http.StatusServiceUnavailable, code: cairn.EINTERNAL, msg: "too many live streams; try again later"}
	}
	ctx := r.Context()
	seen := map[string]int{}
	sent := 0
	poll := func(send bool) error {
		page, err := s.cfg.Store.QueryDetections(ctx, q)
		if err != nil {
			return err
		}
		if len(seen) > 10*streamPage { // forget what has scrolled out of the newest page
			keep := make(map[string]int, len(page.Detections))
			for _, d := range page.Detections {
				if n, ok := seen[d.ID]; ok {
					keep[d.ID] = n
				}
			}
			seen = keep
		}
		for i := len(page.Detections) - 1; i >= 0; i-- { // oldest first, so the newest ends on top
			d := &page.Detections[i]
			if seen[d.ID] == d.Count {
				continue
			}
			seen[d.ID] = d.Count
			if !send {
				continue
			}
			data, err := json.Marshal(streamItem{ID: d.ID, Time: d.LastTime, Rule: d.Rule, Severity: field.SeverityName(d.Severity),
				Status: statusName(d.Status), Assignee: d.Assignee, Output: d.Output, Where: where(d.Entities), Count: d.Count})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "event: detection\nid: %s\ndata: %s\n\n", d.ID, data)
			sent++
		}
		return nil
	}
	if err := poll(false); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: live\n\n")
	fl.Flush()
	tick := time.NewTicker(streamPoll)
	defer tick.Stop()
	lastWrite, lastCheck := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			if now.Sub(lastCheck) >= streamRecheck {
				if s.uiSession(r) == nil {
					fmt.Fprint(w, "event: ended\ndata: {}\n\n")
					fl.Flush()
					return nil
				}
				lastCheck = now
			}
			if err := poll(true); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Error("stream poll", "err", err)
				return nil // headers are sent: end the stream, the browser reconnects
			}
			switch {
			case sent > 0:
				sent, lastWrite = 0, now
				fl.Flush()
			case now.Sub(lastWrite) >= streamKeepAlive:
				fmt.Fprint(w, ": keep-alive\n\n")
				lastWrite = now
				fl.Flush()
			}
		}
	}
}

// where names a detection's place: pod, container image, host or
// identity, the most specific first.
func where(e cairn.Entities) string {
	switch {
	case e.Pod != "":
		return e.Namespace + "/" + e.Pod
	case e.Identity != "":
		return e.Identity
	case e.Image != "":
		return e.Image
	}
	return e.Host
}
