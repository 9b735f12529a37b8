package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// TestDetectionEventIDsCapped keeps a group's oldest event ids, at most
// sqlite.MaxGroupEventIDs of them, while its count goes on.
func TestDetectionEventIDsCapped(t *testing.T) {
	s := mustOpen(t, sqlite.Memory)
	const n = sqlite.MaxGroupEventIDs + 20
	var ds []cairn.Detection
	for i := range n {
		ds = append(ds, cairn.Detection{ID: fmt.Sprintf("hit-%d", i), Rule: "r", Output: "o",
			Time: storetest.Base.Add(time.Duration(i) * time.Second), EventIDs: []string{fmt.Sprintf("ev-%d", i)}})
	}
	storetest.MustWriteDetections(t, s, nil, ds...)
	page := storetest.MustQueryDetections(t, s, cairn.DetectionQuery{})
	if len(page.Detections) != 1 {
		t.Fatalf("got %d groups, want 1", len(page.Detections))
	}
	d := page.Detections[0]
	if d.Count != n || len(d.EventIDs) != sqlite.MaxGroupEventIDs || d.EventIDs[0] != "ev-0" ||
		d.EventIDs[len(d.EventIDs)-1] != fmt.Sprintf("ev-%d", sqlite.MaxGroupEventIDs-1) {
		t.Errorf("count %d, %d event ids from %q to %q", d.Count, len(d.EventIDs), d.EventIDs[0], d.EventIDs[len(d.EventIDs)-1])
	}
	if !d.LastTime.Equal(ds[n-1].Time) {
		t.Errorf("last time %v, want %v", d.LastTime, ds[n-1].Time)
	}
}

// TestDetectionHostileText stores detections whose text is not valid
// UTF-8 or looks like SQL and JSON, and finds them by filter.
func TestDetectionHostileText(t *testing.T) {
	s := mustOpen(t, sqlite.Memory)
	ctx := context.Background()
	rules := []string{"shell\xff\xfe", `x'); DROP TABLE detections; --`, `{"a":1}`, "\x00nul"}
	for i, r := range rules {
		d := cairn.Detection{ID: fmt.Sprintf("h%d", i), Rule: r, Output: r, Tags: []string{r},
			Entities: cairn.Entities{Pod: r}, EventIDs: []string{r}}
		if err := s.WriteDetections(ctx, []cairn.Detection{d}, nil); err != nil {
			t.Fatalf("rule %q: %v", r, err)
		}
	}
	page := storetest.MustQueryDetections(t, s, cairn.DetectionQuery{Filter: `rule.name contains "DROP TABLE"`})
	if len(page.Detections) != 1 || page.Detections[0].Rule != rules[1] {
		t.Errorf("got %+v, want the rule %q", page.Detections, rules[1])
	}
	page = storetest.MustQueryDetections(t, s, cairn.DetectionQuery{Filter: `json.value[/a] exists`})
	if len(page.Detections) != 0 {
		t.Errorf("json.value matched %d detections, want none (they have no raw record)", len(page.Detections))
	}
	page = storetest.MustQueryDetections(t, s, cairn.DetectionQuery{})
	if len(page.Detections) != len(rules) {
		t.Errorf("got %d detections, want %d", len(page.Detections), len(rules))
	}
}
