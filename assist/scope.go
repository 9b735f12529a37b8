package assist

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
)

// Scope is what a question is about: entities (several of one kind are
// alternatives, different kinds all apply) and a time range.
type Scope struct {
	Entities []Entity  `json:"entities,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Extra    string    `json:"extra,omitempty"` // a feed filter given by the caller ("this" = the current feed)
}

// fieldOf is the filter field that selects each kind of entity.
var fieldOf = map[EntityKind][]string{
	KindCluster:   {"k8s.cluster.name"},
	KindNamespace: {"k8s.ns.name"},
	KindWorkload:  {"k8s.workload.name"},
	KindPod:       {"k8s.pod.name"},
	KindImage:     {"container.image.repository"},
	KindHost:      {"evt.hostname"},
	KindIdentity:  {"cloud.identity"},
	KindRule:      {"rule.name"},
	KindProcess:   {"proc.name"},
	KindIP:        {"fd.rip", "ct.srcip"},
}

// NewScope returns the scope of the entities.
func NewScope(es ...Entity) Scope {
	var s Scope
	for _, e := range es {
		s.add(e)
	}
	return s
}

func (s *Scope) add(e Entity) {
	if !slices.Contains(s.Entities, e) {
		s.Entities = append(s.Entities, e)
	}
}

// kinds returns the kinds of the scope's entities in order of first
// appearance.
func (s Scope) kinds() []EntityKind {
	var ks []EntityKind
	for _, e := range s.Entities {
		if !slices.Contains(ks, e.Kind) {
			ks = append(ks, e.Kind)
		}
	}
	return ks
}

// Filter is the scope as a feed filter: alternatives of one kind joined
// by or, kinds by and. Values are quoted by filter.Text, so an entity
// can never change the filter's meaning.
func (s Scope) Filter() string {
	var parts []string
	for _, k := range s.kinds() {
		var alts []string
		for _, e := range s.Entities {
			if e.Kind != k {
				continue
			}
			for _, f := range fieldOf[k] {
				alts = append(alts, f+" = "+filter.Text(e.Value))
			}
		}
		if len(alts) == 1 {
			parts = append(parts, alts[0])
		} else {
			parts = append(parts, "("+strings.Join(alts, " or ")+")")
		}
	}
	if s.Extra != "" {
		parts = append(parts, "("+s.Extra+")")
	}
	return strings.Join(parts, " and ")
}

// Label describes the scope in words: "namespace payments", "everything".
func (s Scope) Label() string {
	var parts []string
	for _, k := range s.kinds() {
		var vals []string
		for _, e := range s.Entities {
			if e.Kind == k {
				vals = append(vals, e.Value)
			}
		}
		name := string(k)
		if len(vals) > 1 {
			name += "s"
		}
		parts = append(parts, name+" "+strings.Join(vals, ", "))
	}
	if s.Extra != "" {
		parts = append(parts, "the feed filter "+s.Extra)
	}
	label := strings.Join(parts, " and ")
	if label == "" {
		label = "everything stored"
	}
	if !s.Since.IsZero() {
		label += " since " + s.Since.UTC().Format("2006-01-02 15:04 UTC")
	}
	return label
}

// Case is what answers are built from: the detections in a scope, oldest
// first, and the first event of each.
type Case struct {
	Scope      Scope
	Detections []cairn.Detection
	// Events holds each detection's first event by event id; a detection
	// whose event is no longer stored has none.
	Events map[string]*cairn.Event
	// Truncated is true when the scope held more than MaxCaseDetections.
	Truncated bool
}

// MaxCaseDetections caps the detection groups one answer reads.
const MaxCaseDetections = 5000

// Load reads the case of a scope.
func Load(ctx context.Context, st Store, s Scope) (*Case, error) {
	c := &Case{Scope: s, Events: map[string]*cairn.Event{}}
	q := cairn.DetectionQuery{Filter: s.Filter(), Since: s.Since, Limit: 1000}
	for {
		page, err := st.QueryDetections(ctx, q)
		if err != nil {
			return nil, err
		}
		c.Detections = append(c.Detections, page.Detections...)
		if page.Next == "" {
			break
		}
		if len(c.Detections) >= MaxCaseDetections {
			c.Truncated = true
			break
		}
		q.Cursor = page.Next
	}
	slices.Reverse(c.Detections) // the store gives newest first
	slices.SortStableFunc(c.Detections, func(a, b cairn.Detection) int { return a.Time.Compare(b.Time) })
	for _, d := range c.Detections {
		if len(d.EventIDs) == 0 {
			continue
		}
		id := d.EventIDs[0]
		if _, ok := c.Events[id]; ok {
			continue
		}
		ev, err := st.GetEvent(ctx, id)
		switch {
		case err == nil:
			c.Events[id] = &ev
		case cairn.ErrorCode(err) != cairn.ENOTFOUND:
			return nil, fmt.Errorf("event %s of detection %s: %w", id, d.ID, err)
		}
	}
	return c, nil
}

// Event returns the first event of d, or nil.
func (c *Case) Event(d *cairn.Detection) *cairn.Event {
	if len(d.EventIDs) == 0 {
		return nil
	}
	return c.Events[d.EventIDs[0]]
}
