package storeutil

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
)

// MaxIdentityEvidence bounds the evidence ids of an identity's status, as
// cairn.IdentityStatusStore says.
const MaxIdentityEvidence = 1000

// identityStates are the states SetIdentityStatus accepts.
var identityStates = []string{cairn.IdentityPotentiallyCompromised, cairn.IdentityCompromised, cairn.IdentityCleared}

// CheckIdentityStatus returns EINVALID for a status SetIdentityStatus
// refuses, and otherwise readies it for the store: its identity, by,
// note and evidence ids made text as the store keeps it (keep), its
// times in UTC at the nanoseconds the store keeps. A zero At becomes now.
func CheckIdentityStatus(s *cairn.IdentityStatus, keep func(string) string, now time.Time) error {
	switch {
	case s.Identity == "":
		return cairn.Errorf(cairn.EINVALID, "identity status has no identity")
	case s.By == "":
		return cairn.Errorf(cairn.EINVALID, "identity status of %q has no author (by)", Truncate(s.Identity, 80))
	case !validIdentityState(s.State):
		return cairn.Errorf(cairn.EINVALID, "unknown identity state %q: want one of %s",
			Truncate(s.State, 40), strings.Join(identityStates, ", "))
	case len(s.Note) > cairn.MaxIdentityNote:
		return cairn.Errorf(cairn.EINVALID, "identity note is %d bytes long, more than %d", len(s.Note), cairn.MaxIdentityNote)
	case len(s.Evidence) > MaxIdentityEvidence:
		return cairn.Errorf(cairn.EINVALID, "identity status has %d evidence ids, more than %d", len(s.Evidence), MaxIdentityEvidence)
	}
	s.Identity, s.By, s.Note = keep(s.Identity), keep(s.By), keep(s.Note)
	if len(s.Evidence) == 0 {
		s.Evidence = nil
	} else {
		ev := make([]string, len(s.Evidence))
		for i, id := range s.Evidence {
			ev[i] = keep(id)
		}
		s.Evidence = ev
	}
	if s.At.IsZero() {
		s.At = now
	}
	s.At = storedTime(s.At)
	if !s.Since.IsZero() {
		s.Since = storedTime(s.Since)
	}
	return nil
}

func validIdentityState(state string) bool {
	for _, s := range identityStates {
		if state == s {
			return true
		}
	}
	return false
}

// storedTime is t as a store gives it back: unix nanoseconds, in UTC.
func storedTime(t time.Time) time.Time { return time.Unix(0, UnixNano(t)).UTC() }

// identityChange is the audit detail of setting an identity's status:
// the state, from and to, and the note and since when set.
type identityChange struct {
	State fromTo    `json:"state"`
	Note  string    `json:"note,omitempty"`
	Since time.Time `json:"since,omitzero"`
}

// IdentityStatusDetail returns the audit detail of replacing prev (zero
// State when none) with s:
// {"state":{"from":"","to":"compromised"},"note":"...","since":"..."},
// the note and since only when s has them.
func IdentityStatusDetail(prev, s cairn.IdentityStatus) string {
	b, _ := json.Marshal(identityChange{State: fromTo{From: prev.State, To: s.State}, Note: s.Note, Since: s.Since}) // strings and a stored time never fail
	return string(b)
}

// EvidenceJSON returns evidence ids as the JSON array text the stores
// keep ("[]" for none).
func EvidenceJSON(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // strings never fail
	return string(b)
}

// ParseEvidence reads the evidence ids EvidenceJSON wrote; nil for none.
func ParseEvidence(text string) ([]string, error) {
	var ids []string
	if err := json.Unmarshal([]byte(text), &ids); err != nil {
		return nil, fmt.Errorf("evidence %q: %w", Truncate(text, 80), err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}
