package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/ingest"
)

// maxAlertBytes caps a falcosidekick webhook body: one alert.
const maxAlertBytes = 1 << 20

// ingestBody stores the request body, in the format the format parameter
// names (detected from the content by default).
func (s *server) ingestBody(w http.ResponseWriter, r *http.Request, tok Token) error {
	f, err := decode.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	return s.runIngest(w, r, "api:"+tok.Name, f, s.cfg.MaxIngestBytes)
}

// ingestFalcosidekick stores a Falco alert falcosidekick's webhook output
// posts.
func (s *server) ingestFalcosidekick(w http.ResponseWriter, r *http.Request, tok Token) error {
	return s.runIngest(w, r, "falcosidekick:"+tok.Name, decode.Falco, maxAlertBytes)
}

// runIngest hands the body, capped at limit bytes, to Config.Ingest as one
// input, one ingest at a time, and answers the report. A body over the
// limit is 413, though the records before the limit are kept (stored or dead-lettered); an
// input that cannot be read at all is 400. A request that finds the
// waiting line full, or waits too long, is 429 before its body is read.
func (s *server) runIngest(w http.ResponseWriter, r *http.Request, origin string, f decode.Format, limit int64) error {
	if s.cfg.Ingest == nil {
		return cairn.Errorf(cairn.ENOTFOUND, "this server does not accept ingest")
	}
	tooLarge := &apiError{status: http.StatusRequestEntityTooLarge, code: cairn.EINVALID,
		msg: fmt.Sprintf("request body exceeds %d bytes", limit)}
	if r.ContentLength > limit {
		return tooLarge
	}
	ctx := r.Context()
	if err := s.acquireIngest(ctx); err != nil {
		return err
	}
	defer func() { <-s.ingest }()
	body := &limitedBody{r: http.MaxBytesReader(w, r.Body, limit)}
	in := ingest.Input{Origin: origin, Size: r.ContentLength,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(body), nil }}
	rep, err := s.cfg.Ingest(ctx, []ingest.Input{in}, f)
	switch {
	case body.tooLarge:
		if rep != nil && rep.Accepted+rep.Duplicates+rep.Rejected > 0 {
			tooLarge.msg += fmt.Sprintf("; the %d records before the limit were kept", rep.Accepted+rep.Duplicates+rep.Rejected)
		}
		return tooLarge
	case err != nil:
		return err
	case rep == nil:
		return errors.New("ingest returned no report")
	case len(rep.Failures) > 0:
		msg := rep.Failures[0].Reason
		if n := rep.Accepted + rep.Duplicates + rep.Rejected; n > 0 {
			msg += fmt.Sprintf(" (the %d records before it were kept)", n)
		}
		return cairn.Errorf(cairn.EINVALID, "%s", msg)
	}
	return writeJSON(w, http.StatusOK, rep)
}

// limitedBody notes when a MaxBytesReader refuses to read on: ingest
// reports an unreadable input, not why.
type limitedBody struct {
	r        io.Reader
	tooLarge bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		b.tooLarge = true
	}
	return n, err
}

// acquireIngest takes the ingest slot, waiting for it at most
// Config.IngestWait and only if fewer than Config.MaxIngestWaiting
// requests are waiting already: what a slow bus or store holds up is a
// bounded number of connections, not every client's.
func (s *server) acquireIngest(ctx context.Context) error {
	select {
	case s.ingest <- struct{}{}:
		return nil
	default:
	}
	if s.ingestWaiting.Add(1) > int64(s.cfg.MaxIngestWaiting) {
		s.ingestWaiting.Add(-1)
		return ingestBusy(fmt.Sprintf("%d ingest requests are waiting already; try again later", max(s.cfg.MaxIngestWaiting, 0)))
	}
	defer s.ingestWaiting.Add(-1)
	t := time.NewTimer(s.cfg.IngestWait)
	defer t.Stop()
	select {
	case s.ingest <- struct{}{}:
		return nil
	case <-t.C:
		return ingestBusy(fmt.Sprintf("ingest is busy (waited %s); try again later", s.cfg.IngestWait))
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ingestBusy is the 429 a request gets when ingest cannot take it now.
func ingestBusy(msg string) error {
	return &apiError{status: http.StatusTooManyRequests, code: cairn.EUNAVAILABLE, msg: msg,
		header: map[string]string{"Retry-After": strconv.Itoa(busyRetryAfter)}}
}
