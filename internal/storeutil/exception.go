package storeutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cairn-cdr/cairn"
)

// The audit actions AddException and RemoveException give an entry that
// has none.
const (
	ActionExceptionAdd = "exception.add"
	ActionExceptionRm  = "exception.rm"
)

// ExceptionCols are the JSON columns of an exception.
type ExceptionCols struct{ Fields, Comps, Values string }

// PrepareException readies x and its audit entry for AddException: an
// exception without an id or a rule is EINVALID; x gets now() when its
// Created is zero; audit.Object becomes x.ID, an empty Action
// "exception.add" and an empty Detail x as JSON. It returns the JSON
// columns of x.
func PrepareException(x *cairn.Exception, audit *cairn.AuditEntry, now func() time.Time) (ExceptionCols, error) {
	if x.ID == "" || x.Rule == "" {
		return ExceptionCols{}, cairn.Errorf(cairn.EINVALID, "exception has no id or no rule")
	}
	if x.Created.IsZero() {
		x.Created = now()
	}
	cols, err := exceptionJSON(x)
	if err != nil {
		return cols, cairn.Errorf(cairn.EINVALID, "exception %q: %v", Truncate(x.ID, 80), err)
	}
	audit.Object = x.ID
	if audit.Action == "" {
		audit.Action = ActionExceptionAdd
	}
	if audit.Detail == "" {
		b, err := json.Marshal(x)
		if err != nil {
			return cols, cairn.Errorf(cairn.EINVALID, "exception %q: %v", Truncate(x.ID, 80), err)
		}
		audit.Detail = string(b)
	}
	return cols, nil
}

// RemovalAudit returns audit as RemoveException appends it for the
// deleted exception x of the id: Object set to id, an empty Action
// "exception.rm" and an empty Detail x as JSON.
func RemovalAudit(audit cairn.AuditEntry, id string, x cairn.Exception) (cairn.AuditEntry, error) {
	audit.Object = id
	if audit.Action == "" {
		audit.Action = ActionExceptionRm
	}
	if audit.Detail == "" {
		b, err := json.Marshal(x)
		if err != nil {
			return audit, err
		}
		audit.Detail = string(b)
	}
	return audit, nil
}

// exceptionJSON encodes the list fields of x, [] for empty ones.
func exceptionJSON(x *cairn.Exception) (ExceptionCols, error) {
	var c ExceptionCols
	for _, l := range []struct {
		v   any
		dst *string
	}{{nonNil(x.Fields), &c.Fields}, {nonNil(x.Comps), &c.Comps}, {nonNil(x.Values), &c.Values}} {
		b, err := json.Marshal(l.v)
		if err != nil {
			return c, err
		}
		*l.dst = string(b)
	}
	return c, nil
}

// nonNil returns vs, or an empty slice when vs is nil, so that it encodes
// as [] rather than null.
func nonNil[T any](vs []T) []T {
	if vs == nil {
		return []T{}
	}
	return vs
}

// DecodeExceptionLists sets the list fields of x from their JSON columns.
// Empty lists come back nil.
func DecodeExceptionLists(x *cairn.Exception, cols ExceptionCols) error {
	for _, l := range []struct {
		text string
		dst  any
	}{{cols.Fields, &x.Fields}, {cols.Comps, &x.Comps}, {cols.Values, &x.Values}} {
		if err := json.Unmarshal([]byte(l.text), l.dst); err != nil {
			return fmt.Errorf("exception %q: %w", Truncate(x.ID, 80), err)
		}
	}
	if len(x.Fields) == 0 {
		x.Fields = nil
	}
	if len(x.Comps) == 0 {
		x.Comps = nil
	}
	if len(x.Values) == 0 {
		x.Values = nil
	}
	return nil
}

// CheckAudit returns EINVALID for an audit entry without an action or
// whose Detail is neither empty nor a JSON object.
func CheckAudit(e cairn.AuditEntry) error {
	if e.Action == "" {
		return cairn.Errorf(cairn.EINVALID, "audit entry has no action")
	}
	if e.Detail != "" && !isJSONObject(e.Detail) {
		return cairn.Errorf(cairn.EINVALID, "audit detail is not a JSON object: %q", Truncate(e.Detail, 80))
	}
	return nil
}

// isJSONObject reports whether s is one valid JSON object.
func isJSONObject(s string) bool {
	b := bytes.TrimLeft([]byte(s), " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
