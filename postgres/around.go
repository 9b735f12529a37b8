package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

// aroundSQL selects the events of a scope on one side of an event. Each
// part of the scope is read through its own index, up to the limit, and
// the union of both is ordered before the events' rows are read.
//
// The parameters: $1 the exec ids, $2 the event's time, $3 its seq, $4
// the limit, $5 the container id or NULL, $6 the host or NULL. {cmp} is <
// or >, {dir} DESC or ASC.
var aroundSQL = `WITH hits (seq, time) AS (
	(SELECT seq, time FROM events
		WHERE exec_id = ANY($1::text[]) AND (time, seq) {cmp} ($2::bigint, $3::bigint)
		ORDER BY time {dir}, seq {dir} LIMIT $4)
	UNION
	(SELECT seq, time FROM events
		WHERE container_id = $5::text AND (time, seq) {cmp} ($2::bigint, $3::bigint) AND ($6::text IS NULL OR host = $6::text)
		ORDER BY time {dir}, seq {dir} LIMIT $4)
)
SELECT ` + prefixed("e.", eventColumns) + `
FROM hits JOIN events e ON e.seq = hits.seq
ORDER BY hits.time {dir}, hits.seq {dir} LIMIT $4`

// The two statements of EventsAround, made from aroundSQL once.
var (
	aroundBeforeSQL = strings.NewReplacer("{cmp}", "<", "{dir}", "DESC").Replace(aroundSQL)
	aroundAfterSQL  = strings.NewReplacer("{cmp}", ">", "{dir}", "ASC").Replace(aroundSQL)
)

// prefixed returns the comma-separated columns cols, each with prefix p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
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
	err = s.pool.QueryRow(ctx, `SELECT seq, time FROM events WHERE id = $1`, []byte(ev.ID)).Scan(&at.Seq, &at.Time)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, cairn.Errorf(cairn.ENOTFOUND, "event %q not found", storeutil.Truncate(ev.ID, 80))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("events around: %w", err)
	}
	// The exec_id column holds the text as pgText gives it.
	keys := make([]string, len(scope.ProcessKeys))
	for i, k := range scope.ProcessKeys {
		keys[i] = pgText(k)
	}
	var container, host *string
	if scope.ContainerID != "" && scope.ContainerID != "host" {
		container, host = nullText(scope.ContainerID), nullText(scope.Host)
	}
	args := []any{keys, at.Time, at.Seq, 0, container, host}
	if before > 0 {
		args[3] = before
		if pre, err = s.around(ctx, aroundBeforeSQL, args); err != nil {
			return nil, nil, err
		}
		slices.Reverse(pre)
	}
	if after > 0 {
		args[3] = after
		if post, err = s.around(ctx, aroundAfterSQL, args); err != nil {
			return nil, nil, err
		}
	}
	return pre, post, nil
}

// around runs one side of EventsAround and rebuilds its events.
func (s *Store) around(ctx context.Context, sql string, args []any) ([]cairn.Event, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("events around: %w", err)
	}
	defer rows.Close()
	var out []cairn.Event
	for rows.Next() {
		var row storedRow
		if err := rows.Scan(row.dest()...); err != nil {
			return nil, fmt.Errorf("events around: %w", err)
		}
		out = append(out, s.rebuild(&row))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events around: %w", err)
	}
	return out, nil
}
