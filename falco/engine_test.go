package falco_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/falco"
)

const engineRules = `
- rule: Any exec
  desc: d
  condition: evt.type = execve
  output: exec %proc.name
  priority: INFO
- rule: Any runtime
  desc: d
  condition: proc.name = nc
  output: nc %evt.type
  priority: INFO
- rule: Open
  desc: d
  condition: evt.type in (open, openat)
  output: open %fd.name
  priority: INFO
- rule: Console
  desc: d
  condition: ct.name = ConsoleLogin
  output: login
  priority: INFO
  source: aws_cloudtrail
`

func TestEngine(t *testing.T) {
	rs, err := falco.Load(falco.File{Name: "e.yaml", Data: []byte(engineRules)})
	if err != nil || len(rs.Rules) != 4 {
		t.Fatalf("%v %+v", err, rs)
	}
	e := falco.NewEngine(rs.Rules)
	tests := []struct {
		ev   *cairn.Event
		want []string
	}{
		{&cairn.Event{Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve", Process: &cairn.Process{Name: "nc"}}, []string{"exec nc", "nc execve"}},
		{&cairn.Event{Source: cairn.SourceTetragon, Kind: cairn.KindFile, Type: "openat", Process: &cairn.Process{Name: "cat"}, File: &cairn.File{Path: "/x"}}, []string{"open /x"}},
		{&cairn.Event{Source: cairn.SourceTetragon, Kind: cairn.KindNetwork, Type: "connect", Process: &cairn.Process{Name: "nc"}}, []string{"nc connect"}},
		{&cairn.Event{Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Type: "ConsoleLogin", Cloud: &cairn.CloudCall{EventName: "ConsoleLogin"}}, []string{"login"}},
		{&cairn.Event{}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, m := range e.Eval(tt.ev) {
			got = append(got, m.Output)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %q, want %q", tt.ev.Type, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %q, want %q", tt.ev.Type, got, tt.want)
			}
		}
	}
}

func demoEvents(b *testing.B) []cairn.Event {
	s, err := demo.Generate(demo.Options{Seed: 1, Now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	var c decode.Collector
	for _, recs := range [][][]byte{s.Tetragon, s.CloudTrail} {
		r := bytes.NewReader(bytes.Join(recs, []byte("\n")))
		if err := decode.Decode(context.Background(), r, "x", decode.Auto, &c); err != nil {
			b.Fatal(err)
		}
	}
	return c.Events
}

// BenchmarkEval evaluates all loadable upstream rules on the demo events.
func BenchmarkEval(b *testing.B) {
	rs, err := falco.Load(upstream(b)...)
	if err != nil {
		b.Fatal(err)
	}
	evs := demoEvents(b)
	e := falco.NewEngine(rs.Rules)
	hits := map[string]int{}
	for i := range evs {
		for _, m := range e.Eval(&evs[i]) {
			hits[m.Rule.Name]++
		}
	}
	b.Logf("%d events, %d rules, hits by rule: %v", len(evs), len(rs.Rules), hits)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Eval(&evs[i%len(evs)])
	}
	b.ReportMetric(float64(len(evs)), "events")
	b.ReportMetric(float64(len(rs.Rules)), "rules")
}
