package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
)

// TestRecordsDecode feeds the exported files to the decoders, as cairn
// demo does: every record must decode, none may be rejected, and the
// events must carry what the stories are about.
func TestRecordsDecode(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		s := mustGenerate(t, seed)
		dir := t.TempDir()
		if err := s.Export(dir); err != nil {
			t.Fatal(err)
		}
		var tt, ct decode.Collector
		if err := decode.Decode(context.Background(), bytes.NewReader(mustRead(t, filepath.Join(dir, demo.TetragonFile))), demo.TetragonFile, decode.Tetragon, &tt); err != nil {
			t.Fatalf("seed %d: decode Tetragon: %v", seed, err)
		}
		files, err := filepath.Glob(filepath.Join(dir, "AWSLogs", "*", "CloudTrail", "*", "*", "*", "*", "*.json.gz"))
		if err != nil || len(files) == 0 {
			t.Fatalf("seed %d: no CloudTrail files: %v", seed, err)
		}
		for _, f := range files {
			if err := decode.Decode(context.Background(), bytes.NewReader(mustRead(t, f)), f, decode.Auto, &ct); err != nil {
				t.Fatalf("seed %d: decode %s: %v", seed, f, err)
			}
		}
		for _, dl := range append(tt.Rejects, ct.Rejects...) {
			t.Errorf("seed %d: rejected %s %s: %s: %.200s", seed, dl.Origin, dl.Position, dl.Reason, dl.Raw)
		}
		if len(tt.Events) != len(s.Tetragon) || len(ct.Events) != len(s.CloudTrail) {
			t.Errorf("seed %d: %d Tetragon and %d CloudTrail events from %d and %d records", seed, len(tt.Events), len(ct.Events), len(s.Tetragon), len(s.CloudTrail))
		}
		checkDecoded(t, s, tt.Events, ct.Events)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkDecoded looks for each story's key detection among the decoded
// events.
func checkDecoded(t *testing.T, s *demo.Scenario, tt, ct []cairn.Event) {
	t.Helper()
	for _, st := range s.Truth.Stories {
		for _, d := range st.Detections {
			found := false
			switch d.Source {
			case "tetragon":
				for _, ev := range tt {
					p := ev.Process
					if p == nil || p.ExecID != d.ExecID {
						continue
					}
					ok := ev.Host == d.Host && strings.Contains(p.Args, d.ArgsContains)
					if d.Pod != "" {
						ok = ok && ev.K8s != nil && ev.K8s.Pod == d.Pod && ev.K8s.Namespace == d.Namespace && ev.K8s.Cluster == d.Cluster &&
							ev.Container != nil && ev.Container.Name == d.Container
					}
					if d.DestIP != "" {
						ok = ok && ev.Net != nil && ev.Net.DstIP == d.DestIP && ev.Net.DstPort == int64(d.DestPort)
					}
					if ok {
						found = true
						break
					}
				}
			case "cloudtrail":
				for _, ev := range ct {
					if c := ev.Cloud; c != nil && c.EventID == d.EventIDs[0] {
						found = c.Identity.Key == d.Identity && c.SourceIP == d.SourceIP && c.EventName == d.EventNames[0]
						break
					}
				}
			}
			if !found {
				t.Errorf("seed %d: no decoded event matches %s: %q", s.Truth.Seed, st.ID, d.What)
			}
		}
	}
}
