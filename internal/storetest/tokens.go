package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

// tokenHash returns the hex SHA-256 of secret, as a token store keeps it.
func tokenHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// apiToken returns a token of the name and role whose secret is
// "secret-"+name, created at.
func apiToken(name, role string, at time.Time) cairn.APIToken {
	return cairn.APIToken{Name: name, Role: role, Hash: tokenHash("secret-" + name), Created: at, CreatedBy: "alice"}
}

// tokenStates lists the tokens as "name role" and a " revoked" mark,
// failing the test when the store does.
func tokenStates(t *testing.T, s cairn.TokenStore) []string {
	t.Helper()
	ts, err := s.Tokens(context.Background())
	if err != nil {
		t.Fatalf("Tokens: %v", err)
	}
	var out []string
	for _, tok := range ts {
		st := tok.Name + " " + tok.Role
		if tok.Revoked {
			st += " revoked"
		}
		out = append(out, st)
	}
	return out
}

// sameToken fails the test unless got equals want, times compared as
// instants.
func sameToken(t *testing.T, got, want cairn.APIToken) {
	t.Helper()
	if !got.Created.Equal(want.Created) || !got.LastUsed.Equal(want.LastUsed) {
		t.Errorf("token %s: times %v, %v; want %v, %v", want.Name, got.Created, got.LastUsed, want.Created, want.LastUsed)
	}
	got.Created, got.LastUsed = want.Created, want.LastUsed
	if got != want {
		t.Errorf("token differs:\n got %+v\nwant %+v", got, want)
	}
}

