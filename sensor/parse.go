package sensor

import (
	"encoding/binary"
	"fmt"
)

// What the kernel's process events connector reports (linux/cn_proc.h,
// enum proc_event.what).
const (
	WhatNone = 0x00000000 // the acknowledgement of a subscribe
	WhatFork = 0x00000001
	WhatExec = 0x00000002
	WhatUID  = 0x00000004
	WhatGID  = 0x00000040
	WhatSID  = 0x00000080
	WhatComm = 0x00000200
	WhatExit = 0x80000000
)

// Sizes of the headers that precede every proc_event.
const (
	nlmsgHdrLen   = 16 // struct nlmsghdr
	cnMsgLen      = 20 // struct cn_msg
	procEvHdrLen  = 16 // what, cpu, timestamp_ns
	nlmsgTypeDone = 3  // the connector sends its messages as NLMSG_DONE
	nlmsgTypeErr  = 2
	cnIdxProc     = 1
	cnValProc     = 1
)

// Message is one process event as the kernel reports it. Which pid fields
// are set depends on What: PID and TGID are the process the event is
// about (the child of a fork); ParentPID and ParentTGID the forking
// process of a fork, or the parent of an exiting process when the kernel
// reports it.
type Message struct {
	What uint32
	CPU  uint32
	// Timestamp is when the kernel sent the event, in nanoseconds of
	// CLOCK_MONOTONIC.
	Timestamp  uint64
	PID, TGID  int32
	ParentPID  int32
	ParentTGID int32
	// ExitCode is the exit status as wait(2) reports it (code << 8 |
	// signal); ExitSignal the signal sent to the parent.
	ExitCode   uint32
	ExitSignal uint32
	// ID is the real and effective uid or gid of a UID or GID event.
	RealID, EffectiveID uint32
	// Comm is the new name of a COMM event.
	Comm string
	// Err is the error of a subscribe acknowledgement (WhatNone).
	Err uint32
}

// Parse returns the process events in one datagram read from the
// connector socket. It rejects a datagram whose lengths do not add up,
// and skips netlink messages that are not process events. Byte order is
// the host's, as the kernel writes it.
func Parse(b []byte) ([]Message, error) {
	var out []Message
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return out, fmt.Errorf("netlink header truncated: %d bytes", len(b))
		}
		n := binary.NativeEndian.Uint32(b[0:4])
		typ := binary.NativeEndian.Uint16(b[4:6])
		if n < nlmsgHdrLen || uint64(n) > uint64(len(b)) {
			return out, fmt.Errorf("netlink message length %d out of range (%d bytes left)", n, len(b))
		}
		body := b[nlmsgHdrLen:n]
		// Messages are aligned to 4 bytes.
		next := (uint64(n) + 3) &^ 3
		if next > uint64(len(b)) {
			next = uint64(len(b))
		}
		b = b[next:]
		switch typ {
		case nlmsgTypeErr:
			if len(body) >= 4 {
				if code := int32(binary.NativeEndian.Uint32(body)); code != 0 {
					return out, fmt.Errorf("netlink error %d", -code)
				}
			}
			continue
		case nlmsgTypeDone:
		default:
			continue
		}
		m, ok, err := parseCn(body)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// parseCn parses one cn_msg carrying a proc_event; ok is false for a
// connector message of another index.
func parseCn(b []byte) (Message, bool, error) {
	var m Message
	if len(b) < cnMsgLen {
		return m, false, fmt.Errorf("connector header truncated: %d bytes", len(b))
	}
	idx := binary.NativeEndian.Uint32(b[0:4])
	val := binary.NativeEndian.Uint32(b[4:8])
	dataLen := int(binary.NativeEndian.Uint16(b[16:18]))
	if idx != cnIdxProc || val != cnValProc {
		return m, false, nil
	}
	b = b[cnMsgLen:]
	if dataLen > len(b) {
		return m, false, fmt.Errorf("connector data length %d exceeds the %d bytes received", dataLen, len(b))
	}
	b = b[:dataLen]
	if len(b) < procEvHdrLen {
		return m, false, fmt.Errorf("process event truncated: %d bytes", len(b))
	}
	m.What = binary.NativeEndian.Uint32(b[0:4])
	m.CPU = binary.NativeEndian.Uint32(b[4:8])
	m.Timestamp = binary.NativeEndian.Uint64(b[8:16])
	d := b[procEvHdrLen:]
	u := func(i int) uint32 { return binary.NativeEndian.Uint32(d[4*i:]) }
	need := func(n int) error {
		if len(d) < n {
			return fmt.Errorf("process event 0x%x truncated: %d data bytes, need %d", m.What, len(d), n)
		}
		return nil
	}
	switch m.What {
	case WhatNone:
		if err := need(4); err != nil {
			return m, false, err
		}
		m.Err = u(0)
	case WhatFork:
		if err := need(16); err != nil {
			return m, false, err
		}
		m.ParentPID, m.ParentTGID = int32(u(0)), int32(u(1))
		m.PID, m.TGID = int32(u(2)), int32(u(3))
	case WhatExec, WhatSID:
		if err := need(8); err != nil {
			return m, false, err
		}
		m.PID, m.TGID = int32(u(0)), int32(u(1))
	case WhatUID, WhatGID:
		if err := need(16); err != nil {
			return m, false, err
		}
		m.PID, m.TGID = int32(u(0)), int32(u(1))
		m.RealID, m.EffectiveID = u(2), u(3)
	case WhatComm:
		if err := need(8 + 16); err != nil {
			return m, false, err
		}
		m.PID, m.TGID = int32(u(0)), int32(u(1))
		c := d[8:24]
		for i, x := range c {
			if x == 0 {
				c = c[:i]
				break
			}
		}
		m.Comm = string(c)
	case WhatExit:
		if err := need(16); err != nil {
			return m, false, err
		}
		m.PID, m.TGID = int32(u(0)), int32(u(1))
		m.ExitCode, m.ExitSignal = u(2), u(3)
		// Kernels since 4.18 add the parent.
		if len(d) >= 24 {
			m.ParentPID, m.ParentTGID = int32(u(4)), int32(u(5))
		}
	default:
		// PTRACE, COORD and events newer than this parser: reported
		// with What alone.
	}
	return m, true, nil
}
