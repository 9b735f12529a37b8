package storeutil

import (
	"errors"
	"math"
	"time"

	"github.com/cairn-cdr/cairn"
)

// Page sizes of the stores' queries.
const (
	DefaultLimit = 100   // a page's size when a query gives none
	MaxLimit     = 10000 // the largest page
)

// PageLimit returns the page size a limit asks for: DefaultLimit for 0,
// capped at MaxLimit; EINVALID when negative.
func PageLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, cairn.Errorf(cairn.EINVALID, "limit must not be negative, got %d", limit)
	case limit == 0:
		return DefaultLimit, nil
	case limit > MaxLimit:
		return MaxLimit, nil
	}
	return limit, nil
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// UnixNano returns t in unix nanoseconds, clamped to the range an int64
// holds (years 1678 to 2262), which keeps order for any time.
func UnixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Invalid returns err as an EINVALID error unless it already has a code.
func Invalid(err error) error {
	var e *cairn.Error
	if errors.As(err, &e) {
		return err
	}
	return cairn.Errorf(cairn.EINVALID, "%v", err)
}

// CheckPartition returns EINVALID unless parts >= 1 and 0 <= part < parts
// (cairn.PartitionReader's arguments).
func CheckPartition(parts, part int) error {
	if parts < 1 || part < 0 || part >= parts {
		return cairn.Errorf(cairn.EINVALID, "partition %d of %d: want parts >= 1 and 0 <= part < parts", part, parts)
	}
	return nil
}
