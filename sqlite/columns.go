package sqlite

import (
	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// baseColumns are the event's own columns that hold a field's flattened
// value exactly.
var baseColumns = map[string]string{"event.id": "id", "event.source": "source", "event.kind": "kind"}

// hotColumns resolves storeutil.HotColumnDefs against the catalog.
func hotColumns() storeutil.ColumnSet { return storeutil.HotColumns(baseColumns) }

// columnValues appends the hot column values of ev (nil for NULL) to dst,
// given its flattened fields, as JSON text holds them (see
// storeutil.JSONText).
func columnValues(cs storeutil.ColumnSet, ev *cairn.Event, flat map[string]any, dst []any) []any {
	for i := range cs.Len() {
		var v any
		if s, ok := cs.Value(i, ev, flat); ok {
			v = storeutil.JSONText(s)
		}
		dst = append(dst, v)
	}
	return dst
}
