package falco_test

import (
	"bytes"
	"context"
	"strings"
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

func TestEngineExceptions(t *testing.T) {
	rs, err := falco.Load(falco.File{Name: "r.yaml", Data: []byte(`
- rule: Shadow read
  desc: d
  condition: evt.type = execve and proc.args contains /etc/shadow
  output: "%proc.name read shadow"
  priority: WARNING
`)})
	if err != nil {
		t.Fatal(err)
	}
	eng := falco.NewEngine(rs.Rules)
	stat := &cairn.Event{ID: "a", Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve",
		Process: &cairn.Process{Binary: "/bin/stat", Args: "-c %a /etc/shadow"}, Parent: &cairn.Process{Binary: "/usr/local/bin/bench"},
		Container: &cairn.Container{ID: "abc", Image: "docker.io/aquasec/kube-bench:v0.7.3"}}
	cat := &cairn.Event{ID: "b", Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve",
		Process: &cairn.Process{Binary: "/bin/cat", Args: "/etc/shadow"}, Parent: &cairn.Process{Binary: "/usr/local/bin/bench"},
		Container: &cairn.Container{ID: "abc", Image: "docker.io/aquasec/kube-bench:v0.7.3"}}
	if len(eng.Eval(stat)) != 1 || len(eng.Eval(cat)) != 1 {
		t.Fatal("rule does not fire before the exception")
	}
	x := cairn.Exception{ID: "x1", Rule: "Shadow read", Name: "bench", Fields: []string{"proc.name", "proc.pname", "container.image.repository"},
		Comps: []string{"=", "=", "="}, Values: [][]string{{"stat", "bench", "docker.io/aquasec/kube-bench"}}}
	if err := eng.SetExceptions([]cairn.Exception{x}); err != nil {
		t.Fatal(err)
	}
	if m := eng.Eval(stat); len(m) != 0 {
		t.Errorf("excepted event still matches: %v", m)
	}
	if len(eng.Eval(cat)) != 1 {
		t.Error("exception suppresses an event it does not match")
	}
	if eng.Suppressed() != 1 {
		t.Errorf("Suppressed() = %d, want 1", eng.Suppressed())
	}
	// An expired exception no longer applies.
	x.Expires = time.Now().Add(-time.Minute)
	if err := eng.SetExceptions([]cairn.Exception{x}); err != nil {
		t.Fatal(err)
	}
	if len(eng.Eval(stat)) != 1 {
		t.Error("expired exception still applies")
	}
	// A bad exception is reported, the good ones still apply.
	bad := cairn.Exception{ID: "x2", Rule: "Shadow read", Fields: []string{"no.such.field"}, Values: [][]string{{"v"}}}
	x.Expires = time.Time{}
	if err := eng.SetExceptions([]cairn.Exception{bad, x}); err == nil || !strings.Contains(err.Error(), "no.such.field") {
		t.Errorf("bad exception error = %v", err)
	}
	if len(eng.Eval(stat)) != 0 {
		t.Error("good exception dropped with the bad one")
	}
	// Values with quotes and operators: startswith and in.
	y := cairn.Exception{ID: "x3", Rule: "Shadow read", Fields: []string{"proc.args", "proc.name"}, Comps: []string{"startswith", "in"},
		Values: [][]string{{`/etc/shadow "x`, "cat"}, {"/etc/sh", "cat"}}}
	if err := eng.SetExceptions([]cairn.Exception{y}); err != nil {
		t.Fatal(err)
	}
	if len(eng.Eval(cat)) != 0 || len(eng.Eval(stat)) != 1 {
		t.Error("startswith/in exception")
	}
}
