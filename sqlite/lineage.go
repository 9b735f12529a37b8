package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// MaxLineage caps the nodes Lineage returns; it is also what max 0
// means.
const MaxLineage = 1024

// processSQL reads one node.
const processSQL = `SELECT ` + processColumns + ` FROM processes WHERE key = ?`

// Process returns the node with the key, or ENOTFOUND.
func (s *Store) Process(ctx context.Context, key string) (cairn.ProcessNode, error) {
	var r processRow
	err := r.scan(s.procs.process.QueryRowContext(ctx, storeutil.JSONText(key)))
	if errors.Is(err, sql.ErrNoRows) {
		return cairn.ProcessNode{}, cairn.Errorf(cairn.ENOTFOUND, "process %q not found", storeutil.Truncate(key, 80))
	}
	if err != nil {
		return cairn.ProcessNode{}, fmt.Errorf("process: %w", err)
	}
	n, err := r.node()
	if err != nil {
		return cairn.ProcessNode{}, fmt.Errorf("process: %w", err)
	}
	return n, nil
}

// lineageSQL walks up from a node through parent_key, one primary-key
// seek per level, for at most ?2 levels. A recursive CTE without ORDER BY
// runs its queue first in, first out, so rows come nearest first and are
// computed only as they are read: a loop costs no more than the rows read
// before it is seen.
const lineageSQL = `WITH RECURSIVE chain (depth, ` + processColumns + `) AS (
	SELECT 0, ` + processColumns + ` FROM processes WHERE key = ?1
	UNION ALL
	SELECT c.depth + 1, p.key, p.parent_key, p.host, p.pid, p.start_time, p.exit_time, p.last_seen, p.flags,
		p.event_id, p.container_id, p.doc
	FROM chain c JOIN processes p ON p.key = c.parent_key
	WHERE c.depth + 1 < ?2
)
SELECT ` + processColumns + ` FROM chain`

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
	rows, err := s.procs.lineage.QueryContext(ctx, storeutil.JSONText(key), max)
	if err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	defer rows.Close()
	var chain []cairn.ProcessNode
	seen := make(map[string]bool)
	for rows.Next() {
		var r processRow
		if err := r.scan(rows); err != nil {
			return nil, fmt.Errorf("lineage: %w", err)
		}
		if seen[r.key] {
			break // the rest repeats the loop
		}
		n, err := r.node()
		if err != nil {
			return nil, fmt.Errorf("lineage: %w", err)
		}
		seen[n.Key] = true
		chain = append(chain, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	if len(chain) == 0 {
		return nil, cairn.Errorf(cairn.ENOTFOUND, "process %q not found", storeutil.Truncate(key, 80))
	}
	if top := &chain[len(chain)-1]; seen[top.ParentKey] {
		top.Flags |= cairn.FlagLoop
	}
	slices.Reverse(chain)
	return chain, nil
}

// childrenSQL reads a node's children in the order of the
// processes_children index, which it uses to read no more than the limit.
const childrenSQL = `SELECT ` + processColumns + ` FROM processes WHERE parent_key = ?
ORDER BY ifnull(start_time, 9223372036854775807), rowid LIMIT ?`

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
	rows, err := s.procs.children.QueryContext(ctx, storeutil.JSONText(key), limit)
	if err != nil {
		return nil, fmt.Errorf("children: %w", err)
	}
	defer rows.Close()
	var out []cairn.ProcessNode
	for rows.Next() {
		var r processRow
		if err := r.scan(rows); err != nil {
			return nil, fmt.Errorf("children: %w", err)
		}
		n, err := r.node()
		if err != nil {
			return nil, fmt.Errorf("children: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("children: %w", err)
	}
	return out, nil
}
