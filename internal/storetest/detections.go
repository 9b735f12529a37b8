package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

func detectionStore(t *testing.T, s cairn.Store) cairn.DetectionStore {
	t.Helper()
	ds, ok := s.(cairn.DetectionStore)
	if !ok {
		t.Skipf("%T does not store detections (cairn.DetectionStore)", s)
	}
	return ds
}

// MustWriteDetections writes detections and fails the test on error.
func MustWriteDetections(tb testing.TB, s cairn.DetectionStore, events []cairn.Event, ds ...cairn.Detection) {
	tb.Helper()
	if err := s.WriteDetections(context.Background(), ds, events); err != nil {
		tb.Fatalf("WriteDetections: %v", err)
	}
}

// MustQueryDetections runs a query and fails the test on error.
func MustQueryDetections(tb testing.TB, s cairn.DetectionStore, q cairn.DetectionQuery) cairn.DetectionPage {
	tb.Helper()
	page, err := s.QueryDetections(context.Background(), q)
	if err != nil {
		tb.Fatalf("QueryDetections(%+v): %v", q, err)
	}
	return page
}

// shellDetection returns a detection of a shell in the pod of ev, at.
func shellDetection(id string, ev cairn.Event, at time.Time) cairn.Detection {
	return cairn.Detection{
		ID: id, Time: at, Rule: "Terminal shell in container", Source: "falco/syscall",
		Priority: "CRITICAL", Severity: 4, Output: "A shell was spawned in checkout",
		Tags: []string{"container", "mitre_execution", "T1059.004"}, Tactics: []string{"TA0002"},
		Techniques: []string{"T1059.004"}, EventIDs: []string{ev.ID},
		Entities: cairn.Entities{ExecID: ev.Process.ExecID, Pod: ev.K8s.Pod, Namespace: ev.K8s.Namespace, Cluster: ev.K8s.Cluster},
	}
}

func rules(ds []cairn.Detection) []string {
	out := make([]string, len(ds))
	for i := range ds {
		out[i] = ds[i].Rule
	}
	return out
}

// testDetectionGrouping writes identical detections under different ids
// (one group) and the same detection twice (one hit).
func testDetectionGrouping(t *testing.T, st cairn.Store) {
	s := detectionStore(t, st)
	ctx := context.Background()
	ev1, ev2 := Tetragon(1, Base), Tetragon(5, Base.Add(time.Minute))
	MustWrite(t, st, ev1, ev2)
	a := shellDetection("hit-a", ev1, Base)
	b := shellDetection("hit-b", ev2, Base.Add(time.Minute))
	b.Entities = a.Entities // same group, later event

	MustWriteDetections(t, s, []cairn.Event{ev1}, a)
	MustWriteDetections(t, s, []cairn.Event{ev1}, a)
	page := MustQueryDetections(t, s, cairn.DetectionQuery{})
	if len(page.Detections) != 1 || page.Detections[0].Count != 1 {
		t.Fatalf("after writing one detection twice: %+v, want one group of count 1", page.Detections)
	}
	group := page.Detections[0].ID

	MustWriteDetections(t, s, []cairn.Event{ev2}, b, a)
	page = MustQueryDetections(t, s, cairn.DetectionQuery{})
	if len(page.Detections) != 1 {
		t.Fatalf("got %d groups, want 1: %+v", len(page.Detections), page.Detections)
	}
	d := page.Detections[0]
	switch {
	case d.ID != group:
		t.Errorf("group id changed from %q to %q", group, d.ID)
	case d.Count != 2:
		t.Errorf("count %d, want 2", d.Count)
	case !d.Time.Equal(Base) || !d.LastTime.Equal(Base.Add(time.Minute)):
		t.Errorf("time %v last time %v, want %v and %v", d.Time, d.LastTime, Base, Base.Add(time.Minute))
	case !slices.Equal(d.EventIDs, []string{ev1.ID, ev2.ID}):
		t.Errorf("event ids %q, want %q", d.EventIDs, []string{ev1.ID, ev2.ID})
	case d.Rule != a.Rule || d.Severity != 4 || d.Priority != "CRITICAL" || d.Source != a.Source || d.Output != a.Output:
		t.Errorf("detection %+v lost its rule, severity, source or output", d)
	case d.Entities != a.Entities || !slices.Equal(d.Techniques, a.Techniques) || !slices.Equal(d.Tags, a.Tags):
		t.Errorf("detection %+v lost its entities, tags or techniques", d)
	}

	for _, id := range []string{group, "hit-a", "hit-b"} {
		got, err := s.GetDetection(ctx, id)
		if err != nil {
			t.Fatalf("GetDetection(%q): %v", id, err)
		}
		if got.ID != group || got.Count != 2 {
			t.Errorf("GetDetection(%q) = group %q count %d, want %q count 2", id, got.ID, got.Count, group)
		}
	}
	_, err := s.GetDetection(ctx, "no-such-detection")
	wantCode(t, err, cairn.ENOTFOUND)

	// Another pod is another group.
	c := shellDetection("hit-c", ev2, Base.Add(2*time.Minute))
	MustWriteDetections(t, s, []cairn.Event{ev2}, c)
	page = MustQueryDetections(t, s, cairn.DetectionQuery{})
	if len(page.Detections) != 2 || page.Detections[0].Entities.Pod != ev2.K8s.Pod {
		t.Errorf("after a detection in another pod: %+v, want it first of two groups", page.Detections)
	}

	err = s.WriteDetections(ctx, []cairn.Detection{{Rule: "no id"}}, nil)
	wantCode(t, err, cairn.EINVALID)
}

