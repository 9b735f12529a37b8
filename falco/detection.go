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
		Entities: EntitiesOf(ev),
		Count:    1,
	}
	techniques, tactics := attack.FromTags(r.Tags)
	for _, t := range tactics {
		d.Tactics = append(d.Tactics, t.ID)
	}
	for _, t := range techniques {
		d.Techniques = append(d.Techniques, t.ID)
	}
	return d
}

// EntitiesOf returns what an event is about, for a detection's pivots.
func EntitiesOf(ev *cairn.Event) cairn.Entities {
	var e cairn.Entities
	e.Host = ev.Host
	if p := ev.Process; p != nil {
		e.ExecID = p.ExecID
	}
	if c := ev.Container; c != nil {
		e.ContainerID, e.Image = c.ID, c.Image
	}
	if k := ev.K8s; k != nil {
		e.Pod, e.Namespace, e.Cluster = k.Pod, k.Namespace, k.Cluster
	}
	if c := ev.Cloud; c != nil {
		e.Identity = c.Identity.Key
	}
	return e
}
