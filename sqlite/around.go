package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// aroundSQL selects the events of a scope on one side of an event. Each
// part of the scope is read through its own index, up to the limit, and
// the union of both is ordered before the events' rows are read. The
// processes' part reads only index entries, but all of them on that side
// of the event (sorted to keep the nearest: an index range per exec id
// cannot be merged in time order); the container's part reads its index
// in time order, and the rows too when a host is given. INDEXED BY keeps
// the planner from walking events_time over the whole table instead.
//
// The parameters: ?1 the JSON array of exec ids, ?2 the event's time,
// ?3 its seq, ?4 the limit, ?5 the container id or NULL, ?6 the host or
// NULL. {cmp} is < or >, {dir} DESC or ASC.
const aroundSQL = `WITH hits (seq, time) AS (
	SELECT seq, time FROM (SELECT seq, time FROM events INDEXED BY events_exec_id
		WHERE exec_id IN (SELECT value FROM json_each(?1)) AND time {cmp}= ?2 AND (time {cmp} ?2 OR seq {cmp} ?3)
		ORDER BY time {dir}, seq {dir} LIMIT ?4)
	UNION
	SELECT seq, time FROM (SELECT seq, time FROM events INDEXED BY events_container
		WHERE container_id = ?5 AND time {cmp}= ?2 AND (time {cmp} ?2 OR seq {cmp} ?3) AND (?6 IS NULL OR host = ?6)
		ORDER BY time {dir}, seq {dir} LIMIT ?4)
)
SELECT e.seq, e.time, e.id, e.source, e.kind, e.type, e.host, e.raw
FROM hits JOIN events e ON e.seq = hits.seq
ORDER BY hits.time {dir}, hits.seq {dir} LIMIT ?4`

// The two statements of EventsAround, made from aroundSQL once.
var (
	aroundBeforeSQL = fillSQL(aroundSQL, "<", "DESC")
	aroundAfterSQL  = fillSQL(aroundSQL, ">", "ASC")
)

// fillSQL replaces the placeholders of aroundSQL with fixed SQL text.
func fillSQL(q, cmp, dir string) string {
	return strings.NewReplacer("{cmp}", cmp, "{dir}", dir).Replace(q)
}

// EventsAround returns up to before events of the scope that precede ev
// and up to after events that follow it, in (time, insertion) order, both
// oldest first; ev itself is in neither. The scope's events are those
// whose exec id is one of scope.ProcessKeys, and, when scope.ContainerID
// is neither "" nor "host", those of that container (on scope.Host when it
// is set). ev is found by its id: ENOTFOUND when it is not stored.
// Negative counts are EINVALID; counts above MaxLimit are capped.
func (s *Store) EventsAround(ctx context.Context, ev cairn.Event, scope cairn.Scope, before, after int) (pre, post []cairn.Event, err error) {
	if before < 0 || after < 0 {
		return nil, nil, cairn.Errorf(cairn.EINVALID, "before and after must not be negative, got %d and %d", before, after)
	}
	before, after = min(before, MaxLimit), min(after, MaxLimit)
	var at storeutil.Cursor
	err = s.r.QueryRowContext(ctx, `SELECT seq, time FROM events WHERE id = ?`, ev.ID).Scan(&at.Seq, &at.Time)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, cairn.Errorf(cairn.ENOTFOUND, "event %q not found", storeutil.Truncate(ev.ID, 80))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("events around: %w", err)
	}
	keys := scope.ProcessKeys
	if keys == nil {
		keys = []string{}
	}
	// encoding/json writes invalid UTF-8 as the exec_id column holds it.
	list, err := json.Marshal(keys)
	if err != nil {
		return nil, nil, fmt.Errorf("events around: %w", err)
	}
	var container, host sql.NullString
	if scope.ContainerID != "" && scope.ContainerID != "host" {
		container = nullText(storeutil.JSONText(scope.ContainerID))
		host = nullText(storeutil.JSONText(scope.Host))
	}
	args := []any{string(list), at.Time, at.Seq, 0, container, host}
	if before > 0 {
		args[3] = before
		if pre, err = s.around(ctx, s.procs.before, args); err != nil {
			return nil, nil, err
		}
		slices.Reverse(pre)
	}
	if after > 0 {
		args[3] = after
		if post, err = s.around(ctx, s.procs.after, args); err != nil {
			return nil, nil, err
		}
	}
	return pre, post, nil
}

// around runs one side of EventsAround and rebuilds its events.
func (s *Store) around(ctx context.Context, stmt *sql.Stmt, args []any) ([]cairn.Event, error) {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("events around: %w", err)
	}
	defer rows.Close()
	var out []cairn.Event
	for rows.Next() {
		var row storedRow
		var seq int64
		if err := rows.Scan(&seq, &row.unixNano, &row.id, &row.source, &row.kind, &row.typ, &row.host, &row.raw); err != nil {
			return nil, fmt.Errorf("events around: %w", err)
		}
		out = append(out, s.rebuild(row))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events around: %w", err)
	}
	return out, nil
}
