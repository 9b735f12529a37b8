package decode

import (
	"bytes"
	"context"

	"github.com/cairn-cdr/cairn"
)

// Record decodes one stored raw record (an Event.Raw) back into its event,
// as Decode made it at ingest, detecting the format from the content.
// Stores keep the raw record rather than a second copy of the event and
// rebuild events with Record, so the record stays the single source of
// truth. It returns EINVALID when raw is not exactly one decodable record.
func Record(raw []byte) (cairn.Event, error) {
	// Most stored records are one JSON object of a known format: decode
	// it directly, without the stream reader's buffers.
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		if f, err := Detect(t); err == nil && f != Auto {
			d := &decoder{ctx: context.Background(), origin: "stored record"}
			d.setFormat(f)
			if ev, err := d.decode(d, t, false); err == nil {
				ev.Raw = raw
				return ev, nil
			}
		}
	}
	var c Collector
	if err := Decode(context.Background(), bytes.NewReader(raw), "stored record", Auto, &c); err != nil {
		return cairn.Event{}, err
	}
	switch {
	case len(c.Rejects) > 0:
		return cairn.Event{}, cairn.Errorf(cairn.EINVALID, "stored record: %s", c.Rejects[0].Reason)
	case len(c.Events) != 1:
		return cairn.Event{}, cairn.Errorf(cairn.EINVALID, "stored record holds %d events, not 1", len(c.Events))
	}
	return c.Events[0], nil
}
