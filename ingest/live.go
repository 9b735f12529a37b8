package ingest

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-cdr/cairn"
)

// DefaultMaxDelay is how long an event waits for its batch when NewLive
// is given none: well inside the second in which a record must become a
// visible detection, long enough that a busy source fills batches.
const DefaultMaxDelay = 200 * time.Millisecond

// liveQueue is how many batches Live lets wait for the writer. Fewer than
// Run's: a live source is never ahead of the store by more than its
// back-pressure allows, and what waits in memory is lost if the host dies.
const liveQueue = 2

// Live ingests the events of a live source (the host sensor) as they come:
// a batch is written when BatchSize events are pending or the oldest
// pending event has waited maxDelay, so that an event is stored and
// evaluated within a fraction of a second even when the source is quiet.
// Events go through Run's path: the process table, Rules, Detectors,
// exceptions, OnDetections and Metrics.
//
// One goroutine owns the sink (which is not safe for concurrent use): Add
// hands it events through a bounded channel, so a store that falls behind
// blocks Add instead of growing memory.
type Live struct {
	ctx      context.Context
	maxDelay time.Duration
	batch    int
	bound    int
	in       chan liveEvent
	// done is closed when the owning goroutine has ended (Close, ctx
	// ended or the store failed); err is then its error.
	done chan struct{}
	err  error
	s    *sink
	rep  *Report

	// mu makes Close wait for the Adds in flight before it closes in:
	// Add holds it shared while it sends.
	mu     sync.RWMutex
	closed bool

	added, stored, written atomic.Int64
}

type liveEvent struct {
	ev cairn.Event
	at time.Time
}

// LiveStats says how far a Live ingest has got.
type LiveStats struct {
	// Added counts the events Add accepted.
	Added int64
	// Written counts the batches stored.
	Written int64
	// Pending counts the events accepted and not yet through the writer.
	Pending int64
	// Bound is the most events that can be pending: Add blocks beyond
	// it.
	Bound int64
}

// NewLive starts a live ingest into opts.Store; maxDelay 0 means
// DefaultMaxDelay. Opts's Progress is not used. It ends when Close is
// called or ctx ends.
func NewLive(ctx context.Context, opts Options, maxDelay time.Duration) (*Live, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, _, err := newSink(ctx, opts, log, liveQueue)
	if err != nil {
		return nil, err
	}
	l := &Live{
		ctx:      ctx,
		maxDelay: maxDelay,
		batch:    opts.BatchSize,
		// The channel, the batch the sink fills, the one it is handing
		// over, those waiting for the writer and the one being written.
		bound: opts.BatchSize * (3 + liveQueue),
		in:    make(chan liveEvent, opts.BatchSize),
		done:  make(chan struct{}),
		s:     s,
		rep:   s.rep,
	}
	s.w.written = func(b batch, ok bool) {
		l.stored.Add(int64(len(b.events)))
		if ok {
			l.written.Add(1)
		}
	}
	go l.run()
	return l, nil
}

// Add hands ev to the ingest. It blocks while the store is behind, and
// returns ctx's error when ctx ends, the store's when it failed, and
// EINVALID after Close. Adds from one goroutine are processed in order.
func (l *Live) Add(ev cairn.Event) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return cairn.Errorf(cairn.EINVALID, "live ingest closed")
	}
	select {
	case <-l.done:
		return l.stopped()
	default:
	}
	select {
	case l.in <- liveEvent{ev: ev, at: time.Now()}:
		l.added.Add(1)
		return nil
	case <-l.done:
		return l.stopped()
	case <-l.ctx.Done():
		return l.ctx.Err()
	}
}

// stopped is the error Add returns once the owning goroutine has ended
// before Close.
func (l *Live) stopped() error {
	if l.err != nil {
		return l.err
	}
	return cairn.Errorf(cairn.EINVALID, "live ingest closed")
}

// Close stores what is pending, flushes the Flusher detectors, waits for
// the writer and returns the report. It returns ctx's error if ctx ended
// first (what was pending then may not be stored) and the store's if it
// failed. Calling it again returns the same.
func (l *Live) Close() (*Report, error) {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.in)
	}
	l.mu.Unlock()
	<-l.done
	return l.rep, l.err
}

// Stats returns the counts so far; it is cheap enough to call often.
func (l *Live) Stats() LiveStats {
	added, stored := l.added.Load(), l.stored.Load()
	// stored can run ahead of added for the moment between an event's
	// send and its count.
	return LiveStats{Added: added, Written: l.written.Load(), Pending: max(added-stored, 0), Bound: int64(l.bound)}
}

// run owns the sink: it feeds it the events in the order Add sent them
// and flushes the batch when it is full (the sink does) or its oldest
// event has waited maxDelay.
func (l *Live) run() {
	defer close(l.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	// take gives one event to the sink and keeps the timer on the oldest
	// pending event.
	take := func(it liveEvent) error {
		first := len(l.s.events) == 0
		if err := l.s.Event(it.ev); err != nil {
			return err
		}
		switch {
		case len(l.s.events) == 0 && armed:
			timer.Stop()
			armed = false
		case first && len(l.s.events) > 0:
			timer.Reset(time.Until(it.at.Add(l.maxDelay)))
			armed = true
		}
		return nil
	}
	var err error
loop:
	for {
		select {
		case it, ok := <-l.in:
			if !ok {
				break loop
			}
			err = take(it)
		case <-timer.C:
			armed = false
			// What has already arrived goes in this batch: when the
			// store is behind, events wait in the channel past their
			// deadline, and flushing them one at a time would slow the
			// store further.
			for n := len(l.s.events); n < l.batch && err == nil; n++ {
				it, ok := l.ready()
				if !ok {
					break
				}
				err = take(it)
			}
			if err == nil {
				err = l.s.flush()
				if armed {
					timer.Stop()
					armed = false
				}
			}
		case <-l.ctx.Done():
			err = l.ctx.Err()
		}
		if err != nil {
			break
		}
	}
	timer.Stop()
	if endErr := l.s.end(); err == nil {
		err = endErr
	}
	if err == nil {
		err = l.ctx.Err()
	}
	l.err = err
}

// ready returns an event already waiting in the channel, if there is one.
func (l *Live) ready() (liveEvent, bool) {
	select {
	case it, ok := <-l.in:
		return it, ok
	default:
		return liveEvent{}, false
	}
}
