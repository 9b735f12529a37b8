package iampolicy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/iampolicy"
)

func TestKnownActions(t *testing.T) {
	s3 := iampolicy.KnownActions("s3")
	for _, want := range []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket"} {
		if !slices.Contains(s3, want) {
			t.Errorf("KnownActions(s3) lacks %s", want)
		}
	}
	if !slices.IsSorted(s3) {
		t.Error("KnownActions(s3) is not sorted")
	}
	for _, a := range s3 {
		if !strings.HasPrefix(a, "s3:") || !iampolicy.Known(a) {
			t.Errorf("KnownActions(s3) holds %q, not a known s3 action", a)
		}
	}
	// The result is a copy: changing it leaves the table alone.
	s3[0] = "s3:Forged"
	if iampolicy.KnownActions("s3")[0] == "s3:Forged" {
		t.Error("KnownActions returns the table itself")
	}
	for _, p := range []string{"", "S3", "frobnicator", "s3:GetObject"} {
		if got := iampolicy.KnownActions(p); got != nil {
			t.Errorf("KnownActions(%q) = %d actions, want nil", p, len(got))
		}
	}
}

func TestServices(t *testing.T) {
	svc := iampolicy.Services()
	if !slices.IsSorted(svc) || len(svc) < 100 {
		t.Fatalf("Services() = %d prefixes (sorted %v), want a sorted table of 100+", len(svc), slices.IsSorted(svc))
	}
	for _, want := range []string{"iam", "s3", "ec2", "sts"} {
		if !slices.Contains(svc, want) {
			t.Errorf("Services() lacks %s", want)
		}
	}
	total := 0
	for _, p := range svc {
		n := len(iampolicy.KnownActions(p))
		if n == 0 {
			t.Errorf("service %s has no actions", p)
		}
		total += n
	}
	if total < 5000 {
		t.Errorf("%d known actions in all, want the full table", total)
	}
}
