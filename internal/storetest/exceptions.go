package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

// exception returns an exception of rule on the process name, created at.
func exception(id, rule string, at time.Time) cairn.Exception {
	return cairn.Exception{
		ID: id, Rule: rule, Name: "known_shells",
		Fields: []string{"proc.name", "k8s.ns.name"}, Comps: []string{"=", "in"},
		Values: [][]string{{"bash", "payments"}, {"sh", "kube-system"}},
		Note:   "debug shells", Author: "alice", Created: at,
	}
}

// MustAudit reads the whole audit log and fails the test on error.
func MustAudit(tb testing.TB, s cairn.AuditLog) []cairn.AuditEntry {
	tb.Helper()
	es, err := s.Audit(context.Background(), 0)
	if err != nil {
		tb.Fatalf("Audit: %v", err)
	}
	return es
}

// mustExceptions lists the exceptions and fails the test on error.
func mustExceptions(t *testing.T, s cairn.ExceptionStore) []cairn.Exception {
	t.Helper()
	xs, err := s.Exceptions(context.Background())
	if err != nil {
		t.Fatalf("Exceptions: %v", err)
	}
	return xs
}

// sameException fails the test unless got equals want, times compared
// as instants.
func sameException(t *testing.T, got, want cairn.Exception) {
	t.Helper()
	g, w := got, want
	if g.Created.Equal(w.Created) {
		g.Created = w.Created
	}
	if g.Expires.Equal(w.Expires) {
		g.Expires = w.Expires
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("exception %s differs:\n got %+v\nwant %+v", want.ID, got, want)
	}
}

// exceptionIDs returns the ids of xs in order.
func exceptionIDs(xs []cairn.Exception) []string {
	out := make([]string, len(xs))
	for i := range xs {
		out[i] = xs[i].ID
	}
	return out
}

// auditDetail decodes the Detail of e as an exception.
func auditDetail(t *testing.T, e cairn.AuditEntry) cairn.Exception {
	t.Helper()
	var x cairn.Exception
	if err := json.Unmarshal([]byte(e.Detail), &x); err != nil {
		t.Fatalf("audit entry %d: detail %q is not an exception: %v", e.Seq, e.Detail, err)
	}
	return x
}

// testExceptionAdd adds exceptions, lists them oldest first and checks
// the audit entry each one wrote.
func testExceptionAdd(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	late := exception("x-late", "Terminal shell in container", Base.Add(time.Hour))
	late.Expires = Base.Add(48 * time.Hour)
	late.Detection = "hit-a"
	first := exception("x-first", "Read sensitive file untrusted", Base)
	second := exception("x-second", "Terminal shell in container", Base) // same time: insertion order
	second.Fields, second.Comps, second.Values = []string{"proc.name"}, []string{"="}, [][]string{{"vim"}}
	second.Note = ""
	unset := exception("x-unset", "Terminal shell in container", time.Time{}) // the store's clock

	for _, x := range []cairn.Exception{late, first, second} {
		if err := s.AddException(ctx, x, cairn.AuditEntry{Actor: "alice", Action: "exception.add", Object: "ignored"}); err != nil {
			t.Fatalf("AddException(%s): %v", x.ID, err)
		}
	}
	before := time.Now()
	if err := s.AddException(ctx, unset, cairn.AuditEntry{Actor: "bob", Action: "exception.add"}); err != nil {
		t.Fatalf("AddException(%s): %v", unset.ID, err)
	}

	xs := mustExceptions(t, s)
	if got, want := exceptionIDs(xs), []string{first.ID, second.ID, late.ID, unset.ID}; !slices.Equal(got, want) {
		t.Fatalf("exceptions %q, want %q", got, want)
	}
	sameException(t, xs[0], first)
	sameException(t, xs[1], second)
	sameException(t, xs[2], late)
	if c := xs[3].Created; c.Before(before.Add(-time.Minute)) || c.After(time.Now().Add(time.Minute)) {
		t.Errorf("exception added without a creation time has %v, want about %v", c, before)
	}
	if !xs[2].Active(Base.Add(47*time.Hour)) || xs[2].Active(Base.Add(48*time.Hour)) || !xs[0].Active(Base.AddDate(100, 0, 0)) {
		t.Errorf("expiry lost: %v and %v", xs[2].Expires, xs[0].Expires)
	}

	log := MustAudit(t, s)
	if len(log) != 4 {
		t.Fatalf("audit has %d entries, want 4: %+v", len(log), log)
	}
	wantObjects := []string{unset.ID, second.ID, first.ID, late.ID} // newest first
	for i, e := range log {
		if e.Object != wantObjects[i] || e.Action != "exception.add" || e.Time.IsZero() {
			t.Errorf("audit entry %d: %+v, want object %s, action exception.add and a time", i, e, wantObjects[i])
		}
		sameException(t, auditDetail(t, e), xs[slices.Index(exceptionIDs(xs), e.Object)])
	}
	if log[0].Actor != "bob" || log[1].Actor != "alice" {
		t.Errorf("audit actors %q and %q, want bob and alice", log[0].Actor, log[1].Actor)
	}
}

