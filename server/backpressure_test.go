package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// bpServer is a server whose ingest is fn, and an analyst's token.
type bpServer struct {
	s      *server
	url    string
	secret string
	client *http.Client
}

func newBPServer(t *testing.T, fn IngestFunc, tune func(*Config)) *bpServer {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := &MemTokens{}
	secret, err := tokens.NewToken("ingester", RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Tokens: tokens, Ingest: fn}
	if tune != nil {
		tune(&cfg)
	}
	s := New(cfg).(*server)
	ts := httptest.NewServer(s)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(func() { tr.CloseIdleConnections(); ts.Close() })
	return &bpServer{s: s, url: ts.URL, secret: secret, client: &http.Client{Transport: tr}}
}

type bpResponse struct {
	status     int
	retryAfter string
	code, msg  string
	accepted   int
}

// post sends body to the ingest endpoint and decodes the answer.
func (b *bpServer) post(body io.Reader) (bpResponse, error) {
	req, err := http.NewRequest("POST", b.url+"/api/v1/ingest", body)
	if err != nil {
		return bpResponse{}, err
	}
	req.Header.Set("Authorization", "Bearer "+b.secret)
	resp, err := b.client.Do(req)
	if err != nil {
		return bpResponse{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return bpResponse{}, err
	}
	r := bpResponse{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return r, fmt.Errorf("Content-Type %q", ct)
	}
	if r.status == http.StatusOK {
		var rep ingest.Report
		if err := json.Unmarshal(data, &rep); err != nil {
			return r, fmt.Errorf("report: %v: %s", err, data)
		}
		r.accepted = rep.Accepted
		return r, nil
	}
	var e errorBody
	if err := json.Unmarshal(data, &e); err != nil {
		return r, fmt.Errorf("error body: %v: %s", err, data)
	}
	r.code, r.msg = e.Error.Code, e.Error.Message
	return r, nil
}

// countLines reads the one input to its end and reports its lines as
// accepted records.
func countLines(in ingest.Input) (*ingest.Report, error) {
	rc, err := in.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return &ingest.Report{Inputs: 1, Accepted: bytes.Count(data, []byte("\n"))}, nil
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// While one ingest runs, MaxIngestWaiting requests wait for it and the
// next is told 429 at once, without reaching Config.Ingest; the waiting
// ones are served when the slot frees.
func TestIngestWaitingCapped(t *testing.T) {
	const waiting = 3
	entered := make(chan struct{}, waiting+2)
	release := make(chan struct{})
	var calls atomic.Int32
	fn := func(ctx context.Context, in []ingest.Input, _ decode.Format) (*ingest.Report, error) {
		calls.Add(1)
		entered <- struct{}{}
		<-release
		return countLines(in[0])
	}
	b := newBPServer(t, fn, func(c *Config) { c.MaxIngestWaiting = waiting; c.IngestWait = time.Minute })

	type result struct {
		r   bpResponse
		err error
	}
	results := make(chan result, waiting+1)
	send := func() {
		r, err := b.post(strings.NewReader("a\nb\n"))
		results <- result{r, err}
	}
	go send()
	<-entered // the first holds the slot
	for range waiting {
		go send()
	}
	waitFor(t, fmt.Sprintf("%d waiting requests", waiting), func() bool { return b.s.ingestWaiting.Load() == waiting })

	start := time.Now()
	r, err := b.post(strings.NewReader("c\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusTooManyRequests || r.retryAfter != "1" || r.code != cairn.EUNAVAILABLE || !strings.Contains(r.msg, "3 ingest requests are waiting") {
		t.Fatalf("request beyond the cap: %+v", r)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the refusal took %s", d)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("Ingest called %d times while the slot was held, want 1", n)
	}

	close(release)
	for range waiting + 1 {
		res := <-results
		if res.err != nil || res.r.status != http.StatusOK || res.r.accepted != 2 {
			t.Fatalf("waiting request: %+v %v", res.r, res.err)
		}
	}
	if n := calls.Load(); n != waiting+1 {
		t.Fatalf("Ingest called %d times, want %d", n, waiting+1)
	}
	if n := b.s.ingestWaiting.Load(); n != 0 {
		t.Fatalf("%d still counted as waiting", n)
	}
	// The line is free again: a new request is served.
	if r, err := b.post(strings.NewReader("d\n")); err != nil || r.status != http.StatusOK {
		t.Fatalf("after the burst: %+v %v", r, err)
	}
}

// A request that waits longer than IngestWait is told 429; so is every
// request beyond the slot when no waiting is allowed.
func TestIngestWaitTimesOut(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	fn := func(ctx context.Context, in []ingest.Input, _ decode.Format) (*ingest.Report, error) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return countLines(in[0])
	}
	for _, tt := range []struct {
		name     string
		waiting  int
		wait     time.Duration
		min      time.Duration
		msgPart  string
		maxTaken time.Duration
	}{
		{"timeout", 4, 100 * time.Millisecond, 100 * time.Millisecond, "waited 100ms", 3 * time.Second},
		{"no waiting", -1, time.Minute, 0, "0 ingest requests are waiting", 3 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			release = make(chan struct{})
			b := newBPServer(t, fn, func(c *Config) { c.MaxIngestWaiting = tt.waiting; c.IngestWait = tt.wait })
			done := make(chan bpResponse, 1)
			go func() {
				r, _ := b.post(strings.NewReader("a\n"))
				done <- r
			}()
			<-entered
			start := time.Now()
			r, err := b.post(strings.NewReader("b\n"))
			taken := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusTooManyRequests || r.retryAfter != "1" || r.code != cairn.EUNAVAILABLE || !strings.Contains(r.msg, tt.msgPart) {
				t.Fatalf("got %+v", r)
			}
			if taken < tt.min || taken > tt.maxTaken {
				t.Fatalf("answered after %s, want between %s and %s", taken, tt.min, tt.maxTaken)
			}
			close(release)
			if r := <-done; r.status != http.StatusOK {
				t.Fatalf("the slot holder: %+v", r)
			}
		})
	}
}

// hinted is an error of another package that carries its own hint.
type hinted struct{ d time.Duration }

func (h hinted) Error() string             { return "stream full" }
func (h hinted) RetryAfter() time.Duration { return h.d }

// An unavailable error from Config.Ingest is 503 with Retry-After: 2 by
// default, or the error's hint rounded up to whole seconds.
func TestIngestUnavailable(t *testing.T) {
	unavailable := cairn.Errorf(cairn.EUNAVAILABLE, "the bus is full")
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{"plain", unavailable, 503, cairn.EUNAVAILABLE, "2"},
		{"wrapped", fmt.Errorf("publish: %w", unavailable), 503, cairn.EUNAVAILABLE, "2"},
		{"hint", RetryAfter(unavailable, 1500*time.Millisecond), 503, cairn.EUNAVAILABLE, "2"},
		{"long hint wrapped", fmt.Errorf("publish: %w", RetryAfter(unavailable, 30*time.Second)), 503, cairn.EUNAVAILABLE, "30"},
		{"hint of another type", fmt.Errorf("%w: %w", unavailable, hinted{7 * time.Second}), 503, cairn.EUNAVAILABLE, "7"},
		{"zero hint", RetryAfter(unavailable, 0), 503, cairn.EUNAVAILABLE, "2"},
		{"internal keeps no hint", RetryAfter(fmt.Errorf("disk on fire"), time.Second), 500, cairn.EINTERNAL, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := func(ctx context.Context, in []ingest.Input, _ decode.Format) (*ingest.Report, error) {
				countLines(in[0])
				return nil, tt.err
			}
			b := newBPServer(t, fn, nil)
			r, err := b.post(strings.NewReader("a\n"))
			if err != nil {
				t.Fatal(err)
			}
			if r.status != tt.status || r.code != tt.code || r.retryAfter != tt.retryAfter {
				t.Fatalf("got %+v, want %d %s Retry-After %q", r, tt.status, tt.code, tt.retryAfter)
			}
			if tt.code == cairn.EUNAVAILABLE && r.msg != "the bus is full" {
				t.Fatalf("message %q", r.msg)
			}
		})
	}
	if RetryAfter(nil, time.Second) != nil {
		t.Fatal("RetryAfter(nil) is not nil")
	}
}

