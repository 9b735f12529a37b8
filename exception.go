package cairn

import (
	"context"
	"time"
)

// Exception suppresses a rule's future detections whose event matches one
// of its value tuples, in Falco's exception syntax: each tuple holds one
// value per field, compared with the field's operator (comps), and the
// tuple matches when every comparison holds.
type Exception struct {
	ID string `json:"id"`
	// Rule is the name of the rule the exception belongs to.
	Rule string `json:"rule"`
	// Name is the exception's name within the rule (Falco's
	// exceptions[].name).
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
	// Comps holds one operator per field (=, !=, in, startswith, ...).
	Comps  []string   `json:"comps"`
	Values [][]string `json:"values"`
	// Note says why the exception exists.
	Note string `json:"note,omitempty"`
	// Author is who added it: the operating-system user for the CLI, the
	// authenticated user for the server.
	Author  string    `json:"author"`
	Created time.Time `json:"created"`
	// Expires is when the exception stops applying; zero for never.
	Expires time.Time `json:"expires,omitzero"`
	// Detection is the detection the exception was made from, if any.
	Detection string `json:"detection,omitempty"`
}

// Active reports whether the exception applies at t.
func (x *Exception) Active(t time.Time) bool { return x.Expires.IsZero() || t.Before(x.Expires) }

// AuditEntry is one line of the audit log: who did what to which object,
// and when.
type AuditEntry struct {
	// Seq orders the log; the store assigns it.
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Actor is the operating-system user for the CLI, the authenticated
	// user for the server.
	Actor string `json:"actor"`
	// Action is what was done: exception.add, exception.rm, ...
	Action string `json:"action"`
	// Object is what it was done to (an exception id, a rule name).
	Object string `json:"object"`
	// Detail is a JSON object with the change itself.
	Detail string `json:"detail,omitempty"`
}

// AuditLog is the append-only log of changes people make. Entries are
// never updated or deleted.
type AuditLog interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	// Audit returns entries newest first; limit 0 means all.
	Audit(ctx context.Context, limit int) ([]AuditEntry, error)
}

// ExceptionStore keeps exceptions. Adding and removing one writes the
// audit entry in the same transaction, so that neither happens without
// the other.
type ExceptionStore interface {
	// AddException stores x (ECONFLICT when its id is taken) and appends
	// audit, whose Object the store sets to x.ID.
	AddException(ctx context.Context, x Exception, audit AuditEntry) error
	// Exceptions returns every stored exception, expired ones included,
	// oldest first.
	Exceptions(ctx context.Context) ([]Exception, error)
	// RemoveException deletes the exception (ENOTFOUND when there is none)
	// and appends audit, returning what was removed.
	RemoveException(ctx context.Context, id string, audit AuditEntry) (Exception, error)
}

// DetectionHit is one detection as written, before grouping: what a
// backtest replays.
type DetectionHit struct {
	ID       string    `json:"id"`
	GroupID  string    `json:"group_id"`
	Time     time.Time `json:"time"`
	EventIDs []string  `json:"event_ids"`
}

// HitReader lists a rule's detections one by one.
type HitReader interface {
	// RuleHits returns every stored detection of the rule, oldest first.
	RuleHits(ctx context.Context, rule string) ([]DetectionHit, error)
}
