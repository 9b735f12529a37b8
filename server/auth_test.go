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