// testExceptionInvalid refuses an exception without an id or rule or
// with a stored id, and writes nothing for it, audit included.
func testExceptionInvalid(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	x := exception("x-1", "Terminal shell in container", Base)
	if err := s.AddException(ctx, x, cairn.AuditEntry{Actor: "alice", Action: "exception.add"}); err != nil {
		t.Fatal(err)
	}
	taken := exception("x-1", "Other rule", Base.Add(time.Minute))
	wantCode(t, s.AddException(ctx, taken, cairn.AuditEntry{Actor: "bob", Action: "exception.add"}), cairn.ECONFLICT)
	noID := exception("", "Terminal shell in container", Base)
	wantCode(t, s.AddException(ctx, noID, cairn.AuditEntry{Actor: "bob", Action: "exception.add"}), cairn.EINVALID)
	noRule := exception("x-2", "", Base)
	wantCode(t, s.AddException(ctx, noRule, cairn.AuditEntry{Actor: "bob", Action: "exception.add"}), cairn.EINVALID)

	xs := mustExceptions(t, s)
	if len(xs) != 1 {
		t.Fatalf("exceptions %q, want only x-1", exceptionIDs(xs))
	}
	sameException(t, xs[0], x)
	if log := MustAudit(t, s); len(log) != 1 || log[0].Actor != "alice" {
		t.Errorf("audit %+v, want alice's one entry", log)
	}
}

// testExceptionRemove removes an exception, which returns it and audits
// the removal, and refuses one that is not stored.
func testExceptionRemove(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	keep, drop := exception("x-keep", "r", Base), exception("x-drop", "r", Base.Add(time.Second))
	drop.Expires = Base.Add(time.Hour)
	for _, x := range []cairn.Exception{keep, drop} {
		if err := s.AddException(ctx, x, cairn.AuditEntry{Actor: "alice", Action: "exception.add"}); err != nil {
			t.Fatal(err)
		}
	}
	at := Base.Add(2 * time.Hour)
	got, err := s.RemoveException(ctx, drop.ID, cairn.AuditEntry{Time: at, Actor: "bob", Action: "exception.rm"})
	if err != nil {
		t.Fatalf("RemoveException: %v", err)
	}
	sameException(t, got, drop)
	if xs := mustExceptions(t, s); !slices.Equal(exceptionIDs(xs), []string{keep.ID}) {
		t.Errorf("after removing %s: %q, want %q", drop.ID, exceptionIDs(xs), []string{keep.ID})
	}

	_, err = s.RemoveException(ctx, drop.ID, cairn.AuditEntry{Actor: "bob", Action: "exception.rm"})
	wantCode(t, err, cairn.ENOTFOUND)
	_, err = s.RemoveException(ctx, "never-added", cairn.AuditEntry{Actor: "bob", Action: "exception.rm"})
	wantCode(t, err, cairn.ENOTFOUND)

	log := MustAudit(t, s)
	if len(log) != 3 {
		t.Fatalf("audit has %d entries, want 3 (two adds, one removal): %+v", len(log), log)
	}
	rm := log[0]
	if rm.Object != drop.ID || rm.Action != "exception.rm" || rm.Actor != "bob" || !rm.Time.Equal(at) {
		t.Errorf("removal audited as %+v, want object %s, action exception.rm, actor bob, time %v", rm, drop.ID, at)
	}
	sameException(t, auditDetail(t, rm), drop)

	// The id is free again.
	again := exception(drop.ID, "r", Base.Add(3*time.Hour))
	if err := s.AddException(ctx, again, cairn.AuditEntry{Actor: "carol", Action: "exception.add"}); err != nil {
		t.Fatalf("adding a removed id again: %v", err)
	}
	if xs := mustExceptions(t, s); !slices.Equal(exceptionIDs(xs), []string{keep.ID, drop.ID}) {
		t.Errorf("after adding %s again: %q", drop.ID, exceptionIDs(xs))
	}
}

