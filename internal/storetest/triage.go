package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

// triageGroup is one detection group of the triage fixture, with the
// triage the test gives it: the expected values come from here, not from
// the store.
type triageGroup struct {
	hit, id  string // a detection hit's id and its group's
	severity int64
	at       time.Time
	status   string
	assignee string
}

// writeTriageFixture writes six detection groups, one a second from
// Base+1s (severities 4, 2, 3, 4, 1, 3), and returns them oldest first,
// each with its group id and status new.
func writeTriageFixture(t *testing.T, s cairn.Store) []triageGroup {
	t.Helper()
	ev := Tetragon(1, Base)
	MustWrite(t, s, ev)
	var gs []triageGroup
	for i, sev := range []int64{4, 2, 3, 4, 1, 3} {
		at := Base.Add(time.Duration(i+1) * time.Second)
		d := shellDetection(fmt.Sprintf("tri-%d", i), ev, at)
		d.Output = fmt.Sprintf("triage group %d", i) // a group each
		d.Severity = sev
		MustWriteDetections(t, s, []cairn.Event{ev}, d)
		got, err := s.GetDetection(context.Background(), d.ID)
		if err != nil {
			t.Fatalf("GetDetection(%q): %v", d.ID, err)
		}
		gs = append(gs, triageGroup{hit: d.ID, id: got.ID, severity: sev, at: at, status: cairn.StatusNew})
	}
	return gs
}

// mustSetTriage applies a change and fails the test on error.
func mustSetTriage(t *testing.T, s cairn.Store, id string, c cairn.TriageChange) cairn.Detection {
	t.Helper()
	d, err := s.SetTriage(context.Background(), id, c, cairn.AuditEntry{Actor: "alice"})
	if err != nil {
		t.Fatalf("SetTriage(%q, %s): %v", id, showChange(c), err)
	}
	return d
}

