package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/internal/natstest"
)

// testBus returns a NATS URL with JetStream — CAIRN_TEST_NATS_URL's, else
// a server in this process — and a stream name of this test's own, whose
// stream and lease bucket are deleted at the end.
func testBus(t testing.TB) (url, stream string) {
	t.Helper()
	url = os.Getenv("CAIRN_TEST_NATS_URL")
	if url == "" {
		url = natstest.InProcess(t)
	}
	var b [4]byte
	rand.Read(b[:])
	stream = "TEST_" + strings.ToUpper(hex.EncodeToString(b[:]))
	natstest.DeleteAtEnd(t, url, []string{stream, stream + "_HITS"}, []string{stream + "_LEASES", stream + "_HITS_LEASES"})
	return url, stream
}

// probe watches a scaled-out run: the messages left in the stream and
// the events stored, over one connection each.
type probe struct {
	tb     testing.TB
	nc     *nats.Conn
	stream jetstream.Stream
	st     cairn.Store
}

func newProbe(tb testing.TB, db, url, stream string) *probe {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		tb.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := openStore(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	p := &probe{tb: tb, nc: nc, stream: s, st: st}
	tb.Cleanup(p.close)
	return p
}

// backlog returns the events waiting in the stream (a work queue: those
// not yet acknowledged).
func (p *probe) backlog() uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := p.stream.Info(ctx)
	if err != nil {
		p.tb.Fatal(err)
	}
	return info.State.Msgs
}

// count returns the events stored.
func (p *probe) count() int {
	s, err := p.st.Stats(context.Background())
	if err != nil {
		p.tb.Fatal(err)
	}
	return s.Events
}

// detections returns the detections stored: the sum of the groups'
// counts.
func (p *probe) detections() int {
	n := 0
	q := cairn.DetectionQuery{Limit: 1000}
	for {
		page, err := p.st.QueryDetections(context.Background(), q)
		if err != nil {
			p.tb.Fatal(err)
		}
		for _, d := range page.Detections {
			n += d.Count
		}
		if page.Next == "" {
			return n
		}
		q.Cursor = page.Next
	}
}

func (p *probe) close() {
	p.st.Close()
	p.nc.Close()
}

// scaledDB returns a store for a scaled-out test: a fresh PostgreSQL
// schema when CAIRN_TEST_POSTGRES_DSN is set, else an SQLite file that the
// processes share.
func scaledDB(t testing.TB) string {
	t.Helper()
	if os.Getenv("CAIRN_TEST_POSTGRES_DSN") != "" {
		return pgDSN(t)
	}
	return filepath.Join(t.TempDir(), "scaled.db")
}

