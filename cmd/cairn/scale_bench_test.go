package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/demo"
)

// BenchmarkScaleOut measures the throughput of one input (the demo
// generator's seeds, 30 by default or CAIRN_BENCH_SEEDS, about 1,740
// records each) through four deployments:
//
//   - sqlite-single: `cairn ingest --db FILE`, in this process: decode,
//     rules and store, end to end;
//   - postgres-single: the same into PostgreSQL, without the bus, so that
//     the store's cost and the bus's cost can be told apart;
//   - nats-postgres-1-worker and nats-postgres-2-workers: `cairn ingest
//     --bus` publishes the input, then detect worker processes consume it;
//     events/s is the consume rate, from the workers' start until the
//     stream is drained and every event is stored; publish-events/s is
//     the publish alone.
//
// cpu-s/kevent is the CPU time (user+system) per 1,000 events: of this
// process for the single-node cases, of the worker processes (their whole
// life, start-up and shutdown included) for the bus cases. Run it with
// -benchtime 1x: one iteration is one whole run. The bus cases need
// CAIRN_TEST_POSTGRES_DSN, and use CAIRN_TEST_NATS_URL or a NATS server in
// this process.
func BenchmarkScaleOut(b *testing.B) {
	seeds := 30
	if s := os.Getenv("CAIRN_BENCH_SEEDS"); s != "" {
		if _, err := fmt.Sscan(s, &seeds); err != nil || seeds <= 0 {
			b.Fatalf("CAIRN_BENCH_SEEDS=%q: want a positive number", s)
		}
	}
	files, n := benchDemoInput(b, seeds)
	b.Logf("input: %d seeds, %d records", seeds, n)

	b.Run("sqlite-single", func(b *testing.B) {
		benchSingle(b, files, n, func(b *testing.B) string { return filepath.Join(b.TempDir(), "single.db") })
	})
	b.Run("postgres-single", func(b *testing.B) {
		benchSingle(b, files, n, benchPGDSN)
	})
	b.Run("nats-postgres-1-worker", func(b *testing.B) { benchBusWorkers(b, files, n, 1) })
	b.Run("nats-postgres-2-workers", func(b *testing.B) { benchBusWorkers(b, files, n, 2) })
}

// benchSingle ingests the input with `cairn ingest --db` in this process,
// into a fresh store from newDB per iteration.
func benchSingle(b *testing.B, files []string, n int, newDB func(*testing.B) string) {
	var elapsed time.Duration
	var cpu float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := newDB(b)
		cpu0 := selfCPU(b)
		start := time.Now()
		b.StartTimer()
		code, _, errs := benchCLI(append([]string{"ingest", "--db", db}, files...)...)
		b.StopTimer()
		elapsed += time.Since(start)
		cpu += selfCPU(b) - cpu0
		if code != 0 {
			b.Fatalf("ingest: %d %s", code, errs)
		}
		if got := benchCount(b, db); got != n {
			b.Fatalf("stored %d of %d events", got, n)
		}
	}
	total := float64(n) * float64(b.N)
	b.ReportMetric(total/elapsed.Seconds(), "events/s")
	b.ReportMetric(cpu/total*1000, "cpu-s/kevent")
}

