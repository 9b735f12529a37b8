package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/server"
)

// Each role may do what its rank allows and no more; no token or an
// unknown one is 401.
func TestAuthRoles(t *testing.T) {
	e := newEnv(t, nil)
	const exc = `{"from_detection":"nope","dry_run":true}`
	tests := []struct {
		method, path, role, body string
		want                     int
	}{
		{"GET", "/api/v1/events", "", "", 401},
		{"GET", "/api/v1/events", "raw:Bearer not-a-token", "", 401},
		{"GET", "/api/v1/events", "raw:Bearer ", "", 401},
		{"GET", "/api/v1/events", "raw:Basic dXNlcjpwYXNz", "", 401},
		{"POST", "/api/v1/exceptions", "", exc, 401},
		{"GET", "/api/v1/audit", "", "", 401},
		{"GET", "/healthz", "", "", 200},
		{"GET", "/api/v1/openapi.json", "", "", 200},

		{"GET", "/api/v1/events", server.RoleViewer, "", 200},
		{"GET", "/api/v1/detections", server.RoleViewer, "", 200},
		{"GET", "/api/v1/exceptions", server.RoleViewer, "", 200},
		{"GET", "/api/v1/stats", server.RoleViewer, "", 200},
		{"GET", "/api/v1/dead-letters", server.RoleViewer, "", 200},
		{"POST", "/api/v1/exceptions", server.RoleViewer, exc, 403},
		{"DELETE", "/api/v1/exceptions/x-1", server.RoleViewer, "", 403},
		{"POST", "/api/v1/ingest", server.RoleViewer, "", 403},
		{"POST", "/api/v1/ingest/falcosidekick", server.RoleViewer, "", 403},
		{"GET", "/api/v1/audit", server.RoleViewer, "", 403},

		{"POST", "/api/v1/exceptions", server.RoleAnalyst, exc, 404}, // allowed; the detection is unknown
		{"DELETE", "/api/v1/exceptions/x-1", server.RoleAnalyst, "", 404},
		{"GET", "/api/v1/audit", server.RoleAnalyst, "", 403},

		{"GET", "/api/v1/audit", server.RoleAdmin, "", 200},
		{"POST", "/api/v1/exceptions", server.RoleAdmin, exc, 404},
	}
	for _, tt := range tests {
		r := e.do(t, tt.method, tt.path, tt.role, strings.NewReader(tt.body))
		if r.status != tt.want {
			t.Errorf("%s %s as %q: %d, want %d: %s", tt.method, tt.path, tt.role, r.status, tt.want, r.body)
			continue
		}
		switch tt.want {
		case 401:
			wantError(t, tt.path, r, 401, "unauthorized")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: 401 without a Bearer challenge", tt.method, tt.path)
			}
		case 403:
			wantError(t, tt.path, r, 403, "forbidden")
		}
	}
}

// tokenFunc is a TokenStore made of a function.
type tokenFunc func(secret string) (server.Token, error)

func (f tokenFunc) Lookup(_ context.Context, secret string) (server.Token, error) { return f(secret) }

// A token store that fails is a 500 whose details are logged, never
// sent; a token whose role the server does not know is allowed nothing.
func TestAuthStoreFailureAndUnknownRole(t *testing.T) {
	var e *env
	e = newEnv(t, func(c *server.Config) {
		c.Tokens = tokenFunc(func(secret string) (server.Token, error) {
			switch secret {
			case e.secret[server.RoleViewer]:
				return server.Token{Name: "odd", Role: "root"}, nil
			case e.secret[server.RoleAdmin]:
				return server.Token{}, errors.New("token db at /var/lib/secret.db: password hunter2 refused")
			}
			return server.Token{}, cairn.Errorf(cairn.ENOTFOUND, "no")
		})
	})
	r := e.do(t, "GET", "/api/v1/events", server.RoleAdmin, nil)
	if msg := wantError(t, "failing token store", r, 500, "internal"); msg != "internal error" || strings.Contains(string(r.body), "hunter2") {
		t.Fatalf("internal details sent: %s", r.body)
	}
	if !strings.Contains(e.logs.String(), "hunter2") {
		t.Fatalf("internal error not logged: %q", e.logs.String())
	}
	wantError(t, "unknown role", e.do(t, "GET", "/api/v1/events", server.RoleViewer, nil), 403, "forbidden")
	wantError(t, "unknown token", e.do(t, "GET", "/api/v1/events", server.RoleAnalyst, nil), 401, "unauthorized")
}

