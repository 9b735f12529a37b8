package cairn

import (
	"context"
	"time"
)

// WriteResult counts what a write did.
type WriteResult struct {
	// Inserted counts events stored for the first time.
	Inserted int
	// Duplicates counts events whose id was already stored (or repeated
	// within the same write); they change nothing.
	Duplicates int
}

// EventWriter stores events. Writing an event whose id is already stored
// changes nothing and counts it as a duplicate.
type EventWriter interface {
	WriteEvents(ctx context.Context, events []Event) (WriteResult, error)
}

// DeadLetterWriter keeps records that could not be decoded. Writing the
// same dead letter (origin, position and bytes) twice keeps it once.
type DeadLetterWriter interface {
	WriteDeadLetters(ctx context.Context, letters []DeadLetter) error
}

// EventQuery selects events. The zero value selects the newest events.
type EventQuery struct {
	// Filter is an expression in the filter language; "" matches all.
	Filter string
	// Since and Until bound the event time: Since <= time < Until; zero
	// values leave that side open.
	Since, Until time.Time
	// Limit caps the number of events returned; 0 means the store's
	// default page size.
	Limit int
	// Cursor continues a previous query from where its page ended.
	Cursor string
	// Oldest returns the oldest events first instead of the newest.
	Oldest bool
}

// EventPage is one page of a query's result.
type EventPage struct {
	Events []Event
	// Next is the cursor of the following page, "" at the end.
	Next string
}

// EventReader reads stored events.
type EventReader interface {
	// QueryEvents returns the events matching q, newest first unless
	// q.Oldest. It returns EINVALID for a malformed filter or cursor.
	QueryEvents(ctx context.Context, q EventQuery) (EventPage, error)
	// GetEvent returns one event by id, or ENOTFOUND.
	GetEvent(ctx context.Context, id string) (Event, error)
}

// Count is one group of a count query.
type Count struct {
	Source Source `json:"source"`
	Kind   Kind   `json:"kind"`
	N      int    `json:"n"`
}

// Stats summarises a store's contents.
type Stats struct {
	Events      int     `json:"events"`
	DeadLetters int     `json:"dead_letters"`
	ByKind      []Count `json:"by_source_kind"`
	// Bytes is the store's size on disk: the SQLite file's pages, or the
	// PostgreSQL schema's tables with their indexes.
	Bytes int64 `json:"bytes"`
}

// StatsReader summarises what is stored.
type StatsReader interface {
	Stats(ctx context.Context) (Stats, error)
}

// DeadLetterReader lists dead letters, newest first.
type DeadLetterReader interface {
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
}

// Store is everything the CLI needs from a store; the SQLite and
// PostgreSQL stores implement it.
type Store interface {
	EventWriter
	DeadLetterWriter
	EventReader
	DeadLetterReader
	StatsReader
	ProcessWriter
	ProcessReader
	ContextReader
	DetectionStore
	TriageStore
	IdentityStatusStore
	HitReader
	ExceptionStore
	AuditLog
	TokenStore
	PartitionReader
	Close() error
}

// TokenStore keeps the API's tokens. Creating and revoking one writes the
// audit entry in the same transaction; neither the secret nor its hash is
// ever written to the audit log.
type TokenStore interface {
	// CreateToken stores t (EINVALID when it lacks a name, a role or a
	// hex SHA-256 Hash; ECONFLICT when its name or hash is taken, by a
	// revoked token too) and appends audit, whose Object the store sets
	// to t.Name and whose empty Action becomes "token.create".
	CreateToken(ctx context.Context, t APIToken, audit AuditEntry) error
	// TokenByHash returns the token whose secret hashes to hash, or
	// ENOTFOUND when there is none or it is revoked.
	TokenByHash(ctx context.Context, hash string) (APIToken, error)
	// Tokens returns every token, revoked ones included, oldest first.
	Tokens(ctx context.Context) ([]APIToken, error)
	// RevokeToken revokes the token of the name (ENOTFOUND when there is
	// no such token or it is already revoked) and appends audit, whose
	// Object the store sets to name and whose empty Action becomes
	// "token.revoke".
	RevokeToken(ctx context.Context, name string, audit AuditEntry) error
}
