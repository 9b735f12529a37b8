package sigma

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/correlate"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/field"
)

// Detector runs a rule set's rules and correlations on events in arrival
// order and turns what fires into detections: a rule's matches, unless a
// correlation consumes the rule and none asks to generate them (as the
// specification has it), and every correlation result. Correlations that
// DetectorOptions.Local rejects are not run here: their hits are kept as
// Forwards for TakeForwarded (see Correlator).
type Detector struct {
	engine *Engine
	corr   *correlate.Engine
	// silent are the rules whose matches only feed correlations.
	silent map[*Rule]bool
	// defs maps the correlation engine's definitions back to the rules'.
	defs map[*correlate.Def]*CorrelationDef
	// routes are the forwarded components each rule feeds, and forwarded
	// the Forwards built since the last TakeForwarded.
	routes    map[*Rule][]forwardRoute
	forwarded []Forward
}

// DetectorOptions configure the correlation engine of a Detector.
type DetectorOptions struct {
	// Lateness is how far out of order events may arrive (0: none).
	Lateness time.Duration
	// MaxGroups caps the correlation state (0: the engine's default).
	MaxGroups int
	// Local reports whether a correlation can run on this detector: when
	// every hit it needs comes to it (its group-by is determined by the
	// bus partition key). Correlations that reference one another form a
	// chain component; a component with a member Local rejects is
	// forwarded as a whole. nil means every correlation is local.
	Local func(c *CorrelationDef) bool
}

// NewDetector builds a detector of the rule set's rules and correlations.
func NewDetector(rs *RuleSet, opts DetectorOptions) (*Detector, error) {
	d := &Detector{engine: NewEngine(rs.Rules), silent: map[*Rule]bool{}, defs: map[*correlate.Def]*CorrelationDef{}}
	if len(rs.Correlations) == 0 {
		return d, nil
	}
	byRef, base := ruleRefs(rs)
	generated := map[*Rule]bool{}
	for _, c := range rs.Correlations {
		for _, ref := range c.Rules {
			if r := byRef[ref]; r != nil {
				d.silent[r] = true
				generated[r] = generated[r] || c.Generate
			}
		}
	}
	for r, gen := range generated {
		if gen {
			delete(d.silent, r)
		}
	}
	local := rs.Correlations
	if opts.Local != nil {
		comps, loc, err := forwardedComponents(rs, opts.Local)
		if err != nil {
			return nil, err
		}
		local = loc
		d.routes = forwardRoutes(rs, comps)
		if len(local) == 0 {
			return d, nil
		}
	}
	corr, err := newCorrEngine(local, base, opts, d.defs)
	if err != nil {
		return nil, err
	}
	d.corr = corr
	return d, nil
}

// ruleRefs maps the rules' ids and names to the rules and lists them.
func ruleRefs(rs *RuleSet) (map[string]*Rule, []string) {
	byRef := map[string]*Rule{}
	var base []string
	for _, r := range rs.Rules {
		for _, ref := range []string{r.ID, r.Name} {
			if ref != "" {
				byRef[ref] = r
				base = append(base, ref)
			}
		}
	}
	return byRef, base
}

// newCorrEngine builds the correlation engine of cs, recording in defs
// the correlation each engine definition stands for.
func newCorrEngine(cs []*CorrelationDef, base []string, opts DetectorOptions, defs map[*correlate.Def]*CorrelationDef) (*correlate.Engine, error) {
	var list []*correlate.Def
	for _, c := range cs {
		def := &correlate.Def{ID: c.ID, Name: c.Name, Title: c.Title, Level: c.Level, Tags: c.Tags, Type: c.Type,
			Rules: c.Rules, GroupBy: c.GroupBy, Timespan: c.Timespan, Aliases: c.Aliases, Generate: c.Generate}
		def.Condition = correlationCondition(c.Condition)
		list = append(list, def)
		defs[def] = c
	}
	return correlate.New(list, correlate.Options{Lateness: opts.Lateness, MaxGroups: opts.MaxGroups, BaseRules: base,
		Clock: func() time.Time { return time.Time{} }})
}

func correlationCondition(c CorrelationCondition) correlate.Condition {
	var out correlate.Condition
	for op, v := range c.Ops {
		switch op {
		case "gt":
			out.GT = &v
		case "gte":
			out.GTE = &v
		case "lt":
			out.LT = &v
		case "lte":
			out.LTE = &v
		case "eq":
			out.EQ = &v
		case "neq":
			out.NEQ = &v
		}
	}
	if len(c.Field) > 0 {
		out.Field = c.Field[0]
	}
	return out
}

// Detect evaluates ev and returns the detections it completes.
func (d *Detector) Detect(ev *cairn.Event) []cairn.Detection {
	var out []cairn.Detection
	for _, m := range d.engine.Eval(ev) {
		r := m.Rule
		if !d.silent[r] {
			out = append(out, ruleDetection(r, ev))
		}
		if rs := d.routes[r]; len(rs) > 0 {
			d.forwarded = appendForwards(d.forwarded, rs, r, ev)
		}
		if d.corr == nil {
			continue
		}
		results := d.corr.Observe(correlate.Hit{Rule: r.ID, RuleName: r.Name, Time: ev.Time, EventID: ev.ID,
			Value: func(f string) (string, bool) { return r.Value(ev, f) }})
		for _, res := range results {
			// Held-back hits of other groups can complete a window
			// now: the event is the result's only when it is its last.
			var ent cairn.Entities
			if n := len(res.EventIDs); n > 0 && res.EventIDs[n-1] == ev.ID {
				ent = cairn.EntitiesOf(ev)
			}
			out = append(out, d.resultDetection(res, ent))
		}
	}
	// Only hits move the correlation clock: events of other sources (or
	// inputs read one after the other) may be far apart in time.
	return out
}

