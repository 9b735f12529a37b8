package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/bus"
	"github.com/cairn-cdr/cairn/internal/natstest"
)

const (
	testLease      = 1500 * time.Millisecond
	testPartitions = 16
)

// forEachServer runs f against an in-process server and, when
// CAIRN_TEST_NATS_URL is set, against that server too.
func forEachServer(t *testing.T, f func(t *testing.T, url string)) {
	t.Run("inprocess", func(t *testing.T) {
		f(t, natstest.InProcess(t))
	})
	if url := os.Getenv("CAIRN_TEST_NATS_URL"); url != "" {
		t.Run("external", func(t *testing.T) { f(t, url) })
	}
}

// newRun returns a config template with a stream, subject and bucket of
// its own, and removes them when the test ends.
func newRun(t *testing.T, url string) bus.Config {
	t.Helper()
	id := nuid.Next()
	cfg := bus.Config{
		URL:        url,
		Partitions: testPartitions,
		Stream:     "TEST_" + id,
		Subject:    "test" + id,
		Lease:      testLease,
		AckWait:    2 * time.Second,
		RetryDelay: 100 * time.Millisecond,
	}
	if os.Getenv("BUS_DEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	natstest.DeleteAtEnd(t, url, []string{cfg.Stream}, []string{cfg.Stream + "_LEASES"})
	return cfg
}

func mustConnect(t *testing.T, cfg bus.Config, worker string) *bus.Bus {
	t.Helper()
	cfg.WorkerID = worker
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// makeEvents returns n events, a quarter of them cloud calls by 37
// identities and the rest runtime events on 53 hosts.
func makeEvents(prefix string, n int) []cairn.Event {
	evs := make([]cairn.Event, n)
	for i := range evs {
		ev := cairn.Event{
			ID:   fmt.Sprintf("%s-%d", prefix, i),
			Time: time.Unix(1700000000+int64(i), 0).UTC(),
		}
		ev.Raw = json.RawMessage(fmt.Sprintf(`{"eventID":%q,"i":%d}`, ev.ID, i))
		if i%4 == 0 {
			ev.Source, ev.Kind, ev.Type = cairn.SourceCloudTrail, cairn.KindCloud, "GetObject"
			ev.Cloud = &cairn.CloudCall{EventName: "GetObject", EventSource: "s3.amazonaws.com",
				Identity: cairn.Identity{Key: fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i%37)}}
		} else {
			ev.Source, ev.Kind, ev.Type = cairn.SourceTetragon, cairn.KindExec, "execve"
			ev.Host = fmt.Sprintf("host-%d", i%53)
			ev.Process = &cairn.Process{PID: int64(i), Binary: "/bin/true"}
		}
		evs[i] = ev
	}
	return evs
}

type call struct {
	worker     string
	p          int
	start, end time.Time
}

// recorder records what workers do and the violations of the bus's
// guarantees it sees while they do it.
type recorder struct {
	mu         sync.Mutex
	seen       map[string]int    // event id → times handled
	owner      map[int]string    // partition → worker, per OnAcquire/OnRelease
	acquiredAt map[int]time.Time // partition → last OnAcquire
	calls      []call
	violations []string
	failOnce   map[string]bool // event ids whose first batch fails
}

func newRecorder() *recorder {
	return &recorder{seen: map[string]int{}, owner: map[int]string{}, acquiredAt: map[int]time.Time{}, failOnce: map[string]bool{}}
}

func (r *recorder) violate(format string, args ...any) {
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
	if os.Getenv("BUS_DEBUG") != "" {
		fmt.Fprintln(os.Stderr, time.Now().Format("15:04:05.000"), "VIOLATION", fmt.Sprintf(format, args...))
	}
}

func (r *recorder) handler(b *bus.Bus, worker string) bus.Handler {
	return bus.Handler{
		OnAcquire: func(ctx context.Context, p int) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			if o := r.owner[p]; o != "" {
				r.violate("%s acquired partition %d still held by %s", worker, p, o)
			}
			r.owner[p] = worker
			r.acquiredAt[p] = time.Now()
			return nil
		},
		OnRelease: func(p int) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if o := r.owner[p]; o != worker {
				r.violate("%s released partition %d held by %q", worker, p, o)
			}
			delete(r.owner, p)
		},
		Handle: func(ctx context.Context, p int, evs []cairn.Event) error {
			start := time.Now()
			time.Sleep(time.Millisecond)
			r.mu.Lock()
			defer r.mu.Unlock()
			if o := r.owner[p]; o != worker {
				r.violate("%s handled partition %d owned by %q", worker, p, o)
			}
			fail := false
			for i := range evs {
				ev := &evs[i]
				if got := b.Partition(ev); got != p {
					r.violate("event %s of partition %d delivered on %d", ev.ID, got, p)
				}
				var raw struct{ EventID string }
				if err := json.Unmarshal(ev.Raw, &raw); err != nil || raw.EventID != ev.ID {
					r.violate("event %s raw record %s not kept", ev.ID, ev.Raw)
				}
				if r.failOnce[ev.ID] {
					delete(r.failOnce, ev.ID)
					fail = true
				}
			}
			r.calls = append(r.calls, call{worker, p, start, time.Now()})
			if fail {
				for _, ev := range evs {
					r.seen[ev.ID+"#failed"]++
				}
				return errors.New("store unavailable")
			}
			for _, ev := range evs {
				r.seen[ev.ID]++
			}
			return nil
		},
	}
}

