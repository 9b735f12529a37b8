package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var _ cairn.DetectionStore = (*Store)(nil)

// MaxGroupEventIDs is how many event ids a detection group keeps: the
// oldest ones, in order.
const MaxGroupEventIDs = 100

// WriteDetections stores detections in one transaction. A detection whose
// group (rule, output and entities) is stored adds to the group's count and
// moves its last time; one whose id is already stored changes nothing.
// events should hold each detection's first triggering event
// (EventIDs[0]); one missing from it is read from the store, and a group
// whose event is nowhere has only the detection's own fields for filters.
// A detection without an id or rule is EINVALID and nothing is written.
// A new group starts with status new and no assignee, whatever the
// detection's Status and Assignee say: triage is the analysts' (see
// SetTriage). A group that gains a detection keeps its triage, even
// resolved or false_positive: the analyst judged the group, and the same
// rule, output and entities again is more of what was judged; its moved
// LastTime and Count show the new activity.
func (s *Store) WriteDetections(ctx context.Context, ds []cairn.Detection, events []cairn.Event) error {
	if len(ds) == 0 {
		return nil
	}
	for i := range ds {
		if ds[i].ID == "" || ds[i].Rule == "" {
			return cairn.Errorf(cairn.EINVALID, "detection %d of %d has no id or no rule", i+1, len(ds))
		}
	}
	byID := make(map[string]*cairn.Event, len(events))
	for i := range events {
		byID[events[i].ID] = &events[i]
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write detections: %w", err)
	}
	defer tx.Rollback()
	now := s.now()
	for i := range ds {
		if err := s.writeDetection(ctx, tx, &ds[i], byID, now); err != nil {
			return fmt.Errorf("write detections: %q: %w", storeutil.Truncate(ds[i].ID, 80), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write detections: %w", err)
	}
	return nil
}

// writeDetection records one detection as a hit and adds it to its group.
func (s *Store) writeDetection(ctx context.Context, tx *sql.Tx, d *cairn.Detection, byID map[string]*cairn.Event, now time.Time) error {
	first, last := d.Time, d.LastTime
	if first.IsZero() {
		first = now
	}
	if last.Before(first) {
		last = first
	}
	n := max(d.Count, 1)
	group := storeutil.GroupID(*d)
	ids := d.EventIDs
	if len(ids) > MaxGroupEventIDs {
		ids = ids[:MaxGroupEventIDs]
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO detection_hits (id, group_id, time, event_ids) VALUES (?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`, d.ID, group, storeutil.UnixNano(first), jsonWriter.JSONList(ids))
	if err != nil {
		return err
	}
	if added, err := r.RowsAffected(); err != nil || added == 0 {
		return err // the same detection again
	}

	var stored string
	err = tx.QueryRowContext(ctx, `SELECT event_ids FROM detections WHERE id = ?`, group).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return s.insertGroup(ctx, tx, d, group, first, last, n, ids, byID)
	case err != nil:
		return err
	}
	var have []string
	if err := json.Unmarshal([]byte(stored), &have); err != nil {
		return fmt.Errorf("stored event ids: %w", err)
	}
	for _, id := range ids {
		if len(have) >= MaxGroupEventIDs {
			break
		}
		have = append(have, id)
	}
	_, err = tx.ExecContext(ctx, `UPDATE detections SET count = count + ?, time = min(time, ?),
	last_time = max(last_time, ?), event_ids = ? WHERE id = ?`,
		n, storeutil.UnixNano(first), storeutil.UnixNano(last), jsonWriter.JSONList(have), group)
	return err
}

// insertGroup stores the first detection of a group.
func (s *Store) insertGroup(ctx context.Context, tx *sql.Tx, d *cairn.Detection, group string, first, last time.Time,
	n int, ids []string, byID map[string]*cairn.Event) error {
	var ev *cairn.Event
	if len(d.EventIDs) > 0 {
		var err error
		if ev, err = s.firstEvent(ctx, tx, d.EventIDs[0], byID); err != nil {
			return err
		}
	}
	fields, err := storeutil.DetectionFields(d, ev, jsonWriter)
	if err != nil {
		return cairn.Errorf(cairn.EINVALID, "fields: %v", err)
	}
	e := d.Entities
	_, err = tx.ExecContext(ctx, `INSERT INTO detections (id, time, last_time, count, rule, source, priority, severity,
	output, tags, tactics, techniques, event_ids,
	exec_id, container_id, image, pod, namespace, cluster, host, identity, fields, status)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		group, storeutil.UnixNano(first), storeutil.UnixNano(last), n, storeutil.JSONText(d.Rule), d.Source, d.Priority, d.Severity,
		d.Output, jsonWriter.JSONList(d.Tags), jsonWriter.JSONList(d.Tactics), jsonWriter.JSONList(d.Techniques), jsonWriter.JSONList(ids),
		nullText(storeutil.JSONText(e.ExecID)), nullText(storeutil.JSONText(e.ContainerID)), nullText(storeutil.JSONText(e.Image)),
		nullText(storeutil.JSONText(e.Pod)), nullText(storeutil.JSONText(e.Namespace)), nullText(storeutil.JSONText(e.Cluster)),
		nullText(storeutil.JSONText(e.Host)), nullText(storeutil.JSONText(e.Identity)), fields, cairn.StatusNew)
	return err
}

// firstEvent returns the event with the id from byID or else the store, or
// nil when neither has it.
func (s *Store) firstEvent(ctx context.Context, tx *sql.Tx, id string, byID map[string]*cairn.Event) (*cairn.Event, error) {
	if ev, ok := byID[id]; ok {
		cp := *ev // Flatten may cache on the event: keep the caller's untouched
		return &cp, nil
	}
	var row storedRow
	err := tx.QueryRowContext(ctx, `SELECT id, time, source, kind, type, host, raw FROM events WHERE id = ?`, id).
		Scan(&row.id, &row.unixNano, &row.source, &row.kind, &row.typ, &row.host, &row.raw)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	}
	ev := s.rebuild(row)
	return &ev, nil
}
