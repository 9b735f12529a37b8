package bus

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairn-cdr/cairn"
)

// fetchBatch is the most messages one Handle call receives.
const fetchBatch = 500

// Handler is what a detect worker does with the partitions it owns.
type Handler struct {
	// OnAcquire is called when the worker takes a partition over, before
	// any of its events is handled: the place to rebuild the partition's
	// state. An error gives the partition up again. Nil means nothing.
	OnAcquire func(ctx context.Context, partition int) error
	// OnRelease is called after the worker stopped handling a partition
	// (given up, lost or at shutdown). Nil means nothing.
	OnRelease func(partition int)
	// Handle handles a batch of one partition's events, in the order they
	// were published (a partition taken over starts again from its oldest
	// unacknowledged event). The batch is acknowledged
	// only when it returns nil; otherwise it is delivered again after
	// Config.RetryDelay. Events may come more than once, so what it stores
	// must be keyed by event id. It should return well within a third of
	// the lease.
	Handle func(ctx context.Context, partition int, evs []cairn.Event) error
	// Messages, set instead of Handle, handles a batch of messages of a
	// bus that carries something else than events, with Handle's
	// guarantees.
	Messages func(ctx context.Context, partition int, msgs []Message) error
	// Idle, if set, is called when the partition's backlog has been
	// handled (a fetch found nothing new after some events, or after the
	// partition was taken over): the end of an input, when windows held
	// open for late events can be decided.
	// An error is logged and Idle is called again at the next idle.
	Idle func(ctx context.Context, partition int) error
}

// lease is one partition this worker owns.
type lease struct {
	p   int
	rev uint64 // the lease entry's revision, for revision-checked renewal
	// renewed is when the last successful renewal was sent (UnixNano):
	// the entry cannot expire before renewed+Lease.
	renewed atomic.Int64
	cancel  context.CancelFunc
	done    chan struct{}
}

// Work consumes the partitions this worker can own until ctx is done, then
// stops consuming and gives its partitions up so that other workers take
// them over at once. It takes a fair share of the partitions (ceil of
// partitions over live workers, live meaning a heartbeat entry in the lease
// bucket), renews its leases every third of the lease, and stops consuming
// a partition whose lease it could not renew for two thirds of the lease,
// before another worker can take it. Call it once per Bus: the worker id
// is the Bus's.
func (b *Bus) Work(ctx context.Context, h Handler) error {
	if (h.Handle == nil) == (h.Messages == nil) {
		return cairn.Errorf(cairn.EINVALID, "bus: give a handler of events or of messages")
	}
	w := &worker{b: b, h: h, owned: map[int]*lease{}}
	tick := time.NewTicker(b.cfg.Lease / 3)
	defer tick.Stop()
	for {
		w.round(ctx)
		select {
		case <-ctx.Done():
			w.shutdown()
			return nil
		case <-tick.C:
		}
	}
}

type worker struct {
	b     *Bus
	h     Handler
	owned map[int]*lease
}

func (w *worker) leaseKey(p int) string { return "partition." + strconv.Itoa(p) }
func (w *worker) heartbeatKey() string  { return "worker." + w.b.cfg.WorkerID }

// opCtx bounds one key-value request, so that a hung server cannot hold
// the renewal loop past the point where leases must be given up.
func (w *worker) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, w.b.cfg.Lease/3)
}

// round is one turn of the lease loop: heartbeat, renew, rebalance.
func (w *worker) round(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	log := w.b.log
	octx, cancel := w.opCtx(ctx)
	_, err := w.b.kv.PutString(octx, w.heartbeatKey(), w.b.cfg.WorkerID)
	cancel()
	if err != nil {
		log.Warn("bus: heartbeat failed", "err", err)
	}
	w.renew(ctx)
	live := w.liveWorkers(ctx)
	n := w.b.cfg.Partitions
	share := (n + live - 1) / live
	log.Debug("bus: round", "worker", w.b.cfg.WorkerID, "live", live, "share", share, "owned", len(w.owned))
	// Give up the partitions above the fair share, so a worker that just
	// joined finds some free.
	if extra := len(w.owned) - share; extra > 0 {
		ps := w.ownedSorted()
		for _, p := range ps[len(ps)-extra:] {
			w.release(w.owned[p])
		}
	}
	// Start from a worker-specific partition so that workers starting
	// together do not all race for the same ones.
	start := int(cairn.KeyHash(w.b.cfg.WorkerID) % uint32(n))
	for i := 0; i < n && len(w.owned) < share && ctx.Err() == nil; i++ {
		p := (start + i) % n
		if _, ok := w.owned[p]; ok {
			continue
		}
		w.acquire(ctx, p)
	}
}

// renew renews every lease and stops consuming those that are lost or
// about to expire.
func (w *worker) renew(ctx context.Context) {
	for _, p := range w.ownedSorted() {
		l := w.owned[p]
		select {
		case <-l.done: // consumption ended (OnAcquire failed): give it up
			w.release(l)
			continue
		default:
		}
		sent := time.Now()
		octx, cancel := w.opCtx(ctx)
		rev, err := w.b.kv.Update(octx, w.leaseKey(p), []byte(w.b.cfg.WorkerID), l.rev)
		cancel()
		switch {
		case err == nil:
			l.rev = rev
			l.renewed.Store(sent.UnixNano())
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound):
			w.b.log.Warn("bus: lease lost", "partition", p, "err", err)
			w.stop(l)
		default:
			w.b.log.Warn("bus: lease renewal failed", "partition", p, "err", err)
			if !w.valid(l) {
				w.stop(l)
			}
		}
	}
}

