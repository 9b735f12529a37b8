package sigma

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/correlate"
	"github.com/cairn-cdr/cairn/internal/disjoint"
)

// Forward is one base-rule hit for one forwarded chain component of
// correlations (see DetectorOptions.Local): a Detector that does not
// see all of a correlation's hits sends them, as Forwards, through a
// stream partitioned by Key to a Correlator.
type Forward struct {
	// Key is the partition key of the hits stream: the first
	// correlation's id (else name, else title) and, for a component of
	// one correlation, the hit's group-by values (after aliases), each
	// written as its length, a colon and itself. A component of several
	// correlations has its first correlation's id only, so that the whole
	// component runs in one place.
	Key string `json:"key"`
	// ID is unique and deterministic per component, rule and event: a
	// redelivery has the same ID.
	ID string `json:"id"`
	// Rule is the id of the rule that matched, RuleName its name.
	Rule     string    `json:"rule"`
	RuleName string    `json:"rule_name,omitempty"`
	Time     time.Time `json:"time"`
	EventID  string    `json:"event_id"`
	// Values are the event's values of every field the component's
	// correlations read for this rule (group-by fields, alias targets,
	// condition field), by field name, as Rule.Value reads them.
	Values map[string]string `json:"values,omitempty"`
	// Entities are those of the event (cairn.EntitiesOf).
	Entities cairn.Entities `json:"entities"`
}

// component is a forwarded chain component: correlations that reference
// one another, in rule set order.
type component struct {
	label string // the first correlation's id, else name, else title
	defs  []*CorrelationDef
}

// forwardRoute says that hits of a rule feed a forwarded component.
type forwardRoute struct {
	comp *component
	// fields are the fields whose values the Forward carries; keyFields
	// (a component of one correlation) are its group-by fields for the
	// rule, and value its condition field ("" for none).
	fields    []string
	keyFields []string
	value     string
}

// forwardedComponents splits the rule set's correlations into the chain
// components that are forwarded (some member is not local) and the local
// correlations, in rule set order.
func forwardedComponents(rs *RuleSet, local func(*CorrelationDef) bool) ([]*component, []*CorrelationDef, error) {
	cs := rs.Correlations
	sets := disjoint.New(len(cs))
	find := sets.Find
	byRef := map[string]int{}
	for i, c := range cs {
		for _, ref := range []string{c.ID, c.Name} {
			if ref != "" {
				byRef[ref] = i
			}
		}
	}
	for i, c := range cs {
		for _, ref := range c.Rules {
			if j, ok := byRef[ref]; ok {
				// The root is the smallest index: the first correlation
				// of the component in rule set order.
				sets.Union(i, j)
			}
		}
	}
	fwd := map[int]bool{}
	for i, c := range cs {
		if !local(c) {
			fwd[find(i)] = true
		}
	}
	byRoot := map[int]*component{}
	labels := map[string]bool{}
	var comps []*component
	var loc []*CorrelationDef
	for i, c := range cs {
		root := find(i)
		if !fwd[root] {
			loc = append(loc, c)
			continue
		}
		comp := byRoot[root]
		if comp == nil {
			comp = &component{label: cmp.Or(c.ID, c.Name, c.Title)}
			if labels[comp.label] {
				return nil, nil, cairn.Errorf(cairn.EINVALID, "forwarded correlations: two chain components are both named %q", comp.label)
			}
			labels[comp.label] = true
			byRoot[root] = comp
			comps = append(comps, comp)
		}
		comp.defs = append(comp.defs, c)
	}
	return comps, loc, nil
}

// forwardRoutes returns, by rule, the forwarded components whose
// correlations reference the rule, with the fields they read for it.
func forwardRoutes(rs *RuleSet, comps []*component) map[*Rule][]forwardRoute {
	out := map[*Rule][]forwardRoute{}
	for _, r := range rs.Rules {
		for _, comp := range comps {
			var rt forwardRoute
			seen := map[string]bool{}
			add := func(f string) {
				if f != "" && !seen[f] {
					seen[f] = true
					rt.fields = append(rt.fields, f)
				}
			}
			fed := false
			for _, c := range comp.defs {
				if !references(c, r) {
					continue
				}
				fed = true
				keys, value := fieldsFor(c, r)
				for _, f := range keys {
					add(f)
				}
				add(value)
				if len(comp.defs) == 1 {
					rt.keyFields, rt.value = keys, value
				}
			}
			if fed {
				rt.comp = comp
				out[r] = append(out[r], rt)
			}
		}
	}
	return out
}

// references reports whether c consumes r's matches.
func references(c *CorrelationDef, r *Rule) bool {
	for _, ref := range c.Rules {
		if ref != "" && (ref == r.ID || ref == r.Name) {
			return true
		}
	}
	return false
}

// fieldsFor returns the group-by fields and condition field c reads for
// hits of r, after aliases, as the correlation engine resolves them.
func fieldsFor(c *CorrelationDef, r *Rule) ([]string, string) {
	def := correlate.Def{GroupBy: c.GroupBy, Aliases: c.Aliases, Condition: correlationCondition(c.Condition)}
	return def.FieldsFor(r.ID, r.Name)
}

