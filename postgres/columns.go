package postgres

import (
	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// baseColumns are the event's own text columns that hold a field's
// flattened value exactly. The id is bytes, so event.id stays in the
// fields JSON.
var baseColumns = map[string]string{"event.source": "source", "event.kind": "kind"}

// hotColumns resolves storeutil.HotColumnDefs against the catalog.
func hotColumns() storeutil.ColumnSet { return storeutil.HotColumns(baseColumns) }

// columnValues appends the hot column values of ev (nil for NULL) to dst,
// given its flattened fields, as the text columns hold them (see
// pgText): dst[i] is the column of storeutil.HotColumnDefs[i].
func columnValues(cs storeutil.ColumnSet, ev *cairn.Event, flat map[string]any, dst []*string) []*string {
	for i := range cs.Len() {
		var v *string
		if s, ok := cs.Value(i, ev, flat); ok {
			t := pgText(s)
			v = &t
		}
		dst = append(dst, v)
	}
	return dst
}
