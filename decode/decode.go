// Package decode turns the records of each source format (Tetragon's JSON
// export, Falco alerts, AWS CloudTrail, cairn's native NDJSON) into
// cairn Events, and every record it cannot decode into a dead letter with
// its position and the reason, so that one bad record never loses the
// others.
//
// Decode reads one input (a file, standard input, an HTTP body): it
// gunzips it when it starts with the gzip magic bytes, detects the format
// from the content when asked to, and splits it into records with
// internal/jsonscan. Every string read from a record is attacker
// controlled; bad input is rejected with a reason, never a panic.
package decode

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/jsonscan"
)

// Format names an input format.
type Format string

// The formats Decode reads. Auto asks Decode to detect the format from
// the content.
const (
	Auto       Format = ""
	Tetragon   Format = "tetragon"
	Falco      Format = "falco"
	CloudTrail Format = "cloudtrail"
	Native     Format = "native"
)

// ParseFormat parses a format name: "" and "auto" mean Auto; the other
// names are the formats' own. Case and surrounding space are ignored. It
// returns EINVALID for any other name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "", "auto":
		return Auto, nil
	case Tetragon, Falco, CloudTrail, Native:
		return f, nil
	}
	return Auto, cairn.Errorf(cairn.EINVALID, "unknown input format %q (want auto, tetragon, falco, cloudtrail or native)", s)
}

// Sink receives what a decoder produces. Returning an error stops
// decoding with that error.
type Sink interface {
	Event(ev cairn.Event) error
	Reject(dl cairn.DeadLetter) error
}

// Decode reads one input (a file's content, standard input, an HTTP
// body) and calls sink for every record: Event for each record decoded,
// Reject for each record that is malformed or lacks what its format
// requires. It transparently gunzips input that starts with the gzip
// magic bytes (1f 8b), and detects the format from the content when f is
// Auto (never from a name). origin names the input in dead letters (a
// file path, "-").
//
// Decode returns an error only when the input cannot be read at all: an
// I/O error, a broken gzip stream, a format that cannot be detected
// (EINVALID), an error from sink, or ctx's error. Records delivered
// before such an error stay delivered. Empty input, "[]" and
// {"Records":[]} produce nothing and no error.
func Decode(ctx context.Context, r io.Reader, origin string, f Format, sink Sink) error {
	switch f {
	case Auto, Tetragon, Falco, CloudTrail, Native:
	default:
		return cairn.Errorf(cairn.EINVALID, "unknown input format %q", string(f))
	}
	br := bufio.NewReaderSize(r, 64<<10)
	in := io.Reader(br)
	gzipped := false
	if magic, err := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return cairn.Errorf(cairn.EINVALID, "%s: broken gzip header: %v", origin, err)
		}
		defer zr.Close()
		in, gzipped = zr, true
	} else if err != nil && err != io.EOF {
		return fmt.Errorf("read %s: %w", origin, err)
	}

	d := newDecoder(ctx, origin, f, sink)
	err := jsonscan.Values(in, d.value)
	if err == nil {
		err = d.finish()
	}
	var se sinkError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se.err
	case isCairnError(err), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case gzipped && isGzipDataError(err):
		return cairn.Errorf(cairn.EINVALID, "%s: broken gzip data after %d records: %v", origin, d.records, err)
	}
	return fmt.Errorf("read %s: %w", origin, err)
}

// sinkError carries an error returned by the sink, which Decode returns
// unchanged.
type sinkError struct{ err error }

func (e sinkError) Error() string { return e.err.Error() }
func (e sinkError) Unwrap() error { return e.err }

func isCairnError(err error) bool {
	var ce *cairn.Error
	return errors.As(err, &ce)
}

func isGzipDataError(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ce)
}
