package sigma_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/sigma"
)

// forwardRules: a rule that feeds a local correlation (grouped by the
// identity, with generate) and correlations grouped by source address
// or by nothing, which one partition sees only part of; a silent rule
// feeds one of them through aliases.
const forwardRules = `title: Recon
id: 00000000-0000-0000-0000-0000000000f1
name: recon
logsource:
    product: aws
    service: cloudtrail
detection:
    sel:
        eventName: DescribeInstances
    condition: sel
---
title: New key
id: 00000000-0000-0000-0000-0000000000f2
name: new_key
logsource:
    product: aws
    service: cloudtrail
detection:
    sel:
        eventName: CreateAccessKey
    condition: sel
---
title: User burst
name: user_burst
correlation:
    type: event_count
    rules: recon
    group-by: userIdentity.arn
    timespan: 10m
    condition:
        gte: 3
    generate: true
---
title: Address burst
name: ip_burst
correlation:
    type: event_count
    rules: recon
    group-by: sourceIPAddress
    timespan: 10m
    condition:
        gte: 5
---
title: Address users
name: ip_users
correlation:
    type: value_count
    rules: recon
    group-by: sourceIPAddress
    timespan: 10m
    condition:
        field: userIdentity.arn
        gte: 3
---
title: All recon
name: all_recon
correlation:
    type: event_count
    rules: recon
    timespan: 2h
    condition:
        lt: 100000
---
title: Recon then key
name: recon_then_key
correlation:
    type: temporal_ordered
    rules:
        - recon
        - new_key
    group-by: ip
    aliases:
        ip:
            recon: sourceIPAddress
            new_key: sourceIPAddress
    timespan: 10m
`

// byARN keeps the correlations grouped by the identity local: the bus
// partitions cloud calls by identity.
func byARN(c *sigma.CorrelationDef) bool { return slices.Contains(c.GroupBy, "userIdentity.arn") }

// forwardEvents decodes CloudTrail records of three identities from two
// addresses, one a minute: each identity calls from each address every
// six minutes, each address is used every two.
func forwardEvents(tb testing.TB, n int) []*cairn.Event {
	tb.Helper()
	arns := []string{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/bob", "arn:aws:iam::111122223333:user/carol"}
	ips := []string{"198.51.100.7", "203.0.113.9"}
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	var recs []string
	for i := range n {
		name := "DescribeInstances"
		if i%7 == 6 {
			name = "CreateAccessKey"
		}
		user := arns[i%3][strings.LastIndex(arns[i%3], "/")+1:]
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventTime":%q,"eventSource":"ec2.amazonaws.com","eventName":%q,`+
			`"awsRegion":"us-east-1","sourceIPAddress":%q,"eventID":"ev-%03d","eventType":"AwsApiCall","recipientAccountId":"111122223333",`+
			`"userIdentity":{"type":"IAMUser","arn":%q,"accountId":"111122223333","userName":%q,"principalId":"AIDA%d"}}`,
			base.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), name, ips[i%2], i, arns[i%3], user, i%3))
	}
	data := `{"Records":[` + strings.Join(recs, ",") + `]}`
	var s eventSink
	if err := decode.Decode(context.Background(), strings.NewReader(data), "test", decode.CloudTrail, &s); err != nil {
		tb.Fatal(err)
	}
	if len(s.events) != n {
		tb.Fatalf("decoded %d events of %d", len(s.events), n)
	}
	return s.events
}

// byID indexes detections by ID, failing on a repeated one.
func byID(tb testing.TB, dets ...[]cairn.Detection) map[string]cairn.Detection {
	tb.Helper()
	out := map[string]cairn.Detection{}
	for _, list := range dets {
		for _, d := range list {
			if prev, dup := out[d.ID]; dup {
				tb.Fatalf("detection %s twice: %+v and %+v", d.ID, prev, d)
			}
			out[d.ID] = d
		}
	}
	return out
}

// single runs one detector with every correlation on all events.
func single(tb testing.TB, rs *sigma.RuleSet, events []*cairn.Event, lateness ...time.Duration) map[string]cairn.Detection {
	tb.Helper()
	var opts sigma.DetectorOptions
	if len(lateness) > 0 {
		opts.Lateness = lateness[0]
	}
	d, err := sigma.NewDetector(rs, opts)
	if err != nil {
		tb.Fatal(err)
	}
	var out []cairn.Detection
	for _, ev := range events {
		out = append(out, d.Detect(ev)...)
	}
	if f := d.TakeForwarded(); len(f) != 0 {
		tb.Fatalf("a detector without Local forwarded %d hits", len(f))
	}
	return byID(tb, out, d.Flush())
}

