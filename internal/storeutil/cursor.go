package storeutil

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/cairn-cdr/cairn"
)

// Cursor is the position after the last row of a page: its time and seq.
// A page continues strictly after it in (time, seq) order, so rows
// inserted between pages never shift the pages that follow. Both stores
// use this text, so that a cursor means the same in either.
type Cursor struct {
	Time int64
	Seq  int64
}

// Cursor encoding: a version byte, a direction byte, then time and seq as
// signed varints, in unpadded URL-safe base64.
const (
	cursorVersion = 1
	dirNewest     = 'n'
	dirOldest     = 'o'
)

// String returns the opaque text of c for a query in the given order.
func (c Cursor) String(oldest bool) string {
	b := make([]byte, 2, 2+2*binary.MaxVarintLen64)
	b[0] = cursorVersion
	b[1] = dirNewest
	if oldest {
		b[1] = dirOldest
	}
	b = binary.AppendVarint(b, c.Time)
	b = binary.AppendVarint(b, c.Seq)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor reads a cursor made by String for a query in the same
// order. Anything else is EINVALID.
func ParseCursor(s string, oldest bool) (Cursor, error) {
	bad := cairn.Errorf(cairn.EINVALID, "malformed cursor %q: pass the next cursor of a previous page as it is", Truncate(s, 40))
	if len(s) > 64 {
		return Cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 4 || b[0] != cursorVersion {
		return Cursor{}, bad
	}
	want := byte(dirNewest)
	if oldest {
		want = dirOldest
	}
	if b[1] != want {
		return Cursor{}, cairn.Errorf(cairn.EINVALID, "the cursor belongs to a query in the other order (oldest first or newest first)")
	}
	b = b[2:]
	var c Cursor
	var n int
	if c.Time, n = binary.Varint(b); n <= 0 {
		return Cursor{}, bad
	}
	b = b[n:]
	if c.Seq, n = binary.Varint(b); n <= 0 || n != len(b) {
		return Cursor{}, bad
	}
	return c, nil
}
