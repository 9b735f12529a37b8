package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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

// upsertProcessesSQL writes merged nodes, one array per column, over
// whatever is stored; new rows get their seq in the arrays' order.
const upsertProcessesSQL = `INSERT INTO processes (` + processColumns + `)
SELECT ` + processColumns + `
FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
	$8::integer[], $9::bytea[], $10::bytea[], $11::text[])
	WITH ORDINALITY AS u(` + processColumns + `, ord)
ORDER BY ord
ON CONFLICT (key) DO UPDATE SET parent_key = excluded.parent_key, host = excluded.host, pid = excluded.pid,
	start_time = excluded.start_time, exit_time = excluded.exit_time, last_seen = excluded.last_seen,
	flags = excluded.flags, event_id = excluded.event_id, container_id = excluded.container_id, doc = excluded.doc`

// lockProcesses is the advisory lock class of process keys.
const lockProcesses = "processes"

// WriteProcesses stores process nodes in one transaction. A node whose key
// is stored, or repeated earlier in nodes, is merged into it in the order
// written (see storeutil.MergeNode). A node without a key is EINVALID and
// nothing is written. The batch's keys are locked (see lockKeys) before
// the stored nodes are read, so that concurrent writers of one key merge
// in turn.
//
// Keys, parent keys and hosts are stored as JSON text holds them (invalid
// UTF-8 replaced), as the SQLite store keeps them, so that a key matches
// the exec_id of its events.
func (s *Store) WriteProcesses(ctx context.Context, nodes []cairn.ProcessNode) error {
	if len(nodes) == 0 {
		return nil
	}
	keys, index, err := storeutil.BatchKeys(nodes)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.lockKeys(ctx, tx, lockProcesses, keys); err != nil {
			return err
		}
		stored, err := storedNodes(ctx, tx, keys)
		if err != nil {
			return err
		}
		merged := storeutil.MergeBatch(keys, index, func(k string) (cairn.ProcessNode, bool) {
			st, ok := stored[k]
			return st.node, ok
		}, nodes)
		var cols processColumnsArgs
		for j := range merged {
			row, err := encodeNode(&merged[j])
			if err != nil {
				return err
			}
			if st, ok := stored[keys[j]]; ok && st.row == row {
				continue // nothing new: a re-ingest rewrites no row
			}
			cols.add(&row)
		}
		if len(cols.key) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, upsertProcessesSQL, cols.args()...)
		return err
	})
	if err != nil {
		return fmt.Errorf("write processes: %w", err)
	}
	return nil
}

// storedNode is a stored node and its row as read.
type storedNode struct {
	node cairn.ProcessNode
	row  processRow
}

// storedNodes reads the stored nodes among keys, in one query.
func storedNodes(ctx context.Context, tx pgx.Tx, keys []string) (map[string]storedNode, error) {
	list := make([][]byte, len(keys))
	for i, k := range keys {
		list[i] = []byte(k)
	}
	rows, err := tx.Query(ctx, `SELECT `+processColumns+` FROM processes WHERE key = ANY($1::bytea[])`, list)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]storedNode)
	for rows.Next() {
		var st storedNode
		var sc processScan
		if err := rows.Scan(sc.dest()...); err != nil {
			return nil, err
		}
		st.row = sc.row()
		if st.node, err = st.row.node(); err != nil {
			return nil, err
		}
		out[st.row.key] = st
	}
	return out, rows.Err()
}

// processRow is a node as the processes table holds it; "" and 0 stand
// for NULL where noted (an unknown value). It is comparable, so that an
// unchanged row is not written.
type processRow struct {
	key         string
	parentKey   string // "" for NULL
	host        string // "" for NULL
	pid         int64  // 0 for NULL
	start       int64
	exit        int64
	lastSeen    int64
	hasStart    bool
	hasExit     bool
	hasLastSeen bool
	flags       int32
	eventID     string // "" for NULL
	containerID string // "" for NULL
	doc         string
}

// processScan receives a row selected as processColumns.
type processScan struct {
	key, parentKey, host       []byte
	pid, start, exit, lastSeen *int64
	flags                      int32
	eventID, containerID       []byte
	doc                        string
}

// dest returns pointers to the scan's fields in the order of
// processColumns.
func (p *processScan) dest() []any {
	return []any{&p.key, &p.parentKey, &p.host, &p.pid, &p.start, &p.exit, &p.lastSeen, &p.flags,
		&p.eventID, &p.containerID, &p.doc}
}

