package bus_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/bus"
)

// A worker taking a partition over from a dead one handles the dead one's
// unacknowledged events first, and the partition's events in the order
// they were published: a process tree or a correlation window sees them
// as a single worker would have.
func TestTakeoverKeepsOrder(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := newRun(t, url)
		cfg.Partitions = 1
		// An ack wait longer than the lease, as by default: without the
		// reset, b would get the later events before a's come again.
		cfg.AckWait = 30 * time.Second
		pub := mustConnect(t, cfg, "publisher")
		evs := makeEvents("order", 3000)
		publish(t, pub, evs)

		// a handles one batch, then hangs in the second without
		// acknowledging it, and dies.
		a := mustConnect(t, cfg, "a")
		hung := make(chan struct{})
		var aDone int
		handlerA := bus.Handler{Handle: func(ctx context.Context, p int, got []cairn.Event) error {
			if aDone == 0 {
				aDone = len(got)
				return nil
			}
			close(hung)
			<-ctx.Done()
			return ctx.Err()
		}}
		stopA := startWorker(t, a, handlerA)
		<-hung
		a.Close()
		stopA()

		b := mustConnect(t, cfg, "b")
		var mu sync.Mutex
		var order []int
		startWorker(t, b, bus.Handler{Handle: func(ctx context.Context, p int, got []cairn.Event) error {
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range got {
				i, _ := strconv.Atoi(strings.TrimPrefix(ev.ID, "order-"))
				order = append(order, i)
			}
			return nil
		}})
		waitFor(t, 30*time.Second, "the rest handled", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(order) >= len(evs)-aDone
		})
		mu.Lock()
		defer mu.Unlock()
		if len(order) != len(evs)-aDone {
			t.Fatalf("b handled %d events, want %d", len(order), len(evs)-aDone)
		}
		for k, i := range order {
			if i != aDone+k {
				t.Fatalf("b's event %d is #%d, want #%d (publish order from a's last acknowledged)", k, i, aDone+k)
			}
		}
	})
}

// A full backlog refuses new events with EUNAVAILABLE, and accepts them
// again once workers have handled some.
func TestFullBacklogIsUnavailable(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := newRun(t, url)
		cfg.MaxBacklog = 10
		b := mustConnect(t, cfg, "w")
		evs := makeEvents("full", 11)
		publish(t, b, evs[:10])
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := b.Publish(ctx, evs[10:])
		if cairn.ErrorCode(err) != cairn.EUNAVAILABLE {
			t.Fatalf("publish to a full backlog: %v, want an %s error", err, cairn.EUNAVAILABLE)
		}
		r := newRecorder()
		startWorker(t, b, r.handler(b, "w"))
		waitFor(t, 30*time.Second, "the backlog handled", func() bool { return r.missing(evs[:10]) == 0 })
		waitFor(t, 10*time.Second, "an empty work queue", func() bool { return streamMsgs(t, cfg) == 0 })
		publish(t, b, evs[10:])
	})
}

// Idle is called once a partition has been taken over and once its
// backlog has been handled, not while it stays empty.
func TestIdleAfterBacklog(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := newRun(t, url)
		cfg.Partitions = 1
		b := mustConnect(t, cfg, "w")
		var mu sync.Mutex
		handled, idles := 0, 0
		idleAt := -1
		startWorker(t, b, bus.Handler{
			Handle: func(ctx context.Context, p int, evs []cairn.Event) error {
				mu.Lock()
				defer mu.Unlock()
				handled += len(evs)
				return nil
			},
			Idle: func(ctx context.Context, p int) error {
				mu.Lock()
				defer mu.Unlock()
				idles++
				idleAt = handled
				return nil
			},
		})
		waitFor(t, 30*time.Second, "the idle call of the takeover", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return idles == 1
		})
		time.Sleep(2 * time.Second) // empty fetches: no more Idle
		mu.Lock()
		if idles != 1 || idleAt != 0 {
			t.Errorf("before any event: Idle called %d times, after %d events; want once, after 0", idles, idleAt)
		}
		mu.Unlock()
		evs := makeEvents("idle", 1200)
		publish(t, b, evs)
		waitFor(t, 30*time.Second, "an idle call", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return idles > 1
		})
		time.Sleep(2 * time.Second) // more empty fetches: no more Idle
		mu.Lock()
		defer mu.Unlock()
		if idles != 2 || idleAt != len(evs) {
			t.Errorf("Idle called %d times, last after %d events; want twice, the second after %d", idles, idleAt, len(evs))
		}
	})
}

// A bus that retains messages (Config.Retain) delivers a partition's
// retained messages again, in order, to the worker that takes it over:
// state kept nowhere else is rebuilt by replay.
func TestRetainedReplayOnTakeover(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := newRun(t, url)
		cfg.Partitions = 2
		cfg.Retain = time.Hour
		pub := mustConnect(t, cfg, "publisher")
		msgs := make([]bus.Message, 300)
		for i := range msgs {
			msgs[i] = bus.Message{ID: fmt.Sprintf("m-%d", i), Key: "group-1", Data: []byte(strconv.Itoa(i))}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := pub.PublishMessages(ctx, msgs[:200]); err != nil {
			t.Fatal(err)
		}
		if err := pub.PublishMessages(ctx, msgs[:10]); err != nil { // duplicates: stored once
			t.Fatal(err)
		}
		type got struct {
			mu  sync.Mutex
			ids []string
		}
		handler := func(g *got) bus.Handler {
			return bus.Handler{Messages: func(ctx context.Context, p int, ms []bus.Message) error {
				g.mu.Lock()
				defer g.mu.Unlock()
				for i, m := range ms {
					if string(m.Data) != strings.TrimPrefix(m.ID, "m-") {
						t.Errorf("message %d: id %q, data %q", i, m.ID, m.Data)
					}
					g.ids = append(g.ids, m.ID)
				}
				return nil
			}}
		}
		count := func(g *got) int { g.mu.Lock(); defer g.mu.Unlock(); return len(g.ids) }
		a := mustConnect(t, cfg, "a")
		var ga got
		stopA := startWorker(t, a, handler(&ga))
		waitFor(t, 30*time.Second, "a to handle 200", func() bool { return count(&ga) == 200 })
		waitFor(t, 10*time.Second, "nothing pending", func() bool {
			n, err := pub.Pending(ctx)
			return err == nil && n == 0
		})
		stopA()
		if err := pub.PublishMessages(ctx, msgs[200:]); err != nil {
			t.Fatal(err)
		}
		b := mustConnect(t, cfg, "b")
		var gb got
		startWorker(t, b, handler(&gb))
		waitFor(t, 30*time.Second, "b to handle all 300", func() bool { return count(&gb) == 300 })
		gb.mu.Lock()
		defer gb.mu.Unlock()
		for i, id := range gb.ids {
			if id != msgs[i].ID {
				t.Fatalf("b's message %d is %s, want %s (retained ones again, in order)", i, id, msgs[i].ID)
			}
		}
	})
}
