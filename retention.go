package cairn

import (
	"context"
	"time"
)

// The kinds of record a Pruner removes.
const (
	// PruneEvents removes events, and the dead letters of the same age
	// with them: both are raw input, kept for the same time.
	PruneEvents = "events"
	// PruneDetections removes detection groups last seen before the
	// bound, with their hits and comments.
	PruneDetections = "detections"
	// PruneDeadLetters removes dead letters only.
	PruneDeadLetters = "dead_letters"
)

// Pruner removes old records so that a store does not grow without
// bound. It is separate from Store because retention is maintenance that
// an operator runs (cairn db prune), not something the pipeline needs.
//
// The audit log is never pruned: it is the record of what people did,
// and the stores refuse to change it. Process nodes are not pruned either:
// a node no longer referenced by a stored event can still be the lineage
// of a later one.
type Pruner interface {
	// Prune removes the records of kind (PruneEvents, PruneDetections or
	// PruneDeadLetters) older than before: events and dead letters by
	// their time, detection groups by their last time. It deletes at
	// most batch rows per transaction, so that ingest never waits long
	// for it, and repeats until nothing older is left. deleted counts the
	// records of kind itself (events, groups, dead letters), not the dead
	// letters, hits and comments removed with them. It returns EINVALID
	// for kind "audit", an unknown kind or a batch below 1; on an error
	// the batches already committed stay deleted, and deleted counts
	// them.
	Prune(ctx context.Context, kind string, before time.Time, batch int) (deleted int, err error)
}

// CheckPrune returns the EINVALID error Prune returns for kind and batch,
// or nil when they are valid. Stores call it first.
func CheckPrune(kind string, batch int) error {
	switch kind {
	case PruneEvents, PruneDetections, PruneDeadLetters:
	case "audit":
		return Errorf(EINVALID, "the audit log is never pruned: it is the record of what people did")
	default:
		return Errorf(EINVALID, "cannot prune %q: the kinds are %s, %s and %s", kind, PruneEvents, PruneDetections, PruneDeadLetters)
	}
	if batch < 1 {
		return Errorf(EINVALID, "prune batch %d: it must be at least 1", batch)
	}
	return nil
}