// row returns the scanned row.
func (p *processScan) row() processRow {
	r := processRow{key: string(p.key), parentKey: string(p.parentKey), host: string(p.host), flags: p.flags,
		eventID: string(p.eventID), containerID: string(p.containerID), doc: p.doc}
	if p.pid != nil {
		r.pid = *p.pid
	}
	r.start, r.hasStart = deref(p.start)
	r.exit, r.hasExit = deref(p.exit)
	r.lastSeen, r.hasLastSeen = deref(p.lastSeen)
	return r
}

// deref returns *p and whether p is set.
func deref(p *int64) (int64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}

// processColumnsArgs collects rows as one array per column of
// processColumns, for upsertProcessesSQL.
type processColumnsArgs struct {
	key, parentKey, host       [][]byte
	pid, start, exit, lastSeen []*int64
	flags                      []int32
	eventID, containerID       [][]byte
	doc                        []string
}

// add appends r.
func (c *processColumnsArgs) add(r *processRow) {
	opt := func(v int64, ok bool) *int64 {
		if !ok {
			return nil
		}
		return &v
	}
	c.key = append(c.key, []byte(r.key))
	c.parentKey = append(c.parentKey, nullBytes(r.parentKey))
	c.host = append(c.host, nullBytes(r.host))
	c.pid = append(c.pid, opt(r.pid, r.pid != 0))
	c.start = append(c.start, opt(r.start, r.hasStart))
	c.exit = append(c.exit, opt(r.exit, r.hasExit))
	c.lastSeen = append(c.lastSeen, opt(r.lastSeen, r.hasLastSeen))
	c.flags = append(c.flags, r.flags)
	c.eventID = append(c.eventID, nullBytes(r.eventID))
	c.containerID = append(c.containerID, nullBytes(r.containerID))
	c.doc = append(c.doc, r.doc)
}

// args returns the arrays in the order of processColumns.
func (c *processColumnsArgs) args() []any {
	return []any{c.key, c.parentKey, c.host, c.pid, c.start, c.exit, c.lastSeen, c.flags, c.eventID, c.containerID, c.doc}
}

// nodeDoc is the part of a node kept as JSON in the doc column.
type nodeDoc struct {
	Process   cairn.Process    `json:"process"`
	Container *cairn.Container `json:"container,omitempty"`
	K8s       *cairn.K8s       `json:"k8s,omitempty"`
}

// encodeNode returns the row of n.
func encodeNode(n *cairn.ProcessNode) (processRow, error) {
	doc, err := json.Marshal(nodeDoc{Process: n.Process, Container: n.Container, K8s: n.K8s})
	if err != nil {
		return processRow{}, fmt.Errorf("process %q: %w", storeutil.Truncate(n.Key, 80), err)
	}
	r := processRow{
		key:       n.Key,
		parentKey: n.ParentKey,
		host:      n.Host,
		pid:       n.Process.PID,
		flags:     int32(n.Flags),
		eventID:   n.EventID,
		doc:       string(doc),
	}
	r.start, r.hasStart = timeOf(n.Process.StartTime)
	r.exit, r.hasExit = timeOf(n.ExitTime)
	r.lastSeen, r.hasLastSeen = timeOf(n.LastSeen)
	if n.Container != nil {
		r.containerID = storeutil.JSONText(n.Container.ID)
	}
	return r, nil
}

// timeOf returns t in unix nanoseconds and whether it is known (not zero).
func timeOf(t time.Time) (int64, bool) {
	if t.IsZero() {
		return 0, false
	}
	return storeutil.UnixNano(t), true
}

// node returns the node the row holds.
func (r *processRow) node() (cairn.ProcessNode, error) {
	var doc nodeDoc
	if err := json.Unmarshal([]byte(r.doc), &doc); err != nil {
		return cairn.ProcessNode{}, fmt.Errorf("process %q: stored document: %w", storeutil.Truncate(r.key, 80), err)
	}
	n := cairn.ProcessNode{
		Key:       r.key,
		ParentKey: r.parentKey,
		Host:      r.host,
		Process:   doc.Process,
		Container: doc.Container,
		K8s:       doc.K8s,
		Flags:     cairn.NodeFlags(r.flags),
		EventID:   r.eventID,
	}
	if r.hasExit {
		n.ExitTime = time.Unix(0, r.exit).UTC()
	}
	if r.hasLastSeen {
		n.LastSeen = time.Unix(0, r.lastSeen).UTC()
	}
	return n, nil
}
