package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

// RunRetention runs the retention suite against the stores open makes,
// for stores that implement cairn.Pruner. It is apart from Run because
// Pruner is not part of cairn.Store.
func RunRetention(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, s cairn.Store, p cairn.Pruner)
	}{
		{"PruneEvents", testPruneEvents},
		{"PruneDeadLetters", testPruneDeadLetters},
		{"PruneDetections", testPruneDetections},
		{"PruneRefused", testPruneRefused},
		{"PruneBatchOfOne", testPruneBatchOfOne},
		{"PruneWhileWriting", testPruneWhileWriting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			p, ok := s.(cairn.Pruner)
			if !ok {
				t.Skipf("%T does not prune (cairn.Pruner)", s)
			}
			tt.run(t, s, p)
		})
	}
}

// mustPrune prunes and fails the test on error.
func mustPrune(t *testing.T, p cairn.Pruner, kind string, before time.Time, batch int) int {
	t.Helper()
	n, err := p.Prune(context.Background(), kind, before, batch)
	if err != nil {
		t.Fatalf("Prune(%s, %s, %d): %v", kind, before.Format(time.RFC3339Nano), batch, err)
	}
	return n
}

func mustStats(t *testing.T, s cairn.Store) cairn.Stats {
	t.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// allIDs returns the ids of every stored event, oldest first.
func allIDs(t *testing.T, s cairn.Store) []string {
	t.Helper()
	return ids(MustQuery(t, s, cairn.EventQuery{Oldest: true, Limit: 10_000}).Events)
}

// retentionEvents returns n events a minute apart from Base, alternating
// Tetragon and CloudTrail.
func retentionEvents(n int) []cairn.Event {
	evs := make([]cairn.Event, n)
	for i := range evs {
		at := Base.Add(time.Duration(i) * time.Minute)
		if i%2 == 0 {
			evs[i] = Tetragon(i, at)
		} else {
			evs[i] = CloudTrail(i, at)
		}
	}
	return evs
}

// retentionLetters returns n dead letters a minute apart from Base.
func retentionLetters(n int) []cairn.DeadLetter {
	ls := make([]cairn.DeadLetter, n)
	for i := range ls {
		ls[i] = cairn.DeadLetter{Origin: "trail.json", Position: fmt.Sprintf("record %d", i), Format: "cloudtrail",
			Reason: "not an object", Raw: []byte(fmt.Sprintf("[%d]", i)), Time: Base.Add(time.Duration(i) * time.Minute)}
	}
	return ls
}

func positions(ls []cairn.DeadLetter) []string {
	out := make([]string, len(ls))
	for i := range ls {
		out[i] = ls[i].Position
	}
	return out
}

// testPruneEvents prunes the events (and dead letters) before the sixth:
// exactly the five older go, the one at the bound stays, and the counts
// follow.
func testPruneEvents(t *testing.T, s cairn.Store, p cairn.Pruner) {
	ctx := context.Background()
	evs := retentionEvents(10)
	MustWrite(t, s, evs...)
	if err := s.WriteDeadLetters(ctx, retentionLetters(4)); err != nil {
		t.Fatal(err)
	}
	bound := evs[5].Time
	if n := mustPrune(t, p, cairn.PruneEvents, bound, 2); n != 5 {
		t.Errorf("pruned %d events, want 5", n)
	}
	if got, want := allIDs(t, s), ids(evs[5:]); !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	for _, ev := range evs[:5] {
		if _, err := s.GetEvent(ctx, ev.ID); cairn.ErrorCode(err) != cairn.ENOTFOUND {
			t.Errorf("GetEvent(%s) after pruning: %v, want ENOTFOUND", ev.ID, err)
		}
	}
	// Events 5..9: 6 and 8 Tetragon execs, 5, 7 and 9 CloudTrail calls.
	st := mustStats(t, s)
	wantCounts := []cairn.Count{
		{Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, N: 3},
		{Source: cairn.SourceTetragon, Kind: cairn.KindExec, N: 2},
	}
	if st.Events != 5 || !slices.Equal(st.ByKind, wantCounts) {
		t.Errorf("stats after pruning = %+v, want 5 events as %+v", st, wantCounts)
	}
	// The dead letters (all older than the bound) went with the events.
	if st.DeadLetters != 0 {
		t.Errorf("%d dead letters left, want 0", st.DeadLetters)
	}
	// Again: nothing left to prune. A pruned event can be written again.
	if n := mustPrune(t, p, cairn.PruneEvents, bound, 2); n != 0 {
		t.Errorf("second prune deleted %d, want 0", n)
	}
	if res := MustWrite(t, s, evs[0], evs[5]); res != (cairn.WriteResult{Inserted: 1, Duplicates: 1}) {
		t.Errorf("writing a pruned and a kept event: %+v, want 1 inserted, 1 duplicate", res)
	}
	if st := mustStats(t, s); st.Events != 6 {
		t.Errorf("Stats.Events = %d after writing a pruned event again, want 6", st.Events)
	}
	// Pruning everything empties the store.
	if n := mustPrune(t, p, cairn.PruneEvents, Base.Add(time.Hour), 1000); n != 6 {
		t.Errorf("pruning all deleted %d, want 6", n)
	}
	if st := mustStats(t, s); st.Events != 0 || len(st.ByKind) != 0 || len(allIDs(t, s)) != 0 {
		t.Errorf("after pruning all: %+v", st)
	}
}

// testPruneDeadLetters prunes dead letters alone: events stay.
func testPruneDeadLetters(t *testing.T, s cairn.Store, p cairn.Pruner) {
	ctx := context.Background()
	evs := retentionEvents(4)
	MustWrite(t, s, evs...)
	letters := retentionLetters(6)
	if err := s.WriteDeadLetters(ctx, letters); err != nil {
		t.Fatal(err)
	}
	if n := mustPrune(t, p, cairn.PruneDeadLetters, letters[4].Time, 3); n != 4 {
		t.Errorf("pruned %d dead letters, want 4", n)
	}
	got, err := s.DeadLetters(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"record 5", "record 4"}; !slices.Equal(positions(got), want) {
		t.Errorf("dead letters left %v, want %v", positions(got), want)
	}
	if got := allIDs(t, s); !slices.Equal(got, ids(evs)) {
		t.Errorf("pruning dead letters changed the events: %v", got)
	}
}

// retentionDetection returns the detection hit of group g (one group per
// g), at.
func retentionDetection(hit string, g int, ev cairn.Event, at time.Time) cairn.Detection {
	d := shellDetection(hit, ev, at)
	d.Output = fmt.Sprintf("retention group %d", g)
	return d
}

// testPruneDetections writes four groups, of three hits each and a
// comment, last seen at Base+1m..4m, and prunes those last seen before
// Base+3m: their hits and comments go too, so that writing an old
// detection again starts a new group; the audit log stays.
func testPruneDetections(t *testing.T, s cairn.Store, p cairn.Pruner) {
	ctx := context.Background()
	ev := Tetragon(1, Base)
	MustWrite(t, s, ev)
	groups := make([]string, 4)
	for g := range groups {
		last := Base.Add(time.Duration(g+1) * time.Minute)
		for h := range 3 {
			// The newest hit last; hits of one group a second apart.
			at := last.Add(time.Duration(h-2) * time.Second)
			MustWriteDetections(t, s, []cairn.Event{ev}, retentionDetection(fmt.Sprintf("ret-%d-%d", g, h), g, ev, at))
		}
		d, err := s.GetDetection(ctx, fmt.Sprintf("ret-%d-0", g))
		if err != nil {
			t.Fatal(err)
		}
		if d.Count != 3 || !d.LastTime.Equal(last) {
			t.Fatalf("group %d: count %d, last %s; want 3 and %s", g, d.Count, d.LastTime, last)
		}
		groups[g] = d.ID
		if _, err := s.AddComment(ctx, d.ID, cairn.Comment{Author: "alice", Text: fmt.Sprintf("note %d", g)}, cairn.AuditEntry{Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	auditBefore := len(MustAudit(t, s))

	// Base+3m: groups 0 and 1 (last seen at 1m and 2m) go; group 2, last
	// seen exactly at the bound, stays.
	if n := mustPrune(t, p, cairn.PruneDetections, Base.Add(3*time.Minute), 2); n != 2 {
		t.Errorf("pruned %d groups, want 2", n)
	}
	page := MustQueryDetections(t, s, cairn.DetectionQuery{})
	var left []string // newest first
	for _, d := range page.Detections {
		left = append(left, d.ID)
	}
	if want := []string{groups[3], groups[2]}; !slices.Equal(left, want) {
		t.Errorf("groups left %v, want %v", left, want)
	}
	for g, id := range groups {
		_, err := s.GetDetection(ctx, id)
		_, hitErr := s.GetDetection(ctx, fmt.Sprintf("ret-%d-1", g))
		comments, cerr := s.Comments(ctx, id)
		if cerr != nil {
			t.Fatal(cerr)
		}
		if g < 2 {
			if cairn.ErrorCode(err) != cairn.ENOTFOUND || cairn.ErrorCode(hitErr) != cairn.ENOTFOUND || len(comments) != 0 {
				t.Errorf("pruned group %d: %v, by hit %v, comments %+v; want ENOTFOUND and none", g, err, hitErr, comments)
			}
		} else if err != nil || hitErr != nil || len(comments) != 1 {
			t.Errorf("kept group %d: %v, by hit %v, comments %+v; want it with its comment", g, err, hitErr, comments)
		}
	}
	if got := len(MustAudit(t, s)); got != auditBefore {
		t.Errorf("audit log has %d entries after pruning, want the %d it had", got, auditBefore)
	}
	if got := allIDs(t, s); !slices.Equal(got, []string{ev.ID}) {
		t.Errorf("pruning detections changed the events: %v", got)
	}
	// The pruned hits are gone too: the same detection again is new.
	MustWriteDetections(t, s, []cairn.Event{ev}, retentionDetection("ret-0-0", 0, ev, Base))
	d, err := s.GetDetection(ctx, "ret-0-0")
	if err != nil || d.Count != 1 {
		t.Errorf("an old detection written again: %+v, %v; want a new group of count 1", d, err)
	}
	if rule := d.Rule; rule == "" {
		t.Error("the rewritten detection has no rule")
	}
}

// testPruneRefused: the audit log is never pruned, and kinds and batch
// sizes are checked.
func testPruneRefused(t *testing.T, s cairn.Store, p cairn.Pruner) {
	ctx := context.Background()
	if err := s.AppendAudit(ctx, cairn.AuditEntry{Time: Base, Actor: "alice", Action: "test", Object: "x"}); err != nil {
		t.Fatal(err)
	}
	MustWrite(t, s, retentionEvents(3)...)
	later := Base.Add(24 * time.Hour)
	for _, tt := range []struct {
		kind  string
		batch int
	}{{"audit", 100}, {"processes", 100}, {"", 100}, {cairn.PruneEvents, 0}, {cairn.PruneDetections, -1}} {
		n, err := p.Prune(ctx, tt.kind, later, tt.batch)
		if cairn.ErrorCode(err) != cairn.EINVALID || n != 0 {
			t.Errorf("Prune(%q, batch %d) = %d, %v; want EINVALID", tt.kind, tt.batch, n, err)
		}
	}
	if got := MustAudit(t, s); len(got) != 1 || got[0].Actor != "alice" {
		t.Errorf("audit log after a refused prune: %+v", got)
	}
	if st := mustStats(t, s); st.Events != 3 {
		t.Errorf("a refused prune changed the events: %+v", st)
	}
}

// testPruneBatchOfOne prunes events and detection groups one row a
// transaction.
func testPruneBatchOfOne(t *testing.T, s cairn.Store, p cairn.Pruner) {
	ctx := context.Background()
	evs := retentionEvents(7)
	MustWrite(t, s, evs...)
	if err := s.WriteDeadLetters(ctx, retentionLetters(3)); err != nil {
		t.Fatal(err)
	}
	if n := mustPrune(t, p, cairn.PruneEvents, evs[4].Time, 1); n != 4 {
		t.Errorf("pruned %d events, want 4", n)
	}
	if got, want := allIDs(t, s), ids(evs[4:]); !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	if st := mustStats(t, s); st.Events != 3 || st.DeadLetters != 0 {
		t.Errorf("stats = %+v, want 3 events, no dead letters", st)
	}
	ev := evs[4]
	for g := range 3 {
		for h := range 2 {
			MustWriteDetections(t, s, []cairn.Event{ev}, retentionDetection(fmt.Sprintf("one-%d-%d", g, h), g, ev, Base.Add(time.Duration(g)*time.Minute)))
		}
		if _, err := s.AddComment(ctx, fmt.Sprintf("one-%d-0", g), cairn.Comment{Author: "bob", Text: "x"}, cairn.AuditEntry{Actor: "bob"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := mustPrune(t, p, cairn.PruneDetections, Base.Add(2*time.Minute), 1); n != 2 {
		t.Errorf("pruned %d groups, want 2", n)
	}
	page := MustQueryDetections(t, s, cairn.DetectionQuery{})
	if len(page.Detections) != 1 || page.Detections[0].Output != "retention group 2" || page.Detections[0].Count != 2 {
		t.Errorf("groups left: %+v, want only group 2 with its 2 hits", page.Detections)
	}
}

// testPruneWhileWriting prunes old events in small batches while a
// writer adds new ones: both succeed, exactly the old go and the new
// stay.
func testPruneWhileWriting(t *testing.T, s cairn.Store, p cairn.Pruner) {
	ctx := context.Background()
	const old, batches, per = 600, 30, 20
	var evs []cairn.Event
	for i := range old {
		evs = append(evs, Tetragon(i, Base.Add(time.Duration(i)*time.Millisecond)))
	}
	MustWrite(t, s, evs...)
	bound := Base.Add(time.Hour)
	var newIDs []string
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		for b := range batches {
			batch := make([]cairn.Event, per)
			for j := range batch {
				i := old + b*per + j
				batch[j] = CloudTrail(i, bound.Add(time.Duration(i)*time.Millisecond))
				newIDs = append(newIDs, batch[j].ID)
			}
			if _, err := s.WriteEvents(ctx, batch); err != nil {
				writeErr = err
				return
			}
		}
	})
	n, err := p.Prune(ctx, cairn.PruneEvents, bound, 10)
	wg.Wait()
	if err != nil {
		t.Fatalf("Prune while writing: %v", err)
	}
	if writeErr != nil {
		t.Fatalf("WriteEvents while pruning: %v", writeErr)
	}
	if n != old {
		t.Errorf("pruned %d events, want %d", n, old)
	}
	if got := allIDs(t, s); !slices.Equal(got, newIDs) {
		t.Errorf("left %d events, want the %d new ones", len(got), len(newIDs))
	}
	st := mustStats(t, s)
	want := []cairn.Count{{Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, N: batches * per}}
	if st.Events != batches*per || !slices.Equal(st.ByKind, want) {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
}
