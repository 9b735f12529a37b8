package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var _ cairn.AuditLog = (*Store)(nil)

// AppendAudit appends e to the audit log; the store assigns its Seq and
// gives it the store's clock when its Time is zero. An entry without an
// action, or whose Detail is not a JSON object, is EINVALID.
func (s *Store) AppendAudit(ctx context.Context, e cairn.AuditEntry) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	defer tx.Rollback()
	if err := s.appendAudit(ctx, tx, e); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// appendAudit inserts e within tx, as AppendAudit describes.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, e cairn.AuditEntry) error {
	if err := storeutil.CheckAudit(e); err != nil {
		return err
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (time, actor, action, object, detail) VALUES (?, ?, ?, ?, ?)`,
		storeutil.UnixNano(e.Time), e.Actor, e.Action, e.Object, nullText(e.Detail))
	return err
}

// Audit returns the audit log newest first, at most limit entries; limit
// 0 means all and a negative limit is EINVALID.
func (s *Store) Audit(ctx context.Context, limit int) ([]cairn.AuditEntry, error) {
	if limit < 0 {
		return nil, cairn.Errorf(cairn.EINVALID, "limit must not be negative, got %d", limit)
	}
	// LIMIT -1 is SQLite's "no limit".
	n := int64(limit)
	if limit == 0 {
		n = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, time, actor, action, object, detail FROM audit
ORDER BY seq DESC LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []cairn.AuditEntry
	for rows.Next() {
		var e cairn.AuditEntry
		var at int64
		var detail sql.NullString
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &detail); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		e.Time = time.Unix(0, at).UTC()
		e.Detail = detail.String
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
