package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// insertChunk is the number of events one INSERT statement writes.
const insertChunk = 1000

// insertEventsSQL inserts a chunk of events given as one array per column
// (the hot columns follow storeutil.HotColumnDefs; part is
// cairn.PartitionHash) and returns the source and kind of each row it
// inserted; an id already stored is skipped.
const insertEventsSQL = `INSERT INTO events (seq, id, time, source, kind,
	type, host, exec_id, parent_exec_id, container_id, k8s_cluster, k8s_ns, k8s_pod, identity, ct_name,
	fields, raw_json, raw, exact, part)
SELECT u.seq, u.id, u.time, u.source, u.kind,
	u.type, u.host, u.exec_id, u.parent_exec_id, u.container_id, u.k8s_cluster, u.k8s_ns, u.k8s_pod, u.identity, u.ct_name,
	u.fields::jsonb, u.raw_json, u.raw, u.exact, u.part
FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::text[], $5::text[],
	$6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
	$16::text[], $17::text[], $18::bytea[], $19::text[], $20::bigint[])
	WITH ORDINALITY AS u(seq, id, time, source, kind,
	type, host, exec_id, parent_exec_id, container_id, k8s_cluster, k8s_ns, k8s_pod, identity, ct_name,
	fields, raw_json, raw, exact, part, ord)
ORDER BY u.ord
ON CONFLICT (id) DO NOTHING
RETURNING source, kind`

// eventRow is an event encoded for the events table.
type eventRow struct {
	id           []byte
	time         int64
	source, kind string
	hot          []*string // one per storeutil.HotColumnDefs
	fields       string
	rawJSON      *string
	raw          []byte
	exact        *string
	part         int64 // cairn.PartitionHash
}

// WriteEvents stores events in one transaction. An event whose id is
// already stored, or repeated earlier in events, is counted as a duplicate
// and changes nothing. An event without an id is EINVALID and nothing is
// written.
//
// The batch's seqs are reserved first and given in the batch's order, so
// that events of the same time keep it; the rows are then inserted in id
// order, so that two writers of overlapping batches wait for each other
// in one order only and never deadlock.
func (s *Store) WriteEvents(ctx context.Context, events []cairn.Event) (cairn.WriteResult, error) {
	if len(events) == 0 {
		return cairn.WriteResult{}, nil
	}
	for i := range events {
		if events[i].ID == "" {
			return cairn.WriteResult{}, cairn.Errorf(cairn.EINVALID, "event %d of %d has no id", i+1, len(events))
		}
	}
	rows, err := s.encodeEvents(events)
	if err != nil {
		return cairn.WriteResult{}, err
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(events[a].ID, events[b].ID) })

	var res cairn.WriteResult
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		res = cairn.WriteResult{}
		seqs, err := reserveSeqs(ctx, tx, len(rows))
		if err != nil {
			return err
		}
		counts := map[cairn.Count]int{}
		for start := 0; start < len(order); start += insertChunk {
			chunk := order[start:min(start+insertChunk, len(order))]
			if err := insertEvents(ctx, tx, rows, seqs, chunk, counts); err != nil {
				return err
			}
		}
		for _, n := range counts {
			res.Inserted += n
		}
		res.Duplicates = len(rows) - res.Inserted
		return addCounts(ctx, tx, counts)
	})
	if err != nil {
		return cairn.WriteResult{}, fmt.Errorf("write events: %w", err)
	}
	return res, nil
}

// reserveSeqs returns n new seqs of the events table, ascending.
func reserveSeqs(ctx context.Context, tx pgx.Tx, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT nextval('events_seq') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, err
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	slices.Sort(seqs)
	return seqs, nil
}

// insertEvents inserts rows[i] for each i of chunk, with seq seqs[i], and
// counts the inserted rows by source and kind.
func insertEvents(ctx context.Context, tx pgx.Tx, rows []eventRow, seqs []int64, chunk []int, counts map[cairn.Count]int) error {
	n := len(chunk)
	seq, times := make([]int64, n), make([]int64, n)
	ids, raws := make([][]byte, n), make([][]byte, n)
	sources, kinds, fields := make([]string, n), make([]string, n), make([]string, n)
	rawJSONs, exacts := make([]*string, n), make([]*string, n)
	partHashes := make([]int64, n)
	hot := make([][]*string, len(storeutil.HotColumnDefs))
	for c := range hot {
		hot[c] = make([]*string, n)
	}
	for j, i := range chunk {
		r := &rows[i]
		seq[j], ids[j], times[j], sources[j], kinds[j] = seqs[i], r.id, r.time, r.source, r.kind
		for c := range hot {
			hot[c][j] = r.hot[c]
		}
		fields[j], rawJSONs[j], raws[j], exacts[j] = r.fields, r.rawJSON, r.raw, r.exact
		partHashes[j] = r.part
	}
	args := []any{seq, ids, times, sources, kinds}
	for c := range hot {
		args = append(args, hot[c])
	}
	args = append(args, fields, rawJSONs, raws, exacts, partHashes)
	res, err := tx.Query(ctx, insertEventsSQL, args...)
	if err != nil {
		return err
	}
	defer res.Close()
	for res.Next() {
		var c cairn.Count
		if err := res.Scan(&c.Source, &c.Kind); err != nil {
			return err
		}
		counts[c]++
	}
	return res.Err()
}