// Advance moves the correlation clock to now: windows that closed by
// then decide their lt/lte/eq conditions (a server calls it on a timer).
func (d *Detector) Advance(now time.Time) []cairn.Detection {
	if d.corr == nil {
		return nil
	}
	var out []cairn.Detection
	for _, res := range d.corr.Advance(now) {
		out = append(out, d.resultDetection(res, cairn.Entities{}))
	}
	return out
}

// Flush processes the held-back hits and decides every window that
// waits for its end, at the end of an input. The detector takes more
// input afterwards: events older than those already decided are dropped
// as late (see correlate.Engine.Flush), later ones correlate as before,
// with the hits of sliding windows carried over.
func (d *Detector) Flush() []cairn.Detection {
	if d.corr == nil {
		return nil
	}
	var out []cairn.Detection
	for _, res := range d.corr.Flush() {
		out = append(out, d.resultDetection(res, cairn.Entities{}))
	}
	return out
}

// severity maps a Sigma level onto cairn's scale.
func severity(level string) int64 {
	if s, ok := field.SeverityRank(level); ok {
		return s
	}
	s, _ := field.SeverityRank("medium")
	return s
}

// ruleDetection is the detection of one rule match.
func ruleDetection(r *Rule, ev *cairn.Event) cairn.Detection {
	name := r.Title
	if name == "" {
		name = r.ID
	}
	sum := sha256.Sum256([]byte("sigma\x00" + r.ID + "\x00" + name + "\x00" + ev.ID))
	det := cairn.Detection{
		ID: "dt-" + hex.EncodeToString(sum[:16]), Time: ev.Time, LastTime: ev.Time,
		Rule: name, Source: "sigma", Priority: r.Level, Severity: severity(r.Level),
		Output: name + " (" + describe(r, ev) + ")", Tags: append([]string(nil), r.Tags...),
		EventIDs: []string{ev.ID}, Entities: cairn.EntitiesOf(ev), Count: 1,
	}
	det.Techniques, det.Tactics = attack.IDs(r.Tags)
	return det
}

// describe renders the fields an analyst should see: the rule's own
// fields attribute, else the logsource's usual ones.
func describe(r *Rule, ev *cairn.Event) string {
	fields := r.DisplayFields
	if len(fields) == 0 {
		switch r.src {
		case srcCloudTrail:
			fields = []string{"eventName", "userIdentity.arn", "sourceIPAddress", "errorCode"}
		case srcFile:
			fields = []string{"TargetFilename", "Image", "CommandLine"}
		case srcNetwork:
			fields = []string{"DestinationIp", "DestinationPort", "Image", "CommandLine"}
		default:
			fields = []string{"CommandLine", "ParentImage", "User"}
		}
	}
	var parts []string
	for _, f := range fields {
		if v, ok := r.Value(ev, f); ok {
			parts = append(parts, f+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

// resultDetection is the detection of a correlation result; entities
// are those of the event that completed it, when one did, else the
// identity its group names.
func (d *Detector) resultDetection(res correlate.Result, ent cairn.Entities) cairn.Detection {
	c := d.defs[res.Def]
	title, level, tags := res.Def.Title, res.Def.Level, res.Def.Tags
	if c != nil {
		title, level, tags = c.Title, c.Level, c.Tags
	}
	if title == "" {
		title = res.Def.Name
	}
	keys := make([]string, 0, len(res.Group))
	for k := range res.Group {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var group []string
	for _, k := range keys {
		group = append(group, k+"="+res.Group[k])
	}
	if ent.Identity == "" {
		// A group of CloudTrail events is about its identity: the
		// canonical key of the ARN it groups by.
		for _, k := range keys {
			if k == "userIdentity.arn" {
				ent.Identity = decode.CanonicalIdentity(cairn.Identity{ARN: res.Group[k]})
			}
		}
	}
	det := cairn.Detection{
		ID: "dt-" + res.ID, Time: res.Start, LastTime: res.End,
		Rule: title, Source: "sigma/correlation", Priority: level, Severity: severity(level),
		// The output names the correlation and its group, not the measure,
		// so that a group firing again is counted in one detection group.
		Output: fmt.Sprintf("%s (%s %s within %s; %s)", title, res.Def.Type, conditionText(c), res.Def.Timespan,
			strings.Join(group, " ")),
		Tags: append([]string(nil), tags...), EventIDs: res.EventIDs, Entities: ent, Count: 1,
	}
	det.Techniques, det.Tactics = attack.IDs(tags)
	return det
}

func conditionText(c *CorrelationDef) string {
	if c == nil {
		return ""
	}
	return c.Condition.String()
}

// CorrelatedSources returns the event sources the correlations' rules
// read: what a detector's correlation state is made of. It is nil, for
// every source, when some correlated rule reads runtime events, and empty
// when there are no correlations.
func (rs *RuleSet) CorrelatedSources() []cairn.Source {
	byRef, _ := ruleRefs(rs)
	out := []cairn.Source{}
	for _, c := range rs.Correlations {
		for _, ref := range c.Rules {
			r := byRef[ref]
			if r == nil {
				continue // a correlation's results: its own rules are listed
			}
			if r.src != srcCloudTrail {
				return nil
			}
			out = []cairn.Source{cairn.SourceCloudTrail}
		}
	}
	return out
}
