package cairn

import (
	"context"
	"time"
)

// PartitionKey returns what an event is partitioned by on the bus (scale-out
// mode): the identity of a cloud call, the host of anything else. All the
// state a stateful detection keeps (a process tree, an identity's windows)
// is about one such key, so one detect worker sees all of it.
func PartitionKey(ev *Event) string {
	if ev.Cloud != nil {
		return ev.Cloud.Identity.Key
	}
	return ev.Host
}

// PartitionHash is the hash of ev's partition key: ev is in partition
// PartitionHash(ev) % n of n. Stores keep it with each event, so that a
// worker taking a partition over can read that partition's events back.
func PartitionHash(ev *Event) uint32 { return KeyHash(PartitionKey(ev)) }

// KeyHash is the hash partitions are taken from: FNV-1a, 32 bits (hash/fnv's
// New32a), without its allocations, since it runs for every event written
// and published.
func KeyHash(key string) uint32 {
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= prime
	}
	return h
}

// PartitionReader reads back the events of one bus partition, for a detect
// worker that takes the partition over and rebuilds its state.
type PartitionReader interface {
	// LatestPartitionTime returns the newest time among the stored events
	// of partition part of parts (zero when it has none).
	LatestPartitionTime(ctx context.Context, parts, part int) (time.Time, error)
	// ScanPartition calls fn with every stored event q selects, oldest
	// first (by time, then by the order they were stored), and stops at
	// fn's first error, which it returns. fn must not write to the store; it may read, but
	// the scan holds a connection of the store's pool while it runs, so
	// concurrent scans must leave connections for those reads.
	ScanPartition(ctx context.Context, q PartitionScan, fn func(Event) error) error
}

// PartitionScan selects the events of a partition ScanPartition reads.
type PartitionScan struct {
	// Parts and Part: partition Part of Parts (EINVALID unless
	// Parts >= 1 and 0 <= Part < Parts).
	Parts, Part int
	// Since: the events at or after it; zero for all.
	Since time.Time
	// Sources, if set, limits the scan to these sources: a worker reads
	// back only what its stateful detectors look at.
	Sources []Source
}
