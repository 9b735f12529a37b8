package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/field"
)

// TestStratusTactics ingests each Stratus Red Team detonation log (one
// technique per file, named aws.<tactic>.<technique>.json) with cairn's
// default rules and analytics, and wants a detection of the file's
// tactic.
func TestStratusTactics(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "cloudtrail", "stratus")
	files, _ := filepath.Glob(filepath.Join(dir, "aws.*.json"))
	if len(files) == 0 {
		t.Skipf("Stratus Red Team logs not found at %s (../shared/corpus)", dir)
	}
	covered := 0
	for _, f := range files {
		tactic := strings.Split(filepath.Base(f), ".")[1]
		want, ok := attack.TacticByName(tactic)
		if !ok {
			t.Fatalf("%s: unknown tactic %q", f, tactic)
		}
		db := filepath.Join(t.TempDir(), "s.db")
		if code, _, errs := cli(t, "", "ingest", "--db", db, f); code != 0 {
			t.Fatalf("ingest %s: %s", f, errs)
		}
		_, out, _ := cli(t, "", "detections", "--db", db, "-o", "json")
		var ds []cairn.Detection
		if err := json.Unmarshal([]byte(out), &ds); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(ds, func(d cairn.Detection) bool { return slices.Contains(d.Tactics, want.ID) }) {
			covered++
		} else {
			var rules []string
			for _, d := range ds {
				rules = append(rules, d.Rule)
			}
			t.Errorf("%s: no detection of tactic %s (%s); detections: %v", filepath.Base(f), tactic, want.ID, rules)
		}
	}
	t.Logf("%d of %d Stratus detonations raise a detection of their tactic", covered, len(files))
}

// TestTrailDiscoverNoise: TrailDiscover's real example records (almost
// all refused attempts) raise no high or critical detection.
func TestTrailDiscoverNoise(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "cloudtrail", "traildiscover", "logExamples")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("TrailDiscover examples not found at %s (../shared/corpus): %v", dir, err)
	}
	db := filepath.Join(t.TempDir(), "td.db")
	if code, _, errs := cli(t, "", "ingest", "--db", db, dir); code != 0 && code != exitPartial {
		t.Fatalf("ingest: %d %s", code, errs)
	}
	all := detectionsJSON(t, db, "")
	high := detectionsJSON(t, db, "severity >= high")
	for _, d := range high {
		t.Errorf("%s (%s): %s", d.Rule, field.SeverityName(d.Severity), d.Output)
	}
	if len(all) == 0 {
		t.Error("no detection at all: the refused attempts should raise medium ones")
	}
	t.Logf("%d detection groups, %d high or critical", len(all), len(high))
}
