// Package disjoint is a union-find over the integers 0..n-1: which items
// are joined, directly or through others.
package disjoint

// Sets are n items, each first in a set of its own.
type Sets []int

// New returns n items in n sets.
func New(n int) Sets {
	s := make(Sets, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// Find returns the root of i's set: the smallest item in it.
func (s Sets) Find(i int) int {
	for s[i] != i {
		s[i] = s[s[i]]
		i = s[i]
	}
	return i
}

// Union joins the sets of a and b.
func (s Sets) Union(a, b int) {
	a, b = s.Find(a), s.Find(b)
	if a > b {
		a, b = b, a
	}
	s[b] = a
}