// benchBusWorkers publishes the input to a fresh stream, then starts
// workers detect worker processes on a fresh PostgreSQL schema and waits
// until the stream is drained and every event is stored.
func benchBusWorkers(b *testing.B, files []string, n, workers int) {
	if os.Getenv("CAIRN_TEST_POSTGRES_DSN") == "" {
		b.Skip("CAIRN_TEST_POSTGRES_DSN is not set: the scaled-out benchmarks need PostgreSQL")
	}
	var pubTime, consTime time.Duration
	var cpu float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		url, stream := benchBus(b)
		db := benchPGDSN(b)
		start := time.Now()
		b.StartTimer()
		code, _, errs := benchCLI(append([]string{"ingest", "--db", db, "--bus", url, "--bus-stream", stream}, files...)...)
		b.StopTimer()
		pubTime += time.Since(start)
		if code != 0 {
			b.Fatalf("publish: %d %s", code, errs)
		}
		p := newBenchProbe(b, db, url, stream)
		if got := p.backlog(); got != uint64(n) {
			b.Fatalf("%d messages in the stream after publishing %d events", got, n)
		}

		start = time.Now()
		b.StartTimer()
		ws := make([]*benchWorker, workers)
		for w := range ws {
			ws[w] = launchBenchWorker(b, db, url, stream, fmt.Sprintf("w%d", w))
		}
		for _, w := range ws {
			w.ready(b)
		}
		deadline := start.Add(15 * time.Minute)
		for p.backlog() != 0 || p.count() != n {
			if time.Now().After(deadline) {
				b.Fatalf("not drained after 15 minutes: %d messages left, %d of %d events stored", p.backlog(), p.count(), n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.StopTimer()
		consTime += time.Since(start)
		p.close()
		for _, w := range ws {
			cpu += w.stop(b)
		}
	}
	total := float64(n) * float64(b.N)
	cons := total / consTime.Seconds()
	b.ReportMetric(cons, "events/s")
	b.ReportMetric(cons/float64(workers), "events/s/worker")
	b.ReportMetric(total/pubTime.Seconds(), "publish-events/s")
	b.ReportMetric(cpu/total*1000, "cpu-s/kevent")
}

// benchCLI runs cairn in this process, as cli does for tests.
func benchCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

// selfCPU returns the user and system CPU seconds this process used.
func selfCPU(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return rusageSeconds(&ru)
}

func rusageSeconds(ru *syscall.Rusage) float64 {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchCount returns the events stored in db.
func benchCount(tb testing.TB, db string) int {
	tb.Helper()
	ctx := context.Background()
	st, err := openStore(ctx, db)
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	s, err := st.Stats(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return s.Events
}

// benchProbe watches a run: the messages left in the stream and the
// events stored, over one connection each.
type benchProbe struct {
	tb     testing.TB
	nc     *nats.Conn
	stream jetstream.Stream
	st     cairn.Store
}

func newBenchProbe(tb testing.TB, db, url, stream string) *benchProbe {
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
	return &benchProbe{tb: tb, nc: nc, stream: s, st: st}
}

func (p *benchProbe) backlog() uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := p.stream.Info(ctx)
	if err != nil {
		p.tb.Fatal(err)
	}
	return info.State.Msgs
}

func (p *benchProbe) count() int {
	s, err := p.st.Stats(context.Background())
	if err != nil {
		p.tb.Fatal(err)
	}
	return s.Events
}

func (p *benchProbe) close() {
	p.st.Close()
	p.nc.Close()
}

// benchWorker is a detect worker process (as startWorker's, for any
// testing.TB, started without waiting so that several start together).
type benchWorker struct {
	cmd    *exec.Cmd
	id     string
	stdout *bufio.Scanner
	log    string
}

func launchBenchWorker(tb testing.TB, db, url, stream, id string) *benchWorker {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "--", "serve", "--components", "detect", "--db", db, "--bus", url,
		"--bus-stream", stream, "--worker-id", id, "--sensor=off")
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
	w := &benchWorker{cmd: cmd, id: id, stdout: bufio.NewScanner(out), log: log}
	tb.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			w.cmd.Process.Signal(syscall.SIGKILL)
			w.cmd.Wait()
		}
	})
	return w
}

// ready waits until the worker says it is consuming.
func (w *benchWorker) ready(tb testing.TB) {
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
// the CPU seconds (user+system) it used.
func (w *benchWorker) stop(tb testing.TB) float64 {
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
	return rusageSeconds(ru)
}

// benchBus is testBus for any testing.TB.
func benchBus(tb testing.TB) (url, stream string) {
	tb.Helper()
	url = os.Getenv("CAIRN_TEST_NATS_URL")
	if url == "" {
		s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
			StoreDir: tb.TempDir(), NoLog: true, NoSigs: true})
		if err != nil {
			tb.Fatal(err)
		}
		s.Start()
		if !s.ReadyForConnections(10 * time.Second) {
			tb.Fatal("nats server not ready")
		}
		tb.Cleanup(s.Shutdown)
		url = s.ClientURL()
	}
	var r [4]byte
	rand.Read(r[:])
	stream = "BENCH_" + strings.ToUpper(hex.EncodeToString(r[:]))
	tb.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, stream)
		_ = js.DeleteKeyValue(ctx, stream+"_LEASES")
	})
	return url, stream
}

// benchPGDSN is pgDSN for a benchmark: the test database's URL with a
// fresh schema (dropped at the end), or a skip.
func benchPGDSN(b *testing.B) string {
	b.Helper()
	dsn := os.Getenv("CAIRN_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("CAIRN_TEST_POSTGRES_DSN is not set: PostgreSQL benchmarks skipped")
	}
	var r [6]byte
	rand.Read(r[:])
	schema := "bench_" + hex.EncodeToString(r[:])
	b.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			b.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			b.Errorf("drop schema: %v", err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "schema=" + schema
}

// benchDemoInput is demoInput for any testing.TB: seeds of the demo
// generator, one after the other in time, as a Tetragon export and a
// CloudTrail file; it returns their paths and the number of records.
func benchDemoInput(tb testing.TB, seeds int) ([]string, int) {
	tb.Helper()
	dir := tb.TempDir()
	tet, err := os.Create(filepath.Join(dir, "tetragon.ndjson"))
	if err != nil {
		tb.Fatal(err)
	}
	defer tet.Close()
	ct, err := os.Create(filepath.Join(dir, "cloudtrail.json"))
	if err != nil {
		tb.Fatal(err)
	}
	defer ct.Close()
	tw, cw := bufio.NewWriter(tet), bufio.NewWriter(ct)
	cw.WriteString(`{"Records":[`)
	n, nct := 0, 0
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for s := 1; s <= seeds; s++ {
		sc, err := demo.Generate(demo.Options{Seed: int64(s), Now: base.Add(time.Duration(s) * (demo.Window + time.Hour))})
		if err != nil {
			tb.Fatal(err)
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
			tb.Fatal(err)
		}
	}
	return []string{tet.Name(), ct.Name()}, n + nct
}
