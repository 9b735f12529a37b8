package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var _ cairn.AuditLog = (*Store)(nil)

// AppendAudit appends e to the audit log; the store assigns its Seq and
// gives it the store's clock when its Time is zero. An entry without an
// action, or whose Detail is not a JSON object, is EINVALID.
func (s *Store) AppendAudit(ctx context.Context, e cairn.AuditEntry) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error { return s.appendAudit(ctx, tx, e) })
	if err != nil {
		if cairn.ErrorCode(err) != cairn.EINTERNAL {
			return err
		}
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// appendAudit inserts e within tx, as AppendAudit describes.
func (s *Store) appendAudit(ctx context.Context, tx pgx.Tx, e cairn.AuditEntry) error {
	if err := storeutil.CheckAudit(e); err != nil {
		return err
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit (time, actor, action, object, detail) VALUES ($1, $2, $3, $4, $5)`,
		storeutil.UnixNano(e.Time), pgText(e.Actor), pgText(e.Action), pgText(e.Object), nullText(e.Detail))
	return err
}

// Audit returns the audit log newest first, at most limit entries; limit
// 0 means all and a negative limit is EINVALID.
func (s *Store) Audit(ctx context.Context, limit int) ([]cairn.AuditEntry, error) {
	if limit < 0 {
		return nil, cairn.Errorf(cairn.EINVALID, "limit must not be negative, got %d", limit)
	}
	// LIMIT NULL is PostgreSQL's "no limit".
	var n *int64
	if limit > 0 {
		l := int64(limit)
		n = &l
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, time, actor, action, object, detail FROM audit
ORDER BY seq DESC LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []cairn.AuditEntry
	for rows.Next() {
		var e cairn.AuditEntry
		var at int64
		var detail *string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &detail); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		e.Time = time.Unix(0, at).UTC()
		if detail != nil {
			e.Detail = *detail
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
