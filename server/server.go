// Package server is cairn's HTTP JSON API: events, detections, process
// trees, exceptions, the audit log and ingest, under /api/v1, for
// `cairn serve`. It uses net/http only; every response is JSON (but the
// Prometheus metrics at /metrics), and every request but /healthz,
// /metrics and the OpenAPI document needs a bearer token whose role
// allows it.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/geo"
	"github.com/cairn-cdr/cairn/health"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/posture"
)

// IngestFunc stores what inputs hold, decoded as format, and says what it
// did: the caller wires the store, rules and detectors (see ingest.Run).
// The server never calls it twice at once. When the bus or the store is
// full or slow it returns an error with code cairn.EUNAVAILABLE (wrapped
// with RetryAfter to say how long to wait), which the API answers 503
// with a Retry-After header.
type IngestFunc func(ctx context.Context, inputs []ingest.Input, format decode.Format) (*ingest.Report, error)

// Config is what a server is built from.
type Config struct {
	// Store is read for every query and keeps exceptions and the audit
	// log. Required.
	Store cairn.Store
	// Ingest stores what POST /api/v1/ingest receives; nil turns the
	// ingest endpoints off (they answer not_found).
	Ingest IngestFunc
	// Tokens authenticates requests. Required.
	Tokens TokenStore
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Version is the server's version, shown by /healthz.
	Version string
	// Logger receives the details of internal errors, which clients never
	// see; nil discards them.
	Logger *slog.Logger
	// MaxIngestBytes caps an ingest request's body; 0 means
	// DefaultMaxIngestBytes.
	MaxIngestBytes int64
	// MaxIngestWaiting caps the ingest requests that wait while another
	// one is being ingested; 0 means DefaultMaxIngestWaiting, a negative
	// value none. IngestWait caps how long one waits; 0 or less means
	// DefaultIngestWait. A request beyond the cap, or one that waited
	// too long, is answered 429 (code unavailable, with Retry-After)
	// before its body is read, so that a slow bus or store slows
	// clients down rather than holding their connections and bodies.
	MaxIngestWaiting int
	IngestWait       time.Duration
	// Metrics, if set, answers GET /metrics (a metrics.Registry serves
	// the Prometheus text format). It needs no token, so that Prometheus
	// can scrape it: it shows counts, and source and severity names, never
	// event content. A deployment that must hide it filters the path at
	// its TLS proxy. nil: /metrics answers not_found.
	Metrics http.Handler
	// Assistant answers POST /api/v1/ask and the UI's assistant panel;
	// nil turns them off.
	Assistant *assist.Engine
	// GeoIP locates identities' source addresses (nil: addresses are
	// shown without a location); GeoIPCredit is the attribution its
	// licence asks for, shown beside the locations.
	GeoIP       *geo.DB
	GeoIPCredit string
	// Posture gives identities' IAM posture findings (nil: none), which
	// weigh in their risk, and what a recommended policy removes from
	// their current permissions.
	Posture *posture.Index
	// Health tracks the sources' streams (nil: not tracked), for
	// GET /api/v1/sources and the Sources page.
	Health *health.Monitor
}

// metricsPath is where Config.Metrics is served.
const metricsPath = "/metrics"

// DefaultMaxIngestBytes caps an ingest body unless Config says otherwise.
const DefaultMaxIngestBytes = 64 << 20

// Ingest backpressure defaults: see Config.MaxIngestWaiting.
const (
	DefaultMaxIngestWaiting = 4
	DefaultIngestWait       = 10 * time.Second
)

// Retry-After hints, in seconds: for a 429 (the ingest queue is full)
// and for a 503 (code unavailable) whose error gives none.
const (
	busyRetryAfter        = 1
	unavailableRetryAfter = 2
)

// maxJSONBody caps the JSON body of other requests (POST /exceptions).
const maxJSONBody = 1 << 20

// Codes the server adds to cairn's error codes.
const (
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
)

// statusOf maps an error code to its HTTP status.
var statusOf = map[string]int{
	cairn.EINVALID:     http.StatusBadRequest,
	cairn.ENOTFOUND:    http.StatusNotFound,
	cairn.ECONFLICT:    http.StatusConflict,
	cairn.EINTERNAL:    http.StatusInternalServerError,
	cairn.EUNAVAILABLE: http.StatusServiceUnavailable,
	codeUnauthorized:   http.StatusUnauthorized,
	codeForbidden:      http.StatusForbidden,
}

// RetryAfter wraps err, which should have code cairn.EUNAVAILABLE, with
// how long the client should wait before trying again: the API sends it,
// rounded up to whole seconds, as the Retry-After header. An error of any
// package can give the hint instead by having a method
// RetryAfter() time.Duration.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: d}
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// retryAfterSeconds is the Retry-After header for err: its hint rounded
// up to whole seconds (at least 1), or def.
func retryAfterSeconds(err error, def int) string {
	var h interface{ RetryAfter() time.Duration }
	if errors.As(err, &h) && h.RetryAfter() > 0 {
		return strconv.FormatInt(int64((h.RetryAfter()+time.Second-1)/time.Second), 10)
	}
	return strconv.Itoa(def)
}

