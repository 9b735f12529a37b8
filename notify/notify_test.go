package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/notify"
)

// request is what a test server saw.
type request struct {
	at     time.Time
	header http.Header
	body   []byte
}

// server is an httptest server that records requests and answers the
// n-th one (0-based) with reply(n, w).
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newServer(t *testing.T, reply func(n int, w http.ResponseWriter)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, request{at: time.Now(), header: r.Header.Clone(), body: body})
		s.mu.Unlock()
		if reply != nil {
			reply(n, w)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// status answers every request with code.
func status(code int) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) { w.WriteHeader(code) }
}

// fastOptions retries quickly.
func fastOptions() notify.Options {
	return notify.Options{MaxAttempts: 4, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}
}

// mustClose closes n, failing the test if it does not drain in time.
func mustClose(tb testing.TB, n *notify.Notifier) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		tb.Fatalf("Close: %v", err)
	}
}

func detection(id string, sev int64) cairn.Detection {
	return cairn.Detection{
		ID: id, Rule: "Terminal shell in container", Priority: "WARNING", Severity: sev,
		Output:   "shell spawned",
		EventIDs: []string{"e1"},
		Entities: cairn.Entities{Namespace: "prod", Pod: "web-1", Host: "node-a"},
		Count:    1,
	}
}

