package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"

	"github.com/cairn-cdr/cairn"
)

// Roles, each allowing what the one before it does and more: viewers
// read; analysts also add and remove exceptions and ingest; admins also
// read the audit log.
const (
	RoleViewer  = "viewer"
	RoleAnalyst = "analyst"
	RoleAdmin   = "admin"
)

// roleRank orders the roles; an unknown role ranks 0 and is allowed
// nothing.
var roleRank = map[string]int{RoleViewer: 1, RoleAnalyst: 2, RoleAdmin: 3}

// roleAllows reports whether a token of role may do what needs the role
// need.
func roleAllows(role, need string) bool {
	r := roleRank[role]
	return r > 0 && r >= roleRank[need]
}

// KnownRole reports whether role is one of the roles above.
func KnownRole(role string) bool { return roleRank[role] > 0 }

// Token is who a bearer secret authenticates: Name is recorded as the
// actor of what the token changes.
type Token struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// TokenStore finds the token a secret belongs to.
type TokenStore interface {
	// Lookup returns the token whose secret this is, an error with code
	// cairn.ENOTFOUND when there is none, or another error when the
	// store fails.
	Lookup(ctx context.Context, secret string) (Token, error)
}

// HashSecret returns the hex SHA-256 of a secret: what a token store
// keeps instead of the secret. Secrets are random (NewSecret), so an
// unsalted fast hash is enough.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// secretPrefix marks cairn's secrets, so that a leaked one is
// recognisable (to secret scanners too).
const secretPrefix = "cairn_"

// NewSecret returns a random bearer secret: 256 bits, URL-safe.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// MemTokens is a TokenStore in memory, holding the SHA-256 hashes of the
// secrets only. It is safe for concurrent use.
type MemTokens struct {
	mu     sync.RWMutex
	tokens []memToken
}

type memToken struct {
	hash [sha256.Size]byte
	tok  Token
}

var _ TokenStore = (*MemTokens)(nil)

// NewToken adds a token of the name and role with a new random secret
// and returns the secret, which is shown once and never kept.
func (m *MemTokens) NewToken(name, role string) (string, error) {
	secret := NewSecret()
	return secret, m.Add(secret, Token{Name: name, Role: role})
}

// Add adds a token with a secret chosen elsewhere (from a file or the
// environment). It returns EINVALID for an empty name or secret or an
// unknown role, ECONFLICT when the secret or name is taken.
func (m *MemTokens) Add(secret string, t Token) error {
	switch {
	case strings.TrimSpace(t.Name) == "":
		return cairn.Errorf(cairn.EINVALID, "a token needs a name")
	case roleRank[t.Role] == 0:
		return cairn.Errorf(cairn.EINVALID, "unknown role %q (want viewer, analyst or admin)", t.Role)
	case secret == "":
		return cairn.Errorf(cairn.EINVALID, "token %q: empty secret", t.Name)
	}
	h := sha256.Sum256([]byte(secret))
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.tokens {
		if x.tok.Name == t.Name {
			return cairn.Errorf(cairn.ECONFLICT, "a token named %q exists", t.Name)
		}
		if x.hash == h {
			return cairn.Errorf(cairn.ECONFLICT, "token %q: that secret is taken", t.Name)
		}
	}
	m.tokens = append(m.tokens, memToken{hash: h, tok: t})
	return nil
}

// Lookup compares the secret's hash with every token's in constant time,
// without stopping at the first match.
func (m *MemTokens) Lookup(_ context.Context, secret string) (Token, error) {
	h := sha256.Sum256([]byte(secret))
	m.mu.RLock()
	defer m.mu.RUnlock()
	var found Token
	hit := 0
	for _, x := range m.tokens {
		eq := subtle.ConstantTimeCompare(h[:], x.hash[:])
		if eq == 1 {
			found = x.tok
		}
		hit |= eq
	}
	if hit == 0 {
		return Token{}, cairn.Errorf(cairn.ENOTFOUND, "no such token")
	}
	return found, nil
}

// StoreTokens is a TokenStore on a store's tokens (cairn.TokenStore),
// which keeps the SHA-256 hashes of the secrets only. A revoked token is
// found no more, from the next request on.
type StoreTokens struct {
	Store cairn.TokenStore
}

var _ TokenStore = StoreTokens{}

// Lookup finds the token by the hash of the secret and compares the
// stored hash with it in constant time before trusting it.
func (s StoreTokens) Lookup(ctx context.Context, secret string) (Token, error) {
	h := HashSecret(secret)
	t, err := s.Store.TokenByHash(ctx, h)
	if err != nil {
		return Token{}, err
	}
	if subtle.ConstantTimeCompare([]byte(h), []byte(t.Hash)) != 1 || t.Revoked {
		return Token{}, cairn.Errorf(cairn.ENOTFOUND, "no such token")
	}
	return Token{Name: t.Name, Role: t.Role}, nil
}

// authenticate returns the token of the request's bearer secret, or an
// unauthorized error.
func (s *server) authenticate(r *http.Request) (Token, error) {
	challenge := map[string]string{"WWW-Authenticate": `Bearer realm="cairn"`}
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return Token{}, &apiError{code: codeUnauthorized, msg: "missing bearer token (Authorization: Bearer <token>)", header: challenge}
	}
	tok, err := s.cfg.Tokens.Lookup(r.Context(), secret)
	switch {
	case cairn.ErrorCode(err) == cairn.ENOTFOUND:
		challenge["WWW-Authenticate"] = `Bearer realm="cairn", error="invalid_token"`
		return Token{}, &apiError{code: codeUnauthorized, msg: "invalid token", header: challenge}
	case err != nil:
		return Token{}, err
	}
	return tok, nil
}
