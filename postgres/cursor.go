package postgres

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/cairn-cdr/cairn"
)

// cursor is the position after the last row of a page: its time and seq.
// A page continues strictly after it in (time, seq) order, so rows
// inserted between pages never shift the pages that follow. The text is
// the SQLite store's, so that a cursor means the same in both.
type cursor struct {
	time int64
	seq  int64
}

// Cursor encoding: a version byte, a direction byte, then time and seq as
// signed varints, in unpadded URL-safe base64.
const (
	cursorVersion = 1
	dirNewest     = 'n'
	dirOldest     = 'o'
)

// String returns the opaque text of c for a query in the given order.
func (c cursor) String(oldest bool) string {
	b := make([]byte, 2, 2+2*binary.MaxVarintLen64)
	b[0] = cursorVersion
	b[1] = dirNewest
	if oldest {
		b[1] = dirOldest
	}
	b = binary.AppendVarint(b, c.time)
	b = binary.AppendVarint(b, c.seq)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseCursor reads a cursor made by String for a query in the same order.
// Anything else is EINVALID.
func parseCursor(s string, oldest bool) (cursor, error) {
	bad := cairn.Errorf(cairn.EINVALID, "malformed cursor %q: pass the next cursor of a previous page as it is", truncate(s, 40))
	if len(s) > 64 {
		return cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 4 || b[0] != cursorVersion {
		return cursor{}, bad
	}
	want := byte(dirNewest)
	if oldest {
		want = dirOldest
	}
	if b[1] != want {
		return cursor{}, cairn.Errorf(cairn.EINVALID, "the cursor belongs to a query in the other order (oldest first or newest first)")
	}
	b = b[2:]
	var c cursor
	var n int
	if c.time, n = binary.Varint(b); n <= 0 {
		return cursor{}, bad
	}
	b = b[n:]
	if c.seq, n = binary.Varint(b); n <= 0 || n != len(b) {
		return cursor{}, bad
	}
	return c, nil
}
