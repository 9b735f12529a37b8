package correlate

import (
	"math/rand/v2"
	"testing"
)

// TestDeque checks the ring buffer against a plain slice through random
// pushes and pops, including bursts that grow it and drains that shrink
// it again.
func TestDeque(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var q deque[int]
	var want []int
	next := 0
	for step := range 200_000 {
		pushBias := 50
		if (step/5000)%2 == 0 {
			pushBias = 70 // a burst, then a drain
		} else {
			pushBias = 30
		}
		if len(want) == 0 || r.IntN(100) < pushBias {
			q.push(next)
			want = append(want, next)
			next++
		} else {
			got := q.pop()
			if got != want[0] {
				t.Fatalf("step %d: pop %d, want %d", step, got, want[0])
			}
			want = want[1:]
		}
		if q.len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", step, q.len(), len(want))
		}
		if len(want) > 0 {
			if *q.front() != want[0] || *q.back() != want[len(want)-1] {
				t.Fatalf("step %d: front/back %d/%d, want %d/%d", step, *q.front(), *q.back(), want[0], want[len(want)-1])
			}
			if i := r.IntN(len(want)); q.at(i) != want[i] {
				t.Fatalf("step %d: at(%d) = %d, want %d", step, i, q.at(i), want[i])
			}
		}
		if len(q.buf) > 64 && len(q.buf) > 4*len(want)+4 {
			t.Fatalf("step %d: buffer of %d kept for %d entries", step, len(q.buf), len(want))
		}
	}
	q.reset()
	if q.len() != 0 {
		t.Fatal("reset left entries")
	}
}
