package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ctFile is a CloudTrail delivery file of two records, numbered from n.
func ctFile(n int) string {
	rec := func(i int) string {
		return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},`+
			`"eventTime":"2026-11-25T11:00:%02dZ","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"34.1.2.3",`+
			`"userAgent":"aws-cli/2","requestParameters":null,"responseElements":null,"requestID":"r%d","eventID":"00000000-0000-0000-0000-%012d","readOnly":true,`+
			`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`, i%60, i, i)
	}
	return `{"Records":[` + rec(n) + "," + rec(n+1) + `]}`
}

// TestServeWatch: files delivered into a watched directory while serve
// runs are read once; after a restart only new ones are read.
func TestServeWatch(t *testing.T) {
	old := watchInterval
	watchInterval = 100 * time.Millisecond
	defer func() { watchInterval = old }()
	dir := t.TempDir()
	trail := filepath.Join(dir, "AWSLogs", "111122223333", "CloudTrail", "us-east-1", "2026", "11", "25")
	os.MkdirAll(trail, 0o700)
	put := func(name string, n int) {
		if err := os.WriteFile(filepath.Join(trail, name), []byte(ctFile(n)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db, cp := filepath.Join(dir, "w.db"), filepath.Join(dir, "cp.json")
	put("a.json", 0)
	srv := startServe(t, "--db", db, "--watch", filepath.Join(dir, "AWSLogs"), "--checkpoints", cp)
	admin := printedSecret(srv.printed, "admin token (shown once): ")
	srv.waitEvents(t, admin, 2)
	put("b.json", 10)
	srv.waitEvents(t, admin, 4)
	srv.stop()
	put("c.json", 20)
	srv = startServe(t, "--db", db, "--watch", filepath.Join(dir, "AWSLogs"), "--checkpoints", cp)
	srv.waitEvents(t, admin, 6)
	_, metrics := srv.call(t, "GET", "/metrics", "", "")
	if !strings.Contains(metrics, "cairn_events_duplicate_total 0") {
		t.Errorf("the restart read a file again:\n%s", metrics)
	}
}
