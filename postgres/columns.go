package postgres

import (
	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// hotColumn is a column of the events table that copies one field, so
// that filters on it use an index instead of reading the fields JSON.
type hotColumn struct {
	column string
	field  string
	// fallback fills the column while field is not in the catalog; the
	// column is then left out of the dialect, since its text is not
	// guaranteed to be the field's.
	fallback func(ev *cairn.Event) string
}

// hotColumnDefs lists the copied fields in the order of the insert
// statement's columns.
var hotColumnDefs = []hotColumn{
	{"type", "evt.type", func(ev *cairn.Event) string { return ev.Type }},
	{"host", "evt.hostname", func(ev *cairn.Event) string { return ev.Host }},
	{"exec_id", "proc.exec_id", func(ev *cairn.Event) string {
		if ev.Process == nil {
			return ""
		}
		return ev.Process.ExecID
	}},
	{"parent_exec_id", "proc.pexec_id", func(ev *cairn.Event) string {
		if ev.Process == nil {
			return ""
		}
		return ev.Process.ParentExecID
	}},
	{"container_id", "container.id", func(ev *cairn.Event) string {
		if ev.Container == nil {
			return ""
		}
		return ev.Container.ID
	}},
	{"k8s_cluster", "k8s.cluster.name", func(ev *cairn.Event) string {
		if ev.K8s == nil {
			return ""
		}
		return ev.K8s.Cluster
	}},
	{"k8s_ns", "k8s.ns.name", func(ev *cairn.Event) string {
		if ev.K8s == nil {
			return ""
		}
		return ev.K8s.Namespace
	}},
	{"k8s_pod", "k8s.pod.name", func(ev *cairn.Event) string {
		if ev.K8s == nil {
			return ""
		}
		return ev.K8s.Pod
	}},
	{"identity", "cloud.identity", func(ev *cairn.Event) string {
		if ev.Cloud == nil {
			return ""
		}
		return ev.Cloud.Identity.Key
	}},
	{"ct_name", "ct.name", func(ev *cairn.Event) string {
		if ev.Cloud == nil {
			return ""
		}
		return ev.Cloud.EventName
	}},
}

// columnSet is hotColumnDefs resolved against the field catalog.
type columnSet struct {
	defs []hotColumn
	// fromCatalog[i] is true when defs[i].field is a text field of the
	// catalog, so the column holds exactly its flattened value.
	fromCatalog []bool
	// stored lists the fields whose value a column holds (the hot
	// columns' and baseColumns'): the fields JSON leaves them out.
	stored []string
}

// baseColumns are the event's own text columns that hold a field's
// flattened value exactly. The id is bytes, so event.id stays in the
// fields JSON.
var baseColumns = map[string]string{"event.source": "source", "event.kind": "kind"}

// hotColumns resolves hotColumnDefs against the catalog.
func hotColumns() columnSet {
	cs := columnSet{defs: hotColumnDefs, fromCatalog: make([]bool, len(hotColumnDefs))}
	for i, c := range hotColumnDefs {
		ref, err := field.Lookup(c.field)
		cs.fromCatalog[i] = err == nil && !ref.HasArg && ref.Field.Name == c.field &&
			(ref.Field.Type == field.String || ref.Field.Type == field.IP)
		if cs.fromCatalog[i] {
			cs.stored = append(cs.stored, c.field)
		}
	}
	for f := range baseColumns {
		if _, err := field.Lookup(f); err == nil {
			cs.stored = append(cs.stored, f)
		}
	}
	return cs
}

// dialectColumns maps each catalog field with a column of its own, and
// each of its aliases, to the column.
func (cs columnSet) dialectColumns() map[string]string {
	m := make(map[string]string, 2*len(cs.defs)+len(baseColumns))
	for f, col := range baseColumns {
		if _, err := field.Lookup(f); err == nil {
			m[f] = col
		}
	}
	for i, c := range cs.defs {
		if !cs.fromCatalog[i] {
			continue
		}
		m[c.field] = c.column
		if ref, err := field.Lookup(c.field); err == nil {
			for _, a := range ref.Field.Aliases {
				m[a] = c.column
			}
		}
	}
	return m
}

// values appends the column values of ev (NULL for a missing field) to
// dst, given its flattened fields: dst[i] is the column of defs[i].
func (cs columnSet) values(ev *cairn.Event, flat map[string]any, dst []*string) []*string {
	for i, c := range cs.defs {
		var v *string
		if cs.fromCatalog[i] {
			if s, ok := flat[c.field].(string); ok {
				t := pgText(s)
				v = &t
			}
		} else if s := c.fallback(ev); s != "" {
			v = nullText(s)
		}
		dst = append(dst, v)
	}
	return dst
}