// liveWorkers counts the workers with a heartbeat, at least this one.
func (w *worker) liveWorkers(ctx context.Context) int {
	octx, cancel := w.opCtx(ctx)
	defer cancel()
	// The bucket holds a key per partition and per worker: listing it
	// whole is cheap, and works on servers before 2.10, which cannot
	// filter a consumer by several subjects.
	lister, err := w.b.kv.ListKeys(octx)
	if err != nil {
		return 1
	}
	live := 0
	for k := range lister.Keys() {
		if strings.HasPrefix(k, "worker.") {
			live++
		}
	}
	return max(live, 1)
}

func (w *worker) acquire(ctx context.Context, p int) {
	sent := time.Now()
	octx, cancel := w.opCtx(ctx)
	rev, err := w.b.kv.Create(octx, w.leaseKey(p), []byte(w.b.cfg.WorkerID))
	cancel()
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			w.b.log.Warn("bus: acquire failed", "partition", p, "err", err)
		} else {
			w.b.log.Debug("bus: partition taken", "partition", p, "err", err)
		}
		return
	}
	l := &lease{p: p, rev: rev, done: make(chan struct{})}
	l.renewed.Store(sent.UnixNano())
	pctx, pcancel := context.WithCancel(ctx)
	l.cancel = pcancel
	w.owned[p] = l
	go w.consume(pctx, l)
}

// valid reports whether l may still be consumed: it was renewed within two
// thirds of the lease, a third before anyone else could take it.
func (w *worker) valid(l *lease) bool {
	return time.Since(time.Unix(0, l.renewed.Load())) < w.b.cfg.Lease*2/3
}

// stop stops consuming l and forgets it without touching its entry.
func (w *worker) stop(l *lease) {
	w.b.log.Debug("bus: stop", "worker", w.b.cfg.WorkerID, "partition", l.p)
	l.cancel()
	<-l.done
	delete(w.owned, l.p)
}

// release stops consuming l and deletes its entry if it is still ours.
func (w *worker) release(l *lease) {
	w.stop(l)
	ctx, cancel := context.WithTimeout(context.Background(), w.b.cfg.Lease/3)
	defer cancel()
	err := w.b.kv.Delete(ctx, w.leaseKey(l.p), jetstream.LastRevision(l.rev))
	if err != nil {
		w.b.log.Warn("bus: release failed", "partition", l.p, "err", err)
	}
}

func (w *worker) shutdown() {
	for _, p := range w.ownedSorted() {
		w.release(w.owned[p])
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.b.cfg.Lease/3)
	defer cancel()
	_ = w.b.kv.Delete(ctx, w.heartbeatKey())
}

func (w *worker) ownedSorted() []int {
	ps := make([]int, 0, len(w.owned))
	for p := range w.owned {
		ps = append(ps, p)
	}
	sort.Ints(ps)
	return ps
}

// consume handles partition l.p until ctx is done or the lease is no
// longer valid.
func (w *worker) consume(ctx context.Context, l *lease) {
	defer close(l.done)
	log := w.b.log.With("partition", l.p)
	cons, err := w.b.resetConsumer(ctx, l.p)
	if err != nil {
		log.Error("bus: consumer", "err", err)
		return
	}
	if w.h.OnAcquire != nil {
		if err := w.h.OnAcquire(ctx, l.p); err != nil {
			log.Error("bus: acquire hook failed", "err", err)
			return
		}
	}
	if w.h.OnRelease != nil {
		defer w.h.OnRelease(l.p)
	}
	wait := min(w.b.cfg.Lease/4, time.Second)
	// busy: events handled since the last Idle. A partition just taken
	// over counts as busy: the state OnAcquire rebuilt may hold windows
	// that its last owner would have decided at its next idle.
	busy := true
	for ctx.Err() == nil && w.valid(l) {
		// A fetch bound to ctx ends as soon as the partition is stopped;
		// FetchMaxWait alone would outlive a dead connection by a second.
		fctx, fcancel := context.WithTimeout(ctx, wait)
		batch, err := cons.Fetch(fetchBatch, jetstream.FetchContext(fctx))
		if err != nil {
			fcancel()
			log.Warn("bus: fetch failed", "err", err)
			sleep(ctx, w.b.cfg.RetryDelay)
			continue
		}
		var msgs []jetstream.Msg
		var evs []cairn.Event
		var raw []Message
		for m := range batch.Messages() {
			if w.h.Messages != nil {
				msgs = append(msgs, m)
				raw = append(raw, Message{ID: m.Headers().Get(jetstream.MsgIDHeader), Data: m.Data()})
				continue
			}
			var ev cairn.Event
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				// Redelivering a record that cannot be decoded would
				// block nothing but help nothing either.
				log.Error("bus: undecodable event dropped", "err", err)
				_ = m.Term()
				continue
			}
			msgs = append(msgs, m)
			evs = append(evs, ev)
		}
		fcancel()
		if len(msgs) == 0 {
			if busy && w.h.Idle != nil && ctx.Err() == nil && w.valid(l) {
				if err := w.h.Idle(ctx, l.p); err != nil {
					log.Warn("bus: idle hook failed", "err", err)
				} else {
					busy = false
				}
			}
			continue
		}
		if !w.valid(l) || ctx.Err() != nil {
			return // unacknowledged: redelivered after AckWait
		}
		if w.h.Messages != nil {
			err = w.h.Messages(ctx, l.p, raw)
		} else {
			err = w.h.Handle(ctx, l.p, evs)
		}
		if err != nil {
			log.Warn("bus: handler failed, batch will be redelivered", "err", err, "messages", len(msgs))
			for _, m := range msgs {
				_ = m.NakWithDelay(w.b.cfg.RetryDelay)
			}
			continue
		}
		if !w.valid(l) {
			return
		}
		for _, m := range msgs {
			_ = m.Ack()
		}
		busy = true
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
