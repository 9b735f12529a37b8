package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var _ cairn.DetectionStore = (*Store)(nil)

// MaxGroupEventIDs is how many event ids a detection group keeps: the
// oldest ones, in order.
const MaxGroupEventIDs = 100

// lockGroups is the advisory lock class of detection groups.
const lockGroups = "detections"

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
// The batch's groups are locked (see lockKeys) before they are read, so
// that concurrent writers of one group count in turn.
func (s *Store) WriteDetections(ctx context.Context, ds []cairn.Detection, events []cairn.Event) error {
	if len(ds) == 0 {
		return nil
	}
	groups := make([]string, len(ds))
	for i := range ds {
		if ds[i].ID == "" || ds[i].Rule == "" {
			return cairn.Errorf(cairn.EINVALID, "detection %d of %d has no id or no rule", i+1, len(ds))
		}
		groups[i] = storeutil.GroupID(ds[i])
	}
	byID := make(map[string]*cairn.Event, len(events))
	for i := range events {
		byID[events[i].ID] = &events[i]
	}
	now := s.now()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.lockKeys(ctx, tx, lockGroups, groups); err != nil {
			return err
		}
		for i := range ds {
			if err := s.writeDetection(ctx, tx, &ds[i], groups[i], byID, now); err != nil {
				return fmt.Errorf("%q: %w", storeutil.Truncate(ds[i].ID, 80), err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write detections: %w", err)
	}
	return nil
}

// writeDetection records one detection as a hit and adds it to its group.
func (s *Store) writeDetection(ctx context.Context, tx pgx.Tx, d *cairn.Detection, group string, byID map[string]*cairn.Event, now time.Time) error {
	first, last := d.Time, d.LastTime
	if first.IsZero() {
		first = now
	}
	if last.Before(first) {
		last = first
	}
	n := max(d.Count, 1)
	ids := d.EventIDs
	if len(ids) > MaxGroupEventIDs {
		ids = ids[:MaxGroupEventIDs]
	}
	tag, err := tx.Exec(ctx, `INSERT INTO detection_hits (id, group_id, time, event_ids) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO NOTHING`, pgText(d.ID), group, storeutil.UnixNano(first), jsonList(ids))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return nil // the same detection again
	}

	var stored string
	err = tx.QueryRow(ctx, `SELECT event_ids FROM detections WHERE id = $1`, group).Scan(&stored)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
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
	_, err = tx.Exec(ctx, `UPDATE detections SET count = count + $1, time = least(time, $2),
	last_time = greatest(last_time, $3), event_ids = $4 WHERE id = $5`,
		n, storeutil.UnixNano(first), storeutil.UnixNano(last), jsonList(have), group)
	return err
}

// insertGroup stores the first detection of a group.
func (s *Store) insertGroup(ctx context.Context, tx pgx.Tx, d *cairn.Detection, group string, first, last time.Time,
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
	_, err = tx.Exec(ctx, `INSERT INTO detections (id, time, last_time, count, rule, source, priority, severity,
	output, tags, tactics, techniques, event_ids,
	exec_id, container_id, image, pod, namespace, cluster, host, identity, fields, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22::jsonb, $23)`,
		group, storeutil.UnixNano(first), storeutil.UnixNano(last), n, pgText(d.Rule), pgText(d.Source), pgText(d.Priority), d.Severity,
		pgText(d.Output), jsonList(d.Tags), jsonList(d.Tactics), jsonList(d.Techniques), jsonList(ids),
		nullText(e.ExecID), nullText(e.ContainerID), nullText(e.Image), nullText(e.Pod), nullText(e.Namespace),
		nullText(e.Cluster), nullText(e.Host), nullText(e.Identity), fields, cairn.StatusNew)
	return err
}

// firstEvent returns the event with the id from byID or else the store, or
// nil when neither has it.
func (s *Store) firstEvent(ctx context.Context, tx pgx.Tx, id string, byID map[string]*cairn.Event) (*cairn.Event, error) {
	if ev, ok := byID[id]; ok {
		cp := *ev // Flatten may cache on the event: keep the caller's untouched
		return &cp, nil
	}
	var row storedRow
	err := tx.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1`, []byte(id)).Scan(row.dest()...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	}
	ev := s.rebuild(&row)
	return &ev, nil
}

// jsonList returns vs as a JSON array, [] when empty. It is text, not
// jsonb, so a NUL is kept (as \u0000) and comes back.
func jsonList(vs []string) string {
	if vs == nil {
		vs = []string{}
	}
	b, _ := json.Marshal(vs) // strings never fail
	return string(b)
}
