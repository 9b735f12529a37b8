package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// benchBatch is the batch size of the write benchmarks: an ingest writes
// about this many events per transaction.
const benchBatch = 1000

// benchWrite writes b.N batches of fresh events built by mk into s and
// reports events per second.
func benchWrite(b *testing.B, s *sqlite.Store, mk func(i int, at time.Time) cairn.Event) {
	tmpl := make([]cairn.Event, benchBatch)
	for i := range tmpl {
		tmpl[i] = mk(i, storetest.Base.Add(time.Duration(i)*time.Millisecond))
	}
	batch := make([]cairn.Event, benchBatch)
	ctx := context.Background()
	b.ResetTimer()
	var elapsed time.Duration
	cpu0 := cpuTime()
	for n := 0; n < b.N; n++ {
		for i := range batch {
			batch[i] = tmpl[i]
			batch[i].ID = fmt.Sprintf("%s/%d", tmpl[i].ID, n)
			batch[i].Time = tmpl[i].Time.Add(time.Duration(n) * time.Second)
		}
		start := time.Now()
		res, err := s.WriteEvents(ctx, batch)
		elapsed += time.Since(start)
		if err != nil || res.Inserted != benchBatch {
			b.Fatalf("WriteEvents: %+v, %v", res, err)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N*benchBatch)/elapsed.Seconds(), "events/s")
	// CPU time per event counts every goroutine of the process (encoders,
	// checkpoints) and does not depend on what else the machine runs.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*benchBatch), "cpu-µs/event")
	b.ReportMetric(0, "ns/op")
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWriteEvents measures ingest throughput into a file store, in
// transactions of 1,000 events of about 2 KB.
func BenchmarkWriteEvents(b *testing.B) {
	for _, bc := range []struct {
		name string
		mk   func(i int, at time.Time) cairn.Event
	}{
		{"tetragon", storetest.Tetragon},
		{"cloudtrail", storetest.CloudTrail},
		{"mixed", func(i int, at time.Time) cairn.Event {
			if i%2 == 0 {
				return storetest.Tetragon(i, at)
			}
			return storetest.CloudTrail(i, at)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchWrite(b, mustOpen(b, filepath.Join(b.TempDir(), "bench.db")), bc.mk)
		})
	}
	// In memory: the cost without file I/O.
	b.Run("mixed-memory", func(b *testing.B) {
		benchWrite(b, mustOpen(b, sqlite.Memory), func(i int, at time.Time) cairn.Event {
			if i%2 == 0 {
				return storetest.Tetragon(i, at)
			}
			return storetest.CloudTrail(i, at)
		})
	})
}

// BenchmarkWriteEventsIndexes measures what each index of the events
// table costs on ingest, by dropping it (or all of them) first.
func BenchmarkWriteEventsIndexes(b *testing.B) {
	indexes := []string{"events_time", "events_exec_id", "events_parent_exec_id", "events_container",
		"events_k8s_cluster", "events_k8s_ns", "events_k8s_pod", "events_identity", "events_ct_name"}
	cases := append([]string{"keep-all", "drop-all"}, indexes...)
	for _, c := range cases {
		name := c
		if c != "keep-all" && c != "drop-all" {
			name = "drop-" + c
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			s := mustOpen(b, path)
			db := rawDB(b, path)
			for _, ix := range indexes {
				if c == "drop-all" || c == ix {
					if _, err := db.Exec("DROP INDEX " + ix); err != nil {
						b.Fatal(err)
					}
				}
			}
			db.Close()
			benchWrite(b, s, func(i int, at time.Time) cairn.Event {
				if i%2 == 0 {
					return storetest.Tetragon(i, at)
				}
				return storetest.CloudTrail(i, at)
			})
		})
	}
}
