package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var _ cairn.TriageStore = (*Store)(nil)

// The audit actions SetTriage and AddComment give an entry that has none.
const (
	actionTriage  = "detection.triage"
	actionComment = "detection.comment"
)

// SetTriage applies c to the detection group with the id, or the group of
// the detection hit with the id, and appends audit in the same
// transaction; it returns the group as it now is. An unknown id is
// ENOTFOUND; a status not in cairn.Statuses or an assignee longer than
// cairn.MaxAssignee bytes is EINVALID, and then nothing is written. An
// empty Assignee unassigns the group. The assignee is kept as JSON text
// holds it (U+FFFD for bytes that are not valid UTF-8), so that the
// filter's assignee compares with what is stored. The store sets
// audit.Object to the group's id, and fills an empty Action with
// "detection.triage", a zero Time with the store's clock and an empty
// Detail with what changed ({"status":{"from":"new","to":"resolved"}}).
// A change that changes nothing writes nothing, audit included.
func (s *Store) SetTriage(ctx context.Context, id string, c cairn.TriageChange, audit cairn.AuditEntry) (cairn.Detection, error) {
	if err := storeutil.CheckTriage(&c, storeutil.JSONText); err != nil {
		return cairn.Detection{}, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return cairn.Detection{}, fmt.Errorf("set triage: %w", err)
	}
	defer tx.Rollback()
	d, _, err := scanDetection(tx.QueryRowContext(ctx, `SELECT `+detectionColumns+` FROM detections WHERE id = `+groupOf, id))
	if errors.Is(err, sql.ErrNoRows) {
		return cairn.Detection{}, cairn.Errorf(cairn.ENOTFOUND, "detection %q not found", storeutil.Truncate(id, 80))
	}
	if err != nil {
		return cairn.Detection{}, fmt.Errorf("set triage: %w", err)
	}
	detail, changed := storeutil.TriageDetail(d, c)
	if !changed {
		return d, nil
	}
	if c.Status != nil {
		d.Status = *c.Status
	}
	if c.Assignee != nil {
		d.Assignee = *c.Assignee
	}
	if _, err := tx.ExecContext(ctx, `UPDATE detections SET status = ?, assignee = ? WHERE id = ?`,
		d.Status, nullText(d.Assignee), d.ID); err != nil {
		return cairn.Detection{}, fmt.Errorf("set triage: %w", err)
	}
	audit.Object = d.ID
	if audit.Action == "" {
		audit.Action = actionTriage
	}
	if audit.Detail == "" {
		audit.Detail = detail
	}
	if err := s.appendAudit(ctx, tx, audit); err != nil {
		return cairn.Detection{}, fmt.Errorf("set triage: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return cairn.Detection{}, fmt.Errorf("set triage: %w", err)
	}
	return d, nil
}

// AddComment appends c to the comments of the detection group with the
// id, or the group of the detection hit with the id, and appends audit in
// the same transaction. An unknown id is ENOTFOUND; an empty (or blank)
// author or text, or text over cairn.MaxCommentBytes, is EINVALID, and
// then nothing is written. The comment gets the store's clock when its
// Time is zero. The store sets audit.Object to the group's id, and fills
// an empty Action with "detection.comment", a zero Time with the store's
// clock and an empty Detail with the comment's id ({"comment":7}). It
// returns the comment as stored, its Time in UTC.
func (s *Store) AddComment(ctx context.Context, id string, c cairn.Comment, audit cairn.AuditEntry) (cairn.Comment, error) {
	if err := storeutil.CheckComment(c); err != nil {
		return cairn.Comment{}, err
	}
	if c.Time.IsZero() {
		c.Time = s.now()
	}
	c.Time = time.Unix(0, storeutil.UnixNano(c.Time)).UTC()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return cairn.Comment{}, fmt.Errorf("add comment: %w", err)
	}
	defer tx.Rollback()
	var group sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT `+groupOf, id).Scan(&group); err != nil {
		return cairn.Comment{}, fmt.Errorf("add comment: %w", err)
	}
	if !group.Valid {
		return cairn.Comment{}, cairn.Errorf(cairn.ENOTFOUND, "detection %q not found", storeutil.Truncate(id, 80))
	}
	c.DetectionID = group.String
	err = tx.QueryRowContext(ctx, `INSERT INTO detection_comments (detection_id, time, author, text) VALUES (?, ?, ?, ?)
RETURNING id`, c.DetectionID, storeutil.UnixNano(c.Time), c.Author, c.Text).Scan(&c.ID)
	if err != nil {
		return cairn.Comment{}, fmt.Errorf("add comment: %w", err)
	}
	audit.Object = c.DetectionID
	if audit.Action == "" {
		audit.Action = actionComment
	}
	if audit.Detail == "" {
		audit.Detail = fmt.Sprintf(`{"comment":%d}`, c.ID)
	}
	if err := s.appendAudit(ctx, tx, audit); err != nil {
		return cairn.Comment{}, fmt.Errorf("add comment: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return cairn.Comment{}, fmt.Errorf("add comment: %w", err)
	}
	return c, nil
}

// Comments returns the comments of the detection group with the id, or
// the group of the detection hit with the id, in the order they were
// added; none for an unknown id.
func (s *Store) Comments(ctx context.Context, id string) ([]cairn.Comment, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, detection_id, time, author, text FROM detection_comments
WHERE detection_id = `+groupOf+` ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("comments: %w", err)
	}
	defer rows.Close()
	var out []cairn.Comment
	for rows.Next() {
		var c cairn.Comment
		var at int64
		if err := rows.Scan(&c.ID, &c.DetectionID, &at, &c.Author, &c.Text); err != nil {
			return nil, fmt.Errorf("comments: %w", err)
		}
		c.Time = time.Unix(0, at).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("comments: %w", err)
	}
	return out, nil
}

// CountDetections counts the detection groups q's filter and time range
// select, as QueryDetections selects them (a superset where the filter
// cannot be decided exactly in SQL), grouped by severity, status and age
// (see cairn.DetectionCount) in one scan; q's cursor and limit do not
// apply. A malformed filter is EINVALID.
func (s *Store) CountDetections(ctx context.Context, q cairn.DetectionQuery, ages ...time.Time) (cairn.DetectionFacets, error) {
	where, args, err := detectionWhere(q)
	if err != nil {
		return cairn.DetectionFacets{}, err
	}
	age := []string{"0"}
	for _, t := range ages {
		args = append(args, storeutil.UnixNano(t))
		age = append(age, "(last_time < ?)")
	}
	query := `SELECT severity, status, ` + strings.Join(age, " + ") + ` AS age, count(*) FROM detections`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " GROUP BY severity, status, age"
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return cairn.DetectionFacets{}, fmt.Errorf("count detections: %w", err)
	}
	defer rows.Close()
	f := cairn.DetectionFacets{BySeverity: map[int64]int{}, ByStatus: map[string]int{}}
	for rows.Next() {
		var c cairn.DetectionCount
		var age, n int64
		if err := rows.Scan(&c.Severity, &c.Status, &age, &n); err != nil {
			return cairn.DetectionFacets{}, fmt.Errorf("count detections: %w", err)
		}
		c.Age, c.N = int(age), int(n)
		f.Total += c.N
		f.BySeverity[c.Severity] += c.N
		f.ByStatus[c.Status] += c.N
		f.Counts = append(f.Counts, c)
	}
	if err := rows.Err(); err != nil {
		return cairn.DetectionFacets{}, fmt.Errorf("count detections: %w", err)
	}
	return f, nil
}
