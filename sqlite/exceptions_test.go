package sqlite

// These tests sit inside the package: they read the plan of ruleHitsSQL
// and write to the database behind the store's back.

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
)

// openStore opens a store at path and closes it when the test ends.
func openStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestAuditAppendOnly changes and deletes audit entries with plain SQL on
// a connection of its own: the database refuses, and the log is intact.
func TestAuditAppendOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cairn.db")
	s := openStore(t, path)
	x := cairn.Exception{ID: "x-1", Rule: "r", Fields: []string{"proc.name"}, Comps: []string{"="},
		Values: [][]string{{"bash"}}, Created: storetest.Base}
	if err := s.AddException(ctx, x, cairn.AuditEntry{Actor: "alice", Action: "exception.add"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, cairn.AuditEntry{Actor: "bob", Action: "rule.disable", Object: "r"}); err != nil {
		t.Fatal(err)
	}
	before := storetest.MustAudit(t, s)

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tt := range []struct{ stmt, want string }{
		{`UPDATE audit SET actor = 'mallory' WHERE seq = 1`, "append-only"},
		{`UPDATE audit SET detail = NULL`, "append-only"},
		{`DELETE FROM audit WHERE seq = 1`, "append-only"},
		{`DELETE FROM audit`, "append-only"},
		{`INSERT OR REPLACE INTO audit (seq, time, actor, action, object) VALUES (1, 0, 'mallory', 'x', 'y')`, "append-only"},
		{`INSERT INTO audit (seq, time, actor, action, object) VALUES (1, 0, 'mallory', 'x', 'y')
ON CONFLICT (seq) DO UPDATE SET actor = excluded.actor`, "append-only"},
		{`INSERT INTO audit (seq, time, actor, action, object) VALUES (0, 0, 'mallory', 'x', 'y')`, "CHECK"},
		{`INSERT INTO audit (seq, time, actor, action, object) VALUES (-1, 0, 'mallory', 'x', 'y')`, "CHECK"},
	} {
		_, err := db.Exec(tt.stmt)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one with %q", tt.stmt, err, tt.want)
		}
	}
	// Appending stays possible, even on the side.
	if _, err := db.Exec(`INSERT INTO audit (time, actor, action, object) VALUES (0, 'carol', 'x', 'y')`); err != nil {
		t.Errorf("raw insert: %v", err)
	}
	after := storetest.MustAudit(t, s)
	if len(after) != len(before)+1 || !reflect.DeepEqual(after[1:], before) || after[0].Actor != "carol" {
		t.Errorf("audit after the refused changes:\n%+v\nwant carol's entry on top of\n%+v", after, before)
	}
}

// TestAuditInvalid refuses malformed entries and limits, and an exception
// change whose audit entry is malformed is not made either.
func TestAuditInvalid(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Memory)
	for _, e := range []cairn.AuditEntry{
		{Actor: "alice", Object: "r"}, // no action
		{Actor: "alice", Action: "rule.disable", Detail: "not json"},
		{Actor: "alice", Action: "rule.disable", Detail: `["an array"]`},
		{Actor: "alice", Action: "rule.disable", Detail: `{"a":1} {"b":2}`},
	} {
		if err := s.AppendAudit(ctx, e); cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("AppendAudit(%+v): %v, want code %s", e, err, cairn.EINVALID)
		}
	}
	if _, err := s.Audit(ctx, -1); cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("Audit(-1): %v, want code %s", err, cairn.EINVALID)
	}

	x := cairn.Exception{ID: "x-1", Rule: "r", Created: storetest.Base}
	bad := cairn.AuditEntry{Actor: "alice", Detail: "not json"}
	if err := s.AddException(ctx, x, bad); cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("AddException with a bad audit entry: %v, want code %s", err, cairn.EINVALID)
	}
	if xs, err := s.Exceptions(ctx); err != nil || len(xs) != 0 {
		t.Fatalf("exceptions %+v, %v; want none when the audit entry failed", xs, err)
	}
	// An entry without an action gets the store's.
	if err := s.AddException(ctx, x, cairn.AuditEntry{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveException(ctx, x.ID, bad); cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("RemoveException with a bad audit entry: %v, want code %s", err, cairn.EINVALID)
	}
	if xs, err := s.Exceptions(ctx); err != nil || len(xs) != 1 {
		t.Fatalf("exceptions %+v, %v; want x-1 kept when the audit entry failed", xs, err)
	}
	if _, err := s.RemoveException(ctx, x.ID, cairn.AuditEntry{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	log := storetest.MustAudit(t, s)
	if len(log) != 2 || log[0].Action != "exception.rm" || log[1].Action != "exception.add" {
		t.Errorf("audit %+v, want one exception.add then one exception.rm", log)
	}
}

// TestExceptionRoundTripOddText keeps exceptions with empty lists, SQL
// and JSON lookalikes, and a far expiry.
func TestExceptionRoundTripOddText(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Memory)
	xs := []cairn.Exception{
		{ID: "empty", Rule: "r", Created: storetest.Base},
		{ID: `x'); DROP TABLE exceptions; --`, Rule: `{"rule":1}`, Name: "n", Fields: []string{"fd.name"},
			Comps: []string{"in"}, Values: [][]string{{`"quoted"`, "a\x00b", "ünï"}, nil}, Note: "[]",
			Author: "o'brien", Created: storetest.Base.Add(time.Second),
			Expires: time.Date(2200, 1, 1, 0, 0, 0, 1, time.UTC), Detection: "d"},
	}
	for _, x := range xs {
		if err := s.AddException(ctx, x, cairn.AuditEntry{Actor: "alice"}); err != nil {
			t.Fatalf("AddException(%q): %v", x.ID, err)
		}
	}
	got, err := s.Exceptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, xs) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, xs)
	}
}

// TestRuleHitsPlan checks that RuleHits finds the rule's groups through
// detections_rule and their hits through detection_hits_group, and
// scans neither table.
func TestRuleHitsPlan(t *testing.T) {
	s := openStore(t, Memory)
	plan, err := Plan(s, ruleHitsSQL, "r")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", plan)
	for _, index := range []string{"detections_rule", "detection_hits_group"} {
		if !strings.Contains(plan, "INDEX "+index+" ") {
			t.Errorf("plan does not use %s:\n%s", index, plan)
		}
	}
	if strings.Contains(plan, "SCAN") {
		t.Errorf("plan scans a table:\n%s", plan)
	}
}

// TestRuleHitsInvalidUTF8 finds the hits of a rule whose name is not
// valid UTF-8 by that same name.
func TestRuleHitsInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Memory)
	const rule = "shell\xff\xfe"
	d := cairn.Detection{ID: "h", Rule: rule, Output: "o", Time: storetest.Base, EventIDs: []string{"e"}}
	storetest.MustWriteDetections(t, s, nil, d)
	hits, err := s.RuleHits(ctx, rule)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].ID != "h" || !hits[0].Time.Equal(storetest.Base) {
		t.Errorf("RuleHits(%q) = %+v, want the hit h", rule, hits)
	}
}