// partitioned runs one detector per partition of the events (by
// cairn.PartitionHash), flushed at the end, and returns their
// detections and, by partition, their Forwards in order.
func partitioned(tb testing.TB, rs *sigma.RuleSet, events []*cairn.Event, parts int, local func(*sigma.CorrelationDef) bool) ([]cairn.Detection, [][]sigma.Forward) {
	tb.Helper()
	dets := make([]*sigma.Detector, parts)
	for i := range dets {
		var err error
		if dets[i], err = sigma.NewDetector(rs, sigma.DetectorOptions{Local: local}); err != nil {
			tb.Fatal(err)
		}
	}
	var out []cairn.Detection
	fwd := make([][]sigma.Forward, parts)
	for _, ev := range events {
		p := cairn.PartitionHash(ev) % uint32(parts)
		out = append(out, dets[p].Detect(ev)...)
		fwd[p] = append(fwd[p], dets[p].TakeForwarded()...)
	}
	for _, d := range dets {
		out = append(out, d.Flush()...)
		if f := d.TakeForwarded(); len(f) != 0 {
			tb.Fatalf("Flush left %d forwards", len(f))
		}
	}
	return out, fwd
}

// correlate routes the Forwards by the hash of their Key to n
// correlators, in the given order, and flushes them.
func correlateAll(tb testing.TB, rs *sigma.RuleSet, fwds []sigma.Forward, n int, opts sigma.DetectorOptions) []cairn.Detection {
	tb.Helper()
	cs := make([]*sigma.Correlator, n)
	for i := range cs {
		var err error
		if cs[i], err = sigma.NewCorrelator(rs, opts); err != nil {
			tb.Fatal(err)
		}
	}
	var out []cairn.Detection
	for _, f := range fwds {
		h := fnv.New32a()
		h.Write([]byte(f.Key))
		out = append(out, cs[h.Sum32()%uint32(n)].Observe(f)...)
	}
	for _, c := range cs {
		out = append(out, c.Flush()...)
	}
	return out
}

// sameDetections compares two runs' detections by ID and content.
func sameDetections(t *testing.T, want, got map[string]cairn.Detection) {
	t.Helper()
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("missing %s: %s %v", id, w.Output, w.EventIDs)
			continue
		}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("detection %s differs:\nwant %+v\ngot  %+v", id, w, g)
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("extra %s: %s %v", id, g.Output, g.EventIDs)
		}
	}
}

func countRule(dets map[string]cairn.Detection, rule string) int {
	n := 0
	for _, d := range dets {
		if d.Rule == rule {
			n++
		}
	}
	return n
}

// interleave takes chunk Forwards from each partition in turn, and
// delivers every third Forward twice (a redelivery).
func interleave(fwd [][]sigma.Forward, chunk int) []sigma.Forward {
	var out []sigma.Forward
	pos := make([]int, len(fwd))
	for n := 0; ; n++ {
		moved := false
		for p := range fwd {
			end := min(pos[p]+chunk, len(fwd[p]))
			for _, f := range fwd[p][pos[p]:end] {
				out = append(out, f)
				if len(out)%3 == 0 {
					out = append(out, f)
				}
			}
			moved = moved || end > pos[p]
			pos[p] = end
		}
		if !moved {
			return out
		}
	}
}

