package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// TestPartitionPlans checks that the partition reads walk events_time in
// the order asked instead of sorting the table.
func TestPartitionPlans(t *testing.T) {
	s := mustOpen(t, sqlite.Memory)
	storetest.MustWrite(t, s, storetest.Mixed(200, storetest.Base)...)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"latest":       {sqlite.LatestPartitionSQL, []any{4, 1}},
		"scan":         {sqlite.ScanPartitionSQL, []any{int64(0), 4, 1, nil, nil}},
		"scan-sources": {sqlite.ScanPartitionSQL, []any{int64(0), 4, 1, `["cloudtrail"]`, `["cloudtrail"]`}},
	} {
		plan, err := sqlite.Plan(s, q.sql, q.args...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "INDEX events_time") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: plan does not walk events_time in order:\n%s", name, plan)
		}
	}
}

// TestScanPartitionWhileWriting writes from another goroutine while a
// scan of a file database is open in fn: the write does not wait for the
// scan.
func TestScanPartitionWhileWriting(t *testing.T) {
	storetest.ScanPartitionWhileWriting(t, mustOpen(t, filepath.Join(t.TempDir(), "cairn.db")))
}

// TestPartitionOfOldEvents checks that events stored before the part
// column existed (part NULL) are in no partition and break nothing.
func TestPartitionOfOldEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cairn.db")
	s := mustOpen(t, path)
	storetest.MustWrite(t, s, storetest.Tetragon(1, storetest.Base), storetest.CloudTrail(2, storetest.Base.Add(time.Second)))
	db := rawDB(t, path)
	if _, err := db.Exec(`UPDATE events SET part = NULL WHERE id = ?`, storetest.CloudTrail(2, storetest.Base).ID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ctx := context.Background()
	at, err := s.LatestPartitionTime(ctx, 1, 0)
	if err != nil || !at.Equal(storetest.Base) {
		t.Errorf("LatestPartitionTime = %v, %v; want %v, the time of the one event with a part", at, err, storetest.Base)
	}
	var got []string
	if err := s.ScanPartition(ctx, cairn.PartitionScan{Parts: 1}, func(ev cairn.Event) error {
		got = append(got, ev.ID)
		return nil
	}); err != nil || len(got) != 1 || got[0] != storetest.Tetragon(1, storetest.Base).ID {
		t.Errorf("ScanPartition = %v, %v; want the one event with a part", got, err)
	}
}