// testTokenCreate stores tokens, finds them by hash and lists them;
// taken names and hashes are ECONFLICT, malformed tokens EINVALID, and
// neither writes anything. The audit log never holds a hash.
func testTokenCreate(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	admin := apiToken("admin", "admin", Base)
	viewer := apiToken("ci viewer 'x'; --", "viewer", Base.Add(time.Second))
	viewer.LastUsed = Base.Add(time.Minute)
	// Created in reverse order: the list is by creation time.
	for _, tok := range []cairn.APIToken{viewer, admin} {
		if err := s.CreateToken(ctx, tok, cairn.AuditEntry{Actor: "alice", Action: cairn.ActionTokenCreate}); err != nil {
			t.Fatalf("CreateToken(%s): %v", tok.Name, err)
		}
	}
	for _, want := range []cairn.APIToken{admin, viewer} {
		got, err := s.TokenByHash(ctx, want.Hash)
		if err != nil {
			t.Fatalf("TokenByHash(%s): %v", want.Name, err)
		}
		sameToken(t, got, want)
	}
	ts, err := s.Tokens(ctx)
	if err != nil || len(ts) != 2 {
		t.Fatalf("Tokens = %+v, %v; want 2", ts, err)
	}
	sameToken(t, ts[0], admin)
	sameToken(t, ts[1], viewer)

	// A zero Created gets the store's clock.
	before := time.Now().Add(-time.Minute)
	late := apiToken("late", "analyst", time.Time{})
	if err := s.CreateToken(ctx, late, cairn.AuditEntry{Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenByHash(ctx, late.Hash); err != nil || got.Created.Before(before) {
		t.Errorf("token without a time: %+v, %v; want a Created after %v", got, err, before)
	}

	audit := MustAudit(t, s)
	if len(audit) != 3 {
		t.Fatalf("audit has %d entries, want 3: %+v", len(audit), audit)
	}
	wantObjects := []string{late.Name, admin.Name, viewer.Name} // newest first
	for i, e := range audit {
		if e.Action != cairn.ActionTokenCreate || e.Object != wantObjects[i] {
			t.Errorf("audit entry %d = %s %q, want %s %q", i, e.Action, e.Object, cairn.ActionTokenCreate, wantObjects[i])
		}
		for _, tok := range []cairn.APIToken{admin, viewer, late} {
			if strings.Contains(e.Detail, tok.Hash) || strings.Contains(e.Detail, "secret-") {
				t.Errorf("audit entry %d holds a hash or secret: %s", i, e.Detail)
			}
		}
	}

	tests := []struct {
		name string
		tok  cairn.APIToken
		code string
	}{
		{"taken name", cairn.APIToken{Name: admin.Name, Role: "viewer", Hash: tokenHash("other")}, cairn.ECONFLICT},
		{"taken hash", cairn.APIToken{Name: "other", Role: "viewer", Hash: admin.Hash}, cairn.ECONFLICT},
		{"no name", cairn.APIToken{Role: "viewer", Hash: tokenHash("n")}, cairn.EINVALID},
		{"blank name", cairn.APIToken{Name: " \t", Role: "viewer", Hash: tokenHash("n")}, cairn.EINVALID},
		{"control in name", cairn.APIToken{Name: "a\nb", Role: "viewer", Hash: tokenHash("n")}, cairn.EINVALID},
		{"no role", cairn.APIToken{Name: "n", Hash: tokenHash("n")}, cairn.EINVALID},
		{"no hash", cairn.APIToken{Name: "n", Role: "viewer"}, cairn.EINVALID},
		{"secret as hash", cairn.APIToken{Name: "n", Role: "viewer", Hash: "secret-n"}, cairn.EINVALID},
		{"uppercase hash", cairn.APIToken{Name: "n", Role: "viewer", Hash: strings.ToUpper(tokenHash("n"))}, cairn.EINVALID},
	}
	for _, tt := range tests {
		err := s.CreateToken(ctx, tt.tok, cairn.AuditEntry{Actor: "mallory"})
		if got := cairn.ErrorCode(err); got != tt.code {
			t.Errorf("%s: error %v, want code %s", tt.name, err, tt.code)
		}
	}
	// A Detail holding the hash is refused rather than logged.
	leak := apiToken("leak", "viewer", Base)
	err = s.CreateToken(ctx, leak, cairn.AuditEntry{Actor: "mallory", Detail: `{"hash":"` + leak.Hash + `"}`})
	wantCode(t, err, cairn.EINVALID)
	if got, want := tokenStates(t, s), []string{"admin admin", viewer.Name + " viewer", "late analyst"}; !slices.Equal(got, want) {
		t.Errorf("tokens after the refused ones = %q, want %q", got, want)
	}
	if n := len(MustAudit(t, s)); n != 3 {
		t.Errorf("%d audit entries after the refused tokens, want 3", n)
	}
}

// testTokenRevoke revokes a token: it no longer authenticates, stays
// listed, and is audited once; unknown and revoked names are ENOTFOUND.
func testTokenRevoke(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	keep, gone := apiToken("keep", "admin", Base), apiToken("gone", "viewer", Base.Add(time.Second))
	for _, tok := range []cairn.APIToken{keep, gone} {
		if err := s.CreateToken(ctx, tok, cairn.AuditEntry{Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeToken(ctx, gone.Name, cairn.AuditEntry{Actor: "bob"}); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	_, err := s.TokenByHash(ctx, gone.Hash)
	wantCode(t, err, cairn.ENOTFOUND)
	if got, err := s.TokenByHash(ctx, keep.Hash); err != nil || got.Name != keep.Name {
		t.Errorf("the other token after a revoke: %+v, %v", got, err)
	}
	if got, want := tokenStates(t, s), []string{"keep admin", "gone viewer revoked"}; !slices.Equal(got, want) {
		t.Errorf("tokens after a revoke = %q, want %q", got, want)
	}
	for _, name := range []string{gone.Name, "missing", "", "%"} {
		err := s.RevokeToken(ctx, name, cairn.AuditEntry{Actor: "bob"})
		wantCode(t, err, cairn.ENOTFOUND)
	}
	// A revoked token's name and secret stay taken.
	err = s.CreateToken(ctx, apiToken(gone.Name, "viewer", Base), cairn.AuditEntry{Actor: "bob"})
	wantCode(t, err, cairn.ECONFLICT)

	audit := MustAudit(t, s)
	if len(audit) != 3 {
		t.Fatalf("audit has %d entries, want 3: %+v", len(audit), audit)
	}
	if e := audit[0]; e.Action != cairn.ActionTokenRevoke || e.Object != gone.Name || e.Actor != "bob" {
		t.Errorf("revoke audited as %+v", e)
	}
}

// testTokenByHashUnknown: hashes that match no token, and text that is
// not a hash at all, are ENOTFOUND.
func testTokenByHashUnknown(t *testing.T, s cairn.Store) {
	ctx := context.Background()
	tok := apiToken("admin", "admin", Base)
	if err := s.CreateToken(ctx, tok, cairn.AuditEntry{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{tokenHash("nope"), "", "secret-admin", strings.ToUpper(tok.Hash), tok.Hash[:63], "' OR 1=1 --", "%"} {
		_, err := s.TokenByHash(ctx, h)
		wantCode(t, err, cairn.ENOTFOUND)
	}
}