// Detectors per partition forwarding what they cannot decide, and
// correlators per hit key, give exactly the detections of one detector
// that sees every event.
func TestForwardEquivalence(t *testing.T) {
	rs, err := sigma.Parse([]byte(forwardRules))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 2 || len(rs.Correlations) != 5 {
		t.Fatalf("rules %d, correlations %d, skipped %+v", len(rs.Rules), len(rs.Correlations), rs.Skipped)
	}
	events := forwardEvents(t, 60)
	const parts = 4
	seen := map[uint32]string{}
	for _, ev := range events {
		p := cairn.PartitionHash(ev) % parts
		if k, ok := seen[p]; ok && k != cairn.PartitionKey(ev) {
			t.Fatalf("identities %s and %s share partition %d: the test needs them apart", k, cairn.PartitionKey(ev), p)
		}
		seen[p] = cairn.PartitionKey(ev)
	}
	want := single(t, rs, events)
	for _, rule := range []string{"Address burst", "Address users", "All recon", "Recon then key", "User burst", "Recon"} {
		if countRule(want, rule) == 0 {
			t.Errorf("the single detector never fires %q: the test shows nothing", rule)
		}
	}
	if n := countRule(want, "New key"); n != 0 {
		t.Errorf("the silent rule gave %d detections", n)
	}

	// Without forwarding, no partition sees enough of an address.
	plain, _ := partitioned(t, rs, events, parts, nil)
	plainBy := byID(t, plain)
	for _, rule := range []string{"Address burst", "Address users"} {
		if n := countRule(plainBy, rule); n != 0 {
			t.Errorf("%q fired %d times without forwarding", rule, n)
		}
	}

	local, fwd := partitioned(t, rs, events, parts, byARN)
	localBy := byID(t, local)
	for _, rule := range []string{"Address burst", "Address users", "All recon", "Recon then key"} {
		if n := countRule(localBy, rule); n != 0 {
			t.Errorf("forwarded %q fired %d times on a partition", rule, n)
		}
	}
	var all []sigma.Forward
	for _, f := range fwd {
		all = append(all, f...)
	}
	for _, f := range all {
		if f.Rule == "" || f.EventID == "" || f.Entities.Identity == "" || !strings.HasPrefix(f.ID, "fw-") {
			t.Fatalf("bad forward %+v", f)
		}
	}
	// recon feeds four forwarded components, new_key one.
	if n := countRule(want, "Recon"); len(all) != 4*n+len(events)/7 {
		t.Errorf("%d forwards for %d recon hits", len(all), n)
	}

	t.Run("time order", func(t *testing.T) {
		merged := slices.Clone(all)
		slices.SortStableFunc(merged, func(a, b sigma.Forward) int { return a.Time.Compare(b.Time) })
		var dup []sigma.Forward
		for _, f := range merged {
			dup = append(dup, f, f)
		}
		got := byID(t, local, correlateAll(t, rs, dup, 3, sigma.DetectorOptions{Local: byARN}))
		sameDetections(t, want, got)
	})
	t.Run("partitions interleaved", func(t *testing.T) {
		// Chunks of 5 per partition put Forwards up to about 15 minutes
		// out of order: Lateness covers it.
		// The reference waits as long: a detection decided after its hit
		// has no event entities, on one node as on the correlators.
		order := interleave(fwd, 5)
		got := byID(t, local, correlateAll(t, rs, order, 3, sigma.DetectorOptions{Local: byARN, Lateness: time.Hour}))
		sameDetections(t, single(t, rs, events, time.Hour), got)
	})
	t.Run("too little lateness", func(t *testing.T) {
		// The check above can fail: without Lateness, out-of-order hits
		// are dropped as late.
		order := interleave(fwd, 5)
		got := byID(t, local, correlateAll(t, rs, order, 3, sigma.DetectorOptions{Local: byARN}))
		if len(got) >= len(want) {
			t.Errorf("out-of-order forwards without lateness gave %d detections of %d", len(got), len(want))
		}
	})
}

// chainRules: a correlation of a correlation's results. The first is
// local on its own, but the chain is forwarded as a whole.
const chainRules = `title: Recon
id: 00000000-0000-0000-0000-0000000000f1
name: recon
logsource:
    product: aws
    service: cloudtrail
detection:
    sel:
        eventName: DescribeInstances
    condition: sel
---
title: Small burst
name: small_burst
correlation:
    type: event_count
    rules: recon
    group-by: userIdentity.arn
    timespan: 10m
    condition:
        gte: 2
---
title: Bursts
name: bursts
correlation:
    type: event_count
    rules: small_burst
    group-by: userIdentity.arn
    timespan: 1h
    condition:
        gte: 3
---
title: User burst
name: user_burst
correlation:
    type: event_count
    rules: recon
    group-by: userIdentity.arn
    timespan: 10m
    condition:
        gte: 3
`

