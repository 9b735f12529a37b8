package postgres_test

import (
	"testing"

	"github.com/cairn-cdr/cairn/internal/storetest"
)

// TestScanPartitionWhileWriting writes from another goroutine while a
// scan is open in fn: the write does not wait for the scan.
func TestScanPartitionWhileWriting(t *testing.T) {
	dsn := testDSN(t)
	storetest.ScanPartitionWhileWriting(t, mustOpen(t, dsn, freshSchema(t, dsn)))
}
