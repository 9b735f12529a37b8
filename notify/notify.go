// Package notify sends new detections at or above a severity to HTTP
// targets: a generic JSON webhook or a Slack-compatible incoming webhook.
//
// Delivery never blocks the caller: Notify only enqueues, one worker per
// target posts with retries and exponential backoff, and a full queue
// drops detections and counts them.
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-cdr/cairn"
)

// Target kinds.
const (
	KindWebhook = "webhook"
	KindSlack   = "slack"
)

// Defaults for Options fields left zero.
const (
	DefaultQueueSize   = 1000
	DefaultMaxAttempts = 5
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = time.Minute
	defaultTimeout     = 10 * time.Second
	// maxRetryAfter bounds how long a server's Retry-After may park a
	// worker, so that a hostile or broken server cannot stall a target
	// for hours.
	maxRetryAfter = 5 * time.Minute
)

// Log attribute keys.
const (
	attrTarget  = "target"
	attrKind    = "kind"
	attrHost    = "host"
	attrAttempt = "attempt"
	attrErr     = "err"
	attrID      = "detection"
)

// Target is where detections go.
type Target struct {
	// Kind is KindWebhook or KindSlack.
	Kind string
	// URL is the endpoint posted to. Slack URLs carry a secret, so it is
	// never logged; only its host is.
	URL string
	// MinSeverity is the lowest rank sent, on cairn's scale (see
	// field.SeverityRank: info 0, low 1, medium 2, high 3, critical 4).
	MinSeverity int64
}

// Validate reports whether the target can be used.
func (t Target) Validate() error {
	if t.Kind != KindWebhook && t.Kind != KindSlack {
		return fmt.Errorf("notify target kind %q: want %q or %q", t.Kind, KindWebhook, KindSlack)
	}
	u, err := url.Parse(t.URL)
	if err != nil {
		return fmt.Errorf("notify target url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("notify target url: want an http or https URL with a host")
	}
	return nil
}

// Options tune a Notifier. Zero fields take the defaults.
type Options struct {
	// Client posts the requests; nil means a client with a 10 s timeout.
	Client *http.Client
	// QueueSize is how many detections wait per target before new ones
	// are dropped.
	QueueSize int
	// MaxAttempts is how many times one detection is posted before it
	// counts as failed.
	MaxAttempts int
	// BackoffBase is the wait before the first retry; it doubles on each
	// retry up to BackoffMax, with jitter.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Logger receives delivery failures; nil discards.
	Logger *slog.Logger
	// Now is the clock, used to read Retry-After dates; nil is time.Now.
	Now func() time.Time
}

// Stats count what happened to detections, per target: a detection sent
// to two targets counts twice.
type Stats struct {
	// Sent were accepted by the target (2xx).
	Sent int64
	// Failed were given up on after MaxAttempts, on a response that is
	// not worth retrying, or when Close gave up while they were in flight.
	Failed int64
	// Dropped were never attempted: the queue was full, the Notifier was
	// closed, or Close gave up while they were queued.
	Dropped int64
	// Retried counts retries (attempts after the first).
	Retried int64
}

// Notifier delivers detections to its targets in the background.
type Notifier struct {
	client      *http.Client
	maxAttempts int
	base, max   time.Duration
	log         *slog.Logger
	now         func() time.Time

	// ctx is cancelled when Close gives up; it aborts requests and waits.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.RWMutex // guards closed and sends on the queues
	closed  bool
	workers []*worker
	wg      sync.WaitGroup

	sent, failed, dropped, retried atomic.Int64
}

// worker delivers to one target.
type worker struct {
	index  int
	target Target
	host   string
	queue  chan cairn.Detection
}

// New starts a Notifier with one worker per valid target. Invalid
// targets (see Target.Validate) are logged and ignored.
func New(targets []Target, opts Options) *Notifier {
	n := &Notifier{
		client:      opts.Client,
		maxAttempts: opts.MaxAttempts,
		base:        opts.BackoffBase,
		max:         opts.BackoffMax,
		log:         opts.Logger,
		now:         opts.Now,
	}
	if n.client == nil {
		n.client = &http.Client{Timeout: defaultTimeout}
	}
	if n.maxAttempts <= 0 {
		n.maxAttempts = DefaultMaxAttempts
	}
	if n.base <= 0 {
		n.base = DefaultBackoffBase
	}
	if n.max <= 0 {
		n.max = DefaultBackoffMax
	}
	if n.max < n.base {
		n.max = n.base
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.now == nil {
		n.now = time.Now
	}
	size := opts.QueueSize
	if size <= 0 {
		size = DefaultQueueSize
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	for i, t := range targets {
		if err := t.Validate(); err != nil {
			n.log.Error("notify: ignoring target", attrTarget, i, attrErr, err)
			continue
		}
		u, _ := url.Parse(t.URL)
		w := &worker{index: i, target: t, host: u.Host, queue: make(chan cairn.Detection, size)}
		n.workers = append(n.workers, w)
		n.wg.Add(1)
		go n.run(w)
	}
	return n
}

// Notify queues the detections for every target whose MinSeverity they
// reach. It never blocks: when a target's queue is full, or the Notifier
// is closed, the detection is dropped and counted.
func (n *Notifier) Notify(ds []cairn.Detection) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, d := range ds {
		for _, w := range n.workers {
			if d.Severity < w.target.MinSeverity {
				continue
			}
			if n.closed {
				n.dropped.Add(1)
				continue
			}
			select {
			case w.queue <- d:
			default:
				n.dropped.Add(1)
			}
		}
	}
}

// Close stops accepting detections and waits for the queued ones to be
// delivered. When ctx ends first it aborts what is in flight, drops what
// is queued, and returns ctx's error. Close may be called more than once.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		for _, w := range n.workers {
			close(w.queue)
		}
	}
	n.mu.Unlock()

	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return ctx.Err()
	}
}

