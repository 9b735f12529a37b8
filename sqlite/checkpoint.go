package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"
)

// checkpointEvery is the number of events written between two background
// checkpoints: about 25 MB of WAL.
const checkpointEvery = 4096

// checkpointer copies the WAL into the database file on its own
// connection, so that writers do not pay for it in their commits (a
// PASSIVE checkpoint never blocks them). The writer connection keeps an
// automatic checkpoint at a much larger WAL size as a safety net.
type checkpointer struct {
	db      *sql.DB
	pending atomic.Int64
	kick    chan struct{}
	done    chan struct{}
}

func startCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for range c.kick {
			// A failed checkpoint leaves the WAL longer; the next one,
			// or the writer's own, catches up.
			if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
				log.Warn("background checkpoint failed", logKeyError, err)
			}
		}
	}()
	return c
}

// wrote counts n events written and starts a checkpoint every
// checkpointEvery events.
func (c *checkpointer) wrote(n int) {
	if c == nil || n == 0 {
		return
	}
	if c.pending.Add(int64(n)) >= checkpointEvery {
		c.pending.Store(0)
		select {
		case c.kick <- struct{}{}:
		default: // one is already running or queued
		}
	}
}

// close stops the checkpointer and waits for a running checkpoint.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.kick)
	<-c.done
	return c.db.Close()
}

// wrote tells the checkpointer about n new events.
func (s *Store) wrote(n int) { s.ckpt.wrote(n) }
