package storeutil

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

func TestPageLimit(t *testing.T) {
	for _, tt := range []struct{ in, want int }{
		{0, DefaultLimit}, {1, 1}, {MaxLimit, MaxLimit}, {MaxLimit + 1, MaxLimit}, {math.MaxInt, MaxLimit},
	} {
		if got, err := PageLimit(tt.in); got != tt.want || err != nil {
			t.Errorf("PageLimit(%d) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	if _, err := PageLimit(-1); cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("PageLimit(-1): %v, want EINVALID", err)
	}
}

func TestUnixNano(t *testing.T) {
	for _, tt := range []struct {
		in   time.Time
		want int64
	}{
		{time.Unix(0, 42), 42},
		{time.Unix(-3, 0), -3e9},
		{time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), math.MinInt64},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
		{time.Time{}, math.MinInt64},
	} {
		if got := UnixNano(tt.in); got != tt.want {
			t.Errorf("UnixNano(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestInvalid(t *testing.T) {
	if err := Invalid(errors.New("bad")); cairn.ErrorCode(err) != cairn.EINVALID || err.Error() == "" {
		t.Errorf("Invalid(plain) = %v, want EINVALID", err)
	}
	coded := cairn.Errorf(cairn.ENOTFOUND, "gone")
	if err := Invalid(coded); err != coded {
		t.Errorf("Invalid(coded) = %v, want it unchanged", err)
	}
}
