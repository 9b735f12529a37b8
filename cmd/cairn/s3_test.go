package main

import (
	"bytes"
	"compress/gzip"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestServeS3: cairn serve reads CloudTrail files from an S3-compatible
// server; after a restart it reads only the files delivered since.
func TestServeS3(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("trail"); err != nil {
		t.Fatal(err)
	}
	s3 := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	put := func(key string, n int) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(ctFile(n)))
		zw.Close()
		if _, err := backend.PutObject("trail", key, map[string]string{}, bytes.NewReader(gz.Bytes()), int64(gz.Len()), nil); err != nil {
			t.Fatal(err)
		}
	}
	day := "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/"
	put(day+"111122223333_CloudTrail_us-east-1_20261125T1100Z_aaaa.json.gz", 0)
	put(day+"111122223333_CloudTrail_us-east-1_20261125T1105Z_bbbb.json.gz", 10)
	dir := t.TempDir()
	db, cp := filepath.Join(dir, "s.db"), filepath.Join(dir, "cp.json")
	args := []string{"--db", db, "--cloudtrail-s3", "s3://trail/AWSLogs/", "--cloudtrail-s3-endpoint", s3.URL, "--checkpoints", cp}
	srv := startServe(t, args...)
	admin := printedSecret(srv.printed, "admin token (shown once): ")
	if !strings.Contains(strings.Join(srv.printed, "\n"), "reading CloudTrail from s3://trail/AWSLogs/") {
		t.Errorf("serve does not say it reads S3: %q", srv.printed)
	}
	srv.waitEvents(t, admin, 4)
	time.Sleep(300 * time.Millisecond) // the checkpoint is saved once the files are stored
	srv.stop()
	put(day+"111122223333_CloudTrail_us-east-1_20261125T1110Z_cccc.json.gz", 20)
	srv = startServe(t, args...)
	srv.waitEvents(t, admin, 6)
	_, metrics := srv.call(t, "GET", "/metrics", "", "")
	if !strings.Contains(metrics, "cairn_events_duplicate_total 0") {
		t.Errorf("the restart read a file again:\n%s", metrics)
	}
}
