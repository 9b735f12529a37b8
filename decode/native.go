package decode

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cairn-cdr/cairn"
)

// decodeNative decodes one cairn Event as json.Marshal writes it. The
// record keeps its id (or gets "nv-" and a hash of its content) and its
// Raw becomes the native record itself, so that decoding the stored record
// again gives the same event (an original record carried in "raw" stays
// inside it, at json.value[/raw/...]).
func decodeNative(d *decoder, data []byte, compact bool) (cairn.Event, error) {
	var ev cairn.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return cairn.Event{}, jsonReason(err)
	}
	switch {
	case ev.Source == "":
		return cairn.Event{}, errors.New("event has no source")
	case !knownSource(ev.Source):
		return cairn.Event{}, fmt.Errorf("unknown source %q", clip(string(ev.Source)))
	case ev.Kind == "":
		return cairn.Event{}, errors.New("event has no kind")
	case !knownKind(ev.Kind):
		return cairn.Event{}, fmt.Errorf("unknown kind %q", clip(string(ev.Kind)))
	case ev.Time.IsZero():
		return cairn.Event{}, errors.New("event has no time")
	}
	if ev.ID == "" {
		ev.ID = d.hashID("nv-", data, compact)
	}
	ev.Raw = nil
	return ev, nil
}

func knownSource(s cairn.Source) bool {
	switch s {
	case cairn.SourceTetragon, cairn.SourceFalco, cairn.SourceCloudTrail, cairn.SourceSensor, cairn.SourceNative:
		return true
	}
	return false
}

func knownKind(k cairn.Kind) bool {
	switch k {
	case cairn.KindExec, cairn.KindExit, cairn.KindFile, cairn.KindNetwork, cairn.KindKprobe,
		cairn.KindCloud, cairn.KindAlert, cairn.KindOther:
		return true
	}
	return false
}
