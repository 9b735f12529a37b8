//go:build linux

package main

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/sensor"
)

// TestServeSensor runs cairn serve with the host sensor, runs a command
// that names /etc/shadow from this test, and expects the pack's
// sensitive-file rule to fire on it with its lineage through sh to this
// test process, read back through the API as an analyst would.
func TestServeSensor(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the host sensor needs root (CI runs as root)")
	}
	if err := sensor.Available(); err != nil {
		t.Skipf("the host sensor cannot run here: %v", err)
	}
	srv := startServe(t, "--db", filepath.Join(t.TempDir(), "s.db"), "--sensor=on")
	admin := printedSecret(srv.printed, "admin token (shown once): ")
	if admin == "" {
		t.Fatalf("no admin token printed: %q", srv.printed)
	}
	// The sensor subscribes before serve listens; give its first walk of
	// /proc a moment to store this process.
	time.Sleep(500 * time.Millisecond)
	// A command this short may exit before the sensor reads its /proc
	// entry (the connector's exec event carries no arguments): it is then
	// kept as a partial process without a command line. Run it up to
	// three times.
	filter := `rule.name = "Read Sensitive File by Command" and proc.cmdline = "stat /etc/shadow"`
	var list struct {
		Detections []struct {
			ID string `json:"id"`
		} `json:"detections"`
	}
	var start time.Time
	for try := 0; try < 3 && len(list.Detections) == 0; try++ {
		start = time.Now()
		if out, err := exec.Command("sh", "-c", "stat /etc/shadow >/dev/null; true").CombinedOutput(); err != nil {
			t.Fatalf("sh: %v %s", err, out)
		}
		for deadline := time.Now().Add(5 * time.Second); len(list.Detections) == 0 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			code, body := srv.call(t, "GET", "/api/v1/detections?filter="+url.QueryEscape(filter), admin, "")
			if code != 200 {
				t.Fatalf("detections: %d %s", code, body)
			}
			if err := json.Unmarshal([]byte(body), &list); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(list.Detections) == 0 {
		t.Fatal("no detection of stat /etc/shadow after three tries")
	}
	t.Logf("detection readable %v after the command ran", time.Since(start).Round(time.Millisecond))
	code, body := srv.call(t, "GET", "/api/v1/trees/"+list.Detections[0].ID, admin, "")
	if code != 200 {
		t.Fatalf("tree: %d %s", code, body)
	}
	var tree struct {
		Lineage []struct {
			PID     int64  `json:"pid"`
			Cmdline string `json:"cmdline"`
			Flagged bool   `json:"flagged"`
		} `json:"lineage"`
	}
	if err := json.Unmarshal([]byte(body), &tree); err != nil {
		t.Fatal(err)
	}
	n := len(tree.Lineage)
	if n < 3 {
		t.Fatalf("lineage too short: %+v", tree.Lineage)
	}
	stat, sh, me := tree.Lineage[n-1], tree.Lineage[n-2], tree.Lineage[n-3]
	if stat.Cmdline != "stat /etc/shadow" || !stat.Flagged {
		t.Errorf("flagged process %+v, want stat /etc/shadow", stat)
	}
	if sh.Cmdline != "sh -c \"stat /etc/shadow >/dev/null; true\"" && sh.Cmdline != "sh -c stat /etc/shadow >/dev/null; true" {
		t.Errorf("parent %+v, want the sh -c", sh)
	}
	if me.PID != int64(os.Getpid()) {
		t.Errorf("grandparent pid %d, want this test process %d (lineage %+v)", me.PID, os.Getpid(), tree.Lineage)
	}
}
