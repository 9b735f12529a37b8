package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var _ cairn.IdentityStatusStore = (*Store)(nil)

// actionIdentityStatus is the audit action SetIdentityStatus gives an
// entry that has none.
const actionIdentityStatus = "identity.status"

const identityStatusColumns = `identity, state, since, evidence, by_actor, at, note`

// SetIdentityStatus records st as the identity's status, replacing the
// previous one, and appends audit in the same transaction; it returns
// the previous status (zero State when none). An empty identity or by, a
// state other than cairn's three, a note over cairn.MaxIdentityNote bytes
// or more than storeutil.MaxIdentityEvidence evidence ids is EINVALID,
// and then nothing is written. Text is kept as JSON text holds it
// (U+FFFD for bytes that are not valid UTF-8); a zero At becomes the
// store's clock. The store sets audit.Object to the identity, and fills
// an empty Action with "identity.status", a zero Time with the store's
// clock and an empty Detail with the change
// ({"state":{"from":"","to":"compromised"},"note":"..."}). Every call
// writes, even one that sets the status it replaces: the verdict was
// given again.
func (s *Store) SetIdentityStatus(ctx context.Context, st cairn.IdentityStatus, audit cairn.AuditEntry) (cairn.IdentityStatus, error) {
	if err := storeutil.CheckIdentityStatus(&st, storeutil.JSONText, s.now()); err != nil {
		return cairn.IdentityStatus{}, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return cairn.IdentityStatus{}, fmt.Errorf("set identity status: %w", err)
	}
	defer tx.Rollback()
	prev, err := scanIdentityStatus(tx.QueryRowContext(ctx, `SELECT `+identityStatusColumns+` FROM identity_status WHERE identity = ?`, st.Identity))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return cairn.IdentityStatus{}, fmt.Errorf("set identity status: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO identity_status (`+identityStatusColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (identity) DO UPDATE SET state = excluded.state, since = excluded.since, evidence = excluded.evidence,
	by_actor = excluded.by_actor, at = excluded.at, note = excluded.note`,
		st.Identity, st.State, nullTime(st.Since), storeutil.EvidenceJSON(st.Evidence), st.By, storeutil.UnixNano(st.At), st.Note); err != nil {
		return cairn.IdentityStatus{}, fmt.Errorf("set identity status: %w", err)
	}
	audit.Object = st.Identity
	if audit.Action == "" {
		audit.Action = actionIdentityStatus
	}
	if audit.Detail == "" {
		audit.Detail = storeutil.IdentityStatusDetail(prev, st)
	}
	if err := s.appendAudit(ctx, tx, audit); err != nil {
		return cairn.IdentityStatus{}, fmt.Errorf("set identity status: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return cairn.IdentityStatus{}, fmt.Errorf("set identity status: %w", err)
	}
	return prev, nil
}

// IdentityStatuses returns every identity's current status, ordered by
// identity (its bytes).
func (s *Store) IdentityStatuses(ctx context.Context) ([]cairn.IdentityStatus, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+identityStatusColumns+` FROM identity_status ORDER BY identity`)
	if err != nil {
		return nil, fmt.Errorf("identity statuses: %w", err)
	}
	defer rows.Close()
	var out []cairn.IdentityStatus
	for rows.Next() {
		st, err := scanIdentityStatus(rows)
		if err != nil {
			return nil, fmt.Errorf("identity statuses: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("identity statuses: %w", err)
	}
	return out, nil
}

// GetIdentityStatus returns the identity's status, or ENOTFOUND. The
// identity is looked up as SetIdentityStatus keeps it.
func (s *Store) GetIdentityStatus(ctx context.Context, identity string) (cairn.IdentityStatus, error) {
	st, err := scanIdentityStatus(s.r.QueryRowContext(ctx, `SELECT `+identityStatusColumns+` FROM identity_status WHERE identity = ?`,
		storeutil.JSONText(identity)))
	if errors.Is(err, sql.ErrNoRows) {
		return cairn.IdentityStatus{}, cairn.Errorf(cairn.ENOTFOUND, "no status for identity %q", storeutil.Truncate(identity, 80))
	}
	if err != nil {
		return cairn.IdentityStatus{}, fmt.Errorf("get identity status: %w", err)
	}
	return st, nil
}

// scanIdentityStatus reads one row of identityStatusColumns.
func scanIdentityStatus(row interface{ Scan(...any) error }) (cairn.IdentityStatus, error) {
	var st cairn.IdentityStatus
	var since sql.NullInt64
	var evidence string
	var at int64
	if err := row.Scan(&st.Identity, &st.State, &since, &evidence, &st.By, &at, &st.Note); err != nil {
		return cairn.IdentityStatus{}, err
	}
	st.Since = fromNull(since)
	st.At = time.Unix(0, at).UTC()
	var err error
	if st.Evidence, err = storeutil.ParseEvidence(evidence); err != nil {
		return cairn.IdentityStatus{}, err
	}
	return st, nil
}
