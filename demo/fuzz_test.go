package demo_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/demo"
)

// FuzzGenerate checks, for any seed and anchor, that the records are
// JSON, form consistent process trees and fall within the window.
func FuzzGenerate(f *testing.F) {
	f.Add(int64(1), int64(1795000000), int64(0))
	f.Add(int64(0), int64(0), int64(999999999))
	f.Add(int64(-7), int64(4102444800), int64(123))
	f.Add(int64(9223372036854775807), int64(1262304000), int64(500000000))
	f.Fuzz(func(t *testing.T, seed, sec, nsec int64) {
		if sec < 0 {
			sec = -sec
		}
		now := time.Unix(sec%8_000_000_000, nsec%1_000_000_000).UTC() // 1970 to 2223
		s, err := demo.Generate(demo.Options{Seed: seed, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range checkProcessTrees(s) {
			t.Error(e)
		}
		start := now.Add(-demo.Window)
		for i, raw := range s.Tetragon {
			var r struct {
				Time time.Time `json:"time"`
			}
			if err := json.Unmarshal(raw, &r); err != nil || r.Time.Before(start) || !r.Time.Before(now) {
				t.Fatalf("Tetragon record %d at %v (window [%v, %v)): %v", i, r.Time, start, now, err)
			}
		}
		for i, raw := range s.CloudTrail {
			var r struct {
				EventTime time.Time `json:"eventTime"`
			}
			if err := json.Unmarshal(raw, &r); err != nil || r.EventTime.Before(start.Truncate(time.Second)) || !r.EventTime.Before(now) {
				t.Fatalf("CloudTrail record %d at %v (window [%v, %v)): %v", i, r.EventTime, start, now, err)
			}
		}
	})
}
