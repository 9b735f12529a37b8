package storeutil

import (
	"encoding/json"
	"fmt"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/filter"
)

// DetectionFields returns the fields JSON of a detection group, written
// by w: ev's flattened fields, when ev is known, with the detection's own
// fields over them.
func DetectionFields(d *cairn.Detection, ev *cairn.Event, w JSONWriter) (string, error) {
	flat := map[string]any{}
	if ev != nil {
		flat = field.Flatten(ev)
	}
	flat["severity"] = d.Severity
	flat["rule.name"] = d.Rule
	set := func(name string, vs []string) {
		if len(vs) == 0 {
			delete(flat, name)
			return
		}
		flat[name] = vs
	}
	set("rule.tags", d.Tags)
	set("mitre.technique", d.Techniques)
	// mitre.tactic holds each tactic's id and short name, as the catalog
	// gives it for alerts.
	var tactics []string
	for _, id := range d.Tactics {
		tactics = append(tactics, id)
		if t, ok := attack.TacticByID(id); ok && t.Shortname != "" {
			tactics = append(tactics, t.Shortname)
		}
	}
	set("mitre.tactic", tactics)
	b, err := w.AppendFields(nil, flat)
	return string(b), err
}

// DetectionDialect returns the filter dialect of the detections table
// given the store's dialect: the fields JSON, no raw record, and the rule
// severity, status and assignee columns.
func DetectionDialect(d filter.Dialect) filter.Dialect {
	d.FieldsColumn = "fields"
	d.RawColumn = "NULL"
	d.Columns = map[string]string{}
	for f, col := range map[string]string{"rule.name": "rule", "severity": "severity", "status": "status", "assignee": "assignee"} {
		ref, err := field.Lookup(f)
		if err != nil || ref.Field.Name != f {
			continue // not in the catalog: read from the JSON
		}
		d.Columns[f] = col
		for _, a := range ref.Field.Aliases {
			d.Columns[a] = col
		}
	}
	return d
}

// DecodeDetectionLists sets the list fields of d from their JSON columns.
// Empty tags, tactics and techniques come back nil; event ids stay as
// decoded.
func DecodeDetectionLists(d *cairn.Detection, tags, tactics, techniques, eventIDs string) error {
	for _, l := range []struct {
		text string
		dst  *[]string
	}{{tags, &d.Tags}, {tactics, &d.Tactics}, {techniques, &d.Techniques}, {eventIDs, &d.EventIDs}} {
		if err := json.Unmarshal([]byte(l.text), l.dst); err != nil {
			return fmt.Errorf("detection %q: %w", Truncate(d.ID, 80), err)
		}
		if len(*l.dst) == 0 && l.dst != &d.EventIDs {
			*l.dst = nil
		}
	}
	return nil
}

// EntityFields returns pointers to the entities of e in the order the
// detections table's entity columns are read.
func EntityFields(e *cairn.Entities) []*string {
	return []*string{&e.ExecID, &e.ContainerID, &e.Image, &e.Pod, &e.Namespace, &e.Cluster, &e.Host, &e.Identity}
}