// missing returns how many of evs were not handled yet.
func (r *recorder) missing(evs []cairn.Event) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range evs {
		if r.seen[ev.ID] == 0 {
			n++
		}
	}
	return n
}

func (r *recorder) owned(worker string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.owner {
		if o == worker {
			n++
		}
	}
	return n
}

// check fails t on any violation and on any two calls for one partition by
// different workers that overlapped in time.
func (r *recorder) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.violations {
		t.Error(v)
	}
	byP := map[int][]call{}
	for _, c := range r.calls {
		byP[c.p] = append(byP[c.p], c)
	}
	for p, cs := range byP {
		sort.Slice(cs, func(i, j int) bool { return cs[i].start.Before(cs[j].start) })
		lastEnd := map[string]time.Time{}
		for _, c := range cs {
			for w, end := range lastEnd {
				if w != c.worker && end.After(c.start) {
					t.Errorf("partition %d handled by %s and %s at overlapping times", p, w, c.worker)
				}
			}
			if c.end.After(lastEnd[c.worker]) {
				lastEnd[c.worker] = c.end
			}
		}
	}
}

func (r *recorder) handledBy(worker string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c.worker == worker {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startWorker runs Work in the background; the returned func cancels it
// and waits for it to return.
func startWorker(t *testing.T, b *bus.Bus, h bus.Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Work(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Work: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func publish(t *testing.T, b *bus.Bus, evs []cairn.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.Publish(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

func TestPartition(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		b := mustConnect(t, newRun(t, url), "w")
		fnv32 := func(s string) int {
			h := fnv.New32a()
			h.Write([]byte(s))
			return int(h.Sum32() % testPartitions)
		}
		runtime := &cairn.Event{Host: "web-1", Kind: cairn.KindExec}
		cloud := &cairn.Event{Host: "web-1", Kind: cairn.KindCloud,
			Cloud: &cairn.CloudCall{Identity: cairn.Identity{Key: "arn:aws:iam::1:role/admin"}}}
		if got, want := b.Partition(runtime), fnv32("web-1"); got != want {
			t.Errorf("runtime partition = %d, want %d", got, want)
		}
		if got, want := b.Partition(cloud), fnv32("arn:aws:iam::1:role/admin"); got != want {
			t.Errorf("cloud partition = %d, want %d", got, want)
		}
		// The 53 hosts and 37 identities of makeEvents spread over all
		// partitions, which the split tests rely on.
		used := map[int]bool{}
		for _, ev := range makeEvents("x", 200) {
			used[b.Partition(&ev)] = true
		}
		if len(used) != testPartitions {
			t.Errorf("events use %d partitions, want %d", len(used), testPartitions)
		}
	})
}

func TestTwoWorkersSplitPartitions(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := newRun(t, url)
		pub := mustConnect(t, cfg, "publisher")
		a, b := mustConnect(t, cfg, "a"), mustConnect(t, cfg, "b")
		r := newRecorder()
		startWorker(t, a, r.handler(a, "a"))
		startWorker(t, b, r.handler(b, "b"))
		waitFor(t, 10*testLease, "an even split", func() bool { return r.owned("a") == 8 && r.owned("b") == 8 })

		evs := makeEvents("split", 10000)
		publish(t, pub, evs)
		waitFor(t, 60*time.Second, "all events handled", func() bool { return r.missing(evs) == 0 })
		r.check(t)
		if r.handledBy("a") == 0 || r.handledBy("b") == 0 {
			t.Errorf("handle calls: a %d, b %d; want both > 0", r.handledBy("a"), r.handledBy("b"))
		}
		if got := r.owned("a") + r.owned("b"); got != testPartitions {
			t.Errorf("%d partitions owned, want %d", got, testPartitions)
		}
		waitFor(t, 10*time.Second, "an empty work queue", func() bool { return streamMsgs(t, cfg) == 0 })
	})
}

func TestCrashedWorkerIsTakenOver(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := newRun(t, url)
		pub := mustConnect(t, cfg, "publisher")
		a, b := mustConnect(t, cfg, "a"), mustConnect(t, cfg, "b")
		r := newRecorder()
		stopA := startWorker(t, a, r.handler(a, "a"))
		startWorker(t, b, r.handler(b, "b"))
		waitFor(t, 10*testLease, "an even split", func() bool { return r.owned("a") == 8 && r.owned("b") == 8 })

		first := makeEvents("before", 5000)
		publish(t, pub, first)
		waitFor(t, 60*time.Second, "events before the crash", func() bool { return r.missing(first) == 0 })

		// A crash: a's connection dies, so it can neither renew nor give
		// its leases up; then its goroutines are reaped.
		r.mu.Lock()
		var ofA []int
		for p, o := range r.owner {
			if o == "a" {
				ofA = append(ofA, p)
			}
		}
		r.mu.Unlock()
		crash := time.Now()
		a.Close()
		stopA()

		second := makeEvents("after", 5000)
		publish(t, pub, second)
		waitFor(t, 60*time.Second, "b to own every partition", func() bool { return r.owned("b") == testPartitions })
		waitFor(t, 60*time.Second, "events after the crash", func() bool { return r.missing(second) == 0 })
		r.check(t)
		r.mu.Lock()
		for _, p := range ofA {
			// a renewed at most a third of the lease before the crash, so
			// its leases lasted at least two thirds of it after.
			if d := r.acquiredAt[p].Sub(crash); d < testLease/2 {
				t.Errorf("partition %d taken over %v after the crash, before the lease could expire", p, d)
			}
		}
		r.mu.Unlock()
		if r.missing(first) != 0 {
			t.Error("events lost")
		}
	})
}

