package correlate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cairn-cdr/cairn/correlate"
)

// specTests holds the correlation examples of the Sigma specification.
const specTests = "../../shared/corpus/rules/sigma-specification/tests/schema/correlation"

// specRule is the part of a correlation rule file these tests read.
type specRule struct {
	Title, ID, Name, Level string
	Correlation            struct {
		Type      string
		Rules     []string
		GroupBy   []string `yaml:"group-by"`
		Timespan  string
		Condition map[string]any
		Aliases   map[string]map[string]string
		Generate  bool
	}
}

// specDef reads a correlation rule file into a Def, as the sigma package
// does (only what these files use).
func specDef(tb testing.TB, path string) *correlate.Def {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var r specRule
	if err := yaml.Unmarshal(b, &r); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	c := r.Correlation
	d := &correlate.Def{ID: r.ID, Name: r.Name, Title: r.Title, Level: r.Level, Type: c.Type, Rules: c.Rules,
		GroupBy: c.GroupBy, Aliases: c.Aliases, Generate: c.Generate}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}
	n, err := strconv.Atoi(c.Timespan[:len(c.Timespan)-1])
	if err != nil || unit[c.Timespan[len(c.Timespan)-1]] == 0 {
		tb.Fatalf("%s: timespan %q", path, c.Timespan)
	}
	d.Timespan = time.Duration(n) * unit[c.Timespan[len(c.Timespan)-1]]
	for k, v := range c.Condition {
		f, _ := strconv.ParseFloat(fmt.Sprint(v), 64)
		switch k {
		case "field":
			d.Condition.Field = fmt.Sprint(v)
		case "gt":
			d.Condition.GT = &f
		case "gte":
			d.Condition.GTE = &f
		case "lt":
			d.Condition.LT = &f
		case "lte":
			d.Condition.LTE = &f
		case "eq":
			d.Condition.EQ = &f
		case "neq":
			d.Condition.NEQ = &f
		default:
			tb.Fatalf("%s: condition key %q", path, k)
		}
	}
	return d
}

// TestSpecExamples loads each correlation example of the specification
// and feeds it hits that should make it fire once.
func TestSpecExamples(t *testing.T) {
	if _, err := os.Stat(specTests); err != nil {
		t.Skipf("Sigma specification tests not found at %s (../shared/corpus): %v", specTests, err)
	}
	repeat := func(n int, f func(i int) step) []step {
		var s []step
		for i := range n {
			s = append(s, f(i))
		}
		return s
	}
	const failed = "5638f7c0-ac70-491d-8465-2a65075e0d86"
	// hit is a hit of a rule known by id only.
	hit := func(rule, event string, sec int, kv ...string) step {
		s := h(rule, event, sec, kv...)
		s.hit.Rule, s.hit.RuleName = rule, ""
		return s
	}
	tests := []struct {
		file  string
		steps []step
		value float64
	}{
		{"event_count.yml", repeat(100, func(i int) step {
			return hit(failed, "e"+strconv.Itoa(i), i*30, "ComputerName=h1")
		}), 100},
		{"event_count_ecs.yml", repeat(100, func(i int) step {
			return hit(failed, "e"+strconv.Itoa(i), i, "dns.question.name=example.org")
		}), 100},
		{"value_count.yml", repeat(120, func(i int) step {
			return hit(failed, "e"+strconv.Itoa(i), i, "ComputerName=h1", "WorkstationName=w1", "User=u"+strconv.Itoa(i%100))
		}), 100},
		{"temporal.yml", []step{
			h("recon_cmd_b", "e1", 0, "ComputerName=h1", "User=u"),
			h("recon_cmd_a", "e2", 60, "ComputerName=h1", "User=u"),
			h("recon_cmd_c", "e3", 300, "ComputerName=h1", "User=u"),
		}, 3},
		{"temporal_ordered.yml", []step{
			h("recon_cmd_c", "e1", 0, "ComputerName=h1", "User=u"),
			h("recon_cmd_b", "e2", 10, "ComputerName=h1", "User=u"),
			h("recon_cmd_a", "e3", 20, "ComputerName=h1", "User=u"),
			h("recon_cmd_b", "e4", 30, "ComputerName=h1", "User=u"),
			h("recon_cmd_c", "e5", 40, "ComputerName=h1", "User=u"),
		}, 3},
		{"value_sum.yml", []step{
			h("website_access", "e1", 0, "SourceIP=10.0.0.1", "User=u", "bytes_sent=600000"),
			h("website_access", "e2", 0, "SourceIP=10.0.0.2", "User=u", "bytes_sent=600000"),
			h("website_access", "e3", 3599, "SourceIP=10.0.0.1", "User=u", "bytes_sent=400001"),
		}, 1000001},
		{"value_avg.yml", []step{
			hit("rule_a_id", "e1", 0, "SourceIP=10.0.0.1", "User=u", "BytesOut=400"),
			hit("rule_a_id", "e2", 3600, "SourceIP=10.0.0.1", "User=u", "BytesOut=700"),
			hit("rule_a_id", "e3", 7200, "SourceIP=10.0.0.2", "User=u", "BytesOut=100"),
		}, 550},
		{"value_percentile.yml", []step{
			h("process_creation", "e1", 0, "ComputerName=h1", "Image=0.5"),
			h("process_creation", "e2", 1, "ComputerName=h1", "Image=3"),
			h("process_creation", "e3", 2, "ComputerName=h1", "Image=1"),
			h("process_creation", "e4", 3, "ComputerName=h1", `Image=C:\Windows\cmd.exe`), // not a number
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d := specDef(t, filepath.Join(specTests, tt.file))
			e := mustNew(t, []*correlate.Def{d}, correlate.Options{})
			var got []correlate.Result
			play(e, append(tt.steps, adv(7*24*3600)), func(_ int, r correlate.Result) { got = append(got, r) })
			if len(got) != 1 || got[0].Value != tt.value {
				t.Fatalf("results %+v, want one of value %g", got, tt.value)
			}
		})
	}
}
