package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("sensor: off\nnotify:\n  severity: critical\nretention:\n  events: 30d\n"), 0o600)
	if code, out, errs := cli(t, "", "config", "check", good); code != 0 || !strings.Contains(out, "ok") || !strings.Contains(out, "events 30d") {
		t.Errorf("good: %d %s %s", code, out, errs)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sensor: off\naddrr: x\nnotify:\n  severity: loud\n"), 0o600)
	code, _, errs := cli(t, "", "config", "check", bad)
	if code != exitUsage || !strings.Contains(errs, "bad.yaml:line 2: unknown setting \"addrr\"") || !strings.Contains(errs, "line 4:") {
		t.Errorf("bad: %d %s", code, errs)
	}
}

// TestServeConfig: the file's settings apply, flags on the command line
// win.
func TestServeConfig(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "from-config.db")
	cfg := filepath.Join(dir, "cairn.yaml")
	os.WriteFile(cfg, []byte("db: "+db+"\naddr: 127.0.0.1:1\nsensor: off\nretention:\n  events: 30d\n"), 0o600)
	// --addr on the command line wins over the file's unusable one.
	srv := startServe(t, "--config", cfg)
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the configured store was not used: %v", err)
	}
	if code, _ := srv.call(t, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sensor: sometimes\n"), 0o600)
	if code, _, errs := cli(t, "", "serve", "--config", bad); code != exitUsage || !strings.Contains(errs, "line 1") {
		t.Errorf("serve with a bad config: %d %s", code, errs)
	}
}
