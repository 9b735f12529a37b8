package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

// partitionEvents returns Tetragon events of several hosts and CloudTrail
// events of several identities, with times out of order and some equal.
func partitionEvents() []cairn.Event {
	const n = 48
	evs := make([]cairn.Event, 0, 2*n)
	for i := range n {
		// (i*29)%n visits every second of [0, n) in a scrambled order.
		at := Base.Add(time.Duration((i*29)%n) * time.Second)
		evs = append(evs, Tetragon(i, at), CloudTrail(i, at.Add(time.Duration(i%3)*time.Millisecond)))
	}
	// Two events of one host at the same time: stored order breaks the tie.
	a, b := Tetragon(n, Base.Add(5*time.Second)), Tetragon(n+8*31, Base.Add(5*time.Second))
	if a.Host != b.Host {
		panic("partitionEvents: the tied events must share a host")
	}
	return append(evs, a, b)
}

// wantPartition returns the events of partition part of parts at or
// after since, in (time, stored) order; stored lists the events in the
// order they were first stored.
func wantPartition(stored []cairn.Event, parts, part int, since time.Time) []cairn.Event {
	var out []cairn.Event
	for _, ev := range stored {
		if int(cairn.PartitionHash(&ev)%uint32(parts)) == part && !ev.Time.Before(since) {
			out = append(out, ev)
		}
	}
	slices.SortStableFunc(out, func(a, b cairn.Event) int { return a.Time.Compare(b.Time) })
	return out
}