func TestHandlerErrorRedelivers(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := newRun(t, url)
		w := mustConnect(t, cfg, "w")
		r := newRecorder()
		evs := makeEvents("retry", 100)
		r.failOnce[evs[7].ID] = true
		publish(t, w, evs)
		startWorker(t, w, r.handler(w, "w"))
		waitFor(t, 30*time.Second, "all events handled", func() bool { return r.missing(evs) == 0 })
		r.check(t)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.seen[evs[7].ID+"#failed"] != 1 || r.seen[evs[7].ID] != 1 {
			t.Errorf("event %s: failed %d times, handled %d times; want 1 and 1",
				evs[7].ID, r.seen[evs[7].ID+"#failed"], r.seen[evs[7].ID])
		}
	})
}

func TestPublishDeduplicates(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := newRun(t, url)
		b := mustConnect(t, cfg, "w")
		evs := makeEvents("dup", 3)
		publish(t, b, evs)
		publish(t, b, evs[1:2])
		publish(t, b, []cairn.Event{evs[2], evs[2]})
		if got := streamMsgs(t, cfg); got != 3 {
			t.Errorf("stream holds %d messages, want 3", got)
		}
	})
}

func TestConnectRejectsBadWorkerID(t *testing.T) {
	_, err := bus.Connect(context.Background(), bus.Config{URL: "nats://127.0.0.1:1", WorkerID: "a.b"})
	if cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("err = %v, want an %s error", err, cairn.EINVALID)
	}
}

func streamMsgs(t *testing.T, cfg bus.Config) uint64 {
	t.Helper()
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
