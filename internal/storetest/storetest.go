// Package storetest is the conformance suite every cairn.Store passes:
// the behaviour the CLI, the API and the pipeline rely on, written once
// and run against SQLite, PostgreSQL and any later store.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
)

// OpenFunc returns a new, empty store for one test and closes it when the
// test ends (t.Cleanup).
type OpenFunc func(t *testing.T) cairn.Store

// Run runs the whole suite against the stores open makes.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, s cairn.Store)
	}{
		{"Duplicates", testDuplicates},
		{"MissingID", testMissingID},
		{"RoundTrip", testRoundTrip},
		{"GetEventNotFound", testGetEventNotFound},
		{"DeadLetters", testDeadLetters},
		{"Stats", testStats},
		{"SinceUntil", testSinceUntil},
		{"Limit", testLimit},
		{"Paging", testPaging},
		{"BadCursor", testBadCursor},
		{"Filters", testFilters},
		{"FiltersAgreeWithMatch", testFiltersAgreeWithMatch},
		{"BadFilter", testBadFilter},
		{"ConcurrentWrites", testConcurrentWrites},
		// Reading a bus partition back: cairn.PartitionReader.
		{"Partitions", testPartitions},
		// Process trees and event context: stores that implement
		// cairn.ProcessWriter, cairn.ProcessReader and
		// cairn.ContextReader.
		{"ProcessRoundTrip", testProcessRoundTrip},
		{"ProcessInvalid", testProcessInvalid},
		{"ProcessMerge", testProcessMerge},
		{"ProcessPlaceholder", testProcessPlaceholder},
		{"Lineage", testLineage},
		{"LineageLoops", testLineageLoops},
		{"Children", testChildren},
		{"TreeRandom", testTreeRandom},
		{"EventsAround", testEventsAround},
		// Detections: stores that implement cairn.DetectionStore.
		{"DetectionGrouping", testDetectionGrouping},
		{"DetectionFilters", testDetectionFilters},
		{"DetectionPaging", testDetectionPaging},
		// Triage of detection groups: cairn.TriageStore.
		{"TriageSet", testTriageSet},
		{"TriageFilters", testTriageFilters},
		{"TriageKept", testTriageKept},
		{"DetectionCounts", testDetectionCounts},
		{"Comments", testComments},
		// Analysts' verdicts on identities: cairn.IdentityStatusStore.
		{"IdentityStatusSet", testIdentityStatusSet},
		{"IdentityStatusInvalid", testIdentityStatusInvalid},
		{"IdentityStatusConcurrent", testIdentityStatusConcurrent},
		// Exceptions, the audit log and a rule's hits: cairn.ExceptionStore,
		// cairn.AuditLog and cairn.HitReader.
		{"ExceptionAdd", testExceptionAdd},
		{"ExceptionInvalid", testExceptionInvalid},
		{"ExceptionRemove", testExceptionRemove},
		{"ExceptionConcurrent", testExceptionConcurrent},
		{"AuditLog", testAuditLog},
		{"RuleHits", testRuleHits},
		// API tokens: cairn.TokenStore.
		{"TokenCreate", testTokenCreate},
		{"TokenRevoke", testTokenRevoke},
		{"TokenByHashUnknown", testTokenByHashUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

// MustWrite writes events and fails the test on error.
func MustWrite(tb testing.TB, s cairn.Store, events ...cairn.Event) cairn.WriteResult {
	tb.Helper()
	res, err := s.WriteEvents(context.Background(), events)
	if err != nil {
		tb.Fatalf("WriteEvents: %v", err)
	}
	return res
}

// MustQuery runs a query and fails the test on error.
func MustQuery(tb testing.TB, s cairn.Store, q cairn.EventQuery) cairn.EventPage {
	tb.Helper()
	page, err := s.QueryEvents(context.Background(), q)
	if err != nil {
		tb.Fatalf("QueryEvents(%+v): %v", q, err)
	}
	return page
}

// ids returns the ids of events in order.
func ids(events []cairn.Event) []string {
	out := make([]string, len(events))
	for i := range events {
		out[i] = events[i].ID
	}
	return out
}

// wantCode fails the test unless err has the code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := cairn.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

// sameEvent fails the test unless got equals want, showing both as JSON.
func sameEvent(t *testing.T, got, want cairn.Event) {
	t.Helper()
	if !bytes.Equal(got.Raw, want.Raw) {
		t.Errorf("event %s: raw differs:\n got %q\nwant %q", want.ID, got.Raw, want.Raw)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("event %s differs:\n got %s\nwant %s", want.ID, g, w)
	}
}

func testDuplicates(t *testing.T, s cairn.Store) {
	a, b, c := Tetragon(1, Base), CloudTrail(2, Base), Tetragon(3, Base)
	if got := MustWrite(t, s, a, b, a); got != (cairn.WriteResult{Inserted: 2, Duplicates: 1}) {
		t.Errorf("first batch: %+v, want 2 inserted, 1 duplicate", got)
	}
	if got := MustWrite(t, s, b, c, c); got != (cairn.WriteResult{Inserted: 1, Duplicates: 2}) {
		t.Errorf("second batch: %+v, want 1 inserted, 2 duplicates", got)
	}
	// A duplicate keeps the first stored version, even when it differs.
	changed := a
	changed.Host = "other-host"
	if got := MustWrite(t, s, changed); got != (cairn.WriteResult{Duplicates: 1}) {
		t.Errorf("changed duplicate: %+v, want 1 duplicate", got)
	}
	got, err := s.GetEvent(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != a.Host {
		t.Errorf("host %q after a duplicate write, want the first %q", got.Host, a.Host)
	}
	if got := MustWrite(t, s); got != (cairn.WriteResult{}) {
		t.Errorf("empty batch: %+v", got)
	}
	page := MustQuery(t, s, cairn.EventQuery{})
	if len(page.Events) != 3 {
		t.Errorf("stored %d events %v, want 3", len(page.Events), ids(page.Events))
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 3 {
		t.Errorf("Stats.Events = %d, want 3", st.Events)
	}
}

func testMissingID(t *testing.T, s cairn.Store) {
	bad := Tetragon(2, Base)
	bad.ID = ""
	_, err := s.WriteEvents(context.Background(), []cairn.Event{Tetragon(1, Base), bad})
	wantCode(t, err, cairn.EINVALID)
	if page := MustQuery(t, s, cairn.EventQuery{}); len(page.Events) != 0 {
		t.Errorf("a batch with an invalid event stored %v", ids(page.Events))
	}
}

func testRoundTrip(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	exit := Decoded(t, "exit-1", `{"process_exit":{"process":{"exec_id":"bm9kZS0xOjEwMDo0MjQy","pid":4242,"uid":1000,"cwd":"/tmp","binary":"/tmp/easyminer",
"arguments":"-o stratum+tcp://pool.example:3333","flags":"execve clone","start_time":"2025-03-14T09:26:50Z","auid":1000,
"pod":{"namespace":"payments","name":"api-1","container":{"id":"containerd://`+strings.Repeat("ab", 32)+`","name":"api","image":{"id":"sha256:`+strings.Repeat("9f", 32)+`","name":"registry.example/api:2.1"},"start_time":"2025-03-14T08:00:00Z","pid":17}},
"parent_exec_id":"bm9kZS0xOjkwOjQyNDA="},"parent":{"exec_id":"bm9kZS0xOjkwOjQyNDA=","pid":4240,"binary":"/bin/sh","arguments":"./malicious-bin-event-gen.sh"},
"ancestors":[{"exec_id":"bm9kZS0xOjEwOjE=","pid":1,"binary":"/usr/bin/containerd-shim-runc-v2"}],"signal":"SIGKILL","status":137,"time":"2025-03-14T09:26:54Z"},
"node_name":"node-1","time":"2025-03-14T09:26:54.000000001Z"}`)
	file := Decoded(t, "file-1", `{"process_kprobe":{"process":{"exec_id":"bm9kZS0xOjEwMDo0MjQy","pid":4242,"binary":"/usr/bin/stat","arguments":"/etc/shadow"},
"function_name":"security_file_permission","args":[{"file_arg":{"path":"/etc/shadow"}},{"int_arg":4}],"action":"KPROBE_ACTION_POST"},
"node_name":"node-1","time":"2025-03-14T09:26:54.5Z"}`)
	// Raw is kept byte for byte, whitespace and key order included.
	alert := Decoded(t, "falco-1", "{ \"output\": \"A shell was spawned \\\"quoted\\\" <tag> & \u2028 é 😀\",\n  \"priority\":\"Notice\", \"rule\" : \"Terminal shell in container\",\n"+
		` "time":"2025-03-14T09:26:55Z", "source":"syscall", "hostname":"node-1", "tags":["container","shell","mitre_execution"],
  "output_fields": {"evt.type":"execve","proc.name":"bash","proc.pid":4242,"container.privileged":false,"k8s.ns.name":null}}`)
	// An event cairn made itself, with no record, is kept as its native
	// record.
	noRaw := cairn.Event{ID: "native-1", Source: cairn.SourceSensor, Kind: cairn.KindExec, Type: "execve", Time: Base.Add(3 * time.Second),
		Host: "laptop", Process: &cairn.Process{PID: 77, Binary: "/usr/bin/id"}}
	wantNoRaw := noRaw
	wantNoRaw.Raw, _ = json.Marshal(noRaw)
	// A record that no longer decodes comes back with what its row keeps.
	odd := cairn.Event{
		ID: "native-2 'quoted' \"; DROP TABLE events; --", Source: cairn.SourceNative, Kind: cairn.KindOther,
		Time: Base.Add(4 * time.Second), Host: "h\x00st\nwith\tcontrol", Raw: []byte("not json at all \x00\xff"),
	}
	events := []cairn.Event{Tetragon(1, Base), CloudTrail(2, Base), exit, file, alert, noRaw, odd}
	MustWrite(t, s, events...)
	want := map[string]cairn.Event{}
	for _, ev := range events {
		want[ev.ID] = ev
	}
	want[noRaw.ID] = wantNoRaw

	for _, ev := range events {
		got, err := s.GetEvent(ctx, ev.ID)
		if err != nil {
			t.Fatalf("GetEvent(%q): %v", ev.ID, err)
		}
		sameEvent(t, got, want[ev.ID])
	}
	page := MustQuery(t, s, cairn.EventQuery{Oldest: true})
	if len(page.Events) != len(events) {
		t.Fatalf("query returned %d events, want %d", len(page.Events), len(events))
	}
	for _, got := range page.Events {
		sameEvent(t, got, want[got.ID])
	}
}

func testGetEventNotFound(t *testing.T, s cairn.Store) {
	MustWrite(t, s, Tetragon(1, Base))
	for _, id := range []string{"missing", "", "tetragon-%", "TETRAGON-00000001"} {
		_, err := s.GetEvent(context.Background(), id)
		wantCode(t, err, cairn.ENOTFOUND)
	}
}

func testDeadLetters(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	letters := []cairn.DeadLetter{
		{Origin: "trail.json", Position: "record 3", Format: "cloudtrail", Reason: "missing eventTime", Raw: []byte(`{"eventName":"X"}`), Time: Base},
		{Origin: "trail.json", Position: "record 4", Format: "cloudtrail", Reason: "not an object", Raw: []byte(`[1,2]`), Time: Base.Add(time.Second)},
		{Origin: "-", Position: "line 12", Format: "tetragon", Reason: "invalid JSON", Raw: []byte("\x00\xff{"), Time: Base.Add(2 * time.Second)},
	}
	if err := s.WriteDeadLetters(ctx, letters); err != nil {
		t.Fatal(err)
	}
	// Re-ingesting the same input adds nothing, even with another reason
	// or time; the same bytes at another position are a new letter.
	again := append([]cairn.DeadLetter(nil), letters...)
	again[0].Reason, again[0].Time = "another reason", Base.Add(time.Hour)
	moved := letters[1]
	moved.Position, moved.Time = "record 9", Base.Add(3*time.Second)
	if err := s.WriteDeadLetters(ctx, append(again, moved)); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteDeadLetters(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeadLetters(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []cairn.DeadLetter{moved, letters[2], letters[1], letters[0]}
	if len(got) != len(want) {
		t.Fatalf("got %d dead letters, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Origin != w.Origin || g.Position != w.Position || g.Format != w.Format || g.Reason != w.Reason ||
			!bytes.Equal(g.Raw, w.Raw) || !g.Time.Equal(w.Time) {
			t.Errorf("dead letter %d = %+v, want %+v", i, g, w)
		}
	}
	if got, err := s.DeadLetters(ctx, 2); err != nil || len(got) != 2 || got[0].Position != "record 9" {
		t.Errorf("DeadLetters(2) = %+v, %v; want the 2 newest", got, err)
	}
	_, err = s.DeadLetters(ctx, -1)
	wantCode(t, err, cairn.EINVALID)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DeadLetters != 4 {
		t.Errorf("Stats.DeadLetters = %d, want 4", st.DeadLetters)
	}
}

func testStats(t *testing.T, s cairn.Store) {
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 0 || st.DeadLetters != 0 || len(st.ByKind) != 0 {
		t.Errorf("empty store stats = %+v", st)
	}
	empty := st.Bytes
	if empty <= 0 {
		t.Errorf("empty store: %d bytes on disk", empty)
	}
	evs := Mixed(10, Base) // 5 Tetragon execs, 5 CloudTrail calls
	exit := Tetragon(100, Base)
	exit.Kind = cairn.KindExit
	MustWrite(t, s, evs...)
	MustWrite(t, s, append(evs[:3:3], exit)...)
	st, err = s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes < empty {
		t.Errorf("%d bytes on disk after writing, %d before", st.Bytes, empty)
	}
	want := map[cairn.Count]bool{
		{Source: cairn.SourceTetragon, Kind: cairn.KindExec, N: 5}:    true,
		{Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, N: 5}: true,
		{Source: cairn.SourceTetragon, Kind: cairn.KindExit, N: 1}:    true,
	}
	if st.Events != 11 || len(st.ByKind) != len(want) {
		t.Fatalf("stats = %+v, want 11 events in %d groups", st, len(want))
	}
	for _, c := range st.ByKind {
		if !want[c] {
			t.Errorf("unexpected count %+v", c)
		}
	}
}

func testSinceUntil(t *testing.T, s cairn.Store) {
	var evs []cairn.Event
	for i := range 10 {
		evs = append(evs, Tetragon(i, Base.Add(time.Duration(i)*time.Second)))
	}
	MustWrite(t, s, evs...)
	at := func(i int) time.Time { return Base.Add(time.Duration(i) * time.Second) }
	tests := []struct {
		name         string
		since, until time.Time
		want         []int // indexes, oldest first
	}{
		{"all", time.Time{}, time.Time{}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"since inclusive", at(7), time.Time{}, []int{7, 8, 9}},
		{"until exclusive", time.Time{}, at(2), []int{0, 1}},
		{"both", at(3), at(7), []int{3, 4, 5, 6}},
		{"nanosecond after", at(3).Add(time.Nanosecond), at(5), []int{4}},
		{"empty range", at(5), at(5), nil},
		{"before all", time.Time{}, at(-1), nil},
		{"other zone", at(8).In(time.FixedZone("UTC+5", 5*3600)), time.Time{}, []int{8, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, i := range tt.want {
				want = append(want, evs[i].ID)
			}
			got := ids(MustQuery(t, s, cairn.EventQuery{Since: tt.since, Until: tt.until, Oldest: true}).Events)
			if !slices.Equal(got, want) {
				t.Errorf("oldest first: got %v, want %v", got, want)
			}
			slices.Reverse(want)
			got = ids(MustQuery(t, s, cairn.EventQuery{Since: tt.since, Until: tt.until}).Events)
			if !slices.Equal(got, want) {
				t.Errorf("newest first: got %v, want %v", got, want)
			}
		})
	}
}

func testLimit(t *testing.T, s cairn.Store) {
	MustWrite(t, s, Mixed(150, Base)...)
	page := MustQuery(t, s, cairn.EventQuery{})
	if len(page.Events) != 100 || page.Next == "" {
		t.Errorf("default page: %d events, next %q; want 100 and a cursor", len(page.Events), page.Next)
	}
	page = MustQuery(t, s, cairn.EventQuery{Limit: 150})
	if len(page.Events) != 150 || page.Next != "" {
		t.Errorf("exact page: %d events, next %q; want 150 and no cursor", len(page.Events), page.Next)
	}
	page = MustQuery(t, s, cairn.EventQuery{Limit: 1_000_000})
	if len(page.Events) != 150 {
		t.Errorf("huge limit: %d events, want 150", len(page.Events))
	}
	_, err := s.QueryEvents(context.Background(), cairn.EventQuery{Limit: -1})
	wantCode(t, err, cairn.EINVALID)
}

// testPaging pages through events in both orders while other events are
// written between pages, some older and some newer than the page edge.
func testPaging(t *testing.T, s cairn.Store) {
	const n = 230
	var evs []cairn.Event
	for i := range n {
		// Three events share each time, so order within a time matters.
		evs = append(evs, Tetragon(i, Base.Add(time.Duration(i/3)*time.Second)))
	}
	// Write out of time order, in batches, as a real ingest might.
	for _, batch := range [][]cairn.Event{evs[100:], evs[:50], evs[50:100]} {
		MustWrite(t, s, batch...)
	}
	for _, oldest := range []bool{false, true} {
		for _, filter := range []string{"", "k8s.ns.name in (default, payments, kube-system, monitoring)", "k8s.pod.label[tier] = backend"} {
			t.Run(fmt.Sprintf("oldest=%v/filter=%q", oldest, filter), func(t *testing.T) {
				seen := map[string]int{}
				var order []cairn.Event
				q := cairn.EventQuery{Limit: 17, Oldest: oldest, Filter: filter}
				for pages := 0; ; pages++ {
					if pages > n {
						t.Fatal("paging does not end")
					}
					page := MustQuery(t, s, q)
					if len(page.Events) > q.Limit {
						t.Fatalf("page of %d events, limit %d", len(page.Events), q.Limit)
					}
					for _, ev := range page.Events {
						seen[ev.ID]++
						order = append(order, ev)
					}
					if page.Next == "" {
						break
					}
					// New events: at the page edge's time, before it and after it.
					edge := page.Events[len(page.Events)-1].Time
					k := 10000*(len(seen)+1) + pages*10
					if oldest {
						k += 5000000
					}
					MustWrite(t, s, Tetragon(k, edge), Tetragon(k+1, edge.Add(-time.Hour)), Tetragon(k+2, edge.Add(time.Hour)))
					q.Cursor = page.Next
				}
				for _, ev := range evs {
					if seen[ev.ID] != 1 {
						t.Errorf("event %s returned %d times, want once", ev.ID, seen[ev.ID])
					}
				}
				for id, c := range seen {
					if c != 1 {
						t.Errorf("event %s returned %d times", id, c)
					}
				}
				for i := 1; i < len(order); i++ {
					a, b := order[i-1].Time, order[i].Time
					if (!oldest && a.Before(b)) || (oldest && a.After(b)) {
						t.Fatalf("events %s (%v) and %s (%v) out of order", order[i-1].ID, a, order[i].ID, b)
					}
				}
			})
		}
	}
}

func testBadCursor(t *testing.T, s cairn.Store) {
	MustWrite(t, s, Mixed(5, Base)...)
	newest := MustQuery(t, s, cairn.EventQuery{Limit: 2})
	oldest := MustQuery(t, s, cairn.EventQuery{Limit: 2, Oldest: true})
	if newest.Next == "" || oldest.Next == "" {
		t.Fatal("no cursor on a partial page")
	}
	tests := []struct {
		name   string
		cursor string
		oldest bool
	}{
		{"garbage", "not a cursor!", false},
		{"truncated", newest.Next[:len(newest.Next)-2], false},
		{"extended", newest.Next + "AAAA", false},
		{"other order", newest.Next, true},
		{"other order reversed", oldest.Next, false},
		{"huge", string(bytes.Repeat([]byte("A"), 10000)), false},
		{"sql", "' OR 1=1 --", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.QueryEvents(context.Background(), cairn.EventQuery{Cursor: tt.cursor, Oldest: tt.oldest})
			wantCode(t, err, cairn.EINVALID)
		})
	}
}

// testFilters runs filters over a known set of events. The expected ids
// are computed from the events themselves, not from the store.
func testFilters(t *testing.T, s cairn.Store) {
	evs := Mixed(48, Base)
	MustWrite(t, s, evs...)
	tests := []struct {
		filter string
		want   func(ev *cairn.Event) bool
	}{
		{"ct.name=StopLogging", func(ev *cairn.Event) bool { return ev.Cloud != nil && ev.Cloud.EventName == "StopLogging" }},
		{"ct.name != StopLogging", func(ev *cairn.Event) bool { return ev.Cloud != nil && ev.Cloud.EventName != "StopLogging" }},
		{"k8s.ns.name in (default, payments)", func(ev *cairn.Event) bool {
			return ev.K8s != nil && (ev.K8s.Namespace == "default" || ev.K8s.Namespace == "payments")
		}},
		{"kubernetes.namespace.name = kube-system", func(ev *cairn.Event) bool { return ev.K8s != nil && ev.K8s.Namespace == "kube-system" }},
		{`ct.user.identitytype=AssumedRole and ct.srcip startswith "34."`, func(ev *cairn.Event) bool {
			return ev.Cloud != nil && ev.Cloud.Identity.Type == "AssumedRole" && len(ev.Cloud.SourceIP) > 3 && ev.Cloud.SourceIP[:3] == "34."
		}},
		{"proc.exec_id = " + quote(evs[4].Process.ExecID), func(ev *cairn.Event) bool { return ev.Process != nil && ev.Process.ExecID == evs[4].Process.ExecID }},
		{"container.id = " + quote(evs[6].Container.ID), func(ev *cairn.Event) bool { return ev.Container != nil && ev.Container.ID == evs[6].Container.ID }},
		{"k8s.pod.name = " + quote(evs[2].K8s.Pod) + " and k8s.cluster.name = prod-eks", func(ev *cairn.Event) bool { return ev.K8s != nil && ev.K8s.Pod == evs[2].K8s.Pod }},
		{"cloud.identity = " + quote(evs[1].Cloud.Identity.Key), func(ev *cairn.Event) bool {
			return ev.Cloud != nil && ev.Cloud.Identity.Key == evs[1].Cloud.Identity.Key
		}},
		{"evt.hostname = " + quote(evs[8].Host), func(ev *cairn.Event) bool { return ev.Host == evs[8].Host }},
		{"proc.name = bash and not k8s.ns.name = default", func(ev *cairn.Event) bool {
			return ev.Process != nil && ev.K8s != nil && ev.K8s.Namespace != "default"
		}},
		{"k8s.ns.name exists", func(ev *cairn.Event) bool { return ev.K8s != nil }},
		{"not k8s.ns.name exists", func(ev *cairn.Event) bool { return ev.K8s == nil }},
		{"ct.name = StopLogging or k8s.ns.name = monitoring", func(ev *cairn.Event) bool {
			return (ev.Cloud != nil && ev.Cloud.EventName == "StopLogging") || (ev.K8s != nil && ev.K8s.Namespace == "monitoring")
		}},
		{"ct.name = \"'; DROP TABLE events; --\"", func(*cairn.Event) bool { return false }},
		// Fields no column holds: a pod label (an argument) and a JSON
		// pointer into the raw record.
		{"k8s.pod.label[app] = checkout and k8s.ns.name = payments", func(ev *cairn.Event) bool {
			return ev.K8s != nil && ev.K8s.Namespace == "payments"
		}},
		{"json.value[/eventName] = StopLogging", func(ev *cairn.Event) bool { return ev.Cloud != nil && ev.Cloud.EventName == "StopLogging" }},
		{"json.value[/userIdentity/type] = IAMUser and json.value[/readOnly] = true", func(ev *cairn.Event) bool {
			return ev.Cloud != nil && ev.Cloud.Identity.Type == "IAMUser" && *ev.Cloud.ReadOnly
		}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			var want []string
			for i := len(evs) - 1; i >= 0; i-- {
				if tt.want(&evs[i]) {
					want = append(want, evs[i].ID)
				}
			}
			if len(want) == 0 && !strings.Contains(tt.filter, "DROP") {
				t.Fatal("the test events match nothing: the test would prove nothing")
			}
			if len(want) == len(evs) {
				t.Fatal("the test events all match: the test would prove nothing")
			}
			got := ids(MustQuery(t, s, cairn.EventQuery{Filter: tt.filter}).Events)
			if !slices.Equal(got, want) {
				t.Errorf("got %d events %v\nwant %d events %v", len(got), got, len(want), want)
			}
		})
	}
	if st, err := s.Stats(context.Background()); err != nil || st.Events != len(evs) {
		t.Errorf("after the filters: %+v, %v; want %d events still stored", st, err, len(evs))
	}
}

// testFiltersAgreeWithMatch checks that the store selects exactly the
// events the filter's in-memory Match accepts, on events with odd text.
func testFiltersAgreeWithMatch(t *testing.T, s cairn.Store) {
	evs := Mixed(12, Base)
	odd := Tetragon(100, Base.Add(time.Minute))
	odd.Host = "node-\xff-1"
	odd.K8s.Namespace = "ns-\xc3(-bad"
	odd.Container.ID = "host"
	empty := cairn.Event{ID: "empty", Source: cairn.SourceNative, Kind: cairn.KindOther, Time: Base.Add(2 * time.Minute)}
	evs = append(evs, odd, empty)
	MustWrite(t, s, evs...)
	for _, f := range []string{
		"evt.hostname = \"node-\uFFFD-1\"", // the text as JSON reads it back
		`evt.hostname startswith "node-"`,
		"evt.hostname contains \"\uFFFD\"",
		"k8s.ns.name = \"ns-\uFFFD(-bad\"",
		`k8s.ns.name endswith "-bad"`,
		`not k8s.ns.name in (default, payments)`,
		`container.id = host`,
		`not container.id exists`,
		`evt.type = execve and not ct.name exists`,
		`ct.name in (ListBuckets, AssumeRole) or evt.hostname exists`,
		`not (ct.name = ListBuckets or k8s.ns.name = default)`,
		`proc.pid >= 40003 and proc.pid < 40006`,
		`ct.readonly = true`,
	} {
		t.Run(f, func(t *testing.T) {
			expr, err := filter.Parse(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := len(evs) - 1; i >= 0; i-- {
				ev := evs[i]
				if expr.Match(&ev) {
					want = append(want, ev.ID)
				}
			}
			got := ids(MustQuery(t, s, cairn.EventQuery{Filter: f}).Events)
			if !slices.Equal(got, want) {
				t.Errorf("store: %v\nMatch: %v", got, want)
			}
		})
	}
}

// quote returns s as a double-quoted filter string; the values quoted
// here hold no quotes or backslashes.
func quote(s string) string { return `"` + s + `"` }

func testBadFilter(t *testing.T, s cairn.Store) {
	MustWrite(t, s, Tetragon(1, Base))
	for _, f := range []string{"proc.name =", "no.such.field = 1", "(proc.name = bash", "proc.name = bash and"} {
		_, err := s.QueryEvents(context.Background(), cairn.EventQuery{Filter: f})
		if cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("filter %q: error %v, want code %s", f, err, cairn.EINVALID)
		}
	}
}

// testConcurrentWrites writes overlapping batches from several goroutines
// while reading: every event is stored once and counted once.
func testConcurrentWrites(t *testing.T, s cairn.Store) {
	evs := Mixed(400, Base)
	var wg sync.WaitGroup
	results := make([]cairn.WriteResult, 4)
	errs := make([]error, 4)
	for w := range 4 {
		wg.Go(func() {
			// Each writer writes half the events, in batches of 50;
			// writers w and w+2 write the same half.
			half := evs[(w%2)*200 : (w%2)*200+200]
			for i := 0; i < len(half); i += 50 {
				r, err := s.WriteEvents(context.Background(), half[i:i+50])
				if err != nil {
					errs[w] = err
					return
				}
				results[w].Inserted += r.Inserted
				results[w].Duplicates += r.Duplicates
				if _, err := s.QueryEvents(context.Background(), cairn.EventQuery{Limit: 10}); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	var total cairn.WriteResult
	for w := range 4 {
		if errs[w] != nil {
			t.Fatalf("writer %d: %v", w, errs[w])
		}
		total.Inserted += results[w].Inserted
		total.Duplicates += results[w].Duplicates
	}
	if total != (cairn.WriteResult{Inserted: 400, Duplicates: 400}) {
		t.Errorf("writes counted %+v, want 400 inserted and 400 duplicates", total)
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 400 {
		t.Errorf("Stats.Events = %d, want 400", st.Events)
	}
}