// showChange shows a triage change for a failure message.
func showChange(c cairn.TriageChange) string {
	var parts []string
	if c.Status != nil {
		parts = append(parts, "status "+*c.Status)
	}
	if c.Assignee != nil {
		parts = append(parts, fmt.Sprintf("assignee %q", *c.Assignee))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func ptr(s string) *string { return &s }

// wantTriage fails the test unless d has the status and assignee.
func wantTriage(t *testing.T, what string, d cairn.Detection, status, assignee string) {
	t.Helper()
	if d.Status != status || d.Assignee != assignee {
		t.Errorf("%s: status %q assignee %q, want %q and %q", what, d.Status, d.Assignee, status, assignee)
	}
}

// sameJSON fails the test unless got and want are equal JSON objects.
func sameJSON(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("%s: %q is not JSON: %v", what, got, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: the test's %q is not JSON: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %s, want %s", what, got, want)
	}
}

// testTriageSet changes a group's status and assignee and checks what
// the store returns, keeps and audits.
func testTriageSet(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	gs := writeTriageFixture(t, s)
	for _, d := range MustQueryDetections(t, s, cairn.DetectionQuery{}).Detections {
		wantTriage(t, "a detection never triaged", d, cairn.StatusNew, "")
	}
	g, other := gs[0], gs[1]

	steps := []struct {
		name     string
		id       string
		change   cairn.TriageChange
		status   string
		assignee string
		detail   string // "" for no audit entry
	}{
		{"status", g.id, cairn.TriageChange{Status: ptr(cairn.StatusAcknowledged)}, cairn.StatusAcknowledged, "",
			`{"status":{"from":"new","to":"acknowledged"}}`},
		{"assignee by hit id", g.hit, cairn.TriageChange{Assignee: ptr("alice")}, cairn.StatusAcknowledged, "alice",
			`{"assignee":{"from":"","to":"alice"}}`},
		{"both", g.id, cairn.TriageChange{Status: ptr(cairn.StatusResolved), Assignee: ptr("bob")}, cairn.StatusResolved, "bob",
			`{"status":{"from":"acknowledged","to":"resolved"},"assignee":{"from":"alice","to":"bob"}}`},
		{"neither", g.id, cairn.TriageChange{}, cairn.StatusResolved, "bob", ""},
		{"the same again", g.hit, cairn.TriageChange{Status: ptr(cairn.StatusResolved), Assignee: ptr("bob")}, cairn.StatusResolved, "bob", ""},
		{"one of two changes", g.id, cairn.TriageChange{Status: ptr(cairn.StatusResolved), Assignee: ptr("")}, cairn.StatusResolved, "",
			`{"assignee":{"from":"bob","to":""}}`},
		{"back to new", g.id, cairn.TriageChange{Status: ptr(cairn.StatusNew)}, cairn.StatusNew, "",
			`{"status":{"from":"resolved","to":"new"}}`},
		{"longest assignee", g.id, cairn.TriageChange{Assignee: ptr(strings.Repeat("a", cairn.MaxAssignee))}, cairn.StatusNew,
			strings.Repeat("a", cairn.MaxAssignee), `{"assignee":{"from":"","to":"` + strings.Repeat("a", cairn.MaxAssignee) + `"}}`},
	}
	for _, st := range steps {
		before := len(MustAudit(t, s))
		d := mustSetTriage(t, s, st.id, st.change)
		if d.ID != g.id || d.Count != 1 || d.Severity != g.severity || !d.LastTime.Equal(g.at) {
			t.Errorf("%s: SetTriage returned group %q count %d severity %d last %v, want %q 1 %d %v",
				st.name, d.ID, d.Count, d.Severity, d.LastTime, g.id, g.severity, g.at)
		}
		wantTriage(t, st.name+": SetTriage", d, st.status, st.assignee)
		for _, id := range []string{g.id, g.hit} {
			got, err := s.GetDetection(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			wantTriage(t, st.name+": GetDetection", got, st.status, st.assignee)
		}
		log := MustAudit(t, s)
		if st.detail == "" {
			if len(log) != before {
				t.Errorf("%s changed nothing but wrote audit entries %+v", st.name, log[:len(log)-before])
			}
			continue
		}
		if len(log) != before+1 {
			t.Fatalf("%s: %d audit entries after %d, want one more", st.name, len(log), before)
		}
		e := log[0]
		if e.Action != "detection.triage" || e.Object != g.id || e.Actor != "alice" || e.Time.IsZero() {
			t.Errorf("%s: audit entry %+v, want action detection.triage on %q by alice", st.name, e, g.id)
		}
		sameJSON(t, st.name+": audit detail", e.Detail, st.detail)
	}
	// The other group was never touched.
	if d, err := s.GetDetection(ctx, other.id); err != nil {
		t.Fatal(err)
	} else {
		wantTriage(t, "an untouched group", d, cairn.StatusNew, "")
	}

	// A caller's action and detail are kept; the object is the group's.
	at := Base.Add(time.Hour)
	_, err := s.SetTriage(ctx, other.hit, cairn.TriageChange{Status: ptr(cairn.StatusFalsePositive)},
		cairn.AuditEntry{Time: at, Actor: "api:bob", Action: "api.triage", Object: "ignored", Detail: `{"via":"api"}`})
	if err != nil {
		t.Fatal(err)
	}
	if e := MustAudit(t, s)[0]; e.Action != "api.triage" || e.Object != other.id || e.Detail != `{"via":"api"}` || !e.Time.Equal(at) {
		t.Errorf("audit entry %+v, want the caller's action, detail and time on %q", e, other.id)
	}

	// Refused changes write nothing.
	before := len(MustAudit(t, s))
	for _, c := range []struct {
		name   string
		id     string
		change cairn.TriageChange
		code   string
	}{
		{"unknown status", g.id, cairn.TriageChange{Status: ptr("closed")}, cairn.EINVALID},
		{"empty status", g.id, cairn.TriageChange{Status: ptr("")}, cairn.EINVALID},
		{"status in capitals", g.id, cairn.TriageChange{Status: ptr("RESOLVED")}, cairn.EINVALID},
		{"valid assignee, unknown status", g.id, cairn.TriageChange{Status: ptr("done"), Assignee: ptr("carol")}, cairn.EINVALID},
		{"long assignee", g.id, cairn.TriageChange{Status: ptr(cairn.StatusResolved), Assignee: ptr(strings.Repeat("a", cairn.MaxAssignee+1))}, cairn.EINVALID},
		{"unknown id", "no-such-detection", cairn.TriageChange{Status: ptr(cairn.StatusResolved)}, cairn.ENOTFOUND},
		{"empty id", "", cairn.TriageChange{Status: ptr(cairn.StatusResolved)}, cairn.ENOTFOUND},
	} {
		_, err := s.SetTriage(ctx, c.id, c.change, cairn.AuditEntry{Actor: "alice"})
		if cairn.ErrorCode(err) != c.code {
			t.Errorf("%s: error %v, want code %s", c.name, err, c.code)
		}
	}
	if d, err := s.GetDetection(ctx, g.id); err != nil {
		t.Fatal(err)
	} else {
		wantTriage(t, "after refused changes", d, cairn.StatusNew, strings.Repeat("a", cairn.MaxAssignee))
	}
	if n := len(MustAudit(t, s)); n != before {
		t.Errorf("refused changes wrote %d audit entries", n-before)
	}
}

// testTriageFilters selects detection groups by status and assignee,
// and counts them as they are selected.
func testTriageFilters(t *testing.T, s cairn.Store) {
	gs := writeTriageFixture(t, s)
	set := func(i int, status, assignee string) {
		c := cairn.TriageChange{Status: &status}
		if assignee != "" {
			c.Assignee = &assignee
		}
		mustSetTriage(t, s, gs[i].id, c)
		gs[i].status, gs[i].assignee = status, assignee
	}
	set(0, cairn.StatusResolved, "alice")
	set(1, cairn.StatusFalsePositive, "")
	set(2, cairn.StatusAcknowledged, "bob")
	set(3, cairn.StatusNew, "alice")
	// 4 and 5 stay new and unassigned.

	tests := []struct {
		filter string
		want   func(g triageGroup) bool
	}{
		{"", func(triageGroup) bool { return true }},
		{"status=new", func(g triageGroup) bool { return g.status == cairn.StatusNew }},
		{"status != new", func(g triageGroup) bool { return g.status != cairn.StatusNew }},
		{"detection.status = acknowledged", func(g triageGroup) bool { return g.status == cairn.StatusAcknowledged }},
		{"status in (resolved, false_positive)", func(g triageGroup) bool {
			return g.status == cairn.StatusResolved || g.status == cairn.StatusFalsePositive
		}},
		{"not status in (resolved, false_positive)", func(g triageGroup) bool {
			return g.status == cairn.StatusNew || g.status == cairn.StatusAcknowledged
		}},
		{"assignee=alice", func(g triageGroup) bool { return g.assignee == "alice" }},
		{"detection.assignee = bob", func(g triageGroup) bool { return g.assignee == "bob" }},
		{"assignee exists", func(g triageGroup) bool { return g.assignee != "" }},
		{"not assignee exists", func(g triageGroup) bool { return g.assignee == "" }},
		{"not assignee = alice", func(g triageGroup) bool { return g.assignee != "alice" }},
		{"status=new and severity>=high", func(g triageGroup) bool { return g.status == cairn.StatusNew && g.severity >= 3 }},
		{"status=new and not assignee exists", func(g triageGroup) bool { return g.status == cairn.StatusNew && g.assignee == "" }},
		{"status=closed", func(triageGroup) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			var want []string
			for i := len(gs) - 1; i >= 0; i-- { // newest first
				if tt.want(gs[i]) {
					want = append(want, gs[i].id)
				}
			}
			page := MustQueryDetections(t, s, cairn.DetectionQuery{Filter: tt.filter})
			var got []string
			for _, d := range page.Detections {
				got = append(got, d.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("QueryDetections: got %d groups %q\nwant %d groups %q", len(got), got, len(want), want)
			}
			sameFacets(t, s, cairn.DetectionQuery{Filter: tt.filter}, gs, tt.want)
		})
	}
}

// sameFacets fails the test unless CountDetections(q) counts the groups
// of gs that want selects, and the groups QueryDetections(q) returns.
func sameFacets(t *testing.T, s cairn.Store, q cairn.DetectionQuery, gs []triageGroup, want func(g triageGroup) bool) {
	t.Helper()
	expect := cairn.DetectionFacets{BySeverity: map[int64]int{}, ByStatus: map[string]int{}}
	for _, g := range gs {
		if want(g) {
			expect.Total++
			expect.BySeverity[g.severity]++
			expect.ByStatus[g.status]++
		}
	}
	got, err := s.CountDetections(context.Background(), q)
	if err != nil {
		t.Fatalf("CountDetections(%+v): %v", q, err)
	}
	if got.BySeverity == nil || got.ByStatus == nil {
		t.Errorf("CountDetections(%+v) = %+v: nil maps", q, got)
	}
	n := 0
	for _, c := range got.Counts {
		if c.Age != 0 {
			t.Errorf("CountDetections(%+v) without ages: count %+v has an age", q, c)
		}
		n += c.N
	}
	if n != got.Total {
		t.Errorf("CountDetections(%+v): Counts sum to %d, Total is %d", q, n, got.Total)
	}
	got.Counts = nil
	if !reflect.DeepEqual(got, expect) {
		t.Errorf("CountDetections(%+v) = %+v, want %+v", q, got, expect)
	}
	all := q
	all.Limit, all.Cursor = 10000, ""
	queried := cairn.DetectionFacets{BySeverity: map[int64]int{}, ByStatus: map[string]int{}}
	for _, d := range MustQueryDetections(t, s, all).Detections {
		queried.Total++
		queried.BySeverity[d.Severity]++
		queried.ByStatus[d.Status]++
	}
	if !reflect.DeepEqual(got, queried) {
		t.Errorf("CountDetections(%+v) = %+v, but QueryDetections returns %+v", q, got, queried)
	}
}

// testDetectionCounts counts detection groups in time ranges, with a
// cursor and limit that do not apply, and in an empty store.
func testDetectionCounts(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	f, err := s.CountDetections(ctx, cairn.DetectionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Total != 0 || f.BySeverity == nil || f.ByStatus == nil || len(f.BySeverity)+len(f.ByStatus) != 0 {
		t.Errorf("empty store: %+v, want zero counts in empty maps", f)
	}

	gs := writeTriageFixture(t, s)
	mustSetTriage(t, s, gs[2].id, cairn.TriageChange{Status: ptr(cairn.StatusResolved)})
	gs[2].status = cairn.StatusResolved
	mustSetTriage(t, s, gs[3].id, cairn.TriageChange{Status: ptr(cairn.StatusAcknowledged)})
	gs[3].status = cairn.StatusAcknowledged
	// A later detection in the first group moves its last time to the end.
	ev := Tetragon(1, Base)
	late := shellDetection("tri-0-again", ev, Base.Add(10*time.Second))
	late.Output, late.Severity = "triage group 0", 4
	MustWriteDetections(t, s, []cairn.Event{ev}, late)
	gs[0].at = late.Time

	at := func(sec int) time.Time { return Base.Add(time.Duration(sec) * time.Second) }
	in := func(since, until time.Time) func(g triageGroup) bool {
		return func(g triageGroup) bool {
			return (since.IsZero() || !g.at.Before(since)) && (until.IsZero() || g.at.Before(until))
		}
	}
	page := MustQueryDetections(t, s, cairn.DetectionQuery{Limit: 2})
	if page.Next == "" {
		t.Fatal("no cursor on a partial page")
	}
	for _, c := range []struct {
		name string
		q    cairn.DetectionQuery
		want func(g triageGroup) bool
	}{
		{"all", cairn.DetectionQuery{}, in(time.Time{}, time.Time{})},
		{"since inclusive", cairn.DetectionQuery{Since: at(3)}, in(at(3), time.Time{})},
		{"until exclusive", cairn.DetectionQuery{Until: at(3)}, in(time.Time{}, at(3))},
		{"last time, not first", cairn.DetectionQuery{Since: at(7)}, in(at(7), time.Time{})},
		{"both", cairn.DetectionQuery{Since: at(2), Until: at(5)}, in(at(2), at(5))},
		{"empty range", cairn.DetectionQuery{Since: at(5), Until: at(5)}, in(at(5), at(5))},
		{"with a filter", cairn.DetectionQuery{Filter: "severity >= high", Since: at(2)}, func(g triageGroup) bool {
			return g.severity >= 3 && in(at(2), time.Time{})(g)
		}},
		{"limit and cursor ignored", cairn.DetectionQuery{Limit: 1, Cursor: page.Next}, in(time.Time{}, time.Time{})},
	} {
		t.Run(c.name, func(t *testing.T) { sameFacets(t, s, c.q, gs, c.want) })
	}
	if f, err := s.CountDetections(ctx, cairn.DetectionQuery{}); err != nil || f.Total != 6 || f.ByStatus[cairn.StatusNew] != 4 || f.BySeverity[4] != 2 {
		t.Errorf("CountDetections = %+v, %v; want 6 groups, 4 new, 2 of severity 4", f, err)
	}
	// Ages, newest first: a group's age is how many of them its last time
	// is before.
	ages := []time.Time{at(6), at(3), at(1)}
	want := map[cairn.DetectionCount]int{}
	for _, g := range gs {
		age := 0
		for _, a := range ages {
			if g.at.Before(a) {
				age++
			}
		}
		want[cairn.DetectionCount{Severity: g.severity, Status: g.status, Age: age}]++
	}
	f, err = s.CountDetections(ctx, cairn.DetectionQuery{}, ages...)
	if err != nil {
		t.Fatal(err)
	}
	got := map[cairn.DetectionCount]int{}
	for _, c := range f.Counts {
		n := c.N
		c.N = 0
		got[c] += n
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CountDetections with ages %v: %v, want %v", ages, got, want)
	}
	for _, bad := range []string{"status =", "no.such.field = 1", "(status = new"} {
		_, err := s.CountDetections(ctx, cairn.DetectionQuery{Filter: bad})
		if cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("filter %q: error %v, want code %s", bad, err, cairn.EINVALID)
		}
	}
}

// testTriageKept writes detections into triaged groups: they keep their
// triage, and a new group starts new whatever its detection says.
func testTriageKept(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	gs := writeTriageFixture(t, s)
	ev := Tetragon(1, Base)
	for i, status := range []string{cairn.StatusAcknowledged, cairn.StatusResolved, cairn.StatusFalsePositive} {
		mustSetTriage(t, s, gs[i].id, cairn.TriageChange{Status: ptr(status), Assignee: ptr("alice")})
		again := shellDetection(fmt.Sprintf("tri-%d-again", i), ev, Base.Add(time.Minute))
		again.Output, again.Severity = fmt.Sprintf("triage group %d", i), gs[i].severity
		MustWriteDetections(t, s, []cairn.Event{ev}, again)
		d, err := s.GetDetection(ctx, again.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != gs[i].id || d.Count != 2 || !d.LastTime.Equal(again.Time) {
			t.Errorf("a later detection: group %q count %d last %v, want %q 2 %v", d.ID, d.Count, d.LastTime, gs[i].id, again.Time)
		}
		wantTriage(t, "a triaged group that gained a detection", d, status, "alice")
	}

	fresh := shellDetection("tri-fresh", ev, Base.Add(2*time.Minute))
	fresh.Output, fresh.Status, fresh.Assignee = "a fresh group", cairn.StatusResolved, "mallory"
	MustWriteDetections(t, s, []cairn.Event{ev}, fresh)
	d, err := s.GetDetection(ctx, fresh.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantTriage(t, "a new group", d, cairn.StatusNew, "")
	page := MustQueryDetections(t, s, cairn.DetectionQuery{Filter: "status = new"})
	if len(page.Detections) != 4 || page.Detections[0].ID != d.ID {
		t.Errorf("status = new: %d groups %+v; want 4, first %q", len(page.Detections), page.Detections, d.ID)
	}
}

// testComments adds comments to detection groups and reads them back.
func testComments(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	gs := writeTriageFixture(t, s)
	g, other := gs[0], gs[1]
	if cs, err := s.Comments(ctx, g.id); err != nil || len(cs) != 0 {
		t.Errorf("Comments before any: %+v, %v; want none", cs, err)
	}

	at := Base.Add(time.Hour).In(time.FixedZone("UTC+5", 5*3600))
	inputs := []struct {
		id string
		c  cairn.Comment
	}{
		{g.id, cairn.Comment{Author: "alice", Text: "looking into it", Time: at}},
		{g.hit, cairn.Comment{Author: "bob", Text: "ça a l'air réel 😀\n'; DROP TABLE detection_comments; --", Time: at.Add(time.Second)}},
		{g.id, cairn.Comment{Author: "alice", Text: strings.Repeat("x", cairn.MaxCommentBytes), DetectionID: "ignored"}},
		{other.hit, cairn.Comment{Author: "carol", Text: "another group", Time: at}},
	}
	var added []cairn.Comment
	for i, in := range inputs {
		before := len(MustAudit(t, s))
		start := time.Now()
		c, err := s.AddComment(ctx, in.id, in.c, cairn.AuditEntry{Actor: in.c.Author})
		if err != nil {
			t.Fatalf("AddComment %d: %v", i, err)
		}
		want := in.c
		want.ID, want.DetectionID = c.ID, g.id
		if in.id == other.hit {
			want.DetectionID = other.id
		}
		if in.c.Time.IsZero() {
			// The store's clock: the real one in the suite's stores.
			if c.Time.IsZero() || c.Time.Before(start.Add(-time.Minute)) || c.Time.After(time.Now().Add(time.Minute)) {
				t.Errorf("comment %d without a time got %v, want about now", i, c.Time)
			}
			want.Time = c.Time
		}
		if c.ID == 0 || c.DetectionID != want.DetectionID || c.Author != want.Author || c.Text != want.Text || !c.Time.Equal(want.Time) {
			t.Errorf("AddComment %d returned %+v, want %+v with an id", i, c, want)
		}
		if len(added) > 0 && c.ID <= added[len(added)-1].ID {
			t.Errorf("comment %d has id %d after %d: ids must grow", i, c.ID, added[len(added)-1].ID)
		}
		added = append(added, c)
		log := MustAudit(t, s)
		if len(log) != before+1 {
			t.Fatalf("comment %d: %d audit entries after %d, want one more", i, len(log), before)
		}
		if e := log[0]; e.Action != "detection.comment" || e.Object != want.DetectionID || e.Actor != in.c.Author {
			t.Errorf("comment %d: audit entry %+v, want detection.comment on %q by %s", i, e, want.DetectionID, in.c.Author)
		}
	}

	for _, id := range []string{g.id, g.hit} {
		cs, err := s.Comments(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 3 {
			t.Fatalf("Comments(%q): %d comments, want 3", id, len(cs))
		}
		for i, c := range cs {
			w := added[i]
			if c.ID != w.ID || c.DetectionID != w.DetectionID || c.Author != w.Author || c.Text != w.Text || !c.Time.Equal(w.Time) {
				t.Errorf("Comments(%q)[%d] = %+v, want %+v", id, i, c, w)
			}
		}
	}
	if cs, err := s.Comments(ctx, other.id); err != nil || len(cs) != 1 || cs[0].Text != "another group" {
		t.Errorf("Comments of the other group: %+v, %v; want its one comment", cs, err)
	}
	if cs, err := s.Comments(ctx, "no-such-detection"); err != nil || len(cs) != 0 {
		t.Errorf("Comments of an unknown id: %+v, %v; want none and no error", cs, err)
	}

	before := len(MustAudit(t, s))
	for _, c := range []struct {
		name    string
		id      string
		comment cairn.Comment
		code    string
	}{
		{"empty text", g.id, cairn.Comment{Author: "alice"}, cairn.EINVALID},
		{"blank text", g.id, cairn.Comment{Author: "alice", Text: " \n\t"}, cairn.EINVALID},
		{"oversized text", g.id, cairn.Comment{Author: "alice", Text: strings.Repeat("x", cairn.MaxCommentBytes+1)}, cairn.EINVALID},
		{"no author", g.id, cairn.Comment{Text: "who wrote this"}, cairn.EINVALID},
		{"unknown id", "no-such-detection", cairn.Comment{Author: "alice", Text: "lost"}, cairn.ENOTFOUND},
	} {
		_, err := s.AddComment(ctx, c.id, c.comment, cairn.AuditEntry{Actor: "alice"})
		if cairn.ErrorCode(err) != c.code {
			t.Errorf("%s: error %v, want code %s", c.name, err, c.code)
		}
	}
	if cs, err := s.Comments(ctx, g.id); err != nil || len(cs) != 3 {
		t.Errorf("after refused comments: %d comments, %v; want 3", len(cs), err)
	}
	if n := len(MustAudit(t, s)); n != before {
		t.Errorf("refused comments wrote %d audit entries", n-before)
	}
}