// Stats returns the counters so far.
func (n *Notifier) Stats() Stats {
	return Stats{
		Sent:    n.sent.Load(),
		Failed:  n.failed.Load(),
		Dropped: n.dropped.Load(),
		Retried: n.retried.Load(),
	}
}

// run delivers w's queue until it is closed.
func (n *Notifier) run(w *worker) {
	defer n.wg.Done()
	for d := range w.queue {
		if n.ctx.Err() != nil {
			n.dropped.Add(1)
			continue
		}
		n.deliver(w, d)
	}
}

// deliver posts one detection to w's target, retrying as allowed.
func (n *Notifier) deliver(w *worker, d cairn.Detection) {
	log := n.log.With(attrTarget, w.index, attrKind, w.target.Kind, attrHost, w.host, attrID, d.ID)
	body, err := encode(w.target.Kind, d)
	if err != nil {
		n.failed.Add(1)
		log.Error("notify: encode detection", attrErr, err)
		return
	}
	for attempt := 1; ; attempt++ {
		err := n.post(w.target.URL, body)
		if err == nil {
			n.sent.Add(1)
			return
		}
		var re *retryableError
		retry := errors.As(err, &re)
		if !retry || attempt >= n.maxAttempts || n.ctx.Err() != nil {
			n.failed.Add(1)
			log.Warn("notify: giving up", attrAttempt, attempt, attrErr, err)
			return
		}
		wait := n.backoff(attempt)
		if re.after > 0 {
			wait = min(re.after, maxRetryAfter)
		}
		n.retried.Add(1)
		log.Debug("notify: retrying", attrAttempt, attempt, attrErr, err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-n.ctx.Done():
			t.Stop()
			n.failed.Add(1)
			log.Warn("notify: giving up at close", attrAttempt, attempt, attrErr, err)
			return
		}
	}
}

// retryableError is a failure worth another attempt: a network error, a
// 5xx or a 429. after is the server's Retry-After, if any.
type retryableError struct {
	err   error
	after time.Duration
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// post sends one request. It returns nil on a 2xx response.
func (n *Notifier) post(target string, body []byte) error {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cairn")
	resp, err := n.client.Do(req)
	if err != nil {
		// The *url.Error names the URL, which may hold a secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &retryableError{err: fmt.Errorf("post: %w", err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusTooManyRequests:
		return &retryableError{err: errors.New(resp.Status), after: parseRetryAfter(resp.Header.Get("Retry-After"), n.now())}
	case c >= 500:
		return &retryableError{err: errors.New(resp.Status)}
	default:
		return errors.New(resp.Status)
	}
}

// backoff returns the wait before retry number attempt (1-based):
// base·2^(attempt-1) capped at max, then jittered into [d/2, d].
func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.base
	for i := 1; i < attempt && d < n.max; i++ {
		d *= 2
	}
	d = min(d, n.max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// parseRetryAfter reads a Retry-After header: delay seconds (decimal
// fractions are accepted, as some services send them) or an HTTP date.
// It returns 0 when the header is absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case !(s > 0): // also NaN
			return 0
		case s >= maxRetryAfter.Seconds():
			return maxRetryAfter
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}
