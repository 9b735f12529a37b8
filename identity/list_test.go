package identity_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/identity"
	"github.com/cairn-cdr/cairn/internal/demostore"
)

// TestListVerdict: on the demo, SCARLETEEL's IAM user is potentially
// compromised by cairn; an analyst's flag makes it compromised (keeping
// cairn's compromise start and evidence) and it heads the list; clearing
// it sends it below the identities nothing is known of.
func TestListVerdict(t *testing.T) {
	fx := demostore.Open(t, 1, demoNow)
	ctx := context.Background()
	var user string
	for _, s := range fx.Scenario.Truth.Stories {
		if s.ID == demo.StoryScarleteel {
			for _, id := range s.Identities {
				if strings.Contains(id, ":user/") {
					user = id
				}
			}
		}
	}
	find := func(vs []identity.View) (int, identity.View) {
		for i, v := range vs {
			if v.Key == user {
				return i, v
			}
		}
		t.Fatalf("%s not listed", user)
		return 0, identity.View{}
	}
	vs, err := identity.List(ctx, fx.Store, fx.Store, nil, identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, auto := find(vs)
	if auto.Status.State != identity.StatePotentiallyCompromised || auto.Status.By != identity.AutoBy || auto.Status.Since.IsZero() {
		t.Fatalf("before the flag: %+v", auto.Status)
	}
	flag := cairn.IdentityStatus{Identity: user, State: cairn.IdentityCompromised, By: "ana", At: demoNow, Note: "keys used from a VPS"}
	if _, err := fx.Store.SetIdentityStatus(ctx, flag, cairn.AuditEntry{Time: demoNow, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	vs, err = identity.List(ctx, fx.Store, fx.Store, nil, identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	i, v := find(vs)
	if i != 0 || v.Status.State != identity.StateCompromised || v.Status.By != "ana" || !v.Status.Since.Equal(auto.Status.Since) || len(v.Status.Evidence) == 0 {
		t.Errorf("after the flag: position %d status %+v", i, v.Status)
	}
	clear := flag
	clear.State, clear.At = cairn.IdentityCleared, demoNow.Add(1)
	if _, err := fx.Store.SetIdentityStatus(ctx, clear, cairn.AuditEntry{Time: demoNow, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	vs, _ = identity.List(ctx, fx.Store, fx.Store, nil, identity.Options{})
	if i, v := find(vs); v.Status.State != identity.StateCleared || i != len(vs)-1 && vs[len(vs)-1].Status.State != identity.StateCleared {
		t.Errorf("cleared: position %d of %d, status %+v", i, len(vs), v.Status)
	}
}
