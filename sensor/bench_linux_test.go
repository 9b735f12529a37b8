//go:build linux

package sensor_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/rulepack"
	"github.com/cairn-cdr/cairn/sensor"
	"github.com/cairn-cdr/cairn/sqlite"
)

// The sensor's benchmarks run real processes on the host, so they need
// root and the kernel's process events connector; they skip otherwise.
// Run them one iteration at a time:
//
//	go test -run '^$' -bench . -benchtime 1x ./sensor/
const (
	stormExecs   = 20000 // execs of /bin/true per storm
	stormRate    = 2000  // execs/s of the paced storm and of the background storm
	stormWorkers = 8     // goroutines running execs: enough for 2,000/s on 2 cores
	// drainIdle is how long the sensor may stay silent after a storm
	// before the execs not seen by then are counted lost.
	drainIdle = 2 * time.Second
)

func requireSensor(b *testing.B) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("the sensor benchmarks need root (the process events connector needs CAP_NET_ADMIN); run them with sudo or make bench as root")
	}
	if err := sensor.Available(); err != nil {
		b.Skipf("the process events connector is not available here: %v", err)
	}
}

// cpuTime is this process's user plus system CPU time. The sensor runs
// in-process; the storm's children are RUSAGE_CHILDREN and not counted.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stormResult is what a storm ran: its children's pids and when.
type stormResult struct {
	pids       []int
	start, end time.Time
}