// webhookIDs decodes webhook bodies and returns their detection ids.
func webhookIDs(t *testing.T, reqs []request) []string {
	t.Helper()
	var ids []string
	for _, r := range reqs {
		var body struct {
			Detection *cairn.Detection `json:"detection"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.Detection == nil {
			t.Fatalf("webhook body %q: %v", r.body, err)
		}
		ids = append(ids, body.Detection.ID)
	}
	return ids
}

func TestSeverityFilter(t *testing.T) {
	cases := []struct {
		min  int64
		want string
	}{
		{0, "d0 d1 d2 d3 d4"},
		{2, "d2 d3 d4"},
		{3, "d3 d4"},
		{4, "d4"},
		{5, ""},
	}
	for _, c := range cases {
		srv := newServer(t, status(http.StatusOK))
		n := notify.New([]notify.Target{{Kind: notify.KindWebhook, URL: srv.URL, MinSeverity: c.min}}, fastOptions())
		var ds []cairn.Detection
		for sev := int64(0); sev <= 4; sev++ {
			ds = append(ds, detection("d"+string(rune('0'+sev)), sev))
		}
		n.Notify(ds)
		mustClose(t, n)
		got := strings.Join(webhookIDs(t, srv.requests()), " ")
		if got != c.want {
			t.Errorf("MinSeverity %d: sent %q, want %q", c.min, got, c.want)
		}
		if st := n.Stats(); st.Sent != int64(len(strings.Fields(c.want))) || st.Failed != 0 || st.Dropped != 0 {
			t.Errorf("MinSeverity %d: stats %+v", c.min, st)
		}
	}
}

func TestWebhookBody(t *testing.T) {
	srv := newServer(t, status(http.StatusNoContent))
	n := notify.New([]notify.Target{{Kind: notify.KindWebhook, URL: srv.URL}}, fastOptions())
	d := detection("abc", 3)
	d.Time = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	n.Notify([]cairn.Detection{d})
	mustClose(t, n)
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if ct, ua := reqs[0].header.Get("Content-Type"), reqs[0].header.Get("User-Agent"); ct != "application/json" || ua != "cairn" {
		t.Errorf("Content-Type %q, User-Agent %q", ct, ua)
	}
	var body struct {
		Detection cairn.Detection `json:"detection"`
	}
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatal(err)
	}
	got := body.Detection
	if got.ID != d.ID || got.Rule != d.Rule || got.Severity != 3 || !got.Time.Equal(d.Time) || got.Entities != d.Entities {
		t.Errorf("detection round trip: got %+v, want %+v", got, d)
	}
}

func TestRetries(t *testing.T) {
	cases := []struct {
		name                  string
		reply                 func(int, http.ResponseWriter)
		hits                  int
		sent, failed, retried int64
	}{
		{"5xx then success", func(n int, w http.ResponseWriter) {
			if n < 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}, 3, 1, 0, 2},
		{"always 500 gives up", status(http.StatusInternalServerError), 4, 0, 1, 3},
		{"400 not retried", status(http.StatusBadRequest), 1, 0, 1, 0},
		{"404 not retried", status(http.StatusNotFound), 1, 0, 1, 0},
		{"401 not retried", status(http.StatusUnauthorized), 1, 0, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, c.reply)
			n := notify.New([]notify.Target{{Kind: notify.KindWebhook, URL: srv.URL}}, fastOptions())
			n.Notify([]cairn.Detection{detection("x", 4)})
			mustClose(t, n)
			if got := len(srv.requests()); got != c.hits {
				t.Errorf("%d requests, want %d", got, c.hits)
			}
			want := notify.Stats{Sent: c.sent, Failed: c.failed, Retried: c.retried}
			if st := n.Stats(); st != want {
				t.Errorf("stats %+v, want %+v", st, want)
			}
		})
	}
}

func TestNetworkErrorRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused from now on
	n := notify.New([]notify.Target{{Kind: notify.KindWebhook, URL: url}}, fastOptions())
	n.Notify([]cairn.Detection{detection("x", 4)})
	mustClose(t, n)
	if st, want := n.Stats(), (notify.Stats{Failed: 1, Retried: 3}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestRetryAfter(t *testing.T) {
	const wait = 300 * time.Millisecond
	srv := newServer(t, func(n int, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("Retry-After", "0.3")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	// The backoff alone would wait at most 2 ms.
	n := notify.New([]notify.Target{{Kind: notify.KindWebhook, URL: srv.URL}}, fastOptions())
	n.Notify([]cairn.Detection{detection("x", 4)})
	mustClose(t, n)
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < wait {
		t.Errorf("retried after %v, want at least Retry-After %v", gap, wait)
	}
	if st, want := n.Stats(), (notify.Stats{Sent: 1, Retried: 1}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestQueueFullDropsWithoutBlocking(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers on its own
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })

	n := notify.New([]notify.Target{{Kind: notify.KindWebhook, URL: srv.URL}},
		notify.Options{QueueSize: 1, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	const total = 50
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < total; i++ {
			n.Notify([]cairn.Detection{detection("x", 4)})
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Notify blocked on a full queue")
	}
	// At most one detection is in flight and one queued.
	if st := n.Stats(); st.Dropped < total-2 || st.Sent != 0 {
		t.Errorf("stats %+v, want at least %d dropped", st, total-2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := n.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Close took %v after its deadline", el)
	}
	st := n.Stats()
	if st.Sent != 0 || st.Sent+st.Failed+st.Dropped != total {
		t.Errorf("stats after Close %+v: want every one of %d dropped or failed", st, total)
	}
	n.Notify([]cairn.Detection{detection("late", 4)})
	if got := n.Stats().Dropped; got != st.Dropped+1 {
		t.Errorf("Notify after Close: dropped %d, want %d", got, st.Dropped+1)
	}
}

func TestCloseDrains(t *testing.T) {
	srv := newServer(t, func(int, http.ResponseWriter) { time.Sleep(5 * time.Millisecond) })
	slack := newServer(t, status(http.StatusOK))
	n := notify.New([]notify.Target{
		{Kind: notify.KindWebhook, URL: srv.URL},
		{Kind: notify.KindSlack, URL: slack.URL, MinSeverity: 3},
	}, fastOptions())
	var ds []cairn.Detection
	for i := 0; i < 30; i++ {
		ds = append(ds, detection(string(rune('a'+i)), int64(i%5)))
	}
	n.Notify(ds)
	mustClose(t, n)
	if got := len(srv.requests()); got != 30 {
		t.Errorf("webhook got %d requests, want 30", got)
	}
	if got := len(slack.requests()); got != 12 {
		t.Errorf("slack got %d requests, want 12", got)
	}
	if st, want := n.Stats(), (notify.Stats{Sent: 42}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestInvalidTargetsIgnored(t *testing.T) {
	for _, tg := range []notify.Target{
		{Kind: "email", URL: "http://example.test"},
		{Kind: notify.KindSlack, URL: "ftp://example.test/x"},
		{Kind: notify.KindWebhook, URL: "not a url"},
	} {
		if tg.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", tg)
		}
	}
	n := notify.New([]notify.Target{{Kind: "email", URL: "http://example.test"}}, notify.Options{})
	n.Notify([]cairn.Detection{detection("x", 4)})
	mustClose(t, n)
	if st := n.Stats(); st != (notify.Stats{}) {
		t.Errorf("stats %+v, want zero", st)
	}
}

func TestSlackBody(t *testing.T) {
	srv := newServer(t, status(http.StatusOK))
	n := notify.New([]notify.Target{{Kind: notify.KindSlack, URL: srv.URL}}, fastOptions())
	d := detection("x", 4)
	d.Rule = "<script>alert(1)</script>"
	d.Output = "<!channel> & <@U123|boss>\nline two"
	d.Entities = cairn.Entities{Namespace: "prod>", Pod: "<web>"}
	n.Notify([]cairn.Detection{d})
	mustClose(t, n)
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if ct := reqs[0].header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body map[string]string
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatal(err)
	}
	want := "[CRITICAL] &lt;script&gt;alert(1)&lt;/script&gt; on prod&gt;/&lt;web&gt;: " +
		"&lt;!channel&gt; &amp; &lt;@U123|boss&gt; line two"
	if len(body) != 1 || body["text"] != want {
		t.Errorf("slack body %q\nwant text %q", reqs[0].body, want)
	}
}

func TestSlackText(t *testing.T) {
	long := strings.Repeat("é", 2000)
	cases := []struct {
		name string
		d    cairn.Detection
		want string
	}{
		{"pod", cairn.Detection{Rule: "r", Severity: 3, Output: "o",
			Entities: cairn.Entities{Namespace: "ns", Pod: "p", Identity: "i", Host: "h"}}, "[HIGH] r on ns/p: o"},
		{"identity", cairn.Detection{Rule: "r", Severity: 2, Output: "o",
			Entities: cairn.Entities{Identity: "arn:aws:iam::1:user/a&b", Host: "h"}}, "[MEDIUM] r on arn:aws:iam::1:user/a&amp;b: o"},
		{"host", cairn.Detection{Rule: "r", Severity: 0, Output: "o\r\n\to",
			Entities: cairn.Entities{Host: "h"}}, "[INFO] r on h: o  o"},
		{"nowhere", cairn.Detection{Rule: "r", Severity: 1}, "[LOW] r"},
		{"truncated", cairn.Detection{Rule: "r", Severity: 4, Output: long},
			"[CRITICAL] r: " + strings.Repeat("é", 499) + "…"},
	}
	for _, c := range cases {
		if got := notify.SlackText(c.d); got != c.want {
			t.Errorf("%s: SlackText = %q, want %q", c.name, got, c.want)
		}
	}
}
