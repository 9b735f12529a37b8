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
