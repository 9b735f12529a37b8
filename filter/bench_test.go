package filter_test

import (
	"testing"

	"github.com/cairn-cdr/cairn/filter"
)

// BenchmarkMatch measures Match on a typical three-clause filter, on an
// event that satisfies every clause (the slowest path) and on one that
// fails the first.
func BenchmarkMatch(b *testing.B) {
	e := filter.MustParse("kubernetes.namespace.name = prod and proc.name in (bash, sh, curl) and severity >= high")
	evs := testEvents()
	hit, miss := evs[4], evs[1] // alert-high, exec-curl (namespace Prod)
	if !e.Match(hit) || e.Match(miss) {
		b.Fatal("benchmark events do not match as expected")
	}
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.Match(hit)
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.Match(miss)
		}
	})
}

// BenchmarkParse measures compiling the same filter.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		filter.MustParse("kubernetes.namespace.name = prod and proc.name in (bash, sh, curl) and severity >= high")
	}
}
