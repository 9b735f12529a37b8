package decode_test

import (
	"context"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

// mustDecode decodes in and fails the test on an error.
func mustDecode(tb testing.TB, in string, f decode.Format) *decode.Collector {
	tb.Helper()
	c := &decode.Collector{}
	if err := decode.Decode(context.Background(), strings.NewReader(in), "test", f, c); err != nil {
		tb.Fatalf("Decode: %v", err)
	}
	return c
}

// mustDecodeFile decodes a file and fails the test on an error.
func mustDecodeFile(tb testing.TB, path string, f decode.Format) *decode.Collector {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	c := &decode.Collector{}
	if err := decode.Decode(context.Background(), fh, path, f, c); err != nil {
		tb.Fatalf("Decode %s: %v", path, err)
	}
	return c
}

// mustRead returns a file's content.
func mustRead(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// noRejects fails the test when c holds dead letters.
func noRejects(tb testing.TB, c *decode.Collector) {
	tb.Helper()
	for _, dl := range c.Rejects {
		tb.Errorf("unexpected reject at %s: %s", dl.Position, dl.Reason)
	}
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func i64(v int64) *int64 { return &v }

func ptrEq[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// sameProcess compares two processes, pointers by value.
func sameProcess(a, b *cairn.Process) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	ok := ptrEq(x.UID, y.UID) && ptrEq(x.GID, y.GID) && ptrEq(x.LoginUID, y.LoginUID) && ptrEq(x.TTY, y.TTY) &&
		ptrEq(x.SID, y.SID) && ptrEq(x.ExitCode, y.ExitCode) && ptrEq(x.UpperLayer, y.UpperLayer) && x.StartTime.Equal(y.StartTime)
	x.UID, x.GID, x.LoginUID, x.TTY, x.SID, x.ExitCode, x.UpperLayer, x.StartTime = nil, nil, nil, nil, nil, nil, nil, time.Time{}
	y.UID, y.GID, y.LoginUID, y.TTY, y.SID, y.ExitCode, y.UpperLayer, y.StartTime = nil, nil, nil, nil, nil, nil, nil, time.Time{}
	ok = ok && slices.Equal(x.CapEffective, y.CapEffective) && slices.Equal(x.CapPermitted, y.CapPermitted)
	x.CapEffective, x.CapPermitted, y.CapEffective, y.CapPermitted = nil, nil, nil, nil
	return ok && reflect.DeepEqual(x, y)
}