func TestMemTokens(t *testing.T) {
	ctx := context.Background()
	m := &server.MemTokens{}
	s1, err := m.NewToken("alice", server.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := m.NewToken("bob", server.RoleViewer)
	if err != nil || s1 == s2 || !strings.HasPrefix(s1, "cairn_") || len(s1) < 40 {
		t.Fatalf("secrets %q %q: %v", s1, s2, err)
	}
	for secret, want := range map[string]server.Token{s1: {Name: "alice", Role: server.RoleAnalyst}, s2: {Name: "bob", Role: server.RoleViewer}} {
		if got, err := m.Lookup(ctx, secret); err != nil || got != want {
			t.Errorf("Lookup: %+v %v, want %+v", got, err, want)
		}
	}
	for _, bad := range []string{"", s1[:len(s1)-1], s1 + "x", strings.ToUpper(s1), server.HashSecret(s1)} {
		if _, err := m.Lookup(ctx, bad); cairn.ErrorCode(err) != cairn.ENOTFOUND {
			t.Errorf("Lookup(%q): %v, want not_found", bad, err)
		}
	}
	tests := []struct {
		secret string
		tok    server.Token
		code   string
	}{
		{"s3", server.Token{Name: "carol", Role: "root"}, cairn.EINVALID},
		{"s3", server.Token{Name: " ", Role: server.RoleAdmin}, cairn.EINVALID},
		{"", server.Token{Name: "carol", Role: server.RoleAdmin}, cairn.EINVALID},
		{"s3", server.Token{Name: "alice", Role: server.RoleAdmin}, cairn.ECONFLICT},
		{s2, server.Token{Name: "carol", Role: server.RoleAdmin}, cairn.ECONFLICT},
		{"s3", server.Token{Name: "carol", Role: server.RoleAdmin}, ""},
	}
	for _, tt := range tests {
		if err := m.Add(tt.secret, tt.tok); cairn.ErrorCode(err) != tt.code {
			t.Errorf("Add(%q, %+v): %v, want code %q", tt.secret, tt.tok, err, tt.code)
		}
	}
	// The hash is SHA-256 in hex: a persistent store can keep it.
	if h := server.HashSecret("abc"); h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashSecret(abc) = %s", h)
	}
}

// storeTokenFunc is a cairn.TokenStore whose TokenByHash is a function;
// its other methods are not used by StoreTokens.
type storeTokenFunc func(hash string) (cairn.APIToken, error)

func (f storeTokenFunc) TokenByHash(_ context.Context, hash string) (cairn.APIToken, error) {
	return f(hash)
}
func (storeTokenFunc) CreateToken(context.Context, cairn.APIToken, cairn.AuditEntry) error {
	return errors.New("unused")
}
func (storeTokenFunc) Tokens(context.Context) ([]cairn.APIToken, error) {
	return nil, errors.New("unused")
}
func (storeTokenFunc) RevokeToken(context.Context, string, cairn.AuditEntry) error {
	return errors.New("unused")
}

