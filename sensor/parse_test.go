package sensor_test

import (
	"encoding/binary"
	"testing"

	"github.com/cairn-cdr/cairn/sensor"
)

// msg builds one datagram message: nlmsghdr, cn_msg and a proc_event
// with the given data words.
func msg(what uint32, ts uint64, words ...uint32) []byte {
	ne := binary.NativeEndian
	data := make([]byte, 16+4*len(words))
	ne.PutUint32(data[0:], what)
	ne.PutUint32(data[4:], 3)
	ne.PutUint64(data[8:], ts)
	for i, w := range words {
		ne.PutUint32(data[16+4*i:], w)
	}
	cn := make([]byte, 20+len(data))
	ne.PutUint32(cn[0:], 1)
	ne.PutUint32(cn[4:], 1)
	ne.PutUint16(cn[16:], uint16(len(data)))
	copy(cn[20:], data)
	b := make([]byte, 16+len(cn))
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], 3) // NLMSG_DONE
	copy(b[16:], cn)
	return b
}

func TestParse(t *testing.T) {
	comm := make([]uint32, 4)
	name := []byte("evil\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	for i := range comm {
		comm[i] = binary.NativeEndian.Uint32(name[4*i:])
	}
	tests := []struct {
		name string
		in   []byte
		want sensor.Message
	}{
		{"fork", msg(sensor.WhatFork, 77, 10, 10, 11, 11),
			sensor.Message{What: sensor.WhatFork, CPU: 3, Timestamp: 77, ParentPID: 10, ParentTGID: 10, PID: 11, TGID: 11}},
		{"thread", msg(sensor.WhatFork, 1, 10, 10, 12, 10),
			sensor.Message{What: sensor.WhatFork, CPU: 3, Timestamp: 1, ParentPID: 10, ParentTGID: 10, PID: 12, TGID: 10}},
		{"exec", msg(sensor.WhatExec, 5, 42, 42),
			sensor.Message{What: sensor.WhatExec, CPU: 3, Timestamp: 5, PID: 42, TGID: 42}},
		{"uid", msg(sensor.WhatUID, 5, 42, 42, 1000, 0),
			sensor.Message{What: sensor.WhatUID, CPU: 3, Timestamp: 5, PID: 42, TGID: 42, RealID: 1000, EffectiveID: 0}},
		{"exit with parent", msg(sensor.WhatExit, 9, 42, 42, 0x100, 17, 7, 7),
			sensor.Message{What: sensor.WhatExit, CPU: 3, Timestamp: 9, PID: 42, TGID: 42, ExitCode: 0x100, ExitSignal: 17, ParentPID: 7, ParentTGID: 7}},
		{"old exit", msg(sensor.WhatExit, 9, 42, 42, 9, 17),
			sensor.Message{What: sensor.WhatExit, CPU: 3, Timestamp: 9, PID: 42, TGID: 42, ExitCode: 9, ExitSignal: 17}},
		{"comm", msg(sensor.WhatComm, 2, append([]uint32{42, 42}, comm...)...),
			sensor.Message{What: sensor.WhatComm, CPU: 3, Timestamp: 2, PID: 42, TGID: 42, Comm: "evil"}},
		{"ack", msg(sensor.WhatNone, 0, 1),
			sensor.Message{What: sensor.WhatNone, CPU: 3, Err: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sensor.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("Parse = %+v, want [%+v]", got, tt.want)
			}
		})
	}
}

func TestParseSeveral(t *testing.T) {
	b := append(msg(sensor.WhatExec, 1, 5, 5), msg(sensor.WhatExit, 2, 5, 5, 0, 17)...)
	got, err := sensor.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].What != sensor.WhatExec || got[1].What != sensor.WhatExit || got[1].PID != 5 {
		t.Fatalf("Parse = %+v", got)
	}
}

func TestParseRejects(t *testing.T) {
	good := msg(sensor.WhatExec, 1, 5, 5)
	short := append([]byte(nil), good[:len(good)-4]...) // cn_msg.len says more than is there
	binary.NativeEndian.PutUint32(short[0:], uint32(len(short)))
	long := append([]byte(nil), good...)
	binary.NativeEndian.PutUint32(long[0:], uint32(len(long)+8))
	truncExec := msg(sensor.WhatExec, 1, 5) // one pid only
	for name, in := range map[string][]byte{
		"header":      good[:10],
		"nlmsg len":   long,
		"cn data len": short,
		"exec data":   truncExec,
	} {
		if got, err := sensor.Parse(in); err == nil {
			t.Errorf("%s: Parse = %+v, want an error", name, got)
		}
	}
	// Another connector index is not a process event.
	other := msg(sensor.WhatExec, 1, 5, 5)
	binary.NativeEndian.PutUint32(other[16:], 4)
	if got, err := sensor.Parse(other); err != nil || len(got) != 0 {
		t.Errorf("other index: Parse = %+v, %v; want nothing", got, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(msg(sensor.WhatFork, 77, 10, 10, 11, 11))
	f.Add(msg(sensor.WhatExit, 9, 42, 42, 0x100, 17, 7, 7))
	f.Add(append(msg(sensor.WhatExec, 1, 5, 5), msg(sensor.WhatComm, 2, 5, 5, 0x6c697665)...))
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := sensor.Parse(b)
		if len(msgs) > len(b)/52+1 {
			t.Fatalf("%d messages from %d bytes", len(msgs), len(b))
		}
	})
}
