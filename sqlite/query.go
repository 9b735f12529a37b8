package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// Page sizes of QueryEvents.
const (
	DefaultLimit = storeutil.DefaultLimit
	MaxLimit     = storeutil.MaxLimit
)

// QueryEvents returns the events matching q, newest first unless q.Oldest,
// ordered by (time, seq) so that pages are stable while events arrive. It
// returns EINVALID for a malformed filter or cursor or a negative limit.
func (s *Store) QueryEvents(ctx context.Context, q cairn.EventQuery) (cairn.EventPage, error) {
	eq, err := s.buildQuery(q)
	if err != nil {
		return cairn.EventPage{}, err
	}
	limit, recheck := eq.limit, eq.recheck
	rows, err := s.r.QueryContext(ctx, eq.sql, eq.args...)
	if err != nil {
		return cairn.EventPage{}, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	var page cairn.EventPage
	var last storeutil.Cursor // of the last event on the page
	for rows.Next() {
		var at storeutil.Cursor
		var row storedRow
		if err := rows.Scan(&at.Seq, &at.Time, &row.id, &row.source, &row.kind, &row.typ, &row.host, &row.raw); err != nil {
			return cairn.EventPage{}, fmt.Errorf("query events: %w", err)
		}
		row.unixNano = at.Time
		ev := s.rebuild(row)
		if recheck != nil && !recheck.Match(&ev) {
			continue
		}
		if len(page.Events) == limit {
			page.Next = last.String(q.Oldest)
			break
		}
		page.Events = append(page.Events, ev)
		last = at
	}
	if err := rows.Err(); err != nil {
		return cairn.EventPage{}, fmt.Errorf("query events: %w", err)
	}
	return page, nil
}

// GetEvent returns the event with the id, or ENOTFOUND.
func (s *Store) GetEvent(ctx context.Context, id string) (cairn.Event, error) {
	var row storedRow
	err := s.r.QueryRowContext(ctx, `SELECT id, time, source, kind, type, host, raw FROM events WHERE id = ?`, id).
		Scan(&row.id, &row.unixNano, &row.source, &row.kind, &row.typ, &row.host, &row.raw)
	if errors.Is(err, sql.ErrNoRows) {
		return cairn.Event{}, cairn.Errorf(cairn.ENOTFOUND, "event %q not found", storeutil.Truncate(id, 80))
	}
	if err != nil {
		return cairn.Event{}, fmt.Errorf("get event: %w", err)
	}
	return s.rebuild(row), nil
}

// storedRow is what a query reads of an event: its raw record and the
// columns needed when the record cannot be decoded again.
type storedRow struct {
	id, source, kind string
	typ, host        sql.NullString
	unixNano         int64
	raw              []byte
}

// rebuild turns a stored row back into its event by decoding the raw
// record again: the store keeps the record, not a second copy of the
// event. Should a record no longer decode (a decoder changed), the event
// is returned with what the row has, and the reason is logged.
func (s *Store) rebuild(r storedRow) cairn.Event {
	ev, err := decode.Record(r.raw)
	if err != nil {
		s.log.Warn("stored record does not decode", "id", r.id, logKeyError, err)
		ev = cairn.Event{Source: cairn.Source(r.source), Kind: cairn.Kind(r.kind), Time: time.Unix(0, r.unixNano).UTC(),
			Type: r.typ.String, Host: r.host.String, Raw: r.raw}
	}
	ev.ID = r.id
	return ev
}

// eventsQuery is the SQL of an EventQuery.
type eventsQuery struct {
	sql   string
	args  []any
	limit int
	// recheck is set when SQL can only narrow the filter down to a
	// superset of the matching events; each row is then matched in Go.
	recheck *filter.Expr
}

// buildQuery turns q into SQL, with every value as an argument.
func (s *Store) buildQuery(q cairn.EventQuery) (eventsQuery, error) {
	limit, err := storeutil.PageLimit(q.Limit)
	if err != nil {
		return eventsQuery{}, err
	}

	var where []string
	var args []any
	var recheck *filter.Expr
	if strings.TrimSpace(q.Filter) != "" {
		expr, err := filter.Parse(q.Filter)
		if err != nil {
			return eventsQuery{}, storeutil.Invalid(err)
		}
		d := s.Dialect()
		w, a := expr.SQL(d, len(args))
		where = append(where, "("+w+")")
		args = append(args, a...)
		if !expr.SQLExact(d) {
			recheck = expr
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, storeutil.UnixNano(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, storeutil.UnixNano(q.Until))
	}
	if q.Cursor != "" {
		c, err := storeutil.ParseCursor(q.Cursor, q.Oldest)
		if err != nil {
			return eventsQuery{}, err
		}
		// The first term bounds the index range; the second skips the
		// rows of the cursor's own time already returned.
		if q.Oldest {
			where = append(where, "time >= ? AND (time > ? OR seq > ?)")
		} else {
			where = append(where, "time <= ? AND (time < ? OR seq < ?)")
		}
		args = append(args, c.Time, c.Time, c.Seq)
	}

	var sb strings.Builder
	sb.WriteString("SELECT seq, time, id, source, kind, type, host, raw FROM events")
	if len(where) > 0 {
		sb.WriteString(" WHERE ")
		sb.WriteString(strings.Join(where, " AND "))
	}
	if q.Oldest {
		sb.WriteString(" ORDER BY time, seq")
	} else {
		sb.WriteString(" ORDER BY time DESC, seq DESC")
	}
	if recheck == nil {
		// One more row than the page tells whether a next page exists.
		// Rows to recheck are read until the page is full instead.
		sb.WriteString(" LIMIT ?")
		args = append(args, limit+1)
	}
	return eventsQuery{sql: sb.String(), args: args, limit: limit, recheck: recheck}, nil
}