// StoreTokens trusts a stored token only when its hash is the secret's
// and it is not revoked, and passes the store's errors on.
func TestStoreTokensLookup(t *testing.T) {
	ctx := context.Background()
	const secret = "cairn_test-secret"
	failure := errors.New("disk on fire")
	tests := []struct {
		name   string
		stored cairn.APIToken
		err    error
		want   server.Token
		code   string
	}{
		{"match", cairn.APIToken{Name: "ci", Role: server.RoleAnalyst, Hash: server.HashSecret(secret)}, nil,
			server.Token{Name: "ci", Role: server.RoleAnalyst}, ""},
		{"other hash", cairn.APIToken{Name: "ci", Role: server.RoleAdmin, Hash: server.HashSecret("other")}, nil, server.Token{}, cairn.ENOTFOUND},
		{"empty hash", cairn.APIToken{Name: "ci", Role: server.RoleAdmin}, nil, server.Token{}, cairn.ENOTFOUND},
		{"revoked", cairn.APIToken{Name: "ci", Role: server.RoleAdmin, Hash: server.HashSecret(secret), Revoked: true}, nil, server.Token{}, cairn.ENOTFOUND},
		{"not found", cairn.APIToken{}, cairn.Errorf(cairn.ENOTFOUND, "no"), server.Token{}, cairn.ENOTFOUND},
		{"store fails", cairn.APIToken{}, failure, server.Token{}, cairn.EINTERNAL},
	}
	for _, tt := range tests {
		var asked string
		s := server.StoreTokens{Store: storeTokenFunc(func(hash string) (cairn.APIToken, error) {
			asked = hash
			return tt.stored, tt.err
		})}
		got, err := s.Lookup(ctx, secret)
		if got != tt.want || cairn.ErrorCode(err) != tt.code {
			t.Errorf("%s: %+v, %v; want %+v, code %q", tt.name, got, err, tt.want, tt.code)
		}
		if asked != server.HashSecret(secret) {
			t.Errorf("%s: asked the store for %q, want the secret's hash", tt.name, asked)
		}
	}
}

// The server on a store's tokens: roles apply, every token change is
// audited, and a revoked token is refused from the next request on.
func TestStoreTokensServe(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *server.Config) { c.Tokens = server.StoreTokens{Store: c.Store} })
	for _, role := range []string{server.RoleViewer, server.RoleAnalyst, server.RoleAdmin} {
		secret := server.NewSecret()
		tok := cairn.APIToken{Name: "stored-" + role, Role: role, Hash: server.HashSecret(secret), CreatedBy: "test"}
		if err := e.st.CreateToken(ctx, tok, cairn.AuditEntry{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		e.secret[role] = secret
	}
	const exc = `{"from_detection":"nope","dry_run":true}`
	if r := e.do(t, "GET", "/api/v1/events", server.RoleViewer, nil); r.status != 200 {
		t.Errorf("viewer GET events: %d %s", r.status, r.body)
	}
	wantError(t, "viewer POST", e.do(t, "POST", "/api/v1/exceptions", server.RoleViewer, strings.NewReader(exc)), 403, "forbidden")
	if r := e.do(t, "POST", "/api/v1/exceptions", server.RoleAnalyst, strings.NewReader(exc)); r.status != 404 {
		t.Errorf("analyst POST exceptions: %d %s, want 404 (allowed, unknown detection)", r.status, r.body)
	}
	var audit struct {
		Entries []cairn.AuditEntry `json:"entries"`
	}
	e.getJSON(t, "/api/v1/audit", server.RoleAdmin, &audit)
	created := 0
	for _, a := range audit.Entries {
		if a.Action == cairn.ActionTokenCreate {
			created++
		}
	}
	if created != 3 {
		t.Errorf("audit holds %d token.create entries, want 3: %+v", created, audit.Entries)
	}
	if err := e.st.RevokeToken(ctx, "stored-"+server.RoleViewer, cairn.AuditEntry{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	wantError(t, "revoked viewer", e.do(t, "GET", "/api/v1/events", server.RoleViewer, nil), 401, "unauthorized")
	if r := e.do(t, "GET", "/api/v1/events", server.RoleAnalyst, nil); r.status != 200 {
		t.Errorf("analyst after another token's revoke: %d", r.status)
	}
}
