package storeutil

import (
	"testing"

	"github.com/cairn-cdr/cairn"
)

// The ids are stored: they must not change. The wanted values are SHA-256
// of each part's length (8 bytes, little endian) and bytes, computed
// outside Go.
func TestIDs(t *testing.T) {
	d := cairn.Detection{Rule: "r", Output: "out", Entities: cairn.Entities{ExecID: "x", Host: "h"}}
	if got, want := GroupID(d), "66e2454ae952d37d587d22ae3b232f4daf3901e5a1e1b685a4aa75447683b93d"; got != want {
		t.Errorf("GroupID = %s, want %s", got, want)
	}
	l := cairn.DeadLetter{Origin: "o", Position: "p", Raw: []byte("raw\x00"), Reason: "not part of the id"}
	if got, want := DeadLetterID(l), "313902af4405bfe633a07388aa5f72e101c97e4b56925ac34208c35e2212d6bd"; got != want {
		t.Errorf("DeadLetterID = %s, want %s", got, want)
	}
}

func TestHashPartsPrefixesLengths(t *testing.T) {
	a, b := HashParts("ab", "c"), HashParts("a", "bc")
	if a == b {
		t.Fatalf("HashParts(ab, c) = HashParts(a, bc) = %s", a)
	}
	if a != "43ee655579de01ca739b3f95c1c2d3f46d353b2c0df818064ea594506cdb2617" {
		t.Errorf("HashParts(ab, c) = %s", a)
	}
	if HashParts([]byte("ab"), []byte("c")) != a {
		t.Error("HashParts of bytes differs from HashParts of the same strings")
	}
}
