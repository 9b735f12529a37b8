package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/internal/atomicfile"
)

// watchInterval is how often watched directories are listed (tests
// shorten it).
var watchInterval = 10 * time.Second

// watchedState is what a directory watcher has read: each file by path
// with the size it had, kept in a JSON file beside the follow checkpoints.
type watchedState map[string]int64

func loadWatched(path string) (watchedState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return watchedState{}, nil
	}
	if err != nil {
		return nil, err
	}
	st := watchedState{}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, cairn.Errorf(cairn.EINVALID, "%s: %v", path, err)
	}
	return st, nil
}

func saveWatched(path string, st watchedState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}

// startWatchDirs polls directories (CloudTrail's delivery layout, or any
// tree of record files) every interval and ingests each new file once,
// through ingestFn, remembering what it read in statePath so that a
// restart reads only what arrived since. A file that grew is read again
// (ids make that harmless). It returns what stops it.
func startWatchDirs(ctx context.Context, e *env, dirs []string, statePath string, interval time.Duration,
	ingestFn func(context.Context, []ingest.Input, decode.Format) (*ingest.Report, error), log *slog.Logger) (func(), error) {
	if len(dirs) == 0 {
		return func() {}, nil
	}
	if statePath == "" {
		return nil, cairn.Errorf(cairn.EINVALID, "--watch needs --checkpoints FILE (where what was read is kept)")
	}
	statePath = statePath + ".dirs"
	seen, err := loadWatched(statePath)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if info, err := os.Stat(d); err != nil || !info.IsDir() {
			return nil, cairn.Errorf(cairn.EINVALID, "--watch %s: not a directory", d)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	poll := func() {
		inputs, err := ingest.Expand(dirs, nil)
		if err != nil {
			log.Error("watch", "err", err)
			return
		}
		var fresh []ingest.Input
		for _, in := range inputs {
			if size, ok := seen[in.Origin]; !ok || size != in.Size {
				fresh = append(fresh, in)
			}
		}
		if len(fresh) == 0 {
			return
		}
		rep, err := ingestFn(wctx, fresh, decode.Auto)
		if err != nil {
			if wctx.Err() == nil {
				log.Error("watch: ingest", "err", err)
			}
			return
		}
		failed := map[string]bool{}
		for _, f := range rep.Failures {
			failed[f.Origin] = true
		}
		for _, in := range fresh {
			if !failed[in.Origin] {
				seen[in.Origin] = in.Size
			}
		}
		if err := saveWatched(statePath, seen); err != nil {
			log.Error("watch: state", "err", err)
		}
		log.Info("watch: read new files", "files", len(fresh), "events", rep.Accepted, "rejected", rep.Rejected)
	}
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			poll()
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	fmt.Fprintf(e.stdout, "watching %d directory(ies) for new files\n", len(dirs))
	return func() { cancel(); <-done }, nil
}