// testAuditLog appends entries and reads them newest first, whole and
// limited; entries already written never change.
func testAuditLog(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	const n = 5
	for i := range n {
		e := cairn.AuditEntry{Seq: 1000, Time: Base.Add(time.Duration(i) * time.Minute), Actor: "alice",
			Action: "rule.disable", Object: fmt.Sprintf("rule-%d", i), Detail: fmt.Sprintf(`{"n":%d}`, i)}
		if i == n-1 {
			e.Time, e.Detail = time.Time{}, "" // the store's clock; no detail
		}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit %d: %v", i, err)
		}
	}
	all := MustAudit(t, s)
	if len(all) != n {
		t.Fatalf("audit has %d entries, want %d", len(all), n)
	}
	for i, e := range all {
		want := n - 1 - i // newest first
		if e.Object != fmt.Sprintf("rule-%d", want) || e.Actor != "alice" || e.Action != "rule.disable" {
			t.Errorf("entry %d: %+v, want rule-%d", i, e, want)
		}
		// Every entry was given seq 1000: the store assigns its own.
		if i > 0 && e.Seq >= all[i-1].Seq {
			t.Errorf("entry %d has seq %d, not below the newer %d", i, e.Seq, all[i-1].Seq)
		}
		if want < n-1 && (e.Detail != fmt.Sprintf(`{"n":%d}`, want) || !e.Time.Equal(Base.Add(time.Duration(want)*time.Minute))) {
			t.Errorf("entry %d: detail %q time %v", i, e.Detail, e.Time)
		}
	}
	if all[0].Detail != "" || all[0].Time.IsZero() {
		t.Errorf("entry without time or detail came back as %+v, want the store's time and no detail", all[0])
	}

	top, err := s.Audit(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(top, all[:2]) {
		t.Errorf("Audit(2) = %+v, want %+v", top, all[:2])
	}
	// Later changes leave earlier entries as they were.
	if err := s.AddException(ctx, exception("x", "r", Base), cairn.AuditEntry{Actor: "bob", Action: "exception.add"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveException(ctx, "x", cairn.AuditEntry{Actor: "bob", Action: "exception.rm"}); err != nil {
		t.Fatal(err)
	}
	after := MustAudit(t, s)
	if len(after) != n+2 || !reflect.DeepEqual(after[2:], all) {
		t.Errorf("after two more changes the log is %+v, want them on top of %+v", after, all)
	}
}

// testExceptionConcurrent adds exceptions and audit entries while events
// are written: every write lands once.
func testExceptionConcurrent(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	evs := Mixed(200, Base)
	const writers, each = 3, 10
	errs := make([]error, writers+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < len(evs); i += 20 {
			if _, err := s.WriteEvents(ctx, evs[i:i+20]); err != nil {
				errs[writers] = err
				return
			}
		}
	})
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				x := exception(fmt.Sprintf("x-%d-%d", w, i), "r", Base.Add(time.Duration(i)*time.Second))
				if err := s.AddException(ctx, x, cairn.AuditEntry{Actor: "alice", Action: "exception.add"}); err != nil {
					errs[w] = err
					return
				}
				if err := s.AppendAudit(ctx, cairn.AuditEntry{Actor: "alice", Action: "rule.disable", Object: x.ID}); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	if xs := mustExceptions(t, s); len(xs) != writers*each {
		t.Errorf("%d exceptions, want %d", len(xs), writers*each)
	}
	log := MustAudit(t, s)
	seqs := map[int64]bool{}
	for _, e := range log {
		seqs[e.Seq] = true
	}
	if len(log) != 2*writers*each || len(seqs) != len(log) {
		t.Errorf("audit has %d entries with %d distinct seqs, want %d", len(log), len(seqs), 2*writers*each)
	}
	if st, err := s.Stats(ctx); err != nil || st.Events != len(evs) {
		t.Errorf("stats %+v, %v; want %d events", st, err, len(evs))
	}
}

// testRuleHits lists a rule's detections one by one, across its groups,
// oldest first, and no other rule's.
func testRuleHits(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	ev1, ev2, ev3 := Tetragon(1, Base), Tetragon(2, Base), Tetragon(3, Base)
	MustWrite(t, s, ev1, ev2, ev3)
	const rule = "Terminal shell in container"
	// Group A: three hits, written out of order and over two writes.
	a0 := shellDetection("a0", ev1, Base)
	a1 := shellDetection("a1", ev2, Base.Add(2*time.Second))
	a1.Entities = a0.Entities
	a1.EventIDs = []string{ev2.ID, ev3.ID}
	a2 := shellDetection("a2", ev3, Base.Add(4*time.Second))
	a2.Entities = a0.Entities
	// Group B: another output, one hit between A's.
	b0 := shellDetection("b0", ev2, Base.Add(3*time.Second))
	b0.Output = "A shell was spawned in payments"
	// Another rule, and a rule whose name starts like the first.
	other := shellDetection("o0", ev1, Base.Add(time.Second))
	other.Rule = "Read sensitive file untrusted"
	prefix := shellDetection("p0", ev1, Base.Add(time.Second))
	prefix.Rule = "Terminal shell"

	MustWriteDetections(t, s, []cairn.Event{ev1, ev2, ev3}, a2, other, b0)
	MustWriteDetections(t, s, []cairn.Event{ev1, ev2, ev3}, a0, prefix, a1, a2) // a2 again: one hit

	group := func(id string) string {
		d, err := s.GetDetection(ctx, id)
		if err != nil {
			t.Fatalf("GetDetection(%s): %v", id, err)
		}
		return d.ID
	}
	ga, gb := group("a0"), group("b0")
	if ga == gb {
		t.Fatalf("a0 and b0 share the group %s", ga)
	}
	want := []cairn.DetectionHit{
		{ID: "a0", GroupID: ga, Time: a0.Time, EventIDs: a0.EventIDs},
		{ID: "a1", GroupID: ga, Time: a1.Time, EventIDs: a1.EventIDs},
		{ID: "b0", GroupID: gb, Time: b0.Time, EventIDs: b0.EventIDs},
		{ID: "a2", GroupID: ga, Time: a2.Time, EventIDs: a2.EventIDs},
	}
	tests := []struct {
		rule string
		want []cairn.DetectionHit
	}{
		{rule, want},
		{other.Rule, []cairn.DetectionHit{{ID: "o0", GroupID: group("o0"), Time: other.Time, EventIDs: other.EventIDs}}},
		{prefix.Rule, []cairn.DetectionHit{{ID: "p0", GroupID: group("p0"), Time: prefix.Time, EventIDs: prefix.EventIDs}}},
		{"No such rule", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			got, err := s.RuleHits(ctx, tt.rule)
			if err != nil {
				t.Fatalf("RuleHits(%q): %v", tt.rule, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("RuleHits(%q) = %+v, want %+v", tt.rule, got, tt.want)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.ID != w.ID || g.GroupID != w.GroupID || !g.Time.Equal(w.Time) || !slices.Equal(g.EventIDs, w.EventIDs) {
					t.Errorf("hit %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}
