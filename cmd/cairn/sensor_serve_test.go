//go:build linux

package main

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	// A command as short as stat may exit before the sensor reads its
	// /proc entry (the connector's exec event carries no arguments): it is
	// then kept as a partial process without a command line, which happens
	// more the busier the machine is. Try it three times, then a command
	// that lives long enough to be read (tail under timeout).
	tries := []struct{ script, want string }{
		{"stat /etc/shadow >/dev/null; true", "stat /etc/shadow"},
		{"stat /etc/shadow >/dev/null; true", "stat /etc/shadow"},
		{"stat /etc/shadow >/dev/null; true", "stat /etc/shadow"},
		{"timeout 0.5 tail -f /etc/shadow >/dev/null; true", "tail -f /etc/shadow"},
	}
	var list struct {
		Detections []struct {
			ID string `json:"id"`
		} `json:"detections"`
	}
	var start time.Time
	var want string
	for i := 0; i < len(tries) && len(list.Detections) == 0; i++ {
		if i == len(tries)-1 {
			t.Logf("stat was never read from /proc in time on this machine; trying a longer-lived command")
		}
		want = tries[i].want
		filter := `rule.name = "Read Sensitive File by Command" and proc.cmdline = ` + strconv.Quote(want)
		start = time.Now()
		if out, err := exec.Command("sh", "-c", tries[i].script).CombinedOutput(); err != nil {
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
		t.Fatal("no detection of a command naming /etc/shadow")
	}
	t.Logf("detection of %q readable %v after the command ran", want, time.Since(start).Round(time.Millisecond))
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
	// Root first: … this test process … sh -c … the command, flagged.
	n := len(tree.Lineage)
	if n < 3 || tree.Lineage[n-1].Cmdline != want || !tree.Lineage[n-1].Flagged {
		t.Fatalf("lineage %+v, want it to end at %q, flagged", tree.Lineage, want)
	}
	me, sh := -1, -1
	for i, node := range tree.Lineage {
		if node.PID == int64(os.Getpid()) {
			me = i
		}
		if strings.HasPrefix(node.Cmdline, "sh -c") {
			sh = i
		}
	}
	if me < 0 || sh < 0 || !(me < sh && sh < n-1) {
		t.Errorf("lineage %+v: want this test process (pid %d), then sh -c, then the command", tree.Lineage, os.Getpid())
	}
}
