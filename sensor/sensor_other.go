//go:build !linux

package sensor

import (
	"context"
	"runtime"

	"github.com/cairn-cdr/cairn"
)

// Available reports whether the sensor can run here: never outside Linux.
func Available() error {
	return cairn.Errorf(cairn.EINVALID, "the cairn sensor runs on Linux only, not %s; run cairn serve with --sensor=off", runtime.GOOS)
}

// Run returns Available's error: the connector is Linux's.
func (s *Sensor) Run(ctx context.Context, emit func(cairn.Event)) error {
	return Available()
}
