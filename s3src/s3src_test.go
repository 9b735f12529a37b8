package s3src_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/s3src"
)

const bucket = "trail-bucket"

// fakeS3 is an in-memory S3 server and a client of it.
type fakeS3 struct {
	backend *s3mem.Backend
	client  *s3.Client
	n       int
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
	})
	return &fakeS3{backend: backend, client: client}
}

// put stores a gzipped CloudTrail file of two records under key.
func (f *fakeS3) put(t *testing.T, key string) {
	t.Helper()
	f.n++
	var recs []map[string]any
	for i := 0; i < 2; i++ {
		recs = append(recs, map[string]any{
			"eventVersion":    "1.08",
			"eventTime":       "2026-11-25T18:50:00Z",
			"eventSource":     "iam.amazonaws.com",
			"eventName":       "ListUsers",
			"awsRegion":       "us-east-1",
			"eventID":         fmt.Sprintf("00000000-0000-0000-0000-%06d%06d", f.n, i),
			"userIdentity":    map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333"},
			"sourceIPAddress": "192.0.2.1",
		})
	}
	raw, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	if _, err := f.backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(gz.Bytes()), int64(gz.Len()), nil); err != nil {
		t.Fatal(err)
	}
}

// ctKey returns a CloudTrail key of account and region, day 2026-11-25,
// delivered at hhmm with the unique string u; org prefixes an
// organization trail's id.
func ctKey(org, account, region, hhmm, u string) string {
	p := "AWSLogs/"
	if org != "" {
		p += org + "/"
	}
	return fmt.Sprintf("%s%s/CloudTrail/%s/2026/11/25/%s_CloudTrail_%s_20261125T%sZ_%s.json.gz", p, account, region, account, region, hhmm, u)
}

// recorder is a store function that decodes what it is given and counts
// the files and events by origin.
type recorder struct {
	mu     sync.Mutex
	files  map[string]int
	events map[string]int
}

func newRecorder() *recorder {
	return &recorder{files: map[string]int{}, events: map[string]int{}}
}

func (r *recorder) store(ctx context.Context, inputs []ingest.Input) error {
	for _, in := range inputs {
		rc, err := in.Open()
		if err != nil {
			return err
		}
		c := &decode.Collector{}
		err = decode.Decode(ctx, rc, in.Origin, decode.Auto, c)
		rc.Close()
		if err != nil {
			return err
		}
		if len(c.Rejects) != 0 {
			return fmt.Errorf("%s: %d rejects: %+v", in.Origin, len(c.Rejects), c.Rejects[0])
		}
		r.mu.Lock()
		r.files[in.Origin]++
		r.events[in.Origin] += len(c.Events)
		r.mu.Unlock()
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.files)
}

func (r *recorder) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d files, want %d: %v", r.count(), n, r.files)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func origins(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = "s3://" + bucket + "/" + k
	}
	sort.Strings(out)
	return out
}