// addCounts adds the inserted events to event_counts, in a fixed order
// so that concurrent writers lock the rows in the same order.
func addCounts(ctx context.Context, tx pgx.Tx, counts map[cairn.Count]int) error {
	if len(counts) == 0 {
		return nil
	}
	keys := make([]cairn.Count, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b cairn.Count) int {
		return cmp.Or(strings.Compare(string(a.Source), string(b.Source)), strings.Compare(string(a.Kind), string(b.Kind)))
	})
	sources, kinds, ns := make([]string, len(keys)), make([]string, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		sources[i], kinds[i], ns[i] = string(k.Source), string(k.Kind), int64(counts[k])
	}
	_, err := tx.Exec(ctx, `INSERT INTO event_counts (source, kind, n)
SELECT source, kind, n FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u(source, kind, n, ord) ORDER BY ord
ON CONFLICT (source, kind) DO UPDATE SET n = event_counts.n + excluded.n`, sources, kinds, ns)
	if err != nil {
		return fmt.Errorf("count: %w", err)
	}
	return nil
}

// encodeEvents encodes events, on several goroutines for a large batch.
func (s *Store) encodeEvents(events []cairn.Event) ([]eventRow, error) {
	rows := make([]eventRow, len(events))
	const per = 256
	parts := (len(events) + per - 1) / per
	errs := make([]error, parts)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for p := range parts {
		work := func() {
			var buf []byte
			for i := p * per; i < min((p+1)*per, len(events)); i++ {
				if buf, errs[p] = s.encodeEvent(&events[i], &rows[i], buf); errs[p] != nil {
					return
				}
			}
		}
		if parts == 1 {
			work() // a small batch is not worth a goroutine
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			work()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// encodeEvent fills r from ev; buf is scratch space, returned for reuse.
func (s *Store) encodeEvent(ev *cairn.Event, r *eventRow, buf []byte) ([]byte, error) {
	// Flatten may cache the parsed raw record on the event: a copy keeps
	// the caller's events untouched.
	cp := *ev
	ev = &cp
	flat := field.Flatten(ev)
	r.id, r.time, r.part = []byte(ev.ID), storeutil.UnixNano(ev.Time), int64(cairn.PartitionHash(ev))
	r.source, r.kind = pgText(string(ev.Source)), pgText(string(ev.Kind))
	r.hot = columnValues(s.cols, ev, flat, make([]*string, 0, len(storeutil.HotColumnDefs)))
	// Fields with a column of their own are read from it, never from the
	// JSON: leave them out of it.
	for _, name := range s.cols.Stored {
		delete(flat, name)
	}
	var err error
	if buf, err = jsonWriter.AppendFields(buf[:0], flat); err != nil {
		return buf, cairn.Errorf(cairn.EINVALID, "event %q: fields: %v", storeutil.Truncate(ev.ID, 80), err)
	}
	r.fields = string(buf)

	raw := []byte(ev.Raw)
	if len(raw) == 0 {
		// An event made without a record (by cairn itself) is kept as its
		// native record, so that it is rebuilt whole.
		if raw, err = json.Marshal(ev); err != nil {
			return buf, cairn.Errorf(cairn.EINVALID, "event %q: %v", storeutil.Truncate(ev.ID, 80), err)
		}
	}
	text, ok, exact := rawJSON(raw)
	if ok {
		r.rawJSON = &text
	}
	if !exact {
		r.raw = raw
	}
	// A NUL in the text the rebuild of an undecodable record needs is kept
	// on the side (invalid UTF-8 is replaced, as the SQLite store does).
	if strings.IndexByte(string(ev.Source)+string(ev.Kind)+ev.Type+ev.Host, 0) >= 0 {
		b, err := json.Marshal(exactText{Source: string(ev.Source), Kind: string(ev.Kind), Type: ev.Type, Host: ev.Host})
		if err != nil {
			return buf, cairn.Errorf(cairn.EINVALID, "event %q: %v", storeutil.Truncate(ev.ID, 80), err)
		}
		t := string(b)
		r.exact = &t
	}
	return buf, nil
}

// exactText is the exact column: the text an event whose record no longer
// decodes is rebuilt with, when a text column could not hold it.
type exactText struct {
	Source string `json:"source"`
	Kind   string `json:"kind"`
	Type   string `json:"type,omitempty"`
	Host   string `json:"host,omitempty"`
}

// WriteDeadLetters stores dead letters; one already stored (same origin,
// position and bytes) is kept once. A dead letter without a time gets the
// store's clock. Origin, position, format and reason are text (see
// pgText); the record is kept byte for byte.
func (s *Store) WriteDeadLetters(ctx context.Context, letters []cairn.DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	now := s.now()
	n := len(letters)
	ids, times := make([]string, n), make([]int64, n)
	origins, positions, formats, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	raws := make([][]byte, n)
	for i, d := range letters {
		t := d.Time
		if t.IsZero() {
			t = now
		}
		raw := d.Raw
		if raw == nil {
			raw = []byte{}
		}
		ids[i], times[i], raws[i] = storeutil.DeadLetterID(d), storeutil.UnixNano(t), raw
		origins[i], positions[i], formats[i], reasons[i] = pgText(d.Origin), pgText(d.Position), pgText(d.Format), pgText(d.Reason)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO dead_letters (id, time, origin, position, format, reason, raw)
SELECT id, time, origin, position, format, reason, raw
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[])
	WITH ORDINALITY AS u(id, time, origin, position, format, reason, raw, ord)
ORDER BY ord
ON CONFLICT (id) DO NOTHING`, ids, times, origins, positions, formats, reasons, raws)
		return err
	})
	if err != nil {
		return fmt.Errorf("write dead letters: %w", err)
	}
	return nil
}
