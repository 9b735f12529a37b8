package disjoint_test

import (
	"testing"

	"github.com/cairn-cdr/cairn/internal/disjoint"
)

func TestSets(t *testing.T) {
	s := disjoint.New(6)
	s.Union(4, 2)
	s.Union(5, 4)
	s.Union(1, 3)
	for i, want := range []int{0, 1, 2, 1, 2, 2} {
		if got := s.Find(i); got != want {
			t.Errorf("Find(%d) = %d, want %d (the smallest of its set)", i, got, want)
		}
	}
	s.Union(3, 5)
	for i := 1; i < 6; i++ {
		if got := s.Find(i); got != 1 {
			t.Errorf("after joining all but 0: Find(%d) = %d, want 1", i, got)
		}
	}
}
