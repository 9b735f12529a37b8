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

var (
	_ cairn.ExceptionStore = (*Store)(nil)
	_ cairn.HitReader      = (*Store)(nil)
)

// exceptionColumns are the columns an exception is read from, in scan
// order.
const exceptionColumns = `id, rule, name, fields, comps, vals, note, author, created, expires, detection`

// AddException stores x and appends audit in the same transaction. An
// exception without an id or a rule is EINVALID, one whose id is stored
// is ECONFLICT, and then nothing is written. x gets the store's clock when
// its Created is zero. The store sets audit.Object to x.ID, and fills an
// empty Action with "exception.add", a zero Time with the store's clock
// and an empty Detail with x as JSON. Text is kept as the store's text
// columns hold it (see pgText); fields, comps and values are JSON, so
// text that is not valid UTF-8 comes back with U+FFFD in its place.
func (s *Store) AddException(ctx context.Context, x cairn.Exception, audit cairn.AuditEntry) error {
	cols, err := storeutil.PrepareException(&x, &audit, s.now)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO exceptions (`+exceptionColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
			pgText(x.ID), pgText(x.Rule), pgText(x.Name), cols.Fields, cols.Comps, cols.Values, pgText(x.Note),
			pgText(x.Author), storeutil.UnixNano(x.Created), nullTime(x.Expires), nullText(x.Detection))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return cairn.Errorf(cairn.ECONFLICT, "exception %q already exists", storeutil.Truncate(x.ID, 80))
		}
		return s.appendAudit(ctx, tx, audit)
	})
	if err != nil {
		if cairn.ErrorCode(err) != cairn.EINTERNAL {
			return err
		}
		return fmt.Errorf("add exception: %w", err)
	}
	return nil
}

// Exceptions returns every stored exception, expired ones included,
// oldest first by Created and then in the order they were added.
func (s *Store) Exceptions(ctx context.Context) ([]cairn.Exception, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+exceptionColumns+` FROM exceptions ORDER BY created, seq`)
	if err != nil {
		return nil, fmt.Errorf("exceptions: %w", err)
	}
	defer rows.Close()
	var out []cairn.Exception
	for rows.Next() {
		x, err := scanException(rows)
		if err != nil {
			return nil, fmt.Errorf("exceptions: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("exceptions: %w", err)
	}
	return out, nil
}

// RemoveException deletes the exception with the id and appends audit in
// the same transaction, returning what it deleted; an id that is not
// stored is ENOTFOUND and nothing is written. The store sets audit.Object
// to id, and fills an empty Action with "exception.rm", a zero Time with
// the store's clock and an empty Detail with the deleted exception as
// JSON.
func (s *Store) RemoveException(ctx context.Context, id string, audit cairn.AuditEntry) (cairn.Exception, error) {
	var x cairn.Exception
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		x, err = scanException(tx.QueryRow(ctx, `DELETE FROM exceptions WHERE id = $1 RETURNING `+exceptionColumns, pgText(id)))
		if errors.Is(err, pgx.ErrNoRows) {
			return cairn.Errorf(cairn.ENOTFOUND, "exception %q not found", storeutil.Truncate(id, 80))
		}
		if err != nil {
			return err
		}
		e, err := storeutil.RemovalAudit(audit, id, x)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, e)
	})
	if err != nil {
		if cairn.ErrorCode(err) != cairn.EINTERNAL {
			return cairn.Exception{}, err
		}
		return cairn.Exception{}, fmt.Errorf("remove exception: %w", err)
	}
	return x, nil
}

// scanException reads one row of exceptionColumns. Empty lists come back
// nil.
func scanException(row pgx.Row) (cairn.Exception, error) {
	var x cairn.Exception
	var fields, comps, values string
	var created int64
	var expires *int64
	var detection *string
	if err := row.Scan(&x.ID, &x.Rule, &x.Name, &fields, &comps, &values, &x.Note, &x.Author,
		&created, &expires, &detection); err != nil {
		return cairn.Exception{}, err
	}
	x.Created = time.Unix(0, created).UTC()
	x.Expires = fromNull(expires)
	if detection != nil {
		x.Detection = *detection
	}
	if err := storeutil.DecodeExceptionLists(&x, storeutil.ExceptionCols{Fields: fields, Comps: comps, Values: values}); err != nil {
		return cairn.Exception{}, err
	}
	return x, nil
}

// ruleHitsSQL selects the hits of a rule: its groups through
// detections_rule, then each group's hits through detection_hits_group.
const ruleHitsSQL = `SELECT h.id, h.group_id, h.time, h.event_ids
FROM detections d JOIN detection_hits h ON h.group_id = d.id
WHERE d.rule = $1
ORDER BY h.time, h.id`

// RuleHits returns every stored detection of the rule one by one, oldest
// first (then by id), each with the group it counts in and its event ids
// (at most MaxGroupEventIDs of them). The rule name is matched as it was
// stored (see pgText).
func (s *Store) RuleHits(ctx context.Context, rule string) ([]cairn.DetectionHit, error) {
	rows, err := s.pool.Query(ctx, ruleHitsSQL, pgText(rule))
	if err != nil {
		return nil, fmt.Errorf("rule hits: %w", err)
	}
	defer rows.Close()
	var out []cairn.DetectionHit
	for rows.Next() {
		var h cairn.DetectionHit
		var at int64
		var ids string
		if err := rows.Scan(&h.ID, &h.GroupID, &at, &ids); err != nil {
			return nil, fmt.Errorf("rule hits: %w", err)
		}
		h.Time = time.Unix(0, at).UTC()
		if err := json.Unmarshal([]byte(ids), &h.EventIDs); err != nil {
			return nil, fmt.Errorf("rule hits: hit %q: %w", storeutil.Truncate(h.ID, 80), err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rule hits: %w", err)
	}
	return out, nil
}