// demoInput writes seeds of the demo generator, one after the other in
// time, as a Tetragon export and a CloudTrail file, and returns their
// paths and the number of records.
func demoInput(t testing.TB, seeds int) ([]string, int) {
	t.Helper()
	dir := t.TempDir()
	tet, err := os.Create(filepath.Join(dir, "tetragon.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := os.Create(filepath.Join(dir, "cloudtrail.json"))
	if err != nil {
		t.Fatal(err)
	}
	tw, cw := bufio.NewWriter(tet), bufio.NewWriter(ct)
	cw.WriteString(`{"Records":[`)
	n, nct := 0, 0
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for s := 1; s <= seeds; s++ {
		sc, err := demo.Generate(demo.Options{Seed: int64(s), Now: base.Add(time.Duration(s) * (demo.Window + time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sc.Tetragon {
			tw.Write(r)
			tw.WriteByte('\n')
			n++
		}
		for _, r := range sc.CloudTrail {
			if nct > 0 {
				cw.WriteByte(',')
			}
			cw.Write(r)
			nct++
		}
	}
	cw.WriteString("]}")
	for _, w := range []*bufio.Writer{tw, cw} {
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	tet.Close()
	ct.Close()
	return []string{tet.Name(), ct.Name()}, n + nct
}

// worker is a detect worker process.
type worker struct {
	cmd    *exec.Cmd
	id     string
	stdout *bufio.Scanner
	log    string
}

// startWorker starts `cairn serve --components detect` as a process of its
// own and waits until it says it is consuming.
func startWorker(t testing.TB, db, url, stream, id string, args ...string) *worker {
	t.Helper()
	w := launchWorker(t, db, url, stream, id, args...)
	w.ready(t)
	return w
}

// launchWorker starts a detect worker without waiting for it, so that
// several start together.
func launchWorker(tb testing.TB, db, url, stream, id string, args ...string) *worker {
	tb.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--", "serve", "--components", "detect", "--db", db, "--bus", url,
		"--bus-stream", stream, "--worker-id", id, "--sensor=off"}, args...)...)
	cmd.Env = append(os.Environ(), "CAIRN_TEST_AS_MAIN=1")
	log := filepath.Join(tb.TempDir(), id+".log")
	errf, err := os.Create(log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { errf.Close() })
	cmd.Stderr = errf
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w := &worker{cmd: cmd, id: id, stdout: bufio.NewScanner(out), log: log}
	tb.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			w.cmd.Process.Signal(syscall.SIGKILL)
			w.cmd.Wait()
		}
	})
	return w
}

// ready waits until the worker says it is consuming.
func (w *worker) ready(tb testing.TB) {
	tb.Helper()
	for w.stdout.Scan() {
		if strings.Contains(w.stdout.Text(), "detect worker") {
			go func() {
				for w.stdout.Scan() {
				}
			}()
			return
		}
	}
	w.cmd.Wait()
	log, _ := os.ReadFile(w.log)
	tb.Fatalf("worker %s did not start: %s", w.id, log)
}

// stop ends the worker with SIGTERM, checks it exits cleanly and returns
// the CPU seconds (user and system) it used.
func (w *worker) stop(tb testing.TB) float64 {
	tb.Helper()
	w.cmd.Process.Signal(syscall.SIGTERM)
	if err := w.cmd.Wait(); err != nil {
		log, _ := os.ReadFile(w.log)
		tb.Fatalf("worker %s: %v\n%s", w.id, err, log)
	}
	ru, ok := w.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		tb.Fatalf("worker %s: no rusage", w.id)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// digest is what a store holds, for comparing two runs: every event id,
// every detection hit (rule, id, events) and every detection group (rule,
// count).
type digest struct {
	events, hits, groups []string
}

func storeDigest(t *testing.T, db string) digest {
	t.Helper()
	ctx := context.Background()
	st, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var d digest
	q := cairn.EventQuery{Limit: 5000, Oldest: true}
	for {
		page, err := st.QueryEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			d.events = append(d.events, ev.ID)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	rules := map[string]bool{}
	dq := cairn.DetectionQuery{Limit: 1000}
	for {
		page, err := st.QueryDetections(ctx, dq)
		if err != nil {
			t.Fatal(err)
		}
		for _, det := range page.Detections {
			rules[det.Rule] = true
			d.groups = append(d.groups, fmt.Sprintf("%s | %s | %d", det.Rule, det.Output, det.Count))
		}
		if page.Next == "" {
			break
		}
		dq.Cursor = page.Next
	}
	for r := range rules {
		hs, err := st.RuleHits(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			d.hits = append(d.hits, fmt.Sprintf("%s | %s | %s", r, h.ID, strings.Join(h.EventIDs, ",")))
		}
	}
	slices.Sort(d.events)
	slices.Sort(d.hits)
	slices.Sort(d.groups)
	return d
}

// diff reports the elements of two sorted lists that are not in both.
func diff(t *testing.T, what string, got, want []string) {
	t.Helper()
	var missing, extra []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || i < len(got) && got[i] < want[j]:
			extra = append(extra, got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			missing = append(missing, want[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: %d in the single-node store only, %d in the scaled-out store only\nfirst missing: %q\nfirst extra: %q",
			what, len(missing), len(extra), missing[:min(len(missing), 5)], extra[:min(len(extra), 5)])
	}
	if len(got) != len(slices.Compact(slices.Clone(got))) {
		t.Errorf("%s: duplicates in the scaled-out store", what)
	}
}

// The crash test of scale-out: 200,000 events published to the bus, two
// detect workers, one killed with SIGKILL in the middle and started again;
// the store ends with the same events and the same detections as a clean
// single-node run of the same input, none lost and none twice.
func TestScaleOutCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000 events through worker processes")
	}
	seeds := 116 // about 1,740 records each
	if s := os.Getenv("CAIRN_CRASH_SEEDS"); s != "" {
		fmt.Sscan(s, &seeds)
	}
	files, n := demoInput(t, seeds)
	t.Logf("input: %d records", n)

	single := filepath.Join(t.TempDir(), "single.db")
	start := time.Now()
	if code, out, errs := cli(t, "", append([]string{"ingest", "--db", single}, files...)...); code != 0 {
		t.Fatalf("single-node ingest: %d %s %s", code, out, errs)
	}
	t.Logf("single node (SQLite): %v", time.Since(start).Round(time.Millisecond))
	want := storeDigest(t, single)
	if len(want.events) != n || len(want.hits) == 0 {
		t.Fatalf("single node stored %d of %d events and %d detections", len(want.events), n, len(want.hits))
	}

	url, stream := testBus(t)
	db := scaledDB(t)
	start = time.Now()
	if code, _, errs := cli(t, "", append([]string{"ingest", "--db", db, "--bus", url, "--bus-stream", stream}, files...)...); code != 0 {
		t.Fatalf("publish: %d %s", code, errs)
	}
	t.Logf("published in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	pr := newProbe(t, db, url, stream)
	a := startWorker(t, db, url, stream, "a")
	b := startWorker(t, db, url, stream, "b")
	waitUntil(t, 5*time.Minute, "40% of the events stored", func() bool { return pr.count() >= n*2/5 })
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.cmd.Wait()
	t.Logf("killed worker a with %d of %d events stored", pr.count(), n)
	time.Sleep(2 * time.Second)
	a = startWorker(t, db, url, stream, "a")
	waitUntil(t, 10*time.Minute, "the bus drained", func() bool { return pr.backlog() == 0 })
	t.Logf("scaled out, 2 workers, one killed: drained in %v", time.Since(start).Round(time.Millisecond))
	// Each partition decides its held-back windows once its backlog is
	// handled (within a fetch wait of a second): wait until the
	// detections stop changing.
	last, stable := -1, 0
	waitUntil(t, 2*time.Minute, "the detections to settle", func() bool {
		if n := pr.detections(); n == last {
			stable++
		} else {
			last, stable = n, 0
		}
		return stable >= 3
	})
	a.stop(t)
	b.stop(t)
	got := storeDigest(t, db)
	t.Logf("events %d/%d, detection hits %d/%d, groups %d/%d", len(got.events), len(want.events), len(got.hits), len(want.hits), len(got.groups), len(want.groups))
	diff(t, "events", got.events, want.events)
	diff(t, "detection hits", got.hits, want.hits)
	diff(t, "detection groups", got.groups, want.groups)
	alog, _ := os.ReadFile(a.log)
	if !strings.Contains(string(alog), "partition taken") {
		t.Errorf("the restarted worker took no partition over:\n%s", alog)
	}
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(time.Second)
	}
}

// Two cairn processes against one PostgreSQL and one NATS: real
// CloudTrail (the Stratus Red Team detonations) posted to the first,
// which publishes it, is evaluated by the second's detect worker and read
// back, with its detections, through the second's API.
func TestScaleOutTwoProcesses(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "cloudtrail", "stratus")
	files, _ := filepath.Glob(filepath.Join(dir, "aws.*.json"))
	if len(files) == 0 {
		t.Skipf("Stratus Red Team logs not found at %s (../shared/corpus)", dir)
	}
	db := pgDSN(t)
	url, stream := testBus(t)
	bus := []string{"--db", db, "--bus", url, "--bus-stream", stream}
	ingester := startServe(t, append([]string{"--components", "ingest,api"}, bus...)...)
	admin := printedSecret(ingester.printed, "admin token (shown once): ")
	detector := startServe(t, append([]string{"--components", "detect,api"}, bus...)...)

	records := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code, body := ingester.call(t, "POST", "/api/v1/ingest", admin, string(data))
		var rep struct{ Accepted int }
		if err := json.Unmarshal([]byte(body), &rep); code != 200 || err != nil || rep.Accepted == 0 {
			t.Fatalf("POST %s: %d %.300s", filepath.Base(f), code, body)
		}
		records += rep.Accepted
	}
	// Nothing is evaluated where it was posted: the ingest node has no
	// detect worker.
	detector.waitEvents(t, admin, records)
	var ds []cairn.Detection
	waitUntil(t, 30*time.Second, "a detection of every detonation's tactic", func() bool {
		code, body := detector.call(t, "GET", "/api/v1/detections?limit=1000", admin, "")
		var page struct{ Detections []cairn.Detection }
		if code != 200 || json.Unmarshal([]byte(body), &page) != nil {
			return false
		}
		ds = page.Detections
		for _, f := range files {
			want, _ := attack.TacticByName(strings.Split(filepath.Base(f), ".")[1])
			if !slices.ContainsFunc(ds, func(d cairn.Detection) bool { return slices.Contains(d.Tactics, want.ID) }) {
				return false
			}
		}
		return true
	})
	if !slices.ContainsFunc(ds, func(d cairn.Detection) bool {
		return d.Rule == "CloudTrail Logging Disabled or Changed" && d.Count == 1
	}) {
		t.Errorf("no single CloudTrail Logging Disabled or Changed detection: %d detections", len(ds))
	}
	// The ingest node's API reads the same store.
	if code, body := ingester.call(t, "GET", "/api/v1/detections?filter=rule.name%3D%22CloudTrail%20Logging%20Disabled%20or%20Changed%22", admin, ""); code != 200 || !strings.Contains(body, "PutEventSelectors") {
		t.Errorf("detections through the ingest node: %d %.300s", code, body)
	}
}

