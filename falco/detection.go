package falco

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/field"
)

// Detection turns a match on ev into a detection: its id derives from the
// rule and the event, so that evaluating the same event again gives the
// same detection; severity comes from the rule's priority; ATT&CK tactics
// and techniques from its tags.
func (m Match) Detection(ev *cairn.Event) cairn.Detection {
	r := m.Rule
	sum := sha256.Sum256([]byte(r.Name + "\x00" + ev.ID))
	sev, ok := field.SeverityRank(r.Priority)
	if !ok {
		sev, _ = field.SeverityRank("medium")
	}
	d := cairn.Detection{
		ID:       "dt-" + hex.EncodeToString(sum[:16]),
		Time:     ev.Time,
		LastTime: ev.Time,
		Rule:     r.Name,
		Source:   "falco/" + r.Source,
		Priority: r.Priority,
		Severity: sev,
		Output:   m.Output,
		Tags:     append([]string(nil), r.Tags...),
		EventIDs: []string{ev.ID},
		Entities: cairn.EntitiesOf(ev),
		Count:    1,
	}
	d.Techniques, d.Tactics = attack.IDs(r.Tags)
	return d
}
