package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// eventColumns are the columns an event is rebuilt from, in the order
// storedRow.dest scans them.
const eventColumns = `seq, time, id, source, kind, type, host, exact, raw_json, raw`

// recheckChunk is how many rows a query whose filter SQL cannot decide
// exactly reads at a time, matching each in Go.
const recheckChunk = 500

// QueryEvents returns the events matching q, newest first unless q.Oldest,
// ordered by (time, seq) so that pages are stable while events arrive (a
// writer that commits after a reader passed its seqs is not seen by that
// reader's later pages). It returns EINVALID for a malformed filter or
// cursor or a negative limit.
func (s *Store) QueryEvents(ctx context.Context, q cairn.EventQuery) (cairn.EventPage, error) {
	limit, err := storeutil.PageLimit(q.Limit)
	if err != nil {
		return cairn.EventPage{}, err
	}
	var where []string
	var args []any
	var recheck *filter.Expr
	if strings.TrimSpace(q.Filter) != "" {
		expr, err := filter.Parse(q.Filter)
		if err != nil {
			return cairn.EventPage{}, storeutil.Invalid(err)
		}
		d := s.Dialect()
		w, a := expr.SQL(d, len(args))
		where = append(where, "("+w+")")
		args = append(args, filterArgs(w, len(args), a)...)
		if !expr.SQLExact(d) {
			recheck = expr
		}
	}
	if !q.Since.IsZero() {
		args = append(args, storeutil.UnixNano(q.Since))
		where = append(where, "time >= "+param(len(args)))
	}
	if !q.Until.IsZero() {
		args = append(args, storeutil.UnixNano(q.Until))
		where = append(where, "time < "+param(len(args)))
	}
	var at *storeutil.Cursor
	if q.Cursor != "" {
		c, err := storeutil.ParseCursor(q.Cursor, q.Oldest)
		if err != nil {
			return cairn.EventPage{}, err
		}
		at = &c
	}
	// A filter SQL decides exactly reads one row more than the page, to
	// tell whether a next page exists. Rows to recheck are read in chunks
	// until the page is full.
	chunk := limit + 1
	if recheck != nil {
		chunk = max(chunk, recheckChunk)
	}
	var page cairn.EventPage
	var last storeutil.Cursor // of the last event on the page
	for {
		sql, all := eventsSQL(where, args, at, q.Oldest, chunk)
		rows, err := s.pool.Query(ctx, sql, all...)
		if err != nil {
			return cairn.EventPage{}, fmt.Errorf("query events: %w", err)
		}
		n, full := 0, false
		for rows.Next() {
			n++
			var row storedRow
			if err := rows.Scan(row.dest()...); err != nil {
				rows.Close()
				return cairn.EventPage{}, fmt.Errorf("query events: %w", err)
			}
			pos := storeutil.Cursor{Time: row.unixNano, Seq: row.seq}
			at = &pos
			ev := s.rebuild(&row)
			if recheck != nil && !recheck.Match(&ev) {
				continue
			}
			if len(page.Events) == limit {
				page.Next = last.String(q.Oldest)
				full = true
				break
			}
			page.Events = append(page.Events, ev)
			last = pos
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return cairn.EventPage{}, fmt.Errorf("query events: %w", err)
		}
		if full || n < chunk {
			return page, nil
		}
	}
}

// eventsSQL returns the query of one chunk of QueryEvents: the conditions
// where (whose arguments args holds), after the position at when it is
// set, in the order asked, at most limit rows.
func eventsSQL(where []string, args []any, at *storeutil.Cursor, oldest bool, limit int) (string, []any) {
	all := append([]any(nil), args...)
	conds := append([]string(nil), where...)
	if at != nil {
		all = append(all, at.Time, at.Seq)
		t, sq := param(len(all)-1), param(len(all))
		// The row comparison bounds the index range (time, seq).
		if oldest {
			conds = append(conds, "(time, seq) > ("+t+", "+sq+")")
		} else {
			conds = append(conds, "(time, seq) < ("+t+", "+sq+")")
		}
	}
	var sb strings.Builder
	sb.WriteString("SELECT " + eventColumns + " FROM events")
	if len(conds) > 0 {
		sb.WriteString(" WHERE ")
		sb.WriteString(strings.Join(conds, " AND "))
	}
	if oldest {
		sb.WriteString(" ORDER BY time, seq")
	} else {
		sb.WriteString(" ORDER BY time DESC, seq DESC")
	}
	all = append(all, limit)
	sb.WriteString(" LIMIT " + param(len(all)))
	return sb.String(), all
}

// param returns the placeholder of the n-th argument.
func param(n int) string { return "$" + strconv.Itoa(n) }

// filterArgs returns the arguments of a compiled filter as the database
// must get them: text replaced as the store's text is (see pgText), and a
// JSON array argument (cast to jsonb in where) without the \u0000 escapes
// jsonb refuses. base is the number of arguments placed before.
func filterArgs(where string, base int, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			out[i] = a
			continue
		}
		s = pgText(s)
		if strings.Contains(where, param(base+i+1)+"::jsonb") {
			s = string(jsonbSafe([]byte(s)))
		}
		out[i] = s
	}
	return out
}

// GetEvent returns the event with the id, or ENOTFOUND.
func (s *Store) GetEvent(ctx context.Context, id string) (cairn.Event, error) {
	var row storedRow
	err := s.pool.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1`, []byte(id)).Scan(row.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return cairn.Event{}, cairn.Errorf(cairn.ENOTFOUND, "event %q not found", storeutil.Truncate(id, 80))
	}
	if err != nil {
		return cairn.Event{}, fmt.Errorf("get event: %w", err)
	}
	return s.rebuild(&row), nil
}

// storedRow is what a query reads of an event: its record and the
// columns needed when the record cannot be decoded again.
type storedRow struct {
	seq, unixNano    int64
	id               []byte
	source, kind     string
	typ, host, exact *string
	rawJSON          *string
	raw              []byte
}

// dest returns pointers to the row's fields in the order of eventColumns.
func (r *storedRow) dest() []any {
	return []any{&r.seq, &r.unixNano, &r.id, &r.source, &r.kind, &r.typ, &r.host, &r.exact, &r.rawJSON, &r.raw}
}

// record returns the raw record the row keeps.
func (r *storedRow) record() []byte {
	if r.raw != nil || r.rawJSON == nil {
		return r.raw
	}
	return []byte(*r.rawJSON)
}

// rebuild turns a stored row back into its event by decoding the raw
// record again: the store keeps the record, not a second copy of the
// event. Should a record no longer decode (a decoder changed), the event
// is returned with what the row has, and the reason is logged.
func (s *Store) rebuild(r *storedRow) cairn.Event {
	raw := r.record()
	ev, err := decode.Record(raw)
	if err != nil {
		s.log.Warn("stored record does not decode", "id", string(r.id), logKeyError, err)
		x := exactText{Source: r.source, Kind: r.kind}
		if r.typ != nil {
			x.Type = *r.typ
		}
		if r.host != nil {
			x.Host = *r.host
		}
		if r.exact != nil {
			if err := json.Unmarshal([]byte(*r.exact), &x); err != nil {
				s.log.Warn("stored exact text does not decode", "id", string(r.id), logKeyError, err)
			}
		}
		ev = cairn.Event{Source: cairn.Source(x.Source), Kind: cairn.Kind(x.Kind), Time: time.Unix(0, r.unixNano).UTC(),
			Type: x.Type, Host: x.Host, Raw: raw}
	}
	ev.ID = string(r.id)
	return ev
}
