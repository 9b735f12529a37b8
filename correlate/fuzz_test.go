package correlate_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/correlate"
)

// fuzzDefs covers every type, both ways of deciding, aliases and chains.
func fuzzDefs() []*correlate.Def {
	span := 10 * time.Second
	by := []string{"User"}
	return []*correlate.Def{
		{ID: "ec", Type: correlate.EventCount, Rules: []string{"a"}, GroupBy: by, Timespan: span,
			Condition: correlate.Condition{GTE: num(3)}},
		{ID: "ec-lt", Type: correlate.EventCount, Rules: []string{"a", "id-b"}, GroupBy: by, Timespan: span,
			Condition: correlate.Condition{LT: num(3)}},
		{ID: "vc", Type: correlate.ValueCount, Rules: []string{"b"}, GroupBy: by, Timespan: span,
			Condition: correlate.Condition{Field: "DstIP", GTE: num(2)}},
		{ID: "vc-eq", Type: correlate.ValueCount, Rules: []string{"b"}, GroupBy: by, Timespan: span,
			Condition: correlate.Condition{Field: "DstIP", EQ: num(2)}},
		{ID: "sum", Type: correlate.ValueSum, Rules: []string{"c"}, GroupBy: by, Timespan: span,
			Condition: correlate.Condition{Field: "bytes", GT: num(10)}},
		{ID: "avg", Type: correlate.ValueAvg, Rules: []string{"c"}, Timespan: span,
			Condition: correlate.Condition{Field: "bytes", GTE: num(2)}},
		{ID: "pct", Type: correlate.ValuePercentile, Rules: []string{"c"}, GroupBy: by, Timespan: span,
			Condition: correlate.Condition{Field: "bytes", GTE: num(3), Percentile: 75}},
		{ID: "tmp", Type: correlate.Temporal, Rules: []string{"a", "b", "c"}, GroupBy: by, Timespan: span},
		{ID: "ord", Type: correlate.TemporalOrdered, Rules: []string{"a", "b", "c"}, GroupBy: by, Timespan: span},
		{ID: "ord-lt", Type: correlate.TemporalOrdered, Rules: []string{"c", "b", "a"}, GroupBy: by, Timespan: span,
			Condition: correlate.Condition{LT: num(3)}},
		{ID: "chain", Type: correlate.Temporal, Rules: []string{"ec", "d"}, GroupBy: by, Timespan: 2 * span,
			Aliases: map[string]map[string]string{"User": {"d": "user.name"}}},
		{ID: "chain2", Type: correlate.EventCount, Rules: []string{"tmp", "ord", "ec-lt"}, GroupBy: by, Timespan: 3 * span,
			Condition: correlate.Condition{GTE: num(2)}},
	}
}

// FuzzObserve feeds hit sequences, some out of order or repeated, and
// checks that results only name fed events or earlier results, that
// event_count values match their event ids, that windows fit their
// timespan, that no result is returned twice, that Flush leaves no hit
// held back and that all state is freed in the end.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 2, 0, 0, 3, 0, 1, 4, 5, 2, 5, 9, 6, 0, 0, 7, 200, 0})
	f.Add([]byte{1, 10, 4, 2, 10, 8, 3, 10, 12, 5, 10, 16, 1, 246, 4, 6, 0, 0, 7, 255, 0})
	f.Add([]byte{2, 0, 0, 2, 0, 0, 3, 0, 0, 3, 10, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 5, 0, 7, 100, 1})
	f.Add([]byte{3, 30, 0, 4, 20, 1, 4, 20, 2, 4, 20, 3, 2, 20, 0, 1, 20, 0, 0, 20, 0, 7, 50, 0})
	f.Add([]byte{0, 10, 0, 0, 0, 0, 2, 5, 0, 7, 3, 0, 0, 246, 0, 0, 20, 0, 1, 30, 0, 3, 40, 0, 7, 3, 0, 6, 0, 0, 0, 50, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := mustNew(t, fuzzDefs(), correlate.Options{Lateness: 5 * time.Second, MaxGroups: 8})
		users := []string{"alice", "bob", "carol"}
		values := []string{"1", "2", "5", "12", "-3", "x", "0.5", ""}
		fed := map[string]bool{}
		clock, n := 0, 0
		var last correlate.Hit
		check := func(rs []correlate.Result) {
			for _, r := range rs {
				if fed[r.ID] || len(r.EventIDs) == 0 {
					t.Fatalf("result %s repeats or has no events: %+v", r.ID, r)
				}
				for _, id := range r.EventIDs {
					if !fed[id] {
						t.Fatalf("result %s names %q, which was neither fed nor returned", r.Def.ID, id)
					}
				}
				if r.Def.Type == correlate.EventCount && r.Value != float64(len(r.EventIDs)) {
					t.Fatalf("event_count %s has value %g but %d events", r.Def.ID, r.Value, len(r.EventIDs))
				}
				if r.End.Before(r.Start) || r.End.Sub(r.Start) > r.Def.Timespan {
					t.Fatalf("result %s spans %s..%s, timespan %s", r.Def.ID, r.Start, r.End, r.Def.Timespan)
				}
				fed[r.ID] = true
			}
		}
		for ; len(data) >= 3; data = data[3:] {
			op, a, b := data[0]%8, data[1], data[2]
			switch op {
			case 6: // the previous hit again
				if last.EventID == "" {
					continue
				}
				before := e.Stats()
				check(e.Observe(last))
				after := e.Stats()
				if after.Duplicates+after.Late != before.Duplicates+before.Late+1 {
					t.Fatalf("a repeated hit was accepted: %+v then %+v", before, after)
				}
			case 7:
				if a%4 == 3 { // the end of an input
					check(e.Flush())
					if s := e.Stats(); s.Pending != 0 {
						t.Fatalf("hits held back after Flush: %+v", s)
					}
					continue
				}
				clock += int(a) * 100
				check(e.Advance(t0.Add(time.Duration(clock) * time.Millisecond)))
			default:
				rule := string(rune('a' + op%4))
				ms := clock + int(int8(a))*100
				clock = max(clock, ms)
				n++
				id := "e" + strconv.Itoa(n)
				user := users[int(b)%len(users)]
				kv := []string{"User=" + user, "DstIP=" + strconv.Itoa(int(b>>2)%4), "bytes=" + values[int(b>>4)%len(values)]}
				if rule == "d" {
					kv[0] = "user.name=" + user
				}
				if b&0x80 != 0 {
					kv = kv[1:] // no group
				}
				last = correlate.Hit{Rule: "id-" + rule, RuleName: rule, Time: t0.Add(time.Duration(ms) * time.Millisecond),
					EventID: id, Value: fields(kv...)}
				fed[id] = true
				check(e.Observe(last))
			}
		}
		check(e.Advance(t0.Add(time.Duration(clock)*time.Millisecond + time.Hour)))
		if s := e.Stats(); s.Groups != 0 || s.Pending != 0 {
			t.Fatalf("state left after the last window closed: %+v", s)
		}
	})
}
