package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/follow"
	"github.com/cairn-cdr/cairn/health"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/metrics"
)

// livePipeline is what a live source (the host sensor, a followed file)
// needs to feed the store: the store, the rules (each source gets its own
// process table and detectors, since they keep state), source health,
// metrics and notifications.
type livePipeline struct {
	st           cairn.Store
	rs           ruleSets
	hm           *health.Monitor
	im           *metrics.Ingest
	onDetections func([]cairn.Detection)
	log          *slog.Logger
	// publish, if set, is the bus: events are published there, and
	// detect workers evaluate and store them.
	publish func(context.Context, []cairn.Event) error
}

// start makes a live ingest of its own for one source.
func (lp livePipeline) start(ctx context.Context) (*ingest.Live, error) {
	if lp.publish != nil {
		return ingest.NewLive(ctx, ingest.Options{Store: lp.st, Format: decode.Auto, Publish: lp.publish, Metrics: lp.im, Logger: lp.log}, 0)
	}
	dets, err := lp.rs.detectors()
	if err != nil {
		return nil, err
	}
	dets.other = append(dets.other, lp.hm)
	return ingest.NewLive(ctx, ingest.Options{Store: lp.st, Format: decode.Auto, Tree: ingest.NewTree(ctx, lp.st), Rules: dets.falco,
		Detectors: dets.other, Metrics: lp.im, OnDetections: lp.onDetections, Logger: lp.log}, 0)
}

// liveSink hands decoded records to a live ingest and dead-letters the
// rest.
type liveSink struct {
	ctx  context.Context
	live *ingest.Live
	dl   cairn.DeadLetterWriter
}

func (s liveSink) Event(ev cairn.Event) error { return s.live.Add(ev) }
func (s liveSink) Reject(d cairn.DeadLetter) error {
	return s.dl.WriteDeadLetters(s.ctx, []cairn.DeadLetter{d})
}

// startFollow follows the export files of paths (Tetragon or Falco NDJSON;
// globs allowed) like tail -F, through their own process table and
// detectors into the store, resuming from the checkpoints file after a
// restart; it returns what stops it.
func startFollow(ctx context.Context, e *env, paths []string, checkpoints string, lp livePipeline) (func(), error) {
	if len(paths) == 0 {
		return func() {}, nil
	}
	if checkpoints == "" {
		return nil, cairn.Errorf(cairn.EINVALID, "--follow needs --checkpoints FILE (where the followed files' positions are kept)")
	}
	fctx, cancel := context.WithCancel(ctx)
	live, err := lp.start(fctx)
	if err != nil {
		cancel()
		return nil, err
	}
	log := lp.log
	sink := liveSink{ctx: fctx, live: live, dl: lp.st}
	f := follow.New(follow.Options{Paths: paths, Checkpoints: checkpoints, Logger: log,
		Reject: func(origin string, off int64, line []byte, why error) error {
			return sink.Reject(cairn.DeadLetter{Origin: origin, Position: fmt.Sprintf("byte %d", off), Reason: why.Error(), Raw: bytes.Clone(line), Time: time.Now().UTC()})
		},
		// A checkpoint is saved only once what was read is stored.
		Commit: func(ctx context.Context) error {
			for live.Stats().Pending > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
			return nil
		}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := f.Run(fctx, func(origin string, line []byte) error {
			return decode.Decode(fctx, bytes.NewReader(bytes.Clone(line)), origin, decode.Auto, sink)
		})
		if err != nil && fctx.Err() == nil {
			log.Error("follow stopped", "err", err)
		}
	}()
	fmt.Fprintf(e.stdout, "following %d path(s), checkpoints in %s\n", len(paths), checkpoints)
	return func() {
		cancel()
		<-done
		live.Close()
	}, nil
}