// server is the API's handler.
type server struct {
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux
	ingest chan struct{} // a one-slot semaphore serialising Config.Ingest
	// ingestWaiting counts the requests waiting for the ingest slot.
	ingestWaiting atomic.Int64
	// sessions are the UI's logged-in browsers; streams a semaphore
	// capping the live feeds.
	sessions sessions
	streams  chan struct{}
}

var _ http.Handler = (*server)(nil)

// New returns the API's handler. It panics when cfg lacks a Store or
// Tokens, a wiring mistake.
func New(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.Tokens == nil {
		panic("server: Config.Store and Config.Tokens are required")
	}
	s := &server{cfg: cfg, now: cfg.Now, log: cfg.Logger, mux: http.NewServeMux(), ingest: make(chan struct{}, 1),
		streams: make(chan struct{}, maxStreams)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.MaxIngestBytes <= 0 {
		s.cfg.MaxIngestBytes = DefaultMaxIngestBytes
	}
	if s.cfg.MaxIngestWaiting == 0 {
		s.cfg.MaxIngestWaiting = DefaultMaxIngestWaiting
	}
	if s.cfg.IngestWait <= 0 {
		s.cfg.IngestWait = DefaultIngestWait
	}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern(), s.wrap(rt))
	}
	s.registerUI()
	// /metrics is outside the API and its route table: it is not JSON,
	// not in the OpenAPI document, and is Prometheus's to read.
	if cfg.Metrics != nil {
		s.mux.Handle("GET "+metricsPath, cfg.Metrics)
	}
	return s
}

// ServeHTTP sets the headers every response carries and dispatches; a
// path no route serves, or a method it does not allow, is a JSON error
// too.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	handler, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// The mux's own 404 or 405 answer is plain text: keep its status and
	// Allow header, answer in JSON.
	c := &capture{header: http.Header{}}
	handler.ServeHTTP(c, r)
	if c.status == http.StatusMethodNotAllowed {
		h.Set("Allow", c.header.Get("Allow"))
		writeErrorStatus(w, http.StatusMethodNotAllowed, cairn.EINVALID,
			fmt.Sprintf("method %s is not allowed here (allowed: %s)", r.Method, c.header.Get("Allow")))
		return
	}
	writeErrorStatus(w, http.StatusNotFound, cairn.ENOTFOUND, "no such endpoint; GET /api/v1/openapi.json lists them")
}

// capture records what a handler answers and discards its body.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { return len(b), nil }
func (c *capture) WriteHeader(status int)      { c.status = status }

// handlerFunc serves one route for an authenticated token (the zero Token
// on routes that need none); an error it returns becomes the response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, tok Token) error

// wrap adds to a route's handler what every route does: recover from a
// panic, authenticate and authorise, reject unknown query parameters, and
// answer errors.
func (s *server) wrap(rt route) http.Handler {
	allowed := map[string]bool{}
	for _, p := range rt.query {
		allowed[p] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.fail(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		var tok Token
		if rt.role != "" {
			var err error
			if tok, err = s.authenticate(r); err != nil {
				s.fail(w, r, err)
				return
			}
			if !roleAllows(tok.Role, rt.role) {
				s.fail(w, r, &apiError{code: codeForbidden, msg: fmt.Sprintf("token %q has role %q; this needs %s", tok.Name, tok.Role, rt.role)})
				return
			}
		}
		q := r.URL.Query()
		for name, vals := range q {
			if !allowed[name] {
				s.fail(w, r, cairn.Errorf(cairn.EINVALID, "unknown query parameter %q (this endpoint takes: %s)", name, paramList(rt.query)))
				return
			}
			if len(vals) > 1 {
				s.fail(w, r, cairn.Errorf(cairn.EINVALID, "query parameter %q is given %d times", name, len(vals)))
				return
			}
		}
		if err := rt.handle(w, r, tok); err != nil {
			s.fail(w, r, err)
		}
	})
}

func paramList(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	return strings.Join(ps, ", ")
}

// apiError is an error the server itself raises with a code of its own
// (unauthorized, forbidden) or a status other than its code's.
type apiError struct {
	status int // 0: the code's status
	code   string
	msg    string
	header map[string]string
}

func (e *apiError) Error() string { return e.msg }

// fail answers err: an apiError or *cairn.Error with its code and
// message; anything else as an internal error whose details are logged,
// never sent.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := err.(*apiError); ok {
		for k, v := range e.header {
			w.Header().Set(k, v)
		}
		status := e.status
		if status == 0 {
			status = statusOf[e.code]
		}
		writeErrorStatus(w, status, e.code, e.msg)
		return
	}
	code := cairn.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok || code == cairn.EINTERNAL {
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		code, status = cairn.EINTERNAL, http.StatusInternalServerError
	}
	if code == cairn.EUNAVAILABLE {
		w.Header().Set("Retry-After", retryAfterSeconds(err, unavailableRetryAfter))
	}
	writeErrorStatus(w, status, code, cairn.ErrorMessage(err))
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeErrorStatus(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	data, _ := json.Marshal(b) // two strings always marshal
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

// writeJSON answers v with the status. v is marshalled before anything is
// written, so that a value that does not marshal is an internal error
// rather than half a body. encoding/json escapes <, > and & in strings
// (and in raw messages), so no response holds markup.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.WriteHeader(status)
	w.Write(append(data, '\n')) // an error here means the client is gone
	return nil
}
