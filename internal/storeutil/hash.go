package storeutil

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/cairn-cdr/cairn"
)

// HashParts returns the hex SHA-256 of parts, each prefixed with its
// length (8 bytes, little endian) so that no two different lists hash the
// same input.
func HashParts[T ~string | ~[]byte](parts ...T) string {
	h := sha256.New()
	for _, part := range parts {
		var n [8]byte
		l := uint64(len(part))
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// GroupID returns the id of a detection's group: a hash of its rule,
// output and entities.
func GroupID(d cairn.Detection) string {
	e := d.Entities
	return HashParts(d.Rule, d.Output, e.ExecID, e.ContainerID, e.Image, e.Pod, e.Namespace,
		e.Cluster, e.Host, e.Identity)
}

// DeadLetterID hashes what identifies a dead letter: where it was read
// and its bytes.
func DeadLetterID(d cairn.DeadLetter) string {
	return HashParts([]byte(d.Origin), []byte(d.Position), d.Raw)
}
