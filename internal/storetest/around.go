package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

// contextReader returns s as a cairn.ContextReader, or skips the test.
func contextReader(t *testing.T, s cairn.Store) cairn.ContextReader {
	t.Helper()
	cr, ok := s.(cairn.ContextReader)
	if !ok {
		t.Skipf("%T does not read events around an event (cairn.ContextReader)", s)
	}
	return cr
}

// testEventsAround selects the events of process and container scopes
// around an event. Events are written out of time order, and two share a
// time, so that (time, insertion) order is what is checked.
func testEventsAround(t *testing.T, st cairn.Store) {
	cr := contextReader(t, st)
	ctx := context.Background()
	evs := make([]cairn.Event, 60)
	for i := range evs {
		at := Base.Add(time.Duration(i) * time.Second)
		if i == 11 {
			at = evs[10].Time // written before 10: precedes it
		}
		evs[i] = Tetragon(i, at)
	}
	// Events of a container cairn names "host" (a host process).
	hostEvs := make([]cairn.Event, 3)
	for i := range hostEvs {
		hostEvs[i] = Tetragon(100+i, Base.Add(time.Duration(100+i)*time.Second))
		hostEvs[i].Container.ID = "host"
	}
	second := append(slices.Clone(evs[:10]), evs[11], evs[10])
	second = append(second, evs[12:30]...)
	MustWrite(t, st, evs[30:]...)
	MustWrite(t, st, second...)
	MustWrite(t, st, hostEvs...)

	exec := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, evs[i].Process.ExecID)
		}
		return out
	}
	ctr := func(i int) string { return evs[i].Container.ID }
	odd := []string{`"]`, "'); DROP TABLE events; --", "%", "", "k\x00ey"}
	procs := append(exec(2, 4, 6, 9, 10, 11, 12, 15, 19, 33), odd...)
	many := make([]string, 0, 3002)
	for i := range 3000 {
		many = append(many, fmt.Sprintf("no-such-exec-id-%d", i))
	}
	many = append(many, exec(2, 50)...)

	tests := []struct {
		name          string
		ev            cairn.Event
		scope         cairn.Scope
		before, after int
		pre, post     []int // indexes into evs
	}{
		{"processes", evs[10], cairn.Scope{ProcessKeys: procs}, 3, 2, []int{6, 9, 11}, []int{12, 15}},
		{"processes all", evs[10], cairn.Scope{ProcessKeys: procs}, 100, 100, []int{2, 4, 6, 9, 11}, []int{12, 15, 19, 33}},
		{"none asked", evs[10], cairn.Scope{ProcessKeys: procs}, 0, 0, nil, nil},
		{"same time", evs[11], cairn.Scope{ProcessKeys: procs}, 1, 1, []int{9}, []int{10}},
		{"first", evs[2], cairn.Scope{ProcessKeys: procs}, 5, 1, nil, []int{4}},
		{"container", evs[37], cairn.Scope{ContainerID: ctr(3)}, 10, 10, []int{3, 20}, []int{54}},
		{"processes and container", evs[37], cairn.Scope{ProcessKeys: exec(20, 40), ContainerID: ctr(3)}, 10, 10, []int{3, 20}, []int{40, 54}},
		{"container on a host", evs[37], cairn.Scope{ContainerID: ctr(3), Host: evs[20].Host}, 10, 10, []int{20}, nil},
		{"host limits the container only", evs[37], cairn.Scope{ProcessKeys: exec(40), ContainerID: ctr(3), Host: evs[20].Host}, 10, 10, []int{20}, []int{40}},
		{"many processes", evs[10], cairn.Scope{ProcessKeys: many}, 10, 10, []int{2}, []int{50}},
		{"empty scope", evs[10], cairn.Scope{}, 10, 10, nil, nil},
		{"container host", hostEvs[1], cairn.Scope{ContainerID: "host"}, 10, 10, nil, nil},
		{"container empty", evs[37], cairn.Scope{ContainerID: "", Host: evs[37].Host}, 10, 10, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre, post, err := cr.EventsAround(ctx, tt.ev, tt.scope, tt.before, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			want := func(is []int) []string {
				var out []string
				for _, i := range is {
					out = append(out, evs[i].ID)
				}
				return out
			}
			if got := ids(pre); !slices.Equal(got, want(tt.pre)) {
				t.Errorf("before: %v, want %v", got, want(tt.pre))
			}
			if got := ids(post); !slices.Equal(got, want(tt.post)) {
				t.Errorf("after: %v, want %v", got, want(tt.post))
			}
		})
	}

	// The events come back whole.
	pre, _, err := cr.EventsAround(ctx, evs[10], cairn.Scope{ProcessKeys: procs}, 1, 0)
	if err != nil || len(pre) != 1 {
		t.Fatalf("EventsAround: %v, %v", ids(pre), err)
	}
	sameEvent(t, pre[0], evs[11])

	missing := Tetragon(999, Base)
	_, _, err = cr.EventsAround(ctx, missing, cairn.Scope{ProcessKeys: procs}, 1, 1)
	wantCode(t, err, cairn.ENOTFOUND)
	for _, n := range [][2]int{{-1, 0}, {0, -1}} {
		_, _, err = cr.EventsAround(ctx, evs[10], cairn.Scope{ProcessKeys: procs}, n[0], n[1])
		wantCode(t, err, cairn.EINVALID)
	}
}