// testDetectionFilters filters detections on their own fields and on
// their first event's.
func testDetectionFilters(t *testing.T, st cairn.Store) {
	s := detectionStore(t, st)
	tet1, tet2, ct := Tetragon(1, Base), Tetragon(2, Base), CloudTrail(0, Base) // payments, kube-system, StopLogging
	MustWrite(t, st, tet1, tet2, ct)
	shell := shellDetection("d-shell", tet1, Base.Add(3*time.Second))
	read := cairn.Detection{ID: "d-read", Time: Base.Add(2 * time.Second), Rule: "Read sensitive file untrusted",
		Source: "falco/syscall", Priority: "WARNING", Severity: 2, Output: "read /etc/shadow",
		Tactics: []string{"TA0006"}, Techniques: []string{"T1003.008"}, EventIDs: []string{tet2.ID},
		Entities: cairn.Entities{Pod: tet2.K8s.Pod, Namespace: tet2.K8s.Namespace}}
	trail := cairn.Detection{ID: "d-trail", Time: Base.Add(time.Second), Rule: "CloudTrail logging disabled",
		Source: "sigma", Priority: "high", Severity: 3, Output: "StopLogging by deploy-role",
		Techniques: []string{"T1562.008"}, EventIDs: []string{ct.ID},
		Entities: cairn.Entities{Identity: ct.Cloud.Identity.Key}}
	// The CloudTrail event is left out of events: the store reads it.
	MustWriteDetections(t, s, []cairn.Event{tet1, tet2}, shell, read, trail)

	tests := []struct {
		filter string
		want   []string // rules, newest first
	}{
		{"", []string{shell.Rule, read.Rule, trail.Rule}},
		{"severity>=high", []string{shell.Rule, trail.Rule}},
		{"not severity>=high", []string{read.Rule}},
		{"severity=medium", []string{read.Rule}},
		{`rule.name contains "shell"`, []string{shell.Rule}},
		{"k8s.ns.name=payments", []string{shell.Rule}},
		{"k8s.ns.name=kube-system", []string{read.Rule}},
		{"mitre.technique=T1059.004", []string{shell.Rule}},
		{"mitre.technique startswith T1", []string{shell.Rule, read.Rule, trail.Rule}},
		{"mitre.tactic=TA0002", []string{shell.Rule}},
		{"mitre.tactic=execution", []string{shell.Rule}},
		{"ct.name=StopLogging", []string{trail.Rule}},
		{"rule.tags=mitre_execution", []string{shell.Rule}},
		{"proc.name=bash and severity>=medium", []string{shell.Rule, read.Rule}},
		{"k8s.ns.name=nowhere", nil},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			page := MustQueryDetections(t, s, cairn.DetectionQuery{Filter: tt.filter})
			if got := rules(page.Detections); !slices.Equal(got, tt.want) {
				t.Errorf("filter %q: got %q, want %q", tt.filter, got, tt.want)
			}
		})
	}
	_, err := s.QueryDetections(context.Background(), cairn.DetectionQuery{Filter: "severity >="})
	wantCode(t, err, cairn.EINVALID)
}

// testDetectionPaging pages through detections newest first and bounds
// them by time.
func testDetectionPaging(t *testing.T, st cairn.Store) {
	s := detectionStore(t, st)
	ctx := context.Background()
	ev := Tetragon(3, Base)
	MustWrite(t, st, ev)
	const n = 7
	var want []string
	for i := range n {
		d := shellDetection(fmt.Sprintf("page-%d", i), ev, Base.Add(time.Duration(i)*time.Second))
		d.Output = fmt.Sprintf("shell number %d", i) // a group each
		MustWriteDetections(t, s, []cairn.Event{ev}, d)
		want = append([]string{d.Output}, want...)
	}
	var got []string
	q := cairn.DetectionQuery{Limit: 3}
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("paging does not end")
		}
		page := MustQueryDetections(t, s, q)
		for _, d := range page.Detections {
			got = append(got, d.Output)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged %q, want %q", got, want)
	}

	page := MustQueryDetections(t, s, cairn.DetectionQuery{Since: Base.Add(2 * time.Second), Until: Base.Add(5 * time.Second)})
	var bounded []string
	for _, d := range page.Detections {
		bounded = append(bounded, d.Output)
	}
	if w := want[2:5]; !slices.Equal(bounded, w) {
		t.Errorf("since/until: got %q, want %q", bounded, w)
	}

	for _, q := range []cairn.DetectionQuery{{Limit: -1}, {Cursor: "not a cursor"}} {
		_, err := s.QueryDetections(ctx, q)
		wantCode(t, err, cairn.EINVALID)
	}
}
