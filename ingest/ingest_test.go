package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/sqlite"
)

func mustStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const ctRecord = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2026-11-25T10:00:0%dZ","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"34.1.2.3","userAgent":"aws-cli/2","requestParameters":{"name":"trail"},"responseElements":null,"requestID":"r%d","eventID":"00000000-0000-0000-0000-00000000000%d","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`

func ct(i int) string { return strings.ReplaceAll(ctRecord, "%d", string(rune('0'+i))) }

const tetExec = `{"process_exec":{"process":{"exec_id":"bm9kZToxOjE=","pid":%d,"uid":0,"cwd":"/","binary":"/bin/sh","arguments":"-c id","flags":"execve","start_time":"2026-11-25T10:00:00Z","auid":4294967295,"parent_exec_id":"bm9kZTowOjA="}},"node_name":"node-a","time":"2026-11-25T10:00:01Z"}`

func TestRunMixedGoodAndBad(t *testing.T) {
	dir := t.TempDir()
	tet := strings.Join([]string{
		strings.Replace(tetExec, "%d", "10", 1),
		`{"process_exec":{"process":{"pid":11,`, // truncated
		strings.Replace(tetExec, "%d", "12", 1),
		`not json at all`,
		strings.Replace(tetExec, "%d", "13", 1),
	}, "\n")
	writeFile(t, dir, "tetragon.json", []byte(tet))
	cloud := `{"Records":[` + ct(1) + `,{"eventName": oops},` + ct(2) + `]}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(cloud))
	zw.Close()
	writeFile(t, dir, "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/x.json.gz", gz.Bytes())
	writeFile(t, dir, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/25/d.json.gz", []byte(`{"digestStartTime":"x"}`))

	st := mustStore(t)
	inputs, err := ingest.Expand([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) != 2 {
		t.Fatalf("inputs = %d, want 2 (digest folder skipped)", len(inputs))
	}
	rep, err := ingest.Run(context.Background(), inputs, ingest.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 5 || rep.Rejected != 3 || rep.Duplicates != 0 || rep.ExitCode() != 2 {
		t.Fatalf("report = %+v, want 5 accepted, 3 rejected, exit 2", rep)
	}
	for _, r := range rep.Rejects {
		if r.Reason == "" || r.Position == "" || r.Origin == "" {
			t.Errorf("reject without reason/position/origin: %+v", r)
		}
	}
	dls, err := st.DeadLetters(context.Background(), 10)
	if err != nil || len(dls) != 3 {
		t.Fatalf("dead letters = %d, %v", len(dls), err)
	}

	// Ingesting the same inputs again adds nothing.
	rep2, err := ingest.Run(context.Background(), inputs, ingest.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Accepted != 0 || rep2.Duplicates != 5 {
		t.Fatalf("second run = %+v, want 0 accepted, 5 duplicates", rep2)
	}
	stats, err := st.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events != 5 || stats.DeadLetters != 3 {
		t.Fatalf("stats = %+v, want 5 events and 3 dead letters", stats)
	}
	page, err := st.QueryEvents(context.Background(), cairn.EventQuery{Filter: "ct.name=StopLogging"})
	if err != nil || len(page.Events) != 2 {
		t.Fatalf("StopLogging events = %d, %v", len(page.Events), err)
	}
}

func TestRunUnreadable(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "garbage.bin", []byte("\x1f\x8b\x08garbage that is not gzip"))
	inputs, err := ingest.Expand([]string{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ingest.Run(context.Background(), inputs, ingest.Options{Store: mustStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 || rep.ExitCode() != 1 {
		t.Fatalf("report = %+v, want one failure and exit 1", rep)
	}
	if _, err := ingest.Expand([]string{filepath.Join(dir, "absent")}, nil); err == nil {
		t.Fatal("missing path accepted")
	}
}

// countDetector raises one detection per CloudTrail event, and one more
// at the end of the input.
type countDetector struct{ seen int }

func (c *countDetector) Detect(ev *cairn.Event) []cairn.Detection {
	if ev.Kind != cairn.KindCloud {
		return nil
	}
	c.seen++
	return []cairn.Detection{{ID: "dt-" + ev.ID, Rule: "exec seen", Time: ev.Time, LastTime: ev.Time, EventIDs: []string{ev.ID}, Count: 1, Output: ev.ID}}
}

func (c *countDetector) Flush() []cairn.Detection {
	return []cairn.Detection{{ID: "dt-flush", Rule: "input ended", Output: "flushed", Count: 1}}
}

func TestDetectors(t *testing.T) {
	st := mustStore(t)
	data := ct(1) + "\n" + ct(2) + "\n" + ct(3) + "\n"
	in := ingest.Input{Origin: "t", Size: -1, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(data)), nil
	}}
	det := &countDetector{}
	var notified []string
	rep, err := ingest.Run(context.Background(), []ingest.Input{in}, ingest.Options{Store: st, BatchSize: 2, Detectors: []ingest.Detector{det},
		OnDetections: func(ds []cairn.Detection) {
			for _, d := range ds {
				notified = append(notified, d.ID)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if det.seen != 3 || rep.Detections != 4 {
		t.Fatalf("detector saw %d execs, report has %d detections; want 3 and 4", det.seen, rep.Detections)
	}
	// A batch size that divides the input: the flushed detection comes
	// in a batch without events, and is stored all the same.
	st2, det2 := mustStore(t), &countDetector{}
	rep, err = ingest.Run(context.Background(), []ingest.Input{in}, ingest.Options{Store: st2, BatchSize: 3, Detectors: []ingest.Detector{det2}})
	if err != nil || rep.Detections != 4 {
		t.Fatalf("batch size 3: %d detections, %v; want 4", rep.Detections, err)
	}
	if page, err := st2.QueryDetections(context.Background(), cairn.DetectionQuery{Limit: 10}); err != nil || len(page.Detections) != 4 {
		t.Fatalf("batch size 3: %d stored, %v", len(page.Detections), err)
	}
	page, err := st.QueryDetections(context.Background(), cairn.DetectionQuery{Limit: 10})
	if err != nil || len(page.Detections) != 4 {
		t.Fatalf("stored detections: %d, %v", len(page.Detections), err)
	}
	if len(notified) != 4 {
		t.Errorf("OnDetections saw %d detections, want the 4 stored", len(notified))
	}
}