func TestRunPicksUpEachFileOnce(t *testing.T) {
	f := newFakeS3(t)
	cpFile := filepath.Join(t.TempDir(), "checkpoints.json")
	before := []string{
		ctKey("", "111122223333", "us-east-1", "1850", "BBBB"),
		ctKey("", "111122223333", "us-east-1", "1855", "CCCC"),
		ctKey("", "111122223333", "eu-west-1", "1850", "AAAA"),
		ctKey("o-abc123", "444455556666", "us-west-2", "1850", "DDDD"),
	}
	for _, k := range before {
		f.put(t, k)
	}
	// Neither digests nor files outside a CloudTrail folder are events.
	f.put(t, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/25/111122223333_CloudTrail-Digest_us-east-1_x_20261125T1850Z.json.gz")
	f.put(t, "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/notes.txt")

	rec := newRecorder()
	src := s3src.New(f.client, s3src.Options{Bucket: bucket, Prefix: "AWSLogs/", Checkpoints: cpFile, Poll: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, rec.store) }()
	rec.waitFor(t, len(before))

	during := []string{
		// Same minute as a processed key but sorting before it.
		ctKey("", "111122223333", "us-east-1", "1855", "AAAA"),
		ctKey("", "111122223333", "us-east-1", "1900", "ZZZZ"),
		// A stream sorting before every processed one.
		ctKey("", "111122223333", "ap-south-1", "1901", "EEEE"),
		ctKey("", "111122223333", "eu-west-1", "1902", "FFFF"),
		ctKey("o-abc123", "444455556666", "us-west-2", "1903", "GGGG"),
		ctKey("o-abc123", "777788889999", "us-west-2", "1903", "HHHH"),
	}
	for _, k := range during {
		f.put(t, k)
	}
	all := append(append([]string{}, before...), during...)
	rec.waitFor(t, len(all))
	time.Sleep(100 * time.Millisecond) // a few more polls, which must find nothing
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}

	var got []string
	for o, n := range rec.files {
		got = append(got, o)
		if n != 1 {
			t.Errorf("%s stored %d times", o, n)
		}
		if rec.events[o] != 2 {
			t.Errorf("%s: %d events, want 2", o, rec.events[o])
		}
	}
	sort.Strings(got)
	if want := origins(all); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored\n%v\nwant\n%v", got, want)
	}

	// A restart with the same checkpoints finds nothing old, then only
	// what is new.
	src2 := s3src.New(f.client, s3src.Options{Bucket: bucket, Prefix: "AWSLogs/", Checkpoints: cpFile})
	ins, err := src2.Poll(context.Background())
	if err != nil || len(ins) != 0 {
		t.Fatalf("after restart Poll = %d inputs, %v; want none", len(ins), err)
	}
	late := ctKey("", "111122223333", "us-east-1", "1900", "AAAA")
	f.put(t, late)
	ins, err = src2.Poll(context.Background())
	if err != nil || len(ins) != 1 || ins[0].Origin != "s3://"+bucket+"/"+late || ins[0].Size <= 0 {
		t.Fatalf("after restart Poll = %+v, %v; want only %s", ins, err, late)
	}
	// Not marked done: polled again.
	if again, _ := src2.Poll(context.Background()); len(again) != 1 {
		t.Fatalf("Poll before Done = %d inputs, want 1", len(again))
	}
	if err := src2.Done([]string{src2.Key(ins[0])}); err != nil {
		t.Fatal(err)
	}
	if again, _ := src2.Poll(context.Background()); len(again) != 0 {
		t.Fatalf("Poll after Done = %d inputs, want 0", len(again))
	}

	// The checkpoint file holds one entry per stream.
	var cps map[string]struct {
		Minute string   `json:"minute"`
		Seen   []string `json:"seen"`
	}
	b, err := os.ReadFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cps); err != nil {
		t.Fatal(err)
	}
	east := cps["s3://"+bucket+"/AWSLogs/111122223333/CloudTrail/us-east-1/"]
	if east.Minute != "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T1900Z" || len(east.Seen) != 2 {
		t.Errorf("us-east-1 checkpoint = %+v", east)
	}
	if len(cps) != 5 {
		t.Errorf("%d checkpoints, want 5: %s", len(cps), b)
	}
}

func TestPollMaxPerPollAndSingleStreamPrefix(t *testing.T) {
	f := newFakeS3(t)
	var keys []string
	for i := 0; i < 5; i++ {
		k := ctKey("", "111122223333", "us-east-1", fmt.Sprintf("18%02d", 50+i), "U")
		keys = append(keys, k)
		f.put(t, k)
	}
	f.put(t, ctKey("", "111122223333", "eu-west-1", "1850", "X"))
	src := s3src.New(f.client, s3src.Options{Bucket: bucket, Prefix: "AWSLogs/111122223333/CloudTrail/us-east-1/", MaxPerPoll: 3})
	ctx := context.Background()
	var got []string
	for round := 0; round < 3; round++ {
		ins, err := src.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) > 3 {
			t.Fatalf("round %d: %d inputs, over MaxPerPoll", round, len(ins))
		}
		var done []string
		for _, in := range ins {
			got = append(got, in.Origin)
			done = append(done, src.Key(in))
		}
		if err := src.Done(done); err != nil {
			t.Fatal(err)
		}
	}
	if want := origins(keys); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

func TestOpenReadsObject(t *testing.T) {
	f := newFakeS3(t)
	k := ctKey("o-abc123", "444455556666", "us-west-2", "1850", "Q")
	f.put(t, k)
	src := s3src.New(f.client, s3src.Options{Bucket: bucket})
	ins, err := src.Poll(context.Background())
	if err != nil || len(ins) != 1 {
		t.Fatalf("Poll = %d, %v", len(ins), err)
	}
	rc, err := ins[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Records []map[string]any }
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Records) != 2 {
		t.Fatalf("object = %d records, %v", len(doc.Records), err)
	}
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in, bucket, prefix string
		ok                 bool
	}{
		{"s3://b/AWSLogs", "b", "AWSLogs/", true},
		{"s3://b/AWSLogs/", "b", "AWSLogs/", true},
		{"s3://b", "b", "", true},
		{"s3://b/", "b", "", true},
		{"s3:///x", "", "", false},
		{"https://b/x", "", "", false},
	} {
		b, p, err := s3src.ParseURL(c.in)
		if (err == nil) != c.ok || b != c.bucket || p != c.prefix {
			t.Errorf("ParseURL(%q) = %q, %q, %v", c.in, b, p, err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://b/AWSLogs", "s3://", "s3://b//x", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, p, err := s3src.ParseURL(s)
		if err != nil {
			return
		}
		if b == "" || (p != "" && p[len(p)-1] != '/') {
			t.Errorf("ParseURL(%q) = %q, %q", s, b, p)
		}
	})
}
