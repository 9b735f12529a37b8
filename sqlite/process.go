package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

var (
	_ cairn.ProcessWriter = (*Store)(nil)
	_ cairn.ProcessReader = (*Store)(nil)
	_ cairn.ContextReader = (*Store)(nil)
)

// processColumns are the columns of the processes table in the order
// processRow scans and writes them.
const processColumns = `key, parent_key, host, pid, start_time, exit_time, last_seen, flags, event_id, container_id, doc`

// upsertProcessSQL writes one merged node over whatever is stored.
const upsertProcessSQL = `INSERT INTO processes (` + processColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET parent_key = excluded.parent_key, host = excluded.host, pid = excluded.pid,
	start_time = excluded.start_time, exit_time = excluded.exit_time, last_seen = excluded.last_seen,
	flags = excluded.flags, event_id = excluded.event_id, container_id = excluded.container_id, doc = excluded.doc`

// WriteProcesses stores process nodes in one transaction. A node whose key
// is stored, or repeated earlier in nodes, is merged into it in the order
// written (see storeutil.MergeNode). A node without a key is EINVALID and
// nothing is written.
//
// Keys, parent keys and hosts are stored as JSON text holds them (invalid
// UTF-8 replaced), as the events table stores exec ids, so that a key
// matches the exec_id of its events.
func (s *Store) WriteProcesses(ctx context.Context, nodes []cairn.ProcessNode) error {
	if len(nodes) == 0 {
		return nil
	}
	keys, index, err := storeutil.BatchKeys(nodes)
	if err != nil {
		return err
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write processes: %w", err)
	}
	defer tx.Rollback()
	stored, err := storedNodes(ctx, tx.StmtContext(ctx, s.procs.stored), keys)
	if err != nil {
		return fmt.Errorf("write processes: %w", err)
	}
	merged := storeutil.MergeBatch(keys, index, func(k string) (cairn.ProcessNode, bool) {
		st, ok := stored[k]
		return st.node, ok
	}, nodes)

	stmt := tx.StmtContext(ctx, s.procs.upsert)
	written := 0
	for j := range merged {
		row, err := encodeNode(&merged[j])
		if err != nil {
			return fmt.Errorf("write processes: %w", err)
		}
		if st, ok := stored[keys[j]]; ok && st.row == row {
			continue // nothing new: a re-ingest rewrites no row
		}
		if _, err := stmt.ExecContext(ctx, row.args()...); err != nil {
			return fmt.Errorf("write processes: %w", err)
		}
		written++
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write processes: %w", err)
	}
	// A node's row is smaller than an event's: counting each as an event
	// checkpoints a little early, which costs little.
	s.wrote(written)
	return nil
}

// storedNode is a stored node and its row as read.
type storedNode struct {
	node cairn.ProcessNode
	row  processRow
}

// storedNodesSQL reads the nodes whose keys a JSON array lists.
const storedNodesSQL = `SELECT ` + processColumns + ` FROM processes WHERE key IN (SELECT value FROM json_each(?))`

// storedNodes reads the stored nodes among keys, in one query.
func storedNodes(ctx context.Context, stmt *sql.Stmt, keys []string) (map[string]storedNode, error) {
	list, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]storedNode)
	for rows.Next() {
		var st storedNode
		if err := st.row.scan(rows); err != nil {
			return nil, err
		}
		if st.node, err = st.row.node(); err != nil {
			return nil, err
		}
		out[st.row.key] = st
	}
	return out, rows.Err()
}

// processRow is a node as the processes table holds it; NULL stands for an
// unknown value. It is comparable, so that an unchanged row is not written.
type processRow struct {
	key         string
	parentKey   sql.NullString
	host        sql.NullString
	pid         sql.NullInt64
	start       sql.NullInt64
	exit        sql.NullInt64
	lastSeen    sql.NullInt64
	flags       int64
	eventID     sql.NullString
	containerID sql.NullString
	doc         string
}

// nodeDoc is the part of a node kept as JSON in the doc column.
type nodeDoc struct {
	Process   cairn.Process    `json:"process"`
	Container *cairn.Container `json:"container,omitempty"`
	K8s       *cairn.K8s       `json:"k8s,omitempty"`
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scan reads a row selected as processColumns.
func (r *processRow) scan(sc scanner) error { return sc.Scan(r.dest()...) }

// dest returns pointers to the row's fields in the order of
// processColumns.
func (r *processRow) dest() []any {
	return []any{&r.key, &r.parentKey, &r.host, &r.pid, &r.start, &r.exit, &r.lastSeen, &r.flags,
		&r.eventID, &r.containerID, &r.doc}
}

// args returns the row's values in the order of processColumns.
func (r *processRow) args() []any {
	return []any{r.key, r.parentKey, r.host, r.pid, r.start, r.exit, r.lastSeen, r.flags,
		r.eventID, r.containerID, r.doc}
}

// encodeNode returns the row of n.
func encodeNode(n *cairn.ProcessNode) (processRow, error) {
	doc, err := json.Marshal(nodeDoc{Process: n.Process, Container: n.Container, K8s: n.K8s})
	if err != nil {
		return processRow{}, fmt.Errorf("process %q: %w", storeutil.Truncate(n.Key, 80), err)
	}
	r := processRow{
		key:       n.Key,
		parentKey: nullText(n.ParentKey),
		host:      nullText(n.Host),
		pid:       sql.NullInt64{Int64: n.Process.PID, Valid: n.Process.PID != 0},
		start:     nullTime(n.Process.StartTime),
		exit:      nullTime(n.ExitTime),
		lastSeen:  nullTime(n.LastSeen),
		flags:     int64(n.Flags),
		eventID:   nullText(n.EventID),
		doc:       string(doc),
	}
	if n.Container != nil {
		r.containerID = nullText(storeutil.JSONText(n.Container.ID))
	}
	return r, nil
}

// node returns the node the row holds.
func (r *processRow) node() (cairn.ProcessNode, error) {
	var doc nodeDoc
	if err := json.Unmarshal([]byte(r.doc), &doc); err != nil {
		return cairn.ProcessNode{}, fmt.Errorf("process %q: stored document: %w", storeutil.Truncate(r.key, 80), err)
	}
	return cairn.ProcessNode{
		Key:       r.key,
		ParentKey: r.parentKey.String,
		Host:      r.host.String,
		Process:   doc.Process,
		Container: doc.Container,
		K8s:       doc.K8s,
		Flags:     cairn.NodeFlags(r.flags),
		EventID:   r.eventID.String,
		ExitTime:  fromNull(r.exit),
		LastSeen:  fromNull(r.lastSeen),
	}, nil
}

// nullText is s, or NULL when s is empty.
func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// nullTime is t in unix nanoseconds, or NULL when t is zero.
func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: storeutil.UnixNano(t), Valid: true}
}

// fromNull is the time of unix nanoseconds n in UTC, zero for NULL.
func fromNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
