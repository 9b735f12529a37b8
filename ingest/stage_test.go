package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/sigma"
	"github.com/cairn-cdr/cairn/sqlite"
)

// stageRules: a CloudTrail rule whose matches only feed an event_count
// correlation by identity.
const stageRules = `title: Bucket Listing
id: 5d6c7e1a-0000-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: ListBuckets}
  condition: sel
level: low
---
title: Repeated Bucket Listing
id: 5d6c7e1a-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: [5d6c7e1a-0000-4000-8000-000000000001]
  group-by: [userIdentity.arn]
  timespan: 10m
  condition: {gte: 3}
level: high
`

// stageEvents are n ListBuckets calls by one user a minute apart.
func stageEvents(t *testing.T, n int) []cairn.Event {
	t.Helper()
	var recs []string
	for i := range n {
		at := time.Date(2026, 11, 25, 10, i, 0, 0, time.UTC).Format(time.RFC3339)
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"stage-%d","eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/dev","accountId":"111122223333","userName":"dev"}}`, i, at))
	}
	var c collect
	in := `{"Records":[` + strings.Join(recs, ",") + `]}`
	if err := decode.Decode(context.Background(), strings.NewReader(in), "stage", decode.CloudTrail, &c); err != nil || len(c.events) != n {
		t.Fatalf("decode: %d events, %v", len(c.events), err)
	}
	return c.events
}

func newStage(t *testing.T, st *sqlite.Store) *ingest.Stage {
	t.Helper()
	rs, err := sigma.Parse([]byte(stageRules))
	if err != nil {
		t.Fatal(err)
	}
	// Hits wait an hour for late events: until the input ends (Flush),
	// the correlation decides nothing.
	d, err := sigma.NewDetector(rs, sigma.DetectorOptions{Lateness: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	stg, err := ingest.NewStage(context.Background(), ingest.Options{Store: st, Tree: ingest.NewTree(context.Background(), st), Detectors: []ingest.Detector{d}})
	if err != nil {
		t.Fatal(err)
	}
	return stg
}

func openStore(t *testing.T, name string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), name), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// storedState is what a store holds, as the crash comparisons see it:
// event ids and detection hits with their events.
func storedState(t *testing.T, st *sqlite.Store) (events []string, hits []string) {
	t.Helper()
	ctx := context.Background()
	page, err := st.QueryEvents(ctx, cairn.EventQuery{Limit: 1000, Oldest: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range page.Events {
		events = append(events, ev.ID)
	}
	dets, err := st.QueryDetections(ctx, cairn.DetectionQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dets.Detections {
		hs, err := st.RuleHits(ctx, d.Rule)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			hits = append(hits, fmt.Sprintf("%s %s %v", d.Rule, h.ID, h.EventIDs))
		}
	}
	slices.Sort(events)
	slices.Sort(hits)
	return slices.Compact(events), slices.Compact(hits)
}

// A worker that dies after storing events whose correlation hits it held
// back loses nothing: the stage that takes the partition over rebuilds
// the windows from the store, and a redelivered batch stores nothing
// twice. The result is the single-node one.
func TestStageRebuildAfterCrash(t *testing.T) {
	evs := stageEvents(t, 6)

	single := openStore(t, "single.db")
	stg := newStage(t, single)
	if err := stg.Handle(evs); err != nil {
		t.Fatal(err)
	}
	if err := stg.Flush(); err != nil {
		t.Fatal(err)
	}
	wantEvents, wantHits := storedState(t, single)
	if len(wantEvents) != 6 || len(wantHits) != 2 {
		t.Fatalf("single node stored %d events and hits %v; want 6 events and 2 correlations", len(wantEvents), wantHits)
	}

	scaled := openStore(t, "scaled.db")
	dead := newStage(t, scaled)
	if err := dead.Handle(evs[:4]); err != nil {
		t.Fatal(err)
	}
	// It dies before the input ends: the first window's result was held
	// back in its memory, and events 2 and 3 were never acknowledged.
	if _, hits := storedState(t, scaled); len(hits) != 0 {
		t.Fatalf("held-back correlation stored before the end: %v", hits)
	}
	next := newStage(t, scaled)
	n, err := next.Rebuild(context.Background(), scaled, 1, 0, 2*time.Hour, []cairn.Source{cairn.SourceCloudTrail})
	if err != nil || n != 4 {
		t.Fatalf("Rebuild read %d events, %v; want 4", n, err)
	}
	if err := next.Handle(evs[2:]); err != nil {
		t.Fatal(err)
	}
	if err := next.Flush(); err != nil {
		t.Fatal(err)
	}
	gotEvents, gotHits := storedState(t, scaled)
	if !slices.Equal(gotEvents, wantEvents) || !slices.Equal(gotHits, wantHits) {
		t.Errorf("after the crash:\nevents %v\nhits %v\nsingle node:\nevents %v\nhits %v", gotEvents, gotHits, wantEvents, wantHits)
	}
	// Without the rebuild the new stage's windows start empty: the
	// comparison above would catch the loss.
	lost := openStore(t, "lost.db")
	dead = newStage(t, lost)
	if err := dead.Handle(evs[:4]); err != nil {
		t.Fatal(err)
	}
	next = newStage(t, lost)
	if err := next.Handle(evs[2:]); err != nil {
		t.Fatal(err)
	}
	if err := next.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, hits := storedState(t, lost); slices.Equal(hits, wantHits) {
		t.Errorf("without a rebuild the same hits %v: the test cannot tell", hits)
	}
}

// A batch delivered twice (a worker died before acknowledging it) is
// stored once and counted once.
func TestStageHandleTwice(t *testing.T) {
	st := openStore(t, "twice.db")
	evs := stageEvents(t, 3)
	stg := newStage(t, st)
	for range 2 {
		if err := stg.Handle(evs); err != nil {
			t.Fatal(err)
		}
	}
	if err := stg.Flush(); err != nil {
		t.Fatal(err)
	}
	events, hits := storedState(t, st)
	if len(events) != 3 || len(hits) != 1 {
		t.Errorf("stored %d events and hits %v; want 3 and one correlation", len(events), hits)
	}
	d, err := st.QueryDetections(context.Background(), cairn.DetectionQuery{})
	if err != nil || len(d.Detections) != 1 || d.Detections[0].Count != 1 {
		t.Errorf("detections %+v, %v; want one with count 1", d.Detections, err)
	}
}
