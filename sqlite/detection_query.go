package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// detectionColumns are the columns a detection is read from, in scan order.
const detectionColumns = `seq, id, time, last_time, count, rule, source, priority, severity, output,
	tags, tactics, techniques, event_ids,
	exec_id, container_id, image, pod, namespace, cluster, host, identity, status, assignee`

// groupOf is the id of the detection group a query's first argument
// names: the group with that id, else the group of the detection hit
// with that id; NULL when there is neither. A group's own id wins, so
// that an id is never read as two groups.
const groupOf = `coalesce((SELECT id FROM detections WHERE id = ?1), (SELECT group_id FROM detection_hits WHERE id = ?1))`

// QueryDetections returns the detection groups matching q, newest first by
// last time, then by seq. Since and Until bound the last time. The filter
// sees the first triggering event's fields and the detection's own; a
// filter that SQL cannot decide exactly (see filter.Expr.SQLExact: fields
// with an argument no column holds, whole-object fields) selects a
// superset of the matching detections, since there is no event to match
// it against again, and json.value matches nothing. A group that gains a
// detection moves to the front, so pages read while detections arrive may
// miss or repeat it. It returns EINVALID for a malformed filter or cursor
// or a negative limit.
func (s *Store) QueryDetections(ctx context.Context, q cairn.DetectionQuery) (cairn.DetectionPage, error) {
	limit, err := storeutil.PageLimit(q.Limit)
	if err != nil {
		return cairn.DetectionPage{}, err
	}
	where, args, err := detectionWhere(q)
	if err != nil {
		return cairn.DetectionPage{}, err
	}
	if q.Cursor != "" {
		c, err := storeutil.ParseCursor(q.Cursor, false)
		if err != nil {
			return cairn.DetectionPage{}, err
		}
		where = append(where, "last_time <= ? AND (last_time < ? OR seq < ?)")
		args = append(args, c.Time, c.Time, c.Seq)
	}
	var sb strings.Builder
	sb.WriteString("SELECT " + detectionColumns + " FROM detections")
	if len(where) > 0 {
		sb.WriteString(" WHERE ")
		sb.WriteString(strings.Join(where, " AND "))
	}
	// One more row than the page tells whether a next page exists.
	sb.WriteString(" ORDER BY last_time DESC, seq DESC LIMIT ?")
	args = append(args, limit+1)

	rows, err := s.r.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return cairn.DetectionPage{}, fmt.Errorf("query detections: %w", err)
	}
	defer rows.Close()
	var page cairn.DetectionPage
	var last storeutil.Cursor
	for rows.Next() {
		d, at, err := scanDetection(rows)
		if err != nil {
			return cairn.DetectionPage{}, fmt.Errorf("query detections: %w", err)
		}
		if len(page.Detections) == limit {
			page.Next = last.String(false)
			break
		}
		page.Detections = append(page.Detections, d)
		last = at
	}
	if err := rows.Err(); err != nil {
		return cairn.DetectionPage{}, fmt.Errorf("query detections: %w", err)
	}
	return page, nil
}

// detectionWhere returns the conditions, joined by AND, and their
// arguments that select q's detections by filter and time range; the
// cursor and limit are left to the caller. A malformed filter is
// EINVALID.
func detectionWhere(q cairn.DetectionQuery) ([]string, []any, error) {
	var where []string
	var args []any
	if strings.TrimSpace(q.Filter) != "" {
		expr, err := filter.Parse(q.Filter)
		if err != nil {
			return nil, nil, storeutil.Invalid(err)
		}
		w, a := expr.SQL(detectionDialect(), len(args))
		where = append(where, "("+w+")")
		args = append(args, a...)
	}
	if !q.Since.IsZero() {
		where = append(where, "last_time >= ?")
		args = append(args, storeutil.UnixNano(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "last_time < ?")
		args = append(args, storeutil.UnixNano(q.Until))
	}
	return where, args, nil
}

// GetDetection returns the detection group with the id, or the group of
// the detection with the id, or ENOTFOUND.
func (s *Store) GetDetection(ctx context.Context, id string) (cairn.Detection, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+detectionColumns+` FROM detections WHERE id = `+groupOf, id)
	d, _, err := scanDetection(row)
	if errors.Is(err, sql.ErrNoRows) {
		return cairn.Detection{}, cairn.Errorf(cairn.ENOTFOUND, "detection %q not found", storeutil.Truncate(id, 80))
	}
	if err != nil {
		return cairn.Detection{}, fmt.Errorf("get detection: %w", err)
	}
	return d, nil
}

// detectionDialect is the filter dialect of the detections table: the
// fields JSON, no raw record, and the rule, severity, status and
// assignee columns.
func detectionDialect() filter.Dialect {
	return storeutil.DetectionDialect(filter.SQLite)
}

// scanDetection reads one row of detectionColumns.
func scanDetection(row interface{ Scan(...any) error }) (cairn.Detection, storeutil.Cursor, error) {
	var d cairn.Detection
	var at storeutil.Cursor
	var first int64
	var tags, tactics, techniques, eventIDs string
	var ents [8]sql.NullString
	var assignee sql.NullString
	err := row.Scan(&at.Seq, &d.ID, &first, &at.Time, &d.Count, &d.Rule, &d.Source, &d.Priority, &d.Severity,
		&d.Output, &tags, &tactics, &techniques, &eventIDs,
		&ents[0], &ents[1], &ents[2], &ents[3], &ents[4], &ents[5], &ents[6], &ents[7], &d.Status, &assignee)
	if err != nil {
		return cairn.Detection{}, storeutil.Cursor{}, err
	}
	d.Time = time.Unix(0, first).UTC()
	d.LastTime = time.Unix(0, at.Time).UTC()
	d.Assignee = assignee.String
	if err := storeutil.DecodeDetectionLists(&d, tags, tactics, techniques, eventIDs); err != nil {
		return cairn.Detection{}, storeutil.Cursor{}, err
	}
	e := &d.Entities
	for i, dst := range storeutil.EntityFields(e) {
		*dst = ents[i].String
	}
	return d, at, nil
}
