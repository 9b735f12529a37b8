package sigma

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// CorrelationDef is a Sigma correlation rule as written: this package
// parses and checks it; the correlation engine evaluates it.
type CorrelationDef struct {
	ID, Name, Title string
	File            string
	Status, Level   string
	Description     string
	Tags            []string
	Falsepositives  []string
	References      []string

	// Type is event_count, value_count, value_sum, value_avg,
	// value_percentile, temporal or temporal_ordered.
	Type string
	// Rules are the ids or names of the rules (or correlations) it
	// correlates, as written.
	Rules   []string
	GroupBy []string
	// Timespan is the window, parsed from its text (Xs, Xm, Xh, Xd, Xw).
	Timespan     time.Duration
	TimespanText string
	Condition    CorrelationCondition
	// Aliases maps an alias name to, per rule name, the field it stands
	// for in that rule's events.
	Aliases map[string]map[string]string
	// Generate asks for the referenced rules' own matches to be reported
	// as well.
	Generate bool
}

// CorrelationCondition is a correlation's condition: thresholds by
// operator (gt, gte, lt, lte, eq, neq), all of which must hold, and the
// field(s) the value_* types measure.
type CorrelationCondition struct {
	Ops   map[string]float64
	Field []string
}

// String renders the condition as "gte 10" or "field X gt 5 lte 9".
func (c CorrelationCondition) String() string {
	var parts []string
	if len(c.Field) > 0 {
		parts = append(parts, "field "+strings.Join(c.Field, ","))
	}
	ops := make([]string, 0, len(c.Ops))
	for op := range c.Ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		parts = append(parts, op+" "+strconv.FormatFloat(c.Ops[op], 'f', -1, 64))
	}
	return strings.Join(parts, " ")
}

// Holds reports whether a measured value satisfies every threshold.
func (c CorrelationCondition) Holds(v float64) bool {
	for op, want := range c.Ops {
		var ok bool
		switch op {
		case "gt":
			ok = v > want
		case "gte":
			ok = v >= want
		case "lt":
			ok = v < want
		case "lte":
			ok = v <= want
		case "eq":
			ok = v == want
		case "neq":
			ok = v != want
		}
		if !ok {
			return false
		}
	}
	return true
}

var correlationTypes = map[string]bool{
	"event_count": true, "value_count": true, "value_sum": true, "value_avg": true,
	"value_percentile": true, "temporal": true, "temporal_ordered": true,
}

// correlationSection is the correlation key as written.
type correlationSection struct {
	Type      string                       `yaml:"type"`
	Rules     textList                     `yaml:"rules"`
	GroupBy   textList                     `yaml:"group-by"`
	Timespan  string                       `yaml:"timespan"`
	Condition yaml.Node                    `yaml:"condition"`
	Aliases   map[string]map[string]string `yaml:"aliases"`
	Generate  bool                         `yaml:"generate"`
}

// parseCorrelation reads and checks a correlation rule.
func parseCorrelation(d *document, file string) (*CorrelationDef, error) {
	var s correlationSection
	if err := d.Correlation.Decode(&s); err != nil {
		return nil, err
	}
	c := &CorrelationDef{
		ID: d.ID, Name: d.Name, Title: d.Title, File: file, Status: d.Status, Level: d.Level,
		Description: strings.TrimSpace(d.Description), Tags: d.Tags, Falsepositives: d.Falsepositives,
		References: d.References, Type: s.Type, Rules: s.Rules, GroupBy: s.GroupBy,
		TimespanText: s.Timespan, Aliases: s.Aliases, Generate: s.Generate,
	}
	if !correlationTypes[s.Type] {
		return nil, fmt.Errorf("unknown type %q", s.Type)
	}
	if len(s.Rules) == 0 {
		return nil, errors.New("rules is empty")
	}
	ts, err := ParseTimespan(s.Timespan)
	if err != nil {
		return nil, err
	}
	c.Timespan = ts
	if c.Condition, err = parseCorrelationCondition(&s.Condition); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(s.Type, "value_") && len(c.Condition.Field) == 0:
		return nil, fmt.Errorf("type %s needs condition.field", s.Type)
	case !strings.HasPrefix(s.Type, "temporal") && len(c.Condition.Ops) == 0:
		return nil, fmt.Errorf("type %s needs a condition (gt, gte, lt, lte, eq or neq)", s.Type)
	}
	for alias, byRule := range s.Aliases {
		if len(byRule) == 0 {
			return nil, fmt.Errorf("alias %s maps no rule", alias)
		}
	}
	return c, nil
}

// ParseTimespan parses a correlation timespan: a positive number and a
// unit, s, m, h, d or w (90m, 1h, 7d).
func ParseTimespan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("timespan %q: want a number and a unit (s, m, h, d, w)", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if unit == 0 || err != nil || n <= 0 || n > int64(math.MaxInt64/unit) {
		return 0, fmt.Errorf("timespan %q: want a positive number and a unit (s, m, h, d, w)", s)
	}
	return time.Duration(n) * unit, nil
}

func parseCorrelationCondition(n *yaml.Node) (CorrelationCondition, error) {
	var c CorrelationCondition
	n = resolveAlias(n)
	if n == nil || n.Kind == 0 || isNull(n) {
		return c, nil
	}
	if n.Kind != yaml.MappingNode {
		return c, errors.New("condition must be a map (gte: 10, field: X)")
	}
	c.Ops = map[string]float64{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, resolveAlias(n.Content[i+1])
		switch k {
		case "field":
			var f textList
			if err := f.UnmarshalYAML(v); err != nil {
				return c, fmt.Errorf("condition.field: %v", err)
			}
			c.Field = f
		case "gt", "gte", "lt", "lte", "eq", "neq":
			if v == nil || v.Kind != yaml.ScalarNode {
				return c, fmt.Errorf("condition.%s must be a number", k)
			}
			f, err := strconv.ParseFloat(v.Value, 64)
			if err != nil || math.IsNaN(f) {
				return c, fmt.Errorf("condition.%s: %q is not a number", k, v.Value)
			}
			c.Ops[k] = f
		default:
			return c, fmt.Errorf("condition: unknown key %q", k)
		}
	}
	return c, nil
}