// rekeyedRules: a correlation by source address, across identities, which
// a bus partitioned by identity must re-key.
const rekeyedRules = `title: Bucket Listing
id: 7a1c2e3f-0000-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: ListBuckets}
  condition: sel
level: low
---
title: Bucket Listing by Many Identities From One Address
id: 7a1c2e3f-0000-4000-8000-000000000002
correlation:
  type: value_count
  rules: [7a1c2e3f-0000-4000-8000-000000000001]
  group-by: [sourceIPAddress]
  timespan: 10m
  condition: {gte: 5, field: userIdentity.arn}
level: high
`

// A correlation whose group-by is not the bus's partition key (here the
// source address, across identities partitioned apart) gives the
// single-node result scaled out: its hits are re-keyed through the
// second stream to the worker of their group.
func TestScaleOutRekeyedCorrelation(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rekeyed.yml")
	if err := os.WriteFile(rules, []byte(rekeyedRules), 0o600); err != nil {
		t.Fatal(err)
	}
	var recs []string
	for i := range 40 {
		at := time.Date(2026, 11, 25, 9, 0, i*10, 0, time.UTC).Format(time.RFC3339)
		ip := "198.51.100.7" // eight identities, five calls each, from one address
		if i%5 == 4 {
			ip = fmt.Sprintf("203.0.113.%d", i) // and a few from addresses of their own
		}
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"rk-%d","eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":%q,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u%d","accountId":"111122223333","userName":"u%d"}}`, i, at, ip, i%8, i%8))
	}
	input := filepath.Join(dir, "ct.json")
	if err := os.WriteFile(input, []byte(`{"Records":[`+strings.Join(recs, ",")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(dir, "single.db")
	if code, _, errs := cli(t, "", "ingest", "--db", single, "--no-default-rules", "--rules", rules, input); code != 0 {
		t.Fatalf("single-node ingest: %d %s", code, errs)
	}
	want := storeDigest(t, single)
	if !slices.ContainsFunc(want.hits, func(h string) bool { return strings.HasPrefix(h, "Bucket Listing by Many Identities") }) {
		t.Fatalf("the correlation does not fire on one node: %v", want.hits)
	}

	url, stream := testBus(t)
	db := scaledDB(t)
	if code, _, errs := cli(t, "", "ingest", "--db", db, "--bus", url, "--bus-stream", stream, "--no-default-rules", input); code != 0 {
		t.Fatalf("publish: %d %s", code, errs)
	}
	a := startWorker(t, db, url, stream, "a", "--no-default-rules", "--rules", rules)
	b := startWorker(t, db, url, stream, "b", "--no-default-rules", "--rules", rules)
	var got digest
	waitUntil(t, time.Minute, "the single-node detections", func() bool {
		got = storeDigest(t, db)
		return len(got.events) == len(want.events) && len(got.hits) >= len(want.hits)
	})
	a.stop(t)
	b.stop(t)
	diff(t, "events", got.events, want.events)
	diff(t, "detection hits", got.hits, want.hits)
	diff(t, "detection groups", got.groups, want.groups)
}

// Back-pressure: when the bus holds its most events, the file reader
// waits (its memory does not grow with the input) and the ingest API
// answers 503 with Retry-After; once a worker drains the bus, the reader
// goes on and nothing is lost.
func TestScaleOutBackPressure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a worker process")
	}
	files, n := demoInput(t, 60)
	var size int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += fi.Size()
	}
	url, stream := testBus(t)
	db := scaledDB(t)
	const limit = 2000
	busArgs := []string{"--db", db, "--bus", url, "--bus-stream", stream, "--bus-max-backlog", strconv.Itoa(limit)}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	done := make(chan int, 1)
	var errs string
	go func() {
		code, _, e := cli(t, "", append(append([]string{"ingest"}, busArgs...), files...)...)
		errs = e
		done <- code
	}()
	var pr *probe
	waitUntil(t, time.Minute, "the bus to fill", func() bool {
		if pr == nil {
			if _, err := os.Stat(db); err != nil && !strings.HasPrefix(db, "postgres") {
				return false
			}
			nc, err := nats.Connect(url)
			if err != nil {
				return false
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			if _, err := js.Stream(context.Background(), stream); err != nil {
				return false
			}
			pr = newProbe(t, db, url, stream)
		}
		return pr.backlog() == limit
	})
	// The reader waits: nothing more is published, and what it holds
	// stays a few batches, not the input.
	var peak uint64
	for range 6 {
		select {
		case code := <-done:
			t.Fatalf("ingest returned %d while the bus was full: %s", code, errs)
		case <-time.After(500 * time.Millisecond):
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse-min(ms.HeapInuse, base))
		if got := pr.backlog(); got != limit {
			t.Fatalf("the bus holds %d events, more than its %d", got, limit)
		}
	}
	t.Logf("waiting on a full bus: the reader's heap in use %d MB, input %d MB", peak>>20, size>>20)
	if peak > uint64(size)/4 {
		t.Errorf("the reader holds %d MB while it waits, for %d MB of input: it is buffering the input", peak>>20, size>>20)
	}

	// The ingest API of a node on the same bus says when to come back.
	api := startServe(t, append([]string{"--components", "ingest,api"}, busArgs...)...)
	admin := printedSecret(api.printed, "admin token (shown once): ")
	req, err := http.NewRequest("POST", api.url+"/api/v1/ingest", strings.NewReader(`{"eventVersion":"1.08","eventID":"bp-1","eventTime":"2026-11-25T09:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bp","accountId":"111122223333","userName":"bp"}}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("POST to a full bus: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	w := startWorker(t, db, url, stream, "w", busArgs[4:]...)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("ingest: %d %s", code, errs)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("the reader did not go on once the bus drained")
	}
	waitUntil(t, 5*time.Minute, "every event stored", func() bool { return pr.count() == n })
	w.stop(t)
}
