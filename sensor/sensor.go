// Package sensor is cairn's built-in Linux host sensor: it follows every
// process on the host through the kernel's process events connector
// (netlink, NETLINK_CONNECTOR), reads what the kernel event does not
// carry from /proc, and emits cairn events of Source cairn.SourceSensor
// with the field conventions of cairn's Tetragon decoder, so that rules
// and the process tree treat both alike.
//
// The connector needs root or CAP_NET_ADMIN and says nothing about files
// or connections: it is the exec and exit feed of a host without eBPF
// tooling, not a replacement for Tetragon.
package sensor

import (
	"io"
	"log/slog"
	"os"

	"github.com/cairn-cdr/cairn"
)

// Options configures a Sensor.
type Options struct {
	// Host is the node name events carry; os.Hostname when empty.
	Host string
	// ProcRoot is where the host's proc file system is mounted; /proc
	// when empty. The passwd file for user names is read beside it
	// (ProcRoot/../etc/passwd).
	ProcRoot string
	// Logger receives warnings (lost events, resyncs); nil discards.
	Logger *slog.Logger
	// RcvBuf is the socket's receive buffer in bytes; 4 MiB when zero.
	// A larger one rides out longer bursts of process events.
	RcvBuf int
}

// Stats are the sensor's counters since it started.
type Stats struct {
	Execs    int64 // exec events emitted for processes executed while watched
	Exits    int64 // exit events emitted
	Forks    int64 // processes forked (forks emit no event)
	Threads  int64 // thread creations ignored
	Lost     int64 // times the kernel dropped events (ENOBUFS)
	Dropped  int64 // messages dropped because the event queue was full
	Resyncs  int64 // /proc walks after lost or dropped events
	Partial  int64 // processes described only from the kernel event (gone from /proc)
	Existing int64 // processes found in /proc rather than seen executing
}

// Sensor follows the host's processes. Create it with New, run it with
// Run once.
type Sensor struct {
	opts  Options
	fs    *procFS
	log   *slog.Logger
	stats counters
}

// New returns a sensor with opts' defaults filled in. It reads the boot
// time from ProcRoot; it does not open the connector (Run does).
func New(opts Options) (*Sensor, error) {
	if opts.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "sensor: no host name given and os.Hostname failed: %v", err)
		}
		opts.Host = h
	}
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	if opts.RcvBuf <= 0 {
		opts.RcvBuf = 4 << 20
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	fs, err := newProcFS(opts.ProcRoot)
	if err != nil {
		return nil, err
	}
	return &Sensor{opts: opts, fs: fs, log: log}, nil
}

// Stats returns the counters; it is safe to call while Run runs.
func (s *Sensor) Stats() Stats {
	c := &s.stats
	return Stats{
		Execs: c.execs.Load(), Exits: c.exits.Load(), Forks: c.forks.Load(),
		Threads: c.threads.Load(), Lost: c.lost.Load(), Dropped: c.dropped.Load(),
		Resyncs: c.resyncs.Load(), Partial: c.partial.Load(), Existing: c.existing.Load(),
	}
}

// errNotPermitted is the message of Available and Run when the connector
// refuses the subscription.
const errNotPermitted = "the process events connector needs root or CAP_NET_ADMIN; run cairn serve as root or with --sensor=off"
