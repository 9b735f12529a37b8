package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

// sameIdentityStatus fails the test unless got is want, times compared
// as instants and no evidence the same as empty evidence.
func sameIdentityStatus(t *testing.T, what string, got, want cairn.IdentityStatus) {
	t.Helper()
	if got.Identity != want.Identity || got.State != want.State || !got.Since.Equal(want.Since) ||
		!slices.Equal(got.Evidence, want.Evidence) || got.By != want.By || !got.At.Equal(want.At) || got.Note != want.Note {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// mustSetIdentityStatus sets a status, fails the test on error, and
// returns the previous one.
func mustSetIdentityStatus(t *testing.T, s cairn.Store, st cairn.IdentityStatus, audit cairn.AuditEntry) cairn.IdentityStatus {
	t.Helper()
	prev, err := s.SetIdentityStatus(context.Background(), st, audit)
	if err != nil {
		t.Fatalf("SetIdentityStatus(%q, %s): %v", st.Identity, st.State, err)
	}
	return prev
}

// mustIdentityStatuses lists the statuses and fails the test on error.
func mustIdentityStatuses(t *testing.T, s cairn.Store) []cairn.IdentityStatus {
	t.Helper()
	sts, err := s.IdentityStatuses(context.Background())
	if err != nil {
		t.Fatalf("IdentityStatuses: %v", err)
	}
	return sts
}

// testIdentityStatusSet sets, replaces, gets and lists identities'
// statuses, and checks what each set returns and audits.
func testIdentityStatusSet(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	if sts := mustIdentityStatuses(t, s); len(sts) != 0 {
		t.Errorf("IdentityStatuses of an empty store: %+v, want none", sts)
	}
	const (
		alice = "arn:aws:iam::111122223333:user/alice"
		bob   = "arn:aws:iam::111122223333:user/Bob"
		odd   = `AROA'); DROP TABLE identity_status; --`
	)
	zone := time.FixedZone("UTC+5", 5*3600)
	since := Base.Add(-90 * time.Minute).Add(123456789 * time.Nanosecond).In(zone)
	steps := []struct {
		name   string
		status cairn.IdentityStatus
		prev   cairn.IdentityStatus // the status the set replaces
		detail string
	}{
		{"first verdict", cairn.IdentityStatus{Identity: alice, State: cairn.IdentityPotentiallyCompromised, Since: since,
			Evidence: []string{"det-1", "det-2"}, By: "cairn", At: Base.In(zone)},
			cairn.IdentityStatus{},
			`{"state":{"from":"","to":"potentially_compromised"},"since":"` + since.UTC().Format(time.RFC3339Nano) + `"}`},
		{"confirmed with a note", cairn.IdentityStatus{Identity: alice, State: cairn.IdentityCompromised, Since: since.Add(-time.Hour),
			Evidence: []string{"det-1", "det-2", "det-3"}, By: "alice@example.com", At: Base.Add(time.Hour), Note: "keys used from an unknown ASN"},
			cairn.IdentityStatus{Identity: alice, State: cairn.IdentityPotentiallyCompromised, Since: since,
				Evidence: []string{"det-1", "det-2"}, By: "cairn", At: Base},
			`{"state":{"from":"potentially_compromised","to":"compromised"},"note":"keys used from an unknown ASN","since":"` +
				since.Add(-time.Hour).UTC().Format(time.RFC3339Nano) + `"}`},
		{"another identity", cairn.IdentityStatus{Identity: bob, State: cairn.IdentityCompromised,
			By: "alice@example.com", At: Base.Add(2 * time.Hour), Note: "ça a l'air réel 😀"},
			cairn.IdentityStatus{},
			`{"state":{"from":"","to":"compromised"},"note":"ça a l'air réel 😀"}`},
		{"cleared", cairn.IdentityStatus{Identity: alice, State: cairn.IdentityCleared, By: "bob@example.com", At: Base.Add(3 * time.Hour)},
			cairn.IdentityStatus{Identity: alice, State: cairn.IdentityCompromised, Since: since.Add(-time.Hour),
				Evidence: []string{"det-1", "det-2", "det-3"}, By: "alice@example.com", At: Base.Add(time.Hour), Note: "keys used from an unknown ASN"},
			`{"state":{"from":"compromised","to":"cleared"}}`},
		{"the same again", cairn.IdentityStatus{Identity: alice, State: cairn.IdentityCleared, By: "bob@example.com", At: Base.Add(4 * time.Hour)},
			cairn.IdentityStatus{Identity: alice, State: cairn.IdentityCleared, By: "bob@example.com", At: Base.Add(3 * time.Hour)},
			`{"state":{"from":"cleared","to":"cleared"}}`},
		{"text from events", cairn.IdentityStatus{Identity: odd, State: cairn.IdentityPotentiallyCompromised,
			Evidence: []string{`x"; --`, strings.Repeat("e", 200)}, By: "cairn", At: Base, Note: strings.Repeat("n", cairn.MaxIdentityNote)},
			cairn.IdentityStatus{},
			`{"state":{"from":"","to":"potentially_compromised"},"note":"` + strings.Repeat("n", cairn.MaxIdentityNote) + `"}`},
	}
	current := map[string]cairn.IdentityStatus{}
	for _, st := range steps {
		before := len(MustAudit(t, s))
		prev := mustSetIdentityStatus(t, s, st.status, cairn.AuditEntry{Actor: "api:" + st.status.By})
		sameIdentityStatus(t, st.name+": previous status", prev, st.prev)
		current[st.status.Identity] = st.status
		got, err := s.GetIdentityStatus(ctx, st.status.Identity)
		if err != nil {
			t.Fatalf("%s: GetIdentityStatus: %v", st.name, err)
		}
		sameIdentityStatus(t, st.name+": GetIdentityStatus", got, st.status)
		if got.At.Location() != time.UTC || !got.Since.IsZero() && got.Since.Location() != time.UTC {
			t.Errorf("%s: times %v and %v, want them in UTC", st.name, got.At, got.Since)
		}
		log := MustAudit(t, s)
		if len(log) != before+1 {
			t.Fatalf("%s: %d audit entries after %d, want one more", st.name, len(log), before)
		}
		e := log[0]
		if e.Action != "identity.status" || e.Object != st.status.Identity || e.Actor != "api:"+st.status.By || e.Time.IsZero() {
			t.Errorf("%s: audit entry %+v, want action identity.status on %q by api:%s", st.name, e, st.status.Identity, st.status.By)
		}
		sameJSON(t, st.name+": audit detail", e.Detail, st.detail)
	}

	// Ordered by identity, byte by byte: upper case before lower case.
	want := []string{odd, bob, alice}
	sts := mustIdentityStatuses(t, s)
	if len(sts) != len(want) {
		t.Fatalf("IdentityStatuses: %d statuses %+v, want %d", len(sts), sts, len(want))
	}
	for i, st := range sts {
		if st.Identity != want[i] {
			t.Errorf("IdentityStatuses[%d] is %q, want %q", i, st.Identity, want[i])
		}
		sameIdentityStatus(t, fmt.Sprintf("IdentityStatuses[%d]", i), st, current[want[i]])
	}

	// A zero At is the store's clock (the real one in the suite's
	// stores); a caller's action, detail and time are kept, the object is
	// the identity.
	start := time.Now()
	at := Base.Add(5 * time.Hour)
	prev := mustSetIdentityStatus(t, s, cairn.IdentityStatus{Identity: bob, State: cairn.IdentityCleared, By: "carol"},
		cairn.AuditEntry{Time: at, Actor: "api:carol", Action: "api.identity", Object: "ignored", Detail: `{"via":"api"}`})
	sameIdentityStatus(t, "previous of bob", prev, current[bob])
	got, err := s.GetIdentityStatus(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if got.At.Before(start.Add(-time.Minute)) || got.At.After(time.Now().Add(time.Minute)) {
		t.Errorf("a status without a time got %v, want about now", got.At)
	}
	if got.State != cairn.IdentityCleared || got.By != "carol" || !got.Since.IsZero() || got.Evidence != nil || got.Note != "" {
		t.Errorf("the replaced status of bob is %+v, want cleared by carol and nothing else", got)
	}
	if e := MustAudit(t, s)[0]; e.Action != "api.identity" || e.Object != bob || e.Detail != `{"via":"api"}` || !e.Time.Equal(at) {
		t.Errorf("audit entry %+v, want the caller's action, detail and time on %q", e, bob)
	}

	if _, err := s.GetIdentityStatus(ctx, "arn:aws:iam::111122223333:user/nobody"); cairn.ErrorCode(err) != cairn.ENOTFOUND {
		t.Errorf("GetIdentityStatus of an unknown identity: error %v, want code %s", err, cairn.ENOTFOUND)
	}
	if _, err := s.GetIdentityStatus(ctx, strings.ToUpper(alice)); cairn.ErrorCode(err) != cairn.ENOTFOUND {
		t.Errorf("GetIdentityStatus of alice in capitals: error %v, want code %s", err, cairn.ENOTFOUND)
	}
	if _, err := s.GetIdentityStatus(ctx, ""); cairn.ErrorCode(err) != cairn.ENOTFOUND {
		t.Errorf("GetIdentityStatus of no identity: error %v, want code %s", err, cairn.ENOTFOUND)
	}
}

// testIdentityStatusInvalid sets statuses the contract refuses: nothing
// is written, audit included; the limits themselves are accepted.
func testIdentityStatusInvalid(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	const id = "arn:aws:iam::111122223333:role/deploy"
	kept := cairn.IdentityStatus{Identity: id, State: cairn.IdentityCompromised, By: "alice", At: Base,
		Evidence: make([]string, 1000), Note: strings.Repeat("n", cairn.MaxIdentityNote)}
	for i := range kept.Evidence {
		kept.Evidence[i] = fmt.Sprintf("det-%04d", i)
	}
	mustSetIdentityStatus(t, s, kept, cairn.AuditEntry{Actor: "alice"})
	before := len(MustAudit(t, s))
	valid := func(change func(st *cairn.IdentityStatus)) cairn.IdentityStatus {
		st := cairn.IdentityStatus{Identity: id, State: cairn.IdentityCleared, By: "bob", At: Base.Add(time.Hour), Note: "fine"}
		change(&st)
		return st
	}
	for _, c := range []struct {
		name   string
		status cairn.IdentityStatus
	}{
		{"empty identity", valid(func(st *cairn.IdentityStatus) { st.Identity = "" })},
		{"empty by", valid(func(st *cairn.IdentityStatus) { st.By = "" })},
		{"empty state", valid(func(st *cairn.IdentityStatus) { st.State = "" })},
		{"unknown state", valid(func(st *cairn.IdentityStatus) { st.State = "suspicious" })},
		{"state in capitals", valid(func(st *cairn.IdentityStatus) { st.State = "COMPROMISED" })},
		{"a triage status", valid(func(st *cairn.IdentityStatus) { st.State = cairn.StatusResolved })},
		{"long note", valid(func(st *cairn.IdentityStatus) { st.Note = strings.Repeat("n", cairn.MaxIdentityNote+1) })},
		{"too much evidence", valid(func(st *cairn.IdentityStatus) { st.Evidence = make([]string, 1001) })},
	} {
		_, err := s.SetIdentityStatus(ctx, c.status, cairn.AuditEntry{Actor: "bob"})
		if cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("%s: error %v, want code %s", c.name, err, cairn.EINVALID)
		}
	}
	if n := len(MustAudit(t, s)); n != before {
		t.Errorf("refused statuses wrote %d audit entries", n-before)
	}
	got, err := s.GetIdentityStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sameIdentityStatus(t, "after refused statuses", got, kept)
	if sts := mustIdentityStatuses(t, s); len(sts) != 1 {
		t.Errorf("after refused statuses: %d statuses, want 1", len(sts))
	}
	// The valid base of the refused cases is accepted.
	if _, err := s.SetIdentityStatus(ctx, valid(func(*cairn.IdentityStatus) {}), cairn.AuditEntry{Actor: "bob"}); err != nil {
		t.Errorf("the valid status: %v", err)
	}
}

// testIdentityStatusConcurrent sets one identity's status from several
// writers at once: each set replaces exactly one status, so the previous
// statuses returned and the final one are every status set, and the
// none before the first, each once.
func testIdentityStatusConcurrent(t *testing.T, s cairn.Store) {
	const id, writers = "arn:aws:iam::111122223333:user/shared", 8
	prevs := make([]string, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prev, err := s.SetIdentityStatus(context.Background(), cairn.IdentityStatus{Identity: id,
				State: cairn.IdentityCompromised, By: fmt.Sprintf("w%d", i), At: Base}, cairn.AuditEntry{Actor: "test"})
			prevs[i], errs[i] = prev.By, err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	final, err := s.GetIdentityStatus(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	got := append(prevs, final.By)
	want := []string{""}
	for i := range writers {
		want = append(want, fmt.Sprintf("w%d", i))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("previous statuses and the final one are by %q, want %q", got, want)
	}
	if n := len(MustAudit(t, s)); n != writers {
		t.Errorf("%d audit entries, want %d", n, writers)
	}
}