// appendForwards appends the Forwards of r's match of ev, one per route.
// A component of one correlation gets no hit its correlation would skip
// for lack of a group-by or condition field.
func appendForwards(out []Forward, routes []forwardRoute, r *Rule, ev *cairn.Event) []Forward {
	x := newCtx(ev)
	ent := cairn.EntitiesOf(ev)
	for _, rt := range routes {
		vals := make(map[string]string, len(rt.fields))
		for _, f := range rt.fields {
			if v, ok := r.value(x, f); ok {
				vals[f] = v
			}
		}
		if len(vals) == 0 {
			vals = nil // as a JSON round trip gives it back
		}
		key := appendPart(nil, rt.comp.label)
		if len(rt.comp.defs) == 1 {
			ok := true
			for _, f := range rt.keyFields {
				v, has := vals[f]
				ok = ok && has
				key = appendPart(key, v)
			}
			if _, has := vals[rt.value]; rt.value != "" && !has {
				ok = false
			}
			if !ok {
				continue
			}
		}
		sum := sha256.Sum256(appendPart(appendPart(appendPart(appendPart(nil, rt.comp.label), r.ID), r.Name), ev.ID))
		out = append(out, Forward{Key: string(key), ID: "fw-" + hex.EncodeToString(sum[:16]), Rule: r.ID, RuleName: r.Name,
			Time: ev.Time, EventID: ev.ID, Values: vals, Entities: ent})
	}
	return out
}

// appendPart appends s as its length, a colon and itself.
func appendPart(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// keyLabel returns the component label at the start of a Forward's Key.
func keyLabel(key string) (string, bool) {
	n, rest, ok := strings.Cut(key, ":")
	if !ok {
		return "", false
	}
	l, err := strconv.Atoi(n)
	if err != nil || l < 0 || l > len(rest) {
		return "", false
	}
	return rest[:l], true
}

// TakeForwarded returns the Forwards of the hits Detect saw since the
// last call, in the order of the hits, and forgets them. They pile up
// until the caller takes them: a caller with forwarded correlations
// (DetectorOptions.Local) must call it after each Detect or batch.
func (d *Detector) TakeForwarded() []Forward {
	out := d.forwarded
	d.forwarded = nil
	return out
}

// Correlator runs the forwarded chain components of a rule set (those
// DetectorOptions.Local rejects) on the Forwards Detectors send, and
// gives, for the same hits, the detections a Detector running every
// correlation gives for these correlations on the events in time order.
//
// Each component runs in one correlation engine, whose clock is the
// newest hit time it saw, across all the Keys it gets: Forwards from
// several partitions, each in time order, interleave out of order, so
// Lateness must cover how far apart in time the partitions' streams
// may be. As with a Detector, a detection gets the entities of the
// event that completes it only when it is decided at that event's own
// hit (never with Lateness, whose hits wait). A Forward delivered twice counts once
// (the engine drops a second delivery of a hit with an event id, while
// it may still be placed; older ones are late). It is safe for
// concurrent use.
type Correlator struct {
	// comps runs each component in its own engine: an engine counts a hit
	// (rule, event, time) once, and one hit feeds several components.
	comps map[string]*corrComp
	order []*corrComp
}

// corrComp is a forwarded component in a Correlator.
type corrComp struct {
	d  *Detector
	mu sync.Mutex
}

// NewCorrelator builds the correlator of the correlations opts.Local
// rejects (with their chain components), with opts' Lateness and
// MaxGroups (per component). With no Local it runs nothing.
func NewCorrelator(rs *RuleSet, opts DetectorOptions) (*Correlator, error) {
	c := &Correlator{comps: map[string]*corrComp{}}
	if opts.Local == nil {
		return c, nil
	}
	comps, _, err := forwardedComponents(rs, opts.Local)
	if err != nil {
		return nil, err
	}
	_, base := ruleRefs(rs)
	for _, comp := range comps {
		d := &Detector{defs: map[*correlate.Def]*CorrelationDef{}}
		if d.corr, err = newCorrEngine(comp.defs, base, opts, d.defs); err != nil {
			return nil, err
		}
		cc := &corrComp{d: d}
		c.comps[comp.label] = cc
		c.order = append(c.order, cc)
	}
	return c, nil
}

// Observe feeds one Forward and returns the detections it completes.
// Forwards of no forwarded component are ignored.
func (c *Correlator) Observe(f Forward) []cairn.Detection {
	label, ok := keyLabel(f.Key)
	if !ok {
		return nil
	}
	cc := c.comps[label]
	if cc == nil {
		return nil
	}
	vals := f.Values
	cc.mu.Lock()
	defer cc.mu.Unlock()
	results := cc.d.corr.Observe(correlate.Hit{Rule: f.Rule, RuleName: f.RuleName, Time: f.Time, EventID: f.EventID,
		Value: func(name string) (string, bool) {
			v, ok := vals[name]
			return v, ok
		}})
	return cc.detections(results, &f)
}

// detections turns results into detections. A result whose last event is
// the Forward's (at, if any) gets that event's entities, as
// Detector.Detect gives a result those of the event that completes it.
func (cc *corrComp) detections(results []correlate.Result, at *Forward) []cairn.Detection {
	var out []cairn.Detection
	for _, res := range results {
		var ent cairn.Entities
		if n := len(res.EventIDs); at != nil && n > 0 && res.EventIDs[n-1] == at.EventID {
			ent = at.Entities
		}
		out = append(out, cc.d.resultDetection(res, ent))
	}
	return out
}

// Advance moves every component's clock to now (see Detector.Advance).
func (c *Correlator) Advance(now time.Time) []cairn.Detection {
	var out []cairn.Detection
	for _, cc := range c.order {
		cc.mu.Lock()
		out = append(out, cc.detections(cc.d.corr.Advance(now), nil)...)
		cc.mu.Unlock()
	}
	return out
}

// Flush ends an input, as Detector.Flush does, for every component: it
// processes the held-back hits and decides every window that waits for
// its end.
func (c *Correlator) Flush() []cairn.Detection {
	var out []cairn.Detection
	for _, cc := range c.order {
		cc.mu.Lock()
		out = append(out, cc.detections(cc.d.corr.Flush(), nil)...)
		cc.mu.Unlock()
	}
	return out
}
