package storeutil

import (
	"slices"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

func TestHotColumns(t *testing.T) {
	cs := HotColumns(map[string]string{"event.source": "source", "no.such.field": "nope"})
	if cs.Len() != len(HotColumnDefs) {
		t.Fatalf("Len = %d, want %d", cs.Len(), len(HotColumnDefs))
	}
	m := cs.DialectColumns()
	for f, col := range map[string]string{
		"evt.type": "type", "evt.hostname": "host", "host.name": "host", // an alias
		"container.id": "container_id", "event.source": "source",
	} {
		if m[f] != col {
			t.Errorf("DialectColumns()[%q] = %q, want %q", f, m[f], col)
		}
	}
	if _, ok := m["no.such.field"]; ok {
		t.Error("DialectColumns maps a field the catalog lacks")
	}
	for _, f := range []string{"evt.type", "proc.exec_id", "event.source"} {
		if !slices.Contains(cs.Stored, f) {
			t.Errorf("Stored %q lacks %q", cs.Stored, f)
		}
	}
	if slices.Contains(cs.Stored, "no.such.field") {
		t.Errorf("Stored %q holds a field the catalog lacks", cs.Stored)
	}
}

func TestColumnValue(t *testing.T) {
	cs := HotColumns(nil)
	ev := &cairn.Event{Type: "execve", Host: "", Process: &cairn.Process{ExecID: "x\xff"}}
	flat := field.Flatten(ev)
	col := func(name string) int {
		for i, c := range HotColumnDefs {
			if c.Column == name {
				return i
			}
		}
		t.Fatalf("no hot column %q", name)
		return -1
	}
	for _, tt := range []struct {
		column string
		want   string
		ok     bool
	}{
		{"type", "execve", true},
		{"exec_id", "x\xff", true},     // as the event holds it: the store converts
		{"container_id", "host", true}, // the catalog's value outside containers
		{"k8s_pod", "", false},
	} {
		got, ok := cs.Value(col(tt.column), ev, flat)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Value(%s) = %q, %v; want %q, %v", tt.column, got, ok, tt.want, tt.ok)
		}
	}

	// A column the catalog does not describe is filled by its fallback,
	// NULL when empty.
	fb := ColumnSet{defs: []HotColumn{{"c", "not.a.field", func(ev *cairn.Event) string { return ev.Host }}}, fromCatalog: []bool{false}}
	if got, ok := fb.Value(0, &cairn.Event{Host: "h"}, nil); got != "h" || !ok {
		t.Errorf("fallback Value = %q, %v; want h, true", got, ok)
	}
	if got, ok := fb.Value(0, &cairn.Event{}, nil); ok {
		t.Errorf("fallback Value of empty = %q, true; want NULL", got)
	}
}
