package sqlite

import (
	"strings"

	"github.com/cairn-cdr/cairn"
)

// QueryPlan returns SQLite's plan for the SQL of q, one line per step.
func QueryPlan(s *Store, q cairn.EventQuery) (string, error) {
	eq, err := s.buildQuery(q)
	if err != nil {
		return "", err
	}
	return Plan(s, eq.sql, eq.args...)
}

// The SQL of the process and context reads, for plan tests.
const (
	LineageSQL     = lineageSQL
	ChildrenSQL    = childrenSQL
	StoredNodesSQL = storedNodesSQL
)

// The two sides of EventsAround, for plan tests.
var (
	AroundBeforeSQL = aroundBeforeSQL
	AroundAfterSQL  = aroundAfterSQL
)

// Plan returns SQLite's plan for query with args, one line per step.
func Plan(s *Store, query string, args ...any) (string, error) {
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		b.WriteString(detail + "\n")
	}
	return b.String(), rows.Err()
}

// The SQL of the partition reads, for plan tests.
const (
	LatestPartitionSQL = latestPartitionSQL
	ScanPartitionSQL   = scanPartitionSQL
)