// scanAll returns what ScanPartition gives, failing the test on error.
func scanAll(t *testing.T, s cairn.PartitionReader, parts, part int, since time.Time) []cairn.Event {
	t.Helper()
	var got []cairn.Event
	err := s.ScanPartition(context.Background(), cairn.PartitionScan{Parts: parts, Part: part, Since: since}, func(ev cairn.Event) error {
		got = append(got, ev)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanPartition(%d, %d, %v): %v", parts, part, since, err)
	}
	return got
}

// testPartitions reads back the events of each bus partition.
func testPartitions(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	// An empty store has nothing in any partition.
	if at, err := s.LatestPartitionTime(ctx, 4, 0); err != nil || !at.IsZero() {
		t.Errorf("empty store: LatestPartitionTime = %v, %v; want the zero time", at, err)
	}
	if got := scanAll(t, s, 4, 0, time.Time{}); len(got) != 0 {
		t.Errorf("empty store: ScanPartition gave %v", ids(got))
	}

	evs := partitionEvents()
	half := len(evs) / 2
	// The second batch repeats part of the first: duplicates appear once.
	MustWrite(t, s, evs[:half]...)
	if res := MustWrite(t, s, evs[half-10:]...); res.Duplicates != 10 {
		t.Fatalf("second batch: %+v, want 10 duplicates", res)
	}

	since := Base.Add(20 * time.Second)
	const parts = 4
	total, sinceTotal := 0, 0
	for part := range parts {
		want := wantPartition(evs, parts, part, time.Time{})
		if len(want) == 0 {
			t.Fatalf("partition %d has no events: the test would prove little", part)
		}
		total += len(want)
		got := scanAll(t, s, parts, part, time.Time{})
		if !slices.Equal(ids(got), ids(want)) {
			t.Errorf("partition %d:\n got %v\nwant %v", part, ids(got), ids(want))
		} else {
			for i := range got {
				sameEvent(t, got[i], want[i])
			}
		}
		latest, err := s.LatestPartitionTime(ctx, parts, part)
		if err != nil {
			t.Fatal(err)
		}
		if wantLatest := want[len(want)-1].Time; !latest.Equal(wantLatest) {
			t.Errorf("partition %d: LatestPartitionTime = %v, want %v", part, latest, wantLatest)
		}

		// since is inclusive: it is the time of some events.
		want = wantPartition(evs, parts, part, since)
		sinceTotal += len(want)
		if got := scanAll(t, s, parts, part, since); !slices.Equal(ids(got), ids(want)) {
			t.Errorf("partition %d since %v:\n got %v\nwant %v", part, since, ids(got), ids(want))
		}
	}
	if total != len(evs) {
		t.Errorf("the partitions hold %d events, want %d", total, len(evs))
	}
	if sinceTotal == 0 || sinceTotal == len(evs) {
		t.Fatalf("%d of %d events at or after since: the test would prove little", sinceTotal, len(evs))
	}
	// One partition of one is every event.
	if got := scanAll(t, s, 1, 0, time.Time{}); len(got) != len(evs) {
		t.Errorf("partition 0 of 1: %d events, want %d", len(got), len(evs))
	}
	// since after every event.
	if got := scanAll(t, s, 1, 0, Base.Add(time.Hour)); len(got) != 0 {
		t.Errorf("since after all: %v", ids(got))
	}

	// Sources limit the scan; an empty list selects nothing.
	for _, srcs := range [][]cairn.Source{{cairn.SourceCloudTrail}, {cairn.SourceTetragon}, {cairn.SourceCloudTrail, cairn.SourceTetragon}, {}} {
		var want []cairn.Event
		for _, ev := range wantPartition(evs, 1, 0, time.Time{}) {
			if slices.Contains(srcs, ev.Source) {
				want = append(want, ev)
			}
		}
		var got []cairn.Event
		err := s.ScanPartition(ctx, cairn.PartitionScan{Parts: 1, Sources: srcs}, func(ev cairn.Event) error {
			got = append(got, ev)
			return nil
		})
		if err != nil || !slices.Equal(ids(got), ids(want)) {
			t.Errorf("sources %v: %v, %v; want %v", srcs, ids(got), err, ids(want))
		}
		if len(srcs) == 1 && (len(want) == 0 || len(want) == len(evs)) {
			t.Fatalf("%d of %d events of %v: the test would prove little", len(want), len(evs), srcs)
		}
	}

	// A partition no event is in: the zero time and nothing scanned.
	const many = 1 << 20
	empty := 0
	for slices.ContainsFunc(evs, func(ev cairn.Event) bool { return int(cairn.PartitionHash(&ev)%many) == empty }) {
		empty++
	}
	if at, err := s.LatestPartitionTime(ctx, many, empty); err != nil || !at.IsZero() {
		t.Errorf("empty partition %d of %d: LatestPartitionTime = %v, %v; want the zero time", empty, many, at, err)
	}
	if got := scanAll(t, s, many, empty, time.Time{}); len(got) != 0 {
		t.Errorf("empty partition %d of %d: %v", empty, many, ids(got))
	}

	// fn's error stops the scan and is returned as is.
	stop := errors.New("stop here")
	calls := 0
	err := s.ScanPartition(ctx, cairn.PartitionScan{Parts: 1}, func(cairn.Event) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Errorf("ScanPartition with fn failing at the 3rd event: %v after %d calls, want %v after 3", err, calls, stop)
	}

	for _, p := range [][2]int{{0, 0}, {-1, 0}, {4, 4}, {4, -1}, {1, 1}} {
		_, err := s.LatestPartitionTime(ctx, p[0], p[1])
		wantCode(t, err, cairn.EINVALID)
		err = s.ScanPartition(ctx, cairn.PartitionScan{Parts: p[0], Part: p[1]}, func(cairn.Event) error {
			t.Errorf("ScanPartition(%d, %d) called fn", p[0], p[1])
			return nil
		})
		wantCode(t, err, cairn.EINVALID)
	}
}

// ScanPartitionWhileWriting writes from another goroutine while a scan of
// s is open in fn, and fails t if the write waits for the scan. Stores
// run it where they promise it (a file database, PostgreSQL); an SQLite
// store in memory has one connection and cannot.
func ScanPartitionWhileWriting(t *testing.T, s cairn.Store) {
	t.Helper()
	ctx := context.Background()
	MustWrite(t, s, Mixed(20, Base)...)
	calls := 0
	err := s.ScanPartition(ctx, cairn.PartitionScan{Parts: 1}, func(cairn.Event) error {
		calls++
		if calls > 1 {
			return nil
		}
		done := make(chan error, 1)
		go func() {
			_, err := s.WriteEvents(ctx, []cairn.Event{Tetragon(1000, Base.Add(time.Hour))})
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
	if at, err := s.LatestPartitionTime(ctx, 1, 0); err != nil || !at.Equal(Base.Add(time.Hour)) {
		t.Errorf("LatestPartitionTime after the write = %v, %v", at, err)
	}
}
