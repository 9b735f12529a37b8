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

var _ cairn.TokenStore = (*Store)(nil)

// tokenColumns are the columns a token is read from, in scan order.
const tokenColumns = `name, role, hash, created, created_by, last_used, revoked`

// CreateToken stores t and appends audit in the same transaction, as
// cairn.APIToken.PrepareCreate readies them: EINVALID for a token without
// a name, a role or a hex SHA-256 hash, ECONFLICT when its name or hash
// is taken (by a revoked token too), and then nothing is written.
func (s *Store) CreateToken(ctx context.Context, t cairn.APIToken, audit cairn.AuditEntry) error {
	audit, err := t.PrepareCreate(audit, s.now)
	if err != nil {
		return err
	}
	taken := cairn.Errorf(cairn.ECONFLICT, "a token named %q exists, or its secret is taken", storeutil.Truncate(t.Name, 80))
	return s.changeToken(ctx, "create token", taken, audit,
		`INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		t.Name, t.Role, t.Hash, storeutil.UnixNano(t.Created), t.CreatedBy, nullTime(t.LastUsed), t.Revoked)
}

// RevokeToken revokes the token of the name and appends audit in the same
// transaction, as cairn.RevokeAudit readies it. A name that is not stored
// or whose token is already revoked is ENOTFOUND, and nothing is written.
func (s *Store) RevokeToken(ctx context.Context, name string, audit cairn.AuditEntry) error {
	missing := cairn.Errorf(cairn.ENOTFOUND, "no token named %q to revoke", storeutil.Truncate(name, 80))
	return s.changeToken(ctx, "revoke token", missing, cairn.RevokeAudit(audit, name),
		`UPDATE api_tokens SET revoked = 1 WHERE name = ? AND revoked = 0`, name)
}

// changeToken runs query in a transaction and appends audit in the same
// one; when the query changes no row it returns unchanged and writes
// nothing.
func (s *Store) changeToken(ctx context.Context, what string, unchanged error, audit cairn.AuditEntry, query string, args ...any) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, query, args...)
	var n int64
	if err == nil {
		n, err = r.RowsAffected()
	}
	switch {
	case err != nil:
	case n == 0:
		return unchanged
	default:
		if err = s.appendAudit(ctx, tx, audit); err == nil {
			err = tx.Commit()
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// TokenByHash returns the token whose secret hashes to hash, ENOTFOUND
// when there is none or it is revoked.
func (s *Store) TokenByHash(ctx context.Context, hash string) (cairn.APIToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ? AND revoked = 0`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, cairn.Errorf(cairn.ENOTFOUND, "no such token")
	} else if err != nil {
		return t, fmt.Errorf("token by hash: %w", err)
	}
	return t, nil
}

// Tokens returns every token, revoked ones included, oldest first by
// Created and then in the order they were created.
func (s *Store) Tokens(ctx context.Context) ([]cairn.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created, seq`)
	var out []cairn.APIToken
	for err == nil && rows.Next() {
		var t cairn.APIToken
		if t, err = scanToken(rows); err == nil {
			out = append(out, t)
		}
	}
	if err == nil {
		err = rows.Err()
	}
	if rows != nil {
		rows.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// scanToken reads one row of tokenColumns.
func scanToken(row interface{ Scan(...any) error }) (cairn.APIToken, error) {
	var t cairn.APIToken
	var created int64
	var lastUsed sql.NullInt64
	if err := row.Scan(&t.Name, &t.Role, &t.Hash, &created, &t.CreatedBy, &lastUsed, &t.Revoked); err != nil {
		return cairn.APIToken{}, err
	}
	t.Created = time.Unix(0, created).UTC()
	t.LastUsed = fromNull(lastUsed)
	return t, nil
}
