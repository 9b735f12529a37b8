package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/rulepack"
	"github.com/cairn-cdr/cairn/sqlite"
)

// benchInputs builds realistic inputs from the demo generator with several
// seeds (distinct records, so the store never skips duplicates): Tetragon
// NDJSON and CloudTrail {"Records":[...]} files.
func benchInputs(tb testing.TB, seeds int) (tetragon, cloudtrail []byte, nTet, nCT int) {
	tb.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var tt, ct bytes.Buffer
	ct.WriteString(`{"Records":[`)
	for s := 1; s <= seeds; s++ {
		sc, err := demo.Generate(demo.Options{Seed: int64(s), Now: now})
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range sc.Tetragon {
			tt.Write(r)
			tt.WriteByte('\n')
			nTet++
		}
		for _, r := range sc.CloudTrail {
			if nCT > 0 {
				ct.WriteByte(',')
			}
			ct.Write(r)
			nCT++
		}
	}
	ct.WriteString("]}")
	return tt.Bytes(), ct.Bytes(), nTet, nCT
}

type discard struct{ n int }

func (d *discard) Event(cairn.Event) error          { d.n++; return nil }
func (d *discard) Reject(dl cairn.DeadLetter) error { return nil }

// resetPeak resets the process's peak resident set size (Linux), so that
// VmHWM read after a run is that run's peak.
func resetPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB returns the process's peak resident set size in MiB, or 0
// where /proc is not available.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkIngest compares, on the same inputs and interleaved within
// each iteration (so that a machine whose speed drifts affects all sides
// alike): JSON parsing alone with encoding/json into generic values (the
// floor), cairn's decoders alone (decode-only), and decode+store into a
// fresh SQLite file, closed at the end as cairn ingest does. It reports
// each side's events/s, the ratio decode+store / decode-only, and the
// peak resident memory of the decode+store runs; and decode+store with
// the process table (cairn ingest's default), which also stores the
// process tree.
func BenchmarkIngest(b *testing.B) {
	// Tetragon records are 3.6 times as many per seed as CloudTrail
	// records: 4 and 16 seeds give inputs of a similar number of events
	// (5,364 and 5,940), large enough that start-up and the final
	// checkpoint do not dominate.
	engine, nRules := benchRules(b)
	tet, _, nTet, _ := benchInputs(b, 4)
	_, ct, _, nCT := benchInputs(b, 16)
	inputs := []struct {
		name string
		data []byte
		n    int
	}{{"tetragon", tet, nTet}, {"cloudtrail", ct, nCT}}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			dir := b.TempDir()
			var jsonOnly, decodeOnly, store, withTree, withRules time.Duration
			detections := 0
			var peak float64
			for i := 0; i < b.N; i++ {
				start := time.Now()
				parseJSON(b, in.name, in.data)
				jsonOnly += time.Since(start)

				start = time.Now()
				d := &discard{}
				if err := decode.Decode(context.Background(), bytes.NewReader(in.data), "bench", decode.Auto, d); err != nil {
					b.Fatal(err)
				}
				decodeOnly += time.Since(start)
				if d.n != in.n {
					b.Fatalf("decoded %d of %d", d.n, in.n)
				}

				st, err := sqlite.Open(context.Background(), filepath.Join(dir, "b"+strconv.Itoa(i)+".db"), sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				resetPeak()
				start = time.Now()
				rep, err := ingest.Run(context.Background(), []ingest.Input{ingest.Memory("bench", in.data)}, ingest.Options{Store: st})
				if err != nil {
					b.Fatal(err)
				}
				// Closing checkpoints the WAL into the database file: part
				// of the cost of an ingest, as cairn ingest pays it.
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				store += time.Since(start)
				peak = max(peak, peakRSSMB())
				if rep.Accepted != in.n {
					b.Fatalf("stored %d of %d", rep.Accepted, in.n)
				}

				// The same with the process table, as cairn ingest runs.
				st, err = sqlite.Open(context.Background(), filepath.Join(dir, "t"+strconv.Itoa(i)+".db"), sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				start = time.Now()
				if _, err := ingest.Run(context.Background(), []ingest.Input{ingest.Memory("bench", in.data)}, ingest.Options{Store: st, Tree: ingest.NewTree(context.Background(), st)}); err != nil {
					b.Fatal(err)
				}
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				withTree += time.Since(start)

				// And with every rule: cairn's pack and the loadable
				// upstream Falco rules, as cairn ingest --rules runs.
				st, err = sqlite.Open(context.Background(), filepath.Join(dir, "r"+strconv.Itoa(i)+".db"), sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				start = time.Now()
				rep, err = ingest.Run(context.Background(), []ingest.Input{ingest.Memory("bench", in.data)},
					ingest.Options{Store: st, Tree: ingest.NewTree(context.Background(), st), Rules: engine})
				if err != nil {
					b.Fatal(err)
				}
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				withRules += time.Since(start)
				detections = rep.Detections
			}
			rate := func(d time.Duration) float64 { return float64(in.n*b.N) / d.Seconds() }
			b.ReportMetric(rate(withTree), "decode+store+tree-events/s")
			b.ReportMetric(rate(withRules), "decode+store+tree+rules-events/s")
			b.ReportMetric(float64(nRules), "rules")
			b.ReportMetric(float64(detections), "detections")
			b.ReportMetric(rate(jsonOnly), "json-only-events/s")
			b.ReportMetric(rate(decodeOnly), "decode-only-events/s")
			b.ReportMetric(rate(store), "decode+store-events/s")
			b.ReportMetric(decodeOnly.Seconds()/store.Seconds(), "store/decode-ratio")
			b.ReportMetric(peak, "peak-RSS-MiB")
		})
	}
}

// parseJSON parses the input with encoding/json into generic values, the
// way a consumer that only needs the JSON would.
func parseJSON(b *testing.B, name string, data []byte) {
	if name == "tetragon" {
		d := json.NewDecoder(bytes.NewReader(data))
		for {
			var v map[string]any
			if err := d.Decode(&v); err == io.EOF {
				return
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	var v struct{ Records []map[string]any }
	if err := json.Unmarshal(data, &v); err != nil {
		b.Fatal(err)
	}
}

// benchRules loads cairn's rule pack and, when the corpus is there, every
// upstream Falco rule cairn can load.
func benchRules(b *testing.B) (*falco.Engine, int) {
	files := rulepack.Files()
	dir := filepath.Join("..", "..", "shared", "corpus", "rules", "falco")
	for _, name := range []string{"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml", "aws_cloudtrail_rules.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Logf("upstream rules not found at %s: the rules side uses cairn's pack only", dir)
			files = rulepack.Files()
			break
		}
		files = append(files, falco.File{Name: name, Data: data})
	}
	rs, err := falco.Load(files...)
	if err != nil {
		b.Fatal(err)
	}
	return falco.NewEngine(rs.Rules), len(rs.Rules)
}
