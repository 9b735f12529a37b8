//go:build linux

package sensor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairn-cdr/cairn"
)

// queueLen is how many messages wait between the socket reader and the
// goroutine that reads /proc and emits: the reader never waits for it.
const queueLen = 8192

// ackTimeout bounds the wait for the kernel's answer to a subscribe.
const ackTimeout = 2 * time.Second

// Subscribe operations (enum proc_cn_mcast_op).
const (
	mcastListen = 1
	mcastIgnore = 2
)

// Available returns nil when the sensor can run: the kernel accepts a
// subscription to process events. Otherwise its error says what to do.
func Available() error {
	c, _, err := subscribe(0)
	if err != nil {
		return err
	}
	c.close()
	return nil
}

func notPermitted(err error) error {
	return cairn.Errorf(cairn.EINVALID, "sensor: %s (%v)", errNotPermitted, err)
}

// conn is a subscribed connector socket.
type conn struct{ fd int }

// subscribe opens the connector socket, subscribes to process events and
// waits for the kernel's acknowledgement, which comes only to a
// subscriber it accepted. It returns the events that arrived meanwhile.
func subscribe(rcvbuf int) (*conn, []Message, error) {
	if os.Geteuid() != 0 && !hasNetAdmin() {
		return nil, nil, notPermitted(errors.New("not root, and CAP_NET_ADMIN is not effective"))
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, nil, fmt.Errorf("sensor: netlink connector socket: %w", err)
	}
	c := &conn{fd: fd}
	if rcvbuf > 0 {
		// SO_RCVBUFFORCE passes the rmem_max limit, for root.
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		}
	}
	// A read timeout lets the reader notice that its context ended.
	tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("sensor: set read timeout: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, nil, notPermitted(err)
		}
		return nil, nil, fmt.Errorf("sensor: bind netlink connector: %w", err)
	}
	const ack = 0x6361 // any non-zero value asks for an acknowledgement
	if err := c.control(mcastListen, ack); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, nil, notPermitted(err)
		}
		return nil, nil, fmt.Errorf("sensor: subscribe to process events: %w", err)
	}
	var early []Message
	buf := make([]byte, 1<<16)
	deadline := time.Now().Add(ackTimeout)
	for time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOBUFS) {
				continue
			}
			c.close()
			return nil, nil, fmt.Errorf("sensor: read subscribe acknowledgement: %w", err)
		}
		if !fromKernel(from) {
			continue
		}
		msgs, _ := Parse(buf[:n])
		for _, m := range msgs {
			if m.What != WhatNone {
				early = append(early, m)
				continue
			}
			if m.Err != 0 {
				c.close()
				errno := unix.Errno(m.Err)
				if errno == unix.EPERM {
					return nil, nil, notPermitted(errno)
				}
				return nil, nil, fmt.Errorf("sensor: subscribe to process events: %w", errno)
			}
			return c, early, nil
		}
	}
	// Only an accepted subscriber hears the acknowledgement: the kernel
	// sends it to listeners, and a refused one is none.
	c.close()
	return nil, nil, notPermitted(errors.New("the kernel did not acknowledge the subscription"))
}

// control sends a subscribe operation.
func (c *conn) control(op uint32, ack uint32) error {
	b := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], nlmsgTypeDone)
	ne.PutUint32(b[12:], uint32(os.Getpid()))
	cn := b[nlmsgHdrLen:]
	ne.PutUint32(cn[0:], cnIdxProc)
	ne.PutUint32(cn[4:], cnValProc)
	ne.PutUint32(cn[12:], ack)
	ne.PutUint16(cn[16:], 4)
	ne.PutUint32(cn[cnMsgLen:], op)
	return unix.Sendto(c.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
}

// close unsubscribes (the kernel counts listeners and stops building
// events when none is left) and closes the socket.
func (c *conn) close() {
	_ = c.control(mcastIgnore, 0)
	_ = unix.Close(c.fd)
}

// fromKernel reports whether a datagram came from the kernel (port 0),
// not from a process writing to the group.
func fromKernel(from unix.Sockaddr) bool {
	nl, ok := from.(*unix.SockaddrNetlink)
	return ok && nl.Pid == 0
}

