package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// MaxLineage caps the nodes Lineage returns; it is also what max 0
// means.
const MaxLineage = 1024

// Process returns the node with the key, or ENOTFOUND.
func (s *Store) Process(ctx context.Context, key string) (cairn.ProcessNode, error) {
	var sc processScan
	err := s.pool.QueryRow(ctx, `SELECT `+processColumns+` FROM processes WHERE key = $1`, []byte(storeutil.JSONText(key))).
		Scan(sc.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return cairn.ProcessNode{}, cairn.Errorf(cairn.ENOTFOUND, "process %q not found", storeutil.Truncate(key, 80))
	}
	if err != nil {
		return cairn.ProcessNode{}, fmt.Errorf("process: %w", err)
	}
	r := sc.row()
	n, err := r.node()
	if err != nil {
		return cairn.ProcessNode{}, fmt.Errorf("process: %w", err)
	}
	return n, nil
}

// lineageSQL walks up from a node through parent_key, one primary-key
// lookup per level, for at most $2 levels. path holds the keys walked, so
// that a chain that loops stops before it would repeat a node: the last
// row's parent is then in the chain.
const lineageSQL = `WITH RECURSIVE chain (depth, path, ` + processColumns + `) AS (
	SELECT 0, ARRAY[key], ` + processColumns + ` FROM processes WHERE key = $1
	UNION ALL
	SELECT c.depth + 1, c.path || p.key, p.key, p.parent_key, p.host, p.pid, p.start_time, p.exit_time, p.last_seen,
		p.flags, p.event_id, p.container_id, p.doc
	FROM chain c JOIN processes p ON p.key = c.parent_key
	WHERE c.depth + 1 < $2 AND NOT p.key = ANY(c.path)
)
SELECT ` + processColumns + ` FROM chain ORDER BY depth`

// Lineage returns the node and its ancestors, root first and the node
// last, at most max of them (the nearest); max 0 means MaxLineage, and
// larger values are capped at it. The chain ends at a node without a
// parent or whose parent is not stored. A chain that loops is cut at the
// node whose parent is already in it, and that node gets FlagLoop.
// ENOTFOUND when key is not stored; EINVALID for a negative max.
func (s *Store) Lineage(ctx context.Context, key string, max int) ([]cairn.ProcessNode, error) {
	switch {
	case max < 0:
		return nil, cairn.Errorf(cairn.EINVALID, "max must not be negative, got %d", max)
	case max == 0 || max > MaxLineage:
		max = MaxLineage
	}
	rows, err := s.pool.Query(ctx, lineageSQL, []byte(storeutil.JSONText(key)), max)
	if err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	chain, err := scanNodes(rows)
	if err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	if len(chain) == 0 {
		return nil, cairn.Errorf(cairn.ENOTFOUND, "process %q not found", storeutil.Truncate(key, 80))
	}
	seen := make(map[string]bool, len(chain))
	for _, n := range chain {
		seen[n.Key] = true
	}
	if top := &chain[len(chain)-1]; top.ParentKey != "" && seen[top.ParentKey] {
		top.Flags |= cairn.FlagLoop
	}
	slices.Reverse(chain)
	return chain, nil
}

// Children returns up to limit nodes whose parent is key, oldest first:
// by start time, those without one last, then in the order they were
// first stored. limit 0 means DefaultLimit and is capped at MaxLimit; a
// negative limit is EINVALID. A node that is its own parent is among its
// children.
func (s *Store) Children(ctx context.Context, key string, limit int) ([]cairn.ProcessNode, error) {
	limit, err := storeutil.PageLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+processColumns+` FROM processes WHERE parent_key = $1
ORDER BY coalesce(start_time, 9223372036854775807), seq LIMIT $2`, []byte(storeutil.JSONText(key)), limit)
	if err != nil {
		return nil, fmt.Errorf("children: %w", err)
	}
	out, err := scanNodes(rows)
	if err != nil {
		return nil, fmt.Errorf("children: %w", err)
	}
	return out, nil
}

// scanNodes reads the nodes of rows selected as processColumns and closes
// rows.
func scanNodes(rows pgx.Rows) ([]cairn.ProcessNode, error) {
	defer rows.Close()
	var out []cairn.ProcessNode
	for rows.Next() {
		var sc processScan
		if err := rows.Scan(sc.dest()...); err != nil {
			return nil, err
		}
		r := sc.row()
		n, err := r.node()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
