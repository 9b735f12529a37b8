package storeutil

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
)

func TestDetectionFields(t *testing.T) {
	d := &cairn.Detection{Rule: "r\x00", Severity: 3, Tags: []string{"t"}, Tactics: []string{"TA0002", "TA9999"}}
	ev := &cairn.Event{Type: "execve", Host: "h"}
	for _, tt := range []struct {
		name string
		w    JSONWriter
		rule string
	}{
		{"plain", JSONWriter{}, "r\x00"},
		{"no NUL", JSONWriter{NoNUL: true}, "r\uFFFD"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DetectionFields(d, ev, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(s), &got); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			for k, want := range map[string]any{
				"rule.name": tt.rule, "severity": float64(3), "evt.type": "execve", "evt.hostname": "h",
				"rule.tags": []any{"t"}, "mitre.tactic": []any{"TA0002", "execution", "TA9999"},
			} {
				if !reflect.DeepEqual(got[k], want) {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
			if _, ok := got["mitre.technique"]; ok {
				t.Error("an empty list is written; want it left out")
			}
		})
	}

	// Without an event, only the detection's own fields.
	s, err := DetectionFields(&cairn.Detection{Rule: "r"}, nil, JSONWriter{})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(s), &got); err != nil || len(got) != 2 {
		t.Errorf("fields without an event = %s, %v; want rule.name and severity only", s, err)
	}
}

func TestDetectionDialect(t *testing.T) {
	d := DetectionDialect(filter.Postgres)
	if d.FieldsColumn != "fields" || d.RawColumn != "NULL" {
		t.Errorf("FieldsColumn %q RawColumn %q, want fields and NULL", d.FieldsColumn, d.RawColumn)
	}
	want := map[string]string{"rule.name": "rule", "severity": "severity", "priority": "severity",
		"status": "status", "detection.status": "status", "assignee": "assignee", "detection.assignee": "assignee"}
	if !reflect.DeepEqual(d.Columns, want) {
		t.Errorf("Columns = %v, want %v", d.Columns, want)
	}
}

func TestDecodeDetectionLists(t *testing.T) {
	var d cairn.Detection
	if err := DecodeDetectionLists(&d, `["a"]`, `[]`, `["T1"]`, `[]`); err != nil {
		t.Fatal(err)
	}
	want := cairn.Detection{Tags: []string{"a"}, Techniques: []string{"T1"}, EventIDs: []string{}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("decoded %+v, want %+v (empty event ids kept, other empty lists nil)", d, want)
	}
	d = cairn.Detection{ID: "g"}
	if err := DecodeDetectionLists(&d, `[`, `[]`, `[]`, `[]`); err == nil {
		t.Error("malformed tags decoded without error")
	}
}

func TestEntityFields(t *testing.T) {
	var e cairn.Entities
	for i, p := range EntityFields(&e) {
		*p = string(rune('a' + i))
	}
	want := cairn.Entities{ExecID: "a", ContainerID: "b", Image: "c", Pod: "d", Namespace: "e", Cluster: "f", Host: "g", Identity: "h"}
	if e != want {
		t.Errorf("entities %+v, want %+v", e, want)
	}
}