// hasNetAdmin reports whether CAP_NET_ADMIN is in the effective set.
func hasNetAdmin() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<unix.CAP_NET_ADMIN) != 0
		}
	}
	return false
}

// Run subscribes to process events, emits every process already running
// (parents first, flagged procFS), then emits execs and exits as they
// happen until ctx ends; it then returns nil. emit is called from one
// goroutine, in order; a slow emit delays events but never the kernel
// socket: up to 8192 messages wait, and past that they are dropped and
// /proc is walked again. Run returns an error when it cannot subscribe
// (Available's) or the socket fails.
func (s *Sensor) Run(ctx context.Context, emit func(cairn.Event)) error {
	c, early, err := subscribe(s.opts.RcvBuf)
	if err != nil {
		return err
	}
	defer c.close()
	clk := sysClock{}
	t := &tracker{
		host: s.opts.Host, fs: s.fs, log: s.log, clk: clk, stats: &s.stats,
		procs: map[int32]*entry{}, emit: emit,
	}
	t.since = clk.bootTicks(clk.mono())

	queue := make(chan item, queueLen)
	nudge := make(chan struct{}, 1)
	var resync atomic.Bool
	gap := func() {
		resync.Store(true)
		select {
		case nudge <- struct{}{}:
		default:
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.read(rctx, c, queue, gap) }()

	t.walk(false)
	for _, m := range early {
		t.handle(m)
	}
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-done
			return nil
		case err := <-done:
			return err
		case it := <-queue:
			t.handleItem(it)
		case <-nudge:
		}
		if resync.Swap(false) {
			// What was queued before the gap goes first.
			for n := len(queue); n > 0; n-- {
				t.handleItem(<-queue)
			}
			s.stats.resyncs.Add(1)
			s.log.Warn("sensor: events were lost; reading /proc again",
				"lost", s.stats.lost.Load(), "dropped", s.stats.dropped.Load())
			t.walk(true)
		}
	}
}

// read reads the socket into queue until ctx ends, calling gap when the
// kernel or the queue dropped events.
func (s *Sensor) read(ctx context.Context, c *conn, queue chan<- item, gap func()) error {
	buf := make([]byte, 1<<16)
	for ctx.Err() == nil {
		n, from, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			switch {
			case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			case errors.Is(err, unix.ENOBUFS):
				s.stats.lost.Add(1)
				s.log.Warn("sensor: the kernel dropped process events (socket buffer full)", slog.Int("rcvbuf", s.opts.RcvBuf))
				gap()
			default:
				return fmt.Errorf("sensor: read process events: %w", err)
			}
			continue
		}
		if !fromKernel(from) {
			continue
		}
		msgs, err := Parse(buf[:n])
		if err != nil {
			s.log.Warn("sensor: malformed process event", "err", err)
		}
		for _, m := range msgs {
			select {
			case queue <- prefetch(s.fs, m):
			default:
				s.stats.dropped.Add(1)
				gap()
			}
		}
	}
	return nil
}

// sysClock reads the kernel's clocks.
type sysClock struct{}

func clockNs(id int32) uint64 {
	var ts unix.Timespec
	if unix.ClockGettime(id, &ts) != nil {
		return 0
	}
	return uint64(ts.Nano())
}

func (sysClock) mono() uint64 { return clockNs(unix.CLOCK_MONOTONIC) }

// wall places a CLOCK_MONOTONIC timestamp against the wall clock now, so
// that a clock adjustment since the sensor started does not skew it.
func (c sysClock) wall(ts uint64) time.Time {
	now := time.Now()
	m := c.mono()
	if ts == 0 || m == 0 || ts > m {
		return now
	}
	return now.Add(-time.Duration(m - ts))
}

// bootTicks converts a CLOCK_MONOTONIC timestamp to the CLOCK_BOOTTIME
// clock ticks of process start times (they differ by the time the host
// was suspended).
func (c sysClock) bootTicks(ts uint64) uint64 {
	m := clockNs(unix.CLOCK_MONOTONIC)
	b := clockNs(unix.CLOCK_BOOTTIME)
	return (ts + (b - m)) / uint64(time.Second/userHZ)
}
