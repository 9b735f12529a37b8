package storeutil

import (
	"reflect"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
)

func TestPrepareException(t *testing.T) {
	now := time.Unix(50, 0).UTC()
	clock := func() time.Time { return now }
	x := cairn.Exception{ID: "x1", Rule: "r", Fields: []string{"proc.name"}}
	var audit cairn.AuditEntry
	cols, err := PrepareException(&x, &audit, clock)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ExceptionCols{Fields: `["proc.name"]`, Comps: `[]`, Values: `[]`}); cols != want {
		t.Errorf("cols %+v, want %+v", cols, want)
	}
	if !x.Created.Equal(now) {
		t.Errorf("Created %v, want the clock's %v", x.Created, now)
	}
	if audit.Object != "x1" || audit.Action != ActionExceptionAdd || !isJSONObject(audit.Detail) {
		t.Errorf("audit %+v: want object x1, action %s and x as JSON", audit, ActionExceptionAdd)
	}

	// Given values are kept.
	created := time.Unix(7, 0).UTC()
	x = cairn.Exception{ID: "x2", Rule: "r", Created: created}
	audit = cairn.AuditEntry{Action: "custom", Detail: `{"why":1}`}
	if _, err := PrepareException(&x, &audit, clock); err != nil {
		t.Fatal(err)
	}
	if !x.Created.Equal(created) || audit.Action != "custom" || audit.Detail != `{"why":1}` || audit.Object != "x2" {
		t.Errorf("exception %+v audit %+v: want Created, Action and Detail kept", x, audit)
	}

	for _, bad := range []cairn.Exception{{Rule: "r"}, {ID: "x"}} {
		if _, err := PrepareException(&bad, &cairn.AuditEntry{}, clock); cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("PrepareException(%+v): %v, want EINVALID", bad, err)
		}
	}
}

func TestRemovalAudit(t *testing.T) {
	x := cairn.Exception{ID: "x1", Rule: "r"}
	got, err := RemovalAudit(cairn.AuditEntry{Actor: "me"}, "x1", x)
	if err != nil {
		t.Fatal(err)
	}
	if got.Object != "x1" || got.Action != ActionExceptionRm || got.Actor != "me" || !isJSONObject(got.Detail) {
		t.Errorf("audit %+v: want object x1, action %s, actor kept and x as JSON", got, ActionExceptionRm)
	}
	got, _ = RemovalAudit(cairn.AuditEntry{Action: "a", Detail: "{}"}, "x1", x)
	if got.Action != "a" || got.Detail != "{}" {
		t.Errorf("audit %+v: want Action and Detail kept", got)
	}
}

func TestDecodeExceptionLists(t *testing.T) {
	x := cairn.Exception{ID: "x"}
	if err := DecodeExceptionLists(&x, ExceptionCols{Fields: `["a","b"]`, Comps: `[]`, Values: `[["1"]]`}); err != nil {
		t.Fatal(err)
	}
	want := cairn.Exception{ID: "x", Fields: []string{"a", "b"}, Values: [][]string{{"1"}}}
	if !reflect.DeepEqual(x, want) {
		t.Errorf("decoded %+v, want %+v", x, want)
	}
	if err := DecodeExceptionLists(&x, ExceptionCols{Fields: `{`, Comps: `[]`, Values: `[]`}); err == nil {
		t.Error("malformed fields decoded without error")
	}
}

func TestCheckAudit(t *testing.T) {
	for _, tt := range []struct {
		e  cairn.AuditEntry
		ok bool
	}{
		{cairn.AuditEntry{Action: "a"}, true},
		{cairn.AuditEntry{Action: "a", Detail: " \n{\"k\": [1]}"}, true},
		{cairn.AuditEntry{}, false},
		{cairn.AuditEntry{Action: "a", Detail: "[1]"}, false},
		{cairn.AuditEntry{Action: "a", Detail: "{"}, false},
		{cairn.AuditEntry{Action: "a", Detail: "{} {}"}, false},
	} {
		err := CheckAudit(tt.e)
		if tt.ok && err != nil || !tt.ok && cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("CheckAudit(%+v) = %v, want ok %v", tt.e, err, tt.ok)
		}
	}
}
