package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// tokenColumns are the columns of api_tokens scanToken reads, in order.
const tokenColumns = `name, role, hash, created, created_by, last_used, revoked`

var _ cairn.TokenStore = (*Store)(nil)

// CreateToken checks t and readies audit with t.PrepareCreate (EINVALID),
// then inserts both in one transaction; a name or hash already stored,
// revoked tokens' included, is ECONFLICT and writes nothing. Name, role
// and creator are kept as the store's text columns hold them (pgText).
func (s *Store) CreateToken(ctx context.Context, t cairn.APIToken, audit cairn.AuditEntry) error {
	audit, err := t.PrepareCreate(audit, s.now)
	if err != nil {
		return err
	}
	row := []any{pgText(t.Name), pgText(t.Role), t.Hash, storeutil.UnixNano(t.Created), pgText(t.CreatedBy),
		nullTime(t.LastUsed), t.Revoked}
	return s.changeToken(ctx, "create token",
		cairn.Errorf(cairn.ECONFLICT, "a token named %q exists, or its secret is taken", storeutil.Truncate(t.Name, 80)),
		audit, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, row...)
}

// RevokeToken revokes the token of the name and appends audit in the same
// transaction, as cairn.RevokeAudit readies it. A name that is not stored
// or whose token is already revoked is ENOTFOUND, and nothing is written.
func (s *Store) RevokeToken(ctx context.Context, name string, audit cairn.AuditEntry) error {
	missing := cairn.Errorf(cairn.ENOTFOUND, "no token named %q to revoke", storeutil.Truncate(name, 80))
	return s.changeToken(ctx, "revoke token", missing, cairn.RevokeAudit(audit, name),
		`UPDATE api_tokens SET revoked = true WHERE name = $1 AND NOT revoked`, pgText(name))
}

// changeToken runs query in a transaction and appends audit in the same
// one; when the query changes no row it returns unchanged and writes
// nothing.
func (s *Store) changeToken(ctx context.Context, what string, unchanged error, audit cairn.AuditEntry, query string, args ...any) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return unchanged
		}
		return s.appendAudit(ctx, tx, audit)
	})
	if err != nil && cairn.ErrorCode(err) == cairn.EINTERNAL {
		return fmt.Errorf("%s: %w", what, err)
	}
	return err
}

// TokenByHash looks the hash up among the tokens not revoked (the unique
// index on hash serves it); ENOTFOUND when none has it.
func (s *Store) TokenByHash(ctx context.Context, hash string) (cairn.APIToken, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1 AND NOT revoked`, pgText(hash))
	switch t, err := pgx.CollectExactlyOneRow(rows, scanToken); {
	case errors.Is(err, pgx.ErrNoRows):
		return t, cairn.Errorf(cairn.ENOTFOUND, "no such token")
	case err != nil:
		return t, fmt.Errorf("token by hash: %w", err)
	default:
		return t, nil
	}
}

// Tokens lists api_tokens, revoked rows too, by creation time and then
// by seq.
func (s *Store) Tokens(ctx context.Context) ([]cairn.APIToken, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created, seq`)
	out, err := pgx.CollectRows(rows, scanToken)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// scanToken reads one row of tokenColumns.
func scanToken(row pgx.CollectableRow) (cairn.APIToken, error) {
	var t cairn.APIToken
	var created int64
	var lastUsed *int64
	if err := row.Scan(&t.Name, &t.Role, &t.Hash, &created, &t.CreatedBy, &lastUsed, &t.Revoked); err != nil {
		return cairn.APIToken{}, err
	}
	t.Created, t.LastUsed = fromNull(&created), fromNull(lastUsed)
	return t, nil
}