// With a slow ingest and 40 clients each posting 2 MB bodies over and
// over, the server's heap stays far below what the clients offer: the
// waiting line is short, the rest are told 429 before their bodies are
// read.
func TestIngestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2 s load test")
	}
	const (
		clients   = 40
		bodyBytes = 2 << 20
		chunk     = 32 << 10
		duration  = 2 * time.Second
		maxGrowth = 32 << 20
	)
	var body []byte // one slice shared by every client: the heap measured is the server's
	for i := 0; len(body) < bodyBytes; i++ {
		body = fmt.Appendf(body, `{"n":%d,"pad":"%s"}`+"\n", i, strings.Repeat("x", 180))
	}
	var ingested atomic.Int64
	slow := func(ctx context.Context, in []ingest.Input, _ decode.Format) (*ingest.Report, error) {
		rc, err := in[0].Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		buf := make([]byte, chunk)
		lines := 0
		for {
			n, err := io.ReadFull(rc, buf)
			lines += bytes.Count(buf[:n], []byte("\n"))
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			} else if err != nil {
				return nil, err
			}
			time.Sleep(2 * time.Millisecond) // a slow store: ~130 ms a body
		}
		ingested.Add(1)
		return &ingest.Report{Inputs: 1, Accepted: lines}, nil
	}
	b := newBPServer(t, slow, func(c *Config) { c.MaxIngestWaiting = 4; c.IngestWait = 300 * time.Millisecond })

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	base := heap()

	var offered atomic.Int64
	var ok, busy, transport atomic.Int32
	var mu sync.Mutex
	var bad []string
	stop := time.Now().Add(duration)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				offered.Add(int64(len(body)))
				r, err := b.post(bytes.NewReader(body))
				switch {
				case err != nil:
					// The server may close the connection while the client
					// still writes the body it did not read.
					transport.Add(1)
				case r.status == http.StatusOK && r.accepted > 0:
					ok.Add(1)
				case r.status == http.StatusTooManyRequests && r.retryAfter == "1" && r.code == cairn.EUNAVAILABLE:
					busy.Add(1)
					// A real client waits Retry-After; this one comes back
					// sooner to keep the pressure on.
					time.Sleep(100 * time.Millisecond)
				default:
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%+v", r))
					mu.Unlock()
				}
			}
		}()
	}
	var peak uint64
	sampled := 0
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
sample:
	for {
		select {
		case <-finished:
			break sample
		case <-tick.C:
			peak = max(peak, heap())
			sampled++
		}
	}
	t.Logf("heap in use: base %.1f MB, peak %.1f MB over %d samples; offered %.0f MB; %d ingested, %d told 429, %d transport errors",
		float64(base)/(1<<20), float64(peak)/(1<<20), sampled, float64(offered.Load())/(1<<20), ok.Load(), busy.Load(), transport.Load())
	if len(bad) > 0 {
		t.Fatalf("unexpected answers: %v", bad)
	}
	if sampled < 10 {
		t.Fatalf("only %d heap samples", sampled)
	}
	if offered.Load() < clients*bodyBytes {
		t.Fatalf("offered only %d bytes", offered.Load())
	}
	if peak > base+maxGrowth {
		t.Fatalf("heap grew from %d to %d bytes, more than %d, while %d were offered", base, peak, maxGrowth, offered.Load())
	}
	if ok.Load() == 0 || int64(ok.Load()) != ingested.Load() {
		t.Fatalf("%d bodies answered 200, %d ingested", ok.Load(), ingested.Load())
	}
	if busy.Load() < clients {
		t.Fatalf("only %d requests told 429", busy.Load())
	}
	if n := b.s.ingestWaiting.Load(); n != 0 {
		t.Fatalf("%d still counted as waiting", n)
	}
}
