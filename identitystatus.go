package cairn

import (
	"context"
	"time"
)

// Compromise states of a cloud identity: potentially compromised is set
// automatically by high or critical detections on it (with the evidence);
// compromised and cleared are an analyst's verdicts.
const (
	IdentityPotentiallyCompromised = "potentially_compromised"
	IdentityCompromised            = "compromised"
	IdentityCleared                = "cleared"
)

// IdentityStatus is an analyst's verdict on a cloud identity
// (cloud.identity).
type IdentityStatus struct {
	Identity string `json:"identity"`
	State    string `json:"state"`
	// Since is when the compromise began (the earliest event behind the
	// evidence), as the analyst confirms or adjusts it; zero when unknown
	// or cleared. The least-privilege recommendation uses the activity
	// before it.
	Since    time.Time `json:"since,omitzero"`
	Evidence []string  `json:"evidence,omitempty"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Note     string    `json:"note,omitempty"`
}

// MaxIdentityNote bounds an analyst's note on an identity.
const MaxIdentityNote = 4096

// IdentityStatusStore keeps analysts' verdicts on identities; setting one
// writes its audit entry in the same transaction.
type IdentityStatusStore interface {
	// SetIdentityStatus records s as the identity's status, replacing the
	// previous one (EINVALID for an empty identity or by, a state other
	// than the three above, a note over MaxIdentityNote, more than 1,000
	// evidence ids), and appends audit, whose Object the store sets to
	// the identity, whose empty Action becomes "identity.status" and
	// whose empty Detail becomes the JSON of the change
	// ({"state":{"from":"","to":"compromised"},"note":"..."}). It
	// returns the previous status (zero State when none).
	SetIdentityStatus(ctx context.Context, s IdentityStatus, audit AuditEntry) (IdentityStatus, error)
	// IdentityStatuses returns every identity's current status, ordered
	// by identity.
	IdentityStatuses(ctx context.Context) ([]IdentityStatus, error)
	// GetIdentityStatus returns the identity's status, or ENOTFOUND.
	GetIdentityStatus(ctx context.Context, identity string) (IdentityStatus, error)
}
