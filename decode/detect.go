package decode

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/jsonscan"
)

// Detect returns the format of an input from its first bytes (after
// gunzip), which may end anywhere: it reads the top-level keys of the
// first value (of the first element, for an array). Records or an
// eventVersion, eventSource or eventName key mean CloudTrail; a process_*
// key means Tetragon; output with rule, or output_fields, mean Falco;
// source, kind and time mean cairn's native events. It returns EINVALID,
// naming the keys it found, when none of these match.
func Detect(prefix []byte) (Format, error) {
	data := bytes.TrimPrefix(prefix, []byte("\xEF\xBB\xBF"))
	if len(bytes.TrimSpace(data)) == 0 {
		return Auto, cairn.Errorf(cairn.EINVALID, "cannot detect the format of empty input")
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		return Auto, cairn.Errorf(cairn.EINVALID, "cannot detect the format of gzip data: gunzip it first")
	}
	f, keys := sniff(data)
	if f == Auto {
		return Auto, cairn.Errorf(cairn.EINVALID, "cannot detect the input format: %s", describe(data, keys))
	}
	return f, nil
}

// sniff reads the top-level keys of the first value of data (or of its
// first element, for an array), tolerating truncation, and returns the
// format they show, or Auto with the keys it read.
func sniff(data []byte) (Format, []string) {
	i := skipSpace(data, 0)
	if i >= len(data) {
		return Auto, nil
	}
	if data[i] == '[' {
		var first []byte
		_, _ = jsonscan.Elements(data[i:], func(e jsonscan.Element) error {
			if len(e.Data) == 0 {
				return nil
			}
			first = e.Data
			return errFound
		})
		if first == nil || first[0] == '[' {
			return Auto, nil
		}
		return sniff(first)
	}
	var (
		keys                    []string
		f                       = Auto
		output, rule            bool
		source, kind, eventTime bool
	)
	err := jsonscan.Members(data[i:], func(k string, _ []byte) bool {
		if len(keys) < 16 {
			keys = append(keys, k)
		}
		switch {
		case k == "Records" || k == "eventVersion" || k == "eventSource" || k == "eventName":
			f = CloudTrail
		case strings.HasPrefix(k, "process_"):
			f = Tetragon
		case k == "output_fields":
			f = Falco
		case k == "output":
			output = true
		case k == "rule":
			rule = true
		case k == "source":
			source = true
		case k == "kind":
			kind = true
		case k == "time":
			eventTime = true
		}
		switch {
		case f != Auto:
		case output && rule:
			f = Falco
		case source && kind && eventTime:
			f = Native
		}
		return f == Auto
	})
	if f == Auto && output && errors.Is(err, jsonscan.ErrTruncated) {
		// Only Falco has a top-level output; a prefix may end before
		// its rule.
		f = Falco
	}
	return f, keys
}

var errFound = errors.New("found")

// describe says what the first value of an undetected input looks like.
func describe(data []byte, keys []string) string {
	const want = "want Tetragon (a process_* key), Falco (output and rule, or output_fields), " +
		"CloudTrail (Records, or eventName and eventSource) or native cairn events (source, kind and time)"
	i := skipSpace(data, 0)
	switch {
	case i < len(data) && data[i] == '[' && len(keys) == 0:
		return "its first array holds no JSON object; " + want
	case i >= len(data) || (data[i] != '{' && data[i] != '['):
		return "its first record is not a JSON object; " + want
	case len(keys) == 0:
		return "its first record has no keys; " + want
	}
	q := make([]string, 0, len(keys))
	for _, k := range keys {
		if len(k) > 40 {
			k = k[:40] + "..."
		}
		q = append(q, fmt.Sprintf("%q", k))
	}
	return "its first record has the keys " + strings.Join(q, ", ") + "; " + want
}
