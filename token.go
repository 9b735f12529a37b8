package cairn

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIToken is a bearer token of the API. The store keeps the hex SHA-256
// of its secret, never the secret itself, which is shown once when the
// token is created.
type APIToken struct {
	// Name identifies the token and is recorded as the actor of what it
	// changes; names are unique, revoked tokens' included.
	Name string `json:"name"`
	// Role is what the token may do: viewer, analyst or admin.
	Role string `json:"role"`
	// Hash is the lowercase hex SHA-256 of the secret. It is never
	// encoded as JSON, so that listings cannot leak it.
	Hash string `json:"-"`
	// Created is when the token was created; CreatedBy who created it.
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	// LastUsed is when the token was last used; zero when unknown.
	LastUsed time.Time `json:"last_used,omitzero"`
	// Revoked tokens authenticate nothing; they are kept for the record.
	Revoked bool `json:"revoked"`
}

// The audit actions of TokenStore.
const (
	ActionTokenCreate = "token.create"
	ActionTokenRevoke = "token.revoke"
)

// PrepareCreate checks t for CreateToken and readies its audit entry: a
// token without a name or role, whose name is not UTF-8 text without
// control characters, or whose Hash is not a lowercase hex
// SHA-256, is EINVALID. t gets now() when its Created is zero. The entry
// gets Object t.Name, Action "token.create" when empty and, when its
// Detail is empty, the token's name, role and creator as JSON; a Detail
// that contains the hash is EINVALID.
func (t *APIToken) PrepareCreate(audit AuditEntry, now func() time.Time) (AuditEntry, error) {
	switch {
	case strings.TrimSpace(t.Name) == "":
		return audit, Errorf(EINVALID, "a token needs a name")
	case !utf8.ValidString(t.Name) || strings.ContainsFunc(t.Name, unicode.IsControl):
		return audit, Errorf(EINVALID, "a token name must be UTF-8 text without control characters")
	case strings.TrimSpace(t.Role) == "":
		return audit, Errorf(EINVALID, "token %q has no role", t.Name)
	case !isSHA256Hex(t.Hash):
		return audit, Errorf(EINVALID, "token %q: the hash is not a hex SHA-256", t.Name)
	}
	if t.Created.IsZero() {
		t.Created = now()
	}
	audit.Object = t.Name
	if audit.Action == "" {
		audit.Action = ActionTokenCreate
	}
	if audit.Detail == "" {
		b, err := json.Marshal(t) // Hash is not encoded
		if err != nil {
			return audit, Errorf(EINVALID, "token %q: %v", t.Name, err)
		}
		audit.Detail = string(b)
	}
	if strings.Contains(strings.ToLower(audit.Detail), t.Hash) {
		return audit, Errorf(EINVALID, "token %q: the audit detail must not hold the token's hash", t.Name)
	}
	return audit, nil
}

// RevokeAudit returns audit as RevokeToken appends it for the token of
// the name: Object the name and an empty Action "token.revoke".
func RevokeAudit(audit AuditEntry, name string) AuditEntry {
	audit.Object = name
	if audit.Action == "" {
		audit.Action = ActionTokenRevoke
	}
	return audit
}

// isSHA256Hex reports whether s is 64 lowercase hex digits.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
