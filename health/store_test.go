package health_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/health"
	"github.com/cairn-cdr/cairn/sqlite"
)

// TestStoredOnce writes the detections of repeated checks the way cairn
// serve does and finds each silence episode stored once, without events.
func TestStoredOnce(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, c := newMonitor(t, health.Options{})
	m.Observe(trail("111122223333", t0))
	var ids []string
	for range 3 {
		c.advance(20 * time.Minute)
		ds := m.Check()
		if err := st.WriteDetections(ctx, ds, nil); err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
	}
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Fatalf("checks at 20m, 40m, 60m gave %v, want the same id at 40m and 60m", ids)
	}
	page, err := st.QueryDetections(ctx, cairn.DetectionQuery{Filter: `rule.name = "Audit Trail Went Silent"`})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Detections) != 1 {
		t.Fatalf("stored %d detections, want 1: %+v", len(page.Detections), page.Detections)
	}
	d := page.Detections[0]
	if d.ID == "" || d.Count != 1 || len(d.EventIDs) != 0 || d.Severity != 3 || d.Source != "cairn/health" {
		t.Errorf("stored %+v", d)
	}
	if got, err := st.GetDetection(ctx, ids[0]); err != nil || got.Rule != health.RuleTrailSilent {
		t.Errorf("GetDetection(%s) = %+v, %v", ids[0], got, err)
	}
}
