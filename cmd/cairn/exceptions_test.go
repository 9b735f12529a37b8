package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/exception"
)

func detectionsJSON(t *testing.T, db, filter string) []cairn.Detection {
	t.Helper()
	code, out, errs := cli(t, "", "detections", "--db", db, "--limit", "1000", "-o", "json", "--filter", filter)
	if code != 0 {
		t.Fatalf("detections %q: %d %s", filter, code, errs)
	}
	var ds []cairn.Detection
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("detections json: %v\n%s", err, out)
	}
	return ds
}

func countOf(ds []cairn.Detection) (n int) {
	for _, d := range ds {
		n += d.Count
	}
	return n
}

// The demo's CIS benchmark runs `stat` on /etc/shadow: an exception made
// from that detection reports a backtest equal to the detections it
// matches, and the same behaviour no longer fires on the next ingest.
func TestExceptionFromDetection(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	if code, _, errs := cli(t, "", "demo", "--db", db, "--seed", "4"); code != 0 {
		t.Fatalf("demo: %d %s", code, errs)
	}
	ds := detectionsJSON(t, db, `proc.name = stat and proc.args contains "/etc/shadow"`)
	if len(ds) != 1 {
		t.Fatalf("CIS stat detections: %d, want 1 group", len(ds))
	}
	cis := ds[0]
	// What the exception will match, found through the filter language
	// instead of the exception's own predicate.
	var ev cairn.Event
	code, out, errs := cli(t, "", "events", "--db", db, "-o", "json", "--filter", "event.id = "+strconv.Quote(cis.EventIDs[0]))
	if code != 0 {
		t.Fatalf("events: %s", errs)
	}
	var evs []cairn.Event
	if err := json.Unmarshal([]byte(out), &evs); err != nil || len(evs) != 1 {
		t.Fatalf("event: %v %d", err, len(evs))
	}
	ev = evs[0]
	image := ev.Container.Image[:strings.LastIndexByte(ev.Container.Image, ':')]
	want := countOf(detectionsJSON(t, db, "rule.name = "+strconv.Quote(cis.Rule)+" and proc.name = stat and proc.pname = "+
		strconv.Quote(ev.Parent.Comm())+" and container.image.repository = "+strconv.Quote(image)))
	all := countOf(detectionsJSON(t, db, "rule.name = "+strconv.Quote(cis.Rule)))

	// A dry run stores nothing.
	if code, out, errs := cli(t, "", "exceptions", "add", "--db", db, "--from-detection", cis.ID, "--dry-run"); code != 0 || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: %d %s %s", code, out, errs)
	}
	if _, out, _ := cli(t, "", "exceptions", "list", "--db", db, "-o", "json"); strings.TrimSpace(out) != "null" && strings.TrimSpace(out) != "[]" {
		t.Fatalf("dry run stored an exception: %s", out)
	}
	code, out, errs = cli(t, "", "exceptions", "add", "--db", db, "--from-detection", cis.ID, "--note", "CIS benchmark", "--expires", "30d", "-o", "json")
	if code != 0 {
		t.Fatalf("exceptions add: %d %s", code, errs)
	}
	var added struct {
		Exception cairn.Exception
		Backtest  exception.Backtest
	}
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatal(err)
	}
	x := added.Exception
	if strings.Join(x.Fields, ",") != "proc.name,proc.pname,container.image.repository" || x.Values[0][0] != "stat" || x.Values[0][2] != image {
		t.Errorf("exception %+v", x)
	}
	if added.Backtest.Suppressed != want || added.Backtest.Detections != all || want == 0 {
		t.Errorf("backtest %+v, want %d suppressed of %d", added.Backtest, want, all)
	}
	// The next ingest of the same behaviour (the same cast, new events
	// anchored to a later now) raises nothing new for it.
	code, out, errs = cli(t, "", "demo", "--db", db, "--seed", "4", "-o", "json")
	if code != 0 {
		t.Fatalf("demo again: %s", errs)
	}
	var rep struct {
		Ingest struct{ Accepted, Suppressed int }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Ingest.Accepted == 0 || rep.Ingest.Suppressed == 0 {
		t.Errorf("second demo: %+v, want new events and suppressed matches", rep.Ingest)
	}
	_, out, _ = cli(t, "", "events", "--db", db, "-o", "json", "--filter", `proc.name = stat and proc.args contains "/etc/shadow" and event.kind = process_exec`)
	if err := json.Unmarshal([]byte(out), &evs); err != nil || len(evs) != 2 {
		t.Fatalf("the second demo run should store a new stat /etc/shadow exec: %d events (%v)", len(evs), err)
	}
	after := detectionsJSON(t, db, `proc.name = stat and proc.args contains "/etc/shadow"`)
	if countOf(after) != countOf([]cairn.Detection{cis}) {
		t.Errorf("CIS stat detections after the exception: %d, before %d", countOf(after), cis.Count)
	}
	// Audit: the add is logged with its author; rm is logged too.
	if code, _, errs := cli(t, "", "exceptions", "rm", "--db", db, x.ID); code != 0 {
		t.Fatalf("rm: %s", errs)
	}
	_, out, _ = cli(t, "", "audit", "--db", db, "-o", "json")
	var audit []cairn.AuditEntry
	if err := json.Unmarshal([]byte(out), &audit); err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 || audit[0].Action != "exception.rm" || audit[1].Action != "exception.add" || audit[1].Object != x.ID || audit[1].Actor == "" {
		t.Errorf("audit %+v", audit)
	}
	if code, _, _ := cli(t, "", "exceptions", "rm", "--db", db, x.ID); code == 0 {
		t.Error("removing a removed exception succeeded")
	}
}

func TestExceptionsErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	if code, _, _ := cli(t, "", "exceptions", "add", "--db", db); code != exitUsage {
		t.Errorf("add without --from-detection = %d", code)
	}
	if code, _, errs := cli(t, "", "exceptions", "add", "--db", db, "--from-detection", "nope"); code != exitFailure || !strings.Contains(errs, "nope") {
		t.Errorf("unknown detection = %d %q", code, errs)
	}
	if code, _, _ := cli(t, "", "exceptions", "add", "--db", db, "--from-detection", "x", "--expires", "soon"); code != exitUsage {
		t.Errorf("bad --expires = %d", code)
	}
	if code, _, _ := cli(t, "", "exceptions", "frob"); code != exitUsage {
		t.Errorf("unknown subcommand = %d", code)
	}
}

// The pack's rule tests pass, and a failing case fails the command.
func TestRulesTest(t *testing.T) {
	code, out, errs := cli(t, "", "rules", "test")
	if code != 0 || !strings.Contains(out, "rule tests pass") || strings.Contains(out, "FAIL") {
		t.Fatalf("cairn rules test = %d\n%s%s", code, out, errs)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad_tests.yaml")
	if err := os.WriteFile(bad, []byte(`- name: an ls is no reverse shell, but this case says it is
  rule: Reverse Shell
  expect: fire
  records:
    - {source: tetragon, kind: process_exec, type: execve, time: "2026-11-25T12:00:00Z", id: x1, process: {pid: 3, binary: /bin/ls}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, "", "rules", "test", dir)
	if code != exitFailure || strings.Count(out, "FAIL") != 1 || !strings.Contains(out, "an ls is no reverse shell") {
		t.Errorf("failing case: %d\n%s", code, out)
	}
}
