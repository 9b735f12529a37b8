package cairn_test

import (
	"hash/fnv"
	"testing"

	"github.com/cairn-cdr/cairn"
)

func TestPartitionHashIsFNV1a(t *testing.T) {
	evs := []cairn.Event{{Host: "web-1"}, {Host: ""}, {Host: "web-1", Cloud: &cairn.CloudCall{Identity: cairn.Identity{Key: "arn:aws:iam::1:role/admin"}}}}
	for _, ev := range evs {
		h := fnv.New32a()
		h.Write([]byte(cairn.PartitionKey(&ev)))
		if got, want := cairn.PartitionHash(&ev), h.Sum32(); got != want {
			t.Errorf("PartitionHash(%q) = %d, want %d", cairn.PartitionKey(&ev), got, want)
		}
	}
	if got := cairn.PartitionKey(&evs[2]); got != "arn:aws:iam::1:role/admin" {
		t.Errorf("a cloud call's partition key = %q, want its identity", got)
	}
}