// storm runs n execs of /bin/true (until ctx ends when n is 0) from a
// pool of workers, paced to rate execs/s (flat out when rate is 0).
func storm(ctx context.Context, n, rate int) (stormResult, error) {
	res := stormResult{start: time.Now()}
	jobs := make(chan struct{}, stormWorkers)
	go func() {
		defer close(jobs)
		for i := 0; n == 0 || i < n; i++ {
			if rate > 0 {
				due := res.start.Add(time.Duration(i) * time.Second / time.Duration(rate))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
			}
			select {
			case jobs <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range stormWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pids []int
			for range jobs {
				cmd := exec.Command("/bin/true")
				err := cmd.Run()
				if cmd.Process != nil {
					pids = append(pids, cmd.Process.Pid)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			res.pids = append(res.pids, pids...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.end = time.Now()
	return res, firstErr
}

// execSeen is an exec event the sensor emitted.
type execSeen struct {
	pid  int64
	at   time.Time
	bin  string
	flag string
}

// execLog keeps the sensor's exec events; emit is called from the
// sensor's one goroutine, the benchmark reads concurrently.
type execLog struct {
	mu    sync.Mutex
	execs []execSeen
	// self is closed when the sensor described this process from its
	// first /proc walk: the walk is over.
	self     chan struct{}
	selfOnce sync.Once
}

func newExecLog() *execLog { return &execLog{self: make(chan struct{})} }

func (l *execLog) emit(ev cairn.Event) {
	if ev.Process == nil || ev.Kind != cairn.KindExec {
		return
	}
	if ev.Process.PID == int64(os.Getpid()) {
		l.selfOnce.Do(func() { close(l.self) })
	}
	if ev.Type != "execve" {
		return
	}
	l.mu.Lock()
	l.execs = append(l.execs, execSeen{pid: ev.Process.PID, at: ev.Time, bin: ev.Process.Binary, flag: ev.Process.Flags})
	l.mu.Unlock()
}

func (l *execLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.execs)
}

// seen counts the execs of r the sensor reported: an exec event of a
// binary named base (or one described from the kernel event alone) whose
// pid is one of r's, within r's time. A pid the kernel reused during the
// storm counts at most as often as the storm used it.
// partial counts those described from the kernel event alone (gone from
// /proc), empty those read from /proc after the process had exited but
// before it was reaped: no binary, no command line, not flagged partial.
func (l *execLog) seen(r stormResult, base string) (seen, partial, empty int) {
	want := map[int64]int{}
	for _, pid := range r.pids {
		want[int64(pid)]++
	}
	from, to := r.start.Add(-50*time.Millisecond), r.end.Add(50*time.Millisecond)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.execs {
		if want[e.pid] == 0 || e.at.Before(from) || e.at.After(to) {
			continue
		}
		if e.bin != "" && path.Base(e.bin) != base {
			continue
		}
		want[e.pid]--
		seen++
		switch {
		case e.flag == "partial":
			partial++
		case e.bin == "":
			empty++
		}
	}
	return seen, partial, empty
}

// drain waits until the sensor has reported every exec of r, or has been
// silent for drainIdle.
func (l *execLog) drain(r stormResult) {
	last, lastAt := l.len(), time.Now()
	for time.Since(lastAt) < drainIdle {
		if n, _, _ := l.seen(r, "true"); n >= len(r.pids) {
			return
		}
		time.Sleep(20 * time.Millisecond)
		if n := l.len(); n != last {
			last, lastAt = n, time.Now()
		}
	}
}

// runSensor starts s feeding emit and returns what stops it.
func runSensor(b *testing.B, s *sensor.Sensor, emit func(cairn.Event)) (stop func()) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, emit) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("sensor Run: %v", err)
		}
	}
}

// waitWalk waits for the sensor's first /proc walk to end.
func waitWalk(b *testing.B, l *execLog) {
	b.Helper()
	select {
	case <-l.self:
	case <-time.After(30 * time.Second):
		b.Fatal("the sensor did not describe this process within 30s")
	}
}

// baselineCPU holds the CPU per exec the without-sensor side measured in
// this run, by storm rate, for the with-sensor side to subtract.
var baselineCPU = map[string]float64{}

// BenchmarkExecStorm measures what following a storm of short-lived
// processes costs the host: 20,000 execs of /bin/true, paced at 2,000/s
// and flat out, without the sensor and with it. The sensor runs in this
// process, so its cost is this process's CPU time with it minus without
// (the exec'ing is the same on both sides).
func BenchmarkExecStorm(b *testing.B) {
	requireSensor(b)
	for _, rate := range []int{stormRate, 0} {
		name := "rate=max"
		if rate > 0 {
			name = "rate=" + strconv.Itoa(rate)
		}
		b.Run(name, func(b *testing.B) {
			b.Run("without-sensor", func(b *testing.B) {
				var cpu, wall time.Duration
				for range b.N {
					before := cpuTime(b)
					r, err := storm(context.Background(), stormExecs, rate)
					if err != nil {
						b.Fatal(err)
					}
					cpu += cpuTime(b) - before
					wall += r.end.Sub(r.start)
				}
				perExec := float64(cpu.Microseconds()) / float64(b.N*stormExecs)
				baselineCPU[name] = perExec
				b.ReportMetric(float64(b.N*stormExecs)/wall.Seconds(), "execs/s")
				b.ReportMetric(perExec, "cpu-µs/exec")
			})
			b.Run("with-sensor", func(b *testing.B) {
				base, ok := baselineCPU[name]
				if !ok {
					b.Skipf("run %s/without-sensor in the same run first: the sensor's CPU is the difference", name)
				}
				var cpu, wall time.Duration
				var lost, partial, noCmdline, kernelLost, dropped, resyncs int64
				for range b.N {
					b.StopTimer()
					s, err := sensor.New(sensor.Options{})
					if err != nil {
						b.Fatal(err)
					}
					log := newExecLog()
					stop := runSensor(b, s, log.emit)
					waitWalk(b, log)
					st0 := s.Stats()
					b.StartTimer()

					before := cpuTime(b)
					r, err := storm(context.Background(), stormExecs, rate)
					if err != nil {
						b.Fatal(err)
					}
					log.drain(r)
					cpu += cpuTime(b) - before
					wall += r.end.Sub(r.start)

					b.StopTimer()
					st := s.Stats()
					stop()
					seen, part, empty := log.seen(r, "true")
					noCmdline += int64(part + empty)
					lost += int64(len(r.pids) - seen)
					partial += st.Partial - st0.Partial
					kernelLost += st.Lost - st0.Lost
					dropped += st.Dropped - st0.Dropped
					resyncs += st.Resyncs - st0.Resyncs
					b.Logf("%d of %d execs seen (%d described from the kernel event alone, %d read from /proc without a command line); stats during the storm: lost %d dropped %d resyncs %d partial %d",
						seen, len(r.pids), part, empty, st.Lost-st0.Lost, st.Dropped-st0.Dropped, st.Resyncs-st0.Resyncs, st.Partial-st0.Partial)
					b.StartTimer()
				}
				perExec := float64(cpu.Microseconds()) / float64(b.N*stormExecs)
				n := float64(b.N)
				b.ReportMetric(float64(b.N*stormExecs)/wall.Seconds(), "execs/s")
				b.ReportMetric(perExec, "cpu-µs/exec")
				b.ReportMetric(perExec-base, "sensor-cpu-µs/exec")
				b.ReportMetric(float64(lost)/n, "lost")
				b.ReportMetric(float64(partial)/n, "partial")
				b.ReportMetric(float64(noCmdline)/n, "no-cmdline")
				b.ReportMetric(float64(kernelLost)/n, "kernel-lost")
				b.ReportMetric(float64(dropped)/n, "dropped")
				b.ReportMetric(float64(resyncs)/n, "resyncs")
			})
		})
	}
}

const (
	detectCommands = 200
	detectRule     = "Read Sensitive File by Command"
	// detectGap paces the triggering commands: 200 of them over about 5s
	// of the background storm.
	detectGap = 25 * time.Millisecond
	// detectWait bounds the wait for the last detections.
	detectWait = 10 * time.Second
)

var markerRE = regexp.MustCompile(`cairn-bench-(\d+)`)

// trigger is a command that names /etc/shadow and the marker on its
// command line, and the base name of its binary.
type trigger struct {
	name, base string
	cmd        func(marker string) *exec.Cmd
}

var triggers = []trigger{
	// stat exits within a millisecond or two: often gone before the
	// sensor reads its command line from /proc.
	{"stat", "stat", func(marker string) *exec.Cmd { return exec.Command("stat", "/etc/shadow", marker) }},
	// sh lives 100ms (its sleep), so /proc is read in time: the latency
	// of the path itself.
	// (The script's last command is not sleep: sh would exec it in its
	// own process, replacing the command line the rule matches.)
	{"sh-sleep", "dash", func(marker string) *exec.Cmd {
		return exec.Command("/bin/sh", "-c", "sleep 0.1; :", "/etc/shadow", marker)
	}},
}

// BenchmarkSensorToDetection measures the whole live path of cairn serve
// (sensor, ingest.Live with the process table, cairn's Falco pack and a
// SQLite store) from the start of a command that names /etc/shadow to its
// detection committed to the store, while a background storm runs 2,000
// execs/s of /bin/true. Latencies are those of the commands detected.
func BenchmarkSensorToDetection(b *testing.B) {
	requireSensor(b)
	rs, err := falco.Load(rulepack.Files()...)
	if err != nil {
		b.Fatal(err)
	}
	for _, tr := range triggers {
		b.Run("trigger="+tr.name, func(b *testing.B) { benchDetection(b, rs, tr) })
	}
}

func benchDetection(b *testing.B, rs *falco.RuleSet, tr trigger) {
	var lat []time.Duration
	var detected, cmdSeen, cmdPartial, lost, partial, stormN int
	var stormWall time.Duration
	for range b.N {
		b.StopTimer()
		ctx, cancel := context.WithCancel(context.Background())
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		var (
			mu        sync.Mutex
			started   = make([]time.Time, detectCommands)
			committed = make([]time.Time, detectCommands)
			count     int
		)
		onDetections := func(ds []cairn.Detection) {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			for _, d := range ds {
				if d.Rule != detectRule {
					continue
				}
				m := markerRE.FindStringSubmatch(d.Output)
				if m == nil {
					continue
				}
				i, err := strconv.Atoi(m[1])
				if err != nil || i >= detectCommands || !committed[i].IsZero() {
					continue
				}
				committed[i] = now
				count++
			}
		}
		live, err := ingest.NewLive(ctx, ingest.Options{Store: st, Tree: ingest.NewTree(ctx, st),
			Rules: falco.NewEngine(rs.Rules), OnDetections: onDetections}, 0)
		if err != nil {
			b.Fatal(err)
		}
		s, err := sensor.New(sensor.Options{})
		if err != nil {
			b.Fatal(err)
		}
		log := newExecLog()
		stop := runSensor(b, s, func(ev cairn.Event) {
			log.emit(ev)
			if err := live.Add(ev); err != nil && ctx.Err() == nil {
				b.Errorf("live.Add: %v", err)
			}
		})
		waitWalk(b, log)
		st0 := s.Stats()
		b.StartTimer()

		sctx, stopStorm := context.WithCancel(ctx)
		stormDone := make(chan stormResult, 1)
		go func() {
			r, err := storm(sctx, 0, stormRate)
			if err != nil {
				b.Errorf("background storm: %v", err)
			}
			stormDone <- r
		}()
		time.Sleep(500 * time.Millisecond) // the storm at its rate
		// Each command is matched within its own run: over the
		// benchmark the storm reuses every pid.
		var cmds []stormResult
		for i := range detectCommands {
			cmd := tr.cmd(fmt.Sprintf("/tmp/cairn-bench-%d", i))
			mu.Lock()
			started[i] = time.Now()
			mu.Unlock()
			// stat fails on the missing marker file; it ran all the same.
			if err := cmd.Run(); err != nil {
				var exit *exec.ExitError
				if !errors.As(err, &exit) {
					stopStorm()
					b.Fatalf("%s: %v", tr.name, err)
				}
			}
			cmds = append(cmds, stormResult{pids: []int{cmd.Process.Pid}, start: started[i], end: time.Now()})
			time.Sleep(detectGap)
		}
		deadline := time.Now().Add(detectWait)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := count
			mu.Unlock()
			if n == detectCommands {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		stopStorm()
		r := <-stormDone

		b.StopTimer()
		log.drain(r)
		stats := s.Stats()
		stop()
		if _, err := live.Close(); err != nil {
			b.Errorf("live.Close: %v", err)
		}
		cancel()
		if err := st.Close(); err != nil {
			b.Errorf("store Close: %v", err)
		}
		mu.Lock()
		for i := range detectCommands {
			if !committed[i].IsZero() {
				lat = append(lat, committed[i].Sub(started[i]))
			}
		}
		detected += count
		mu.Unlock()
		seen, _, _ := log.seen(r, "true")
		var cSeen, cPart, cEmpty int
		for _, c := range cmds {
			s, p, e := log.seen(c, tr.base)
			cSeen, cPart, cEmpty = cSeen+s, cPart+p, cEmpty+e
		}
		cmdSeen += cSeen
		cmdPartial += cPart + cEmpty
		lost += len(r.pids) - seen
		stormN += len(r.pids)
		stormWall += r.end.Sub(r.start)
		partial += int(stats.Partial - st0.Partial)
		b.Logf("%d of %d detections committed; the sensor saw %d of the %d commands, %d of them described from the kernel event alone and %d read from /proc after they exited (no command line); "+
			"background storm %d execs at %.0f/s, %d seen; sensor stats: lost %d dropped %d resyncs %d partial %d",
			count, detectCommands, cSeen, detectCommands, cPart, cEmpty, len(r.pids), float64(len(r.pids))/r.end.Sub(r.start).Seconds(), seen,
			stats.Lost-st0.Lost, stats.Dropped-st0.Dropped, stats.Resyncs-st0.Resyncs, stats.Partial-st0.Partial)
		b.StartTimer()
	}
	slices.Sort(lat)
	n := float64(b.N)
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(percentile(lat, 1)), "max-ms")
	b.ReportMetric(float64(detected)/n, "detected")
	b.ReportMetric(float64(cmdPartial)/n, "cmds-no-cmdline")
	b.ReportMetric(float64(cmdSeen)/n, "cmds-seen")
	b.ReportMetric(float64(lost)/n, "lost")
	b.ReportMetric(float64(partial)/n, "partial")
	b.ReportMetric(float64(stormN)/stormWall.Seconds(), "storm-execs/s")
}

// percentile returns the nearest-rank q-quantile of sorted, 0 when empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
