package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	files, n := demoInput(b, seeds)
	b.Logf("input: %d seeds, %d records", seeds, n)

	b.Run("sqlite-single", func(b *testing.B) {
		benchSingle(b, files, n, func(b *testing.B) string { return filepath.Join(b.TempDir(), "single.db") })
	})
	b.Run("postgres-single", func(b *testing.B) {
		benchSingle(b, files, n, func(b *testing.B) string { return pgDSN(b) })
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
		code, _, errs := cli(b, "", append([]string{"ingest", "--db", db}, files...)...)
		b.StopTimer()
		elapsed += time.Since(start)
		cpu += selfCPU(b) - cpu0
		if code != 0 {
			b.Fatalf("ingest: %d %s", code, errs)
		}
		if got := storedEvents(b, db); got != n {
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
	var cpu, pgCPU, natsCPU float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		url, stream := testBus(b)
		db := pgDSN(b)
		start := time.Now()
		b.StartTimer()
		code, _, errs := cli(b, "", append([]string{"ingest", "--db", db, "--bus", url, "--bus-stream", stream}, files...)...)
		b.StopTimer()
		pubTime += time.Since(start)
		if code != 0 {
			b.Fatalf("publish: %d %s", code, errs)
		}
		p := newProbe(b, db, url, stream)
		if got := p.backlog(); got != uint64(n) {
			b.Fatalf("%d messages in the stream after publishing %d events", got, n)
		}

		pg0, nats0 := serviceCPU("postgres"), serviceCPU("nats-server")
		start = time.Now()
		b.StartTimer()
		ws := make([]*worker, workers)
		for w := range ws {
			ws[w] = launchWorker(b, db, url, stream, fmt.Sprintf("w%d", w))
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
		pgCPU += serviceCPU("postgres") - pg0
		natsCPU += serviceCPU("nats-server") - nats0
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
	// The shared services' CPU while the workers consumed, when they run
	// on this machine (0 otherwise).
	b.ReportMetric(pgCPU/total*1000, "pg-cpu-s/kevent")
	b.ReportMetric(natsCPU/total*1000, "nats-cpu-s/kevent")
}

// selfCPU returns the user and system CPU seconds this process used.
func selfCPU(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// storedEvents returns the events stored in db.
func storedEvents(tb testing.TB, db string) int {
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

// serviceCPU returns the CPU seconds (user and system) the processes named
// comm on this machine have used: those running, and the children their
// parents have reaped (PostgreSQL's ended connections). 0 when there are
// none, or /proc cannot be read.
func serviceCPU(comm string) float64 {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks float64
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime stime cutime cstime (fields 14-17)
		open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
		if open < 0 || end < open || string(data[open+1:end]) != comm {
			continue
		}
		fields := strings.Fields(string(data[end+2:]))
		if len(fields) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} { // counted from the state, field 3
			v, _ := strconv.ParseFloat(fields[i], 64)
			ticks += v
		}
	}
	return ticks / 100 // USER_HZ
}
