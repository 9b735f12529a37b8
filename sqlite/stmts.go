package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// processStmts are the prepared statements of the process and context
// reads and writes. SQLite parses a recursive CTE or a union in about as
// long as it runs it, so each is parsed once per connection.
type processStmts struct {
	// On the writer, used within write transactions.
	stored, upsert *sql.Stmt
	// On the readers.
	process, lineage, children, before, after *sql.Stmt
}

// prepare prepares the statements: w's on the writer, the reads on r.
func (p *processStmts) prepare(ctx context.Context, w, r *sql.DB) error {
	for _, st := range []struct {
		db    *sql.DB
		query string
		stmt  **sql.Stmt
	}{
		{w, storedNodesSQL, &p.stored},
		{w, upsertProcessSQL, &p.upsert},
		{r, processSQL, &p.process},
		{r, lineageSQL, &p.lineage},
		{r, childrenSQL, &p.children},
		{r, aroundBeforeSQL, &p.before},
		{r, aroundAfterSQL, &p.after},
	} {
		var err error
		if *st.stmt, err = st.db.PrepareContext(ctx, st.query); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	return nil
}

// close closes the statements prepared.
func (p *processStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{p.stored, p.upsert, p.process, p.lineage, p.children, p.before, p.after} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