func TestForwardChain(t *testing.T) {
	rs, err := sigma.Parse([]byte(chainRules))
	if err != nil {
		t.Fatal(err)
	}
	local := func(c *sigma.CorrelationDef) bool { return c.Name != "bursts" }
	events := forwardEvents(t, 60)
	want := single(t, rs, events)
	for _, rule := range []string{"Small burst", "Bursts", "User burst"} {
		if countRule(want, rule) == 0 {
			t.Fatalf("the single detector never fires %q", rule)
		}
	}
	dets, fwd := partitioned(t, rs, events, 4, local)
	detsBy := byID(t, dets)
	if countRule(detsBy, "Small burst")+countRule(detsBy, "Bursts") != 0 {
		t.Errorf("a partition ran the forwarded chain")
	}
	if countRule(detsBy, "User burst") != countRule(want, "User burst") {
		t.Errorf("the local correlation fired %d times, want %d", countRule(detsBy, "User burst"), countRule(want, "User burst"))
	}
	var all []sigma.Forward
	for _, f := range fwd {
		all = append(all, f...)
	}
	if len(all) == 0 {
		t.Fatal("no forwards")
	}
	for _, f := range all {
		// One key for the whole component: its first correlation.
		if f.Key != "11:small_burst" {
			t.Fatalf("forward key %q", f.Key)
		}
		if f.Values["userIdentity.arn"] == "" {
			t.Fatalf("forward without its group-by value: %+v", f)
		}
	}
	got := byID(t, dets, correlateAll(t, rs, all, 3, sigma.DetectorOptions{Local: local, Lateness: time.Hour}))
	sameDetections(t, want, got)
}

// A Forward sent as JSON gives the correlator the same detections.
func TestForwardJSON(t *testing.T) {
	rs, err := sigma.Parse([]byte(forwardRules))
	if err != nil {
		t.Fatal(err)
	}
	events := forwardEvents(t, 60)
	local, fwd := partitioned(t, rs, events, 4, byARN)
	var all, round []sigma.Forward
	for _, f := range fwd {
		all = append(all, f...)
	}
	for _, f := range all {
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back sigma.Forward
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if !back.Time.Equal(f.Time) || back.ID != f.ID || back.Key != f.Key || !reflect.DeepEqual(back.Values, f.Values) || back.Entities != f.Entities {
			t.Fatalf("round trip changed %+v into %+v", f, back)
		}
		round = append(round, back)
	}
	opts := sigma.DetectorOptions{Local: byARN, Lateness: time.Hour}
	want := byID(t, correlateAll(t, rs, all, 1, opts))
	if len(want) == 0 {
		t.Fatal("no correlation fired")
	}
	sameDetections(t, want, byID(t, correlateAll(t, rs, round, 1, opts)))
	if len(local) == 0 {
		t.Fatal("no local detections")
	}
}

func FuzzForwardJSON(f *testing.F) {
	rs, err := sigma.Parse([]byte(forwardRules))
	if err != nil {
		f.Fatal(err)
	}
	_, fwd := partitioned(f, rs, forwardEvents(f, 20), 4, byARN)
	for _, p := range fwd {
		for _, fw := range p[:min(len(p), 3)] {
			data, _ := json.Marshal(fw)
			f.Add(data)
		}
	}
	f.Add([]byte(`{"key":"8:ip_burst","rule":"recon","time":"0001-01-01T00:00:00Z","values":{"sourceIPAddress":"x"}}`))
	f.Add([]byte(`{"key":"99999999999999999999:x"}`))
	f.Add([]byte(`{"key":"-1:x","rule":"new_key","event_id":"a","time":"2200-01-01T00:00:00Z"}`))
	c, err := sigma.NewCorrelator(rs, sigma.DetectorOptions{Local: byARN, Lateness: time.Minute})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fw sigma.Forward
		if json.Unmarshal(data, &fw) != nil {
			return
		}
		for _, d := range c.Observe(fw) {
			if d.ID == "" || !strings.HasPrefix(d.Source, "sigma") {
				t.Fatalf("bad detection %+v", d)
			}
		}
		if bytes.Contains(data, []byte("flush")) {
			c.Flush()
		}
	})
}

func TestCorrelatedSources(t *testing.T) {
	for _, c := range []struct {
		rules string
		want  []cairn.Source
	}{
		{forwardRules, []cairn.Source{cairn.SourceCloudTrail}},
		{flushRules, nil}, // process_creation
		{"title: Lone\nid: 00000000-0000-0000-0000-0000000000c1\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: X}\n  condition: sel\n", []cairn.Source{}},
	} {
		rs, err := sigma.Parse([]byte(c.rules))
		if err != nil {
			t.Fatal(err)
		}
		got := rs.CorrelatedSources()
		if (got == nil) != (c.want == nil) || !slices.Equal(got, c.want) {
			t.Errorf("CorrelatedSources = %#v, want %#v", got, c.want)
		}
	}
}
