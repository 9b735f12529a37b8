package decode

import "github.com/cairn-cdr/cairn"

// Collector is a Sink that keeps every event and dead letter in memory,
// for tests and small inputs.
type Collector struct {
	Events  []cairn.Event
	Rejects []cairn.DeadLetter
}

var _ Sink = (*Collector)(nil)

// Event appends ev.
func (c *Collector) Event(ev cairn.Event) error {
	c.Events = append(c.Events, ev)
	return nil
}

// Reject appends dl.
func (c *Collector) Reject(dl cairn.DeadLetter) error {
	c.Rejects = append(c.Rejects, dl)
	return nil
}
