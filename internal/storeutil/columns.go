package storeutil

import (
	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// HotColumn is a column of the events table that copies one field, so
// that filters on it use an index instead of reading the fields JSON.
type HotColumn struct {
	Column string
	Field  string
	// Fallback fills the column while Field is not in the catalog; the
	// column is then left out of the dialect, since its text is not
	// guaranteed to be the field's.
	Fallback func(ev *cairn.Event) string
}

// HotColumnDefs lists the copied fields in the order of the insert
// statement's columns.
var HotColumnDefs = []HotColumn{
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

// ColumnSet is HotColumnDefs resolved against the field catalog, with a
// store's base columns.
type ColumnSet struct {
	defs []HotColumn
	// fromCatalog[i] is true when defs[i].Field is a text field of the
	// catalog, so the column holds exactly its flattened value.
	fromCatalog []bool
	// base maps fields to the event's own columns that hold their
	// flattened value exactly.
	base map[string]string
	// Stored lists the fields whose value a column holds (the hot
	// columns' and the base columns'): the fields JSON leaves them out.
	Stored []string
}

// HotColumns resolves HotColumnDefs against the catalog. base maps
// fields to the event's own columns that hold their flattened value
// exactly (which differ by store).
func HotColumns(base map[string]string) ColumnSet {
	cs := ColumnSet{defs: HotColumnDefs, fromCatalog: make([]bool, len(HotColumnDefs)), base: base}
	for i, c := range HotColumnDefs {
		ref, err := field.Lookup(c.Field)
		cs.fromCatalog[i] = err == nil && !ref.HasArg && ref.Field.Name == c.Field &&
			(ref.Field.Type == field.String || ref.Field.Type == field.IP)
		if cs.fromCatalog[i] {
			cs.Stored = append(cs.Stored, c.Field)
		}
	}
	for f := range base {
		if _, err := field.Lookup(f); err == nil {
			cs.Stored = append(cs.Stored, f)
		}
	}
	return cs
}

// DialectColumns maps each catalog field with a column of its own, and
// each of its aliases, to the column.
func (cs ColumnSet) DialectColumns() map[string]string {
	m := make(map[string]string, 2*len(cs.defs)+len(cs.base))
	for f, col := range cs.base {
		if _, err := field.Lookup(f); err == nil {
			m[f] = col
		}
	}
	for i, c := range cs.defs {
		if !cs.fromCatalog[i] {
			continue
		}
		m[c.Field] = c.Column
		if ref, err := field.Lookup(c.Field); err == nil {
			for _, a := range ref.Field.Aliases {
				m[a] = c.Column
			}
		}
	}
	return m
}

// Len returns the number of hot columns.
func (cs ColumnSet) Len() int { return len(cs.defs) }

// Value returns the text of hot column i for ev, given its flattened
// fields, and false when the column is NULL: the field is missing, or,
// for a column filled by its fallback, its value is empty. The text is
// as ev holds it; each store makes it the text its columns hold.
func (cs ColumnSet) Value(i int, ev *cairn.Event, flat map[string]any) (string, bool) {
	if cs.fromCatalog[i] {
		s, ok := flat[cs.defs[i].Field].(string)
		return s, ok
	}
	s := cs.defs[i].Fallback(ev)
	return s, s != ""
}
