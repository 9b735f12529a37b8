package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
)

// TestScanPartitionWhileWriting writes from another goroutine while a
// scan is open in fn: the write does not wait for the scan.
func TestScanPartitionWhileWriting(t *testing.T) {
	dsn := testDSN(t)
	s := mustOpen(t, dsn, freshSchema(t, dsn))
	ctx := context.Background()
	storetest.MustWrite(t, s, storetest.Mixed(20, storetest.Base)...)
	calls := 0
	err := s.ScanPartition(ctx, 1, 0, time.Time{}, func(cairn.Event) error {
		calls++
		if calls > 1 {
			return nil
		}
		done := make(chan error, 1)
		go func() {
			_, err := s.WriteEvents(ctx, []cairn.Event{storetest.Tetragon(1000, storetest.Base.Add(time.Hour))})
			done <- err
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			return errors.New("a write waited for an open partition scan")
		}
	})
	if err != nil || calls != 20 {
		t.Fatalf("ScanPartition: %v after %d events, want 20", err, calls)
	}
	if at, err := s.LatestPartitionTime(ctx, 1, 0); err != nil || !at.Equal(storetest.Base.Add(time.Hour)) {
		t.Errorf("LatestPartitionTime after the write = %v, %v", at, err)
	}
}
