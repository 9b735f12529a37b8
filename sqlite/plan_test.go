package sqlite_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// TestQueryPlans checks that the feed's common queries use the index made
// for them and never sort the table.
func TestQueryPlans(t *testing.T) {
	s := mustOpen(t, sqlite.Memory)
	storetest.MustWrite(t, s, storetest.Mixed(200, storetest.Base)...)
	cursor := storetest.MustQuery(t, s, cairn.EventQuery{Limit: 5}).Next
	tests := []struct {
		name  string
		q     cairn.EventQuery
		index string
	}{
		{"feed", cairn.EventQuery{}, "events_time"},
		{"feed oldest", cairn.EventQuery{Oldest: true}, "events_time"},
		{"feed page 2", cairn.EventQuery{Cursor: cursor}, "events_time"},
		{"time range", cairn.EventQuery{Since: storetest.Base, Until: storetest.Base.Add(time.Hour)}, "events_time"},
		{"exec id", cairn.EventQuery{Filter: `proc.exec_id = "x"`}, "events_exec_id"},
		{"parent exec id", cairn.EventQuery{Filter: `proc.pexec_id = "x"`}, "events_parent_exec_id"},
		{"container", cairn.EventQuery{Filter: `container.id = "abc"`}, "events_container"},
		{"cluster", cairn.EventQuery{Filter: `k8s.cluster.name = prod`}, "events_k8s_cluster"},
		{"namespace", cairn.EventQuery{Filter: `k8s.ns.name = payments`}, "events_k8s_ns"},
		{"namespaces", cairn.EventQuery{Filter: `k8s.ns.name in (a, b)`}, "events_k8s_ns"},
		{"pod", cairn.EventQuery{Filter: `k8s.pod.name = p`}, "events_k8s_pod"},
		{"identity", cairn.EventQuery{Filter: `cloud.identity = "arn:aws:iam::1:user/x"`}, "events_identity"},
		{"call", cairn.EventQuery{Filter: `ct.name = StopLogging`}, "events_ct_name"},
		{"call and more", cairn.EventQuery{Filter: `ct.name = StopLogging and ct.srcip startswith "34."`}, "events_ct_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := sqlite.QueryPlan(s, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, "INDEX "+tt.index+" ") && !strings.HasSuffix(strings.TrimSpace(plan), "INDEX "+tt.index) {
				t.Errorf("plan does not use %s:\n%s", tt.index, plan)
			}
			if strings.Contains(plan, "TEMP B-TREE") && !strings.Contains(tt.name, "namespaces") {
				t.Errorf("plan sorts:\n%s", plan)
			}
		})
	}
}
