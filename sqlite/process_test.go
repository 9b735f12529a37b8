package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// TestProcessPlans checks that the process and context reads seek the
// index made for them and never sort or scan a table.
func TestProcessPlans(t *testing.T) {
	s := mustOpen(t, sqlite.Memory)
	storetest.MustWrite(t, s, storetest.Mixed(200, storetest.Base)...)
	storetest.MustWriteProcesses(t, s, storetest.Node("a", "", 1), storetest.Node("b", "a", 2))
	keys, _ := json.Marshal([]string{"a", "b"})
	tests := []struct {
		name    string
		query   string
		args    []any
		indexes []string
		// sorts is true for the context reads, which sort each side's
		// few rows and a busy process's index entries.
		sorts bool
	}{
		{"lineage", sqlite.LineageSQL, []any{"b", 10}, []string{"sqlite_autoindex_processes_1"}, false},
		{"children", sqlite.ChildrenSQL, []any{"a", 10}, []string{"processes_children"}, false},
		{"stored nodes", sqlite.StoredNodesSQL, []any{string(keys)}, []string{"sqlite_autoindex_processes_1"}, false},
		{"before", sqlite.AroundBeforeSQL, []any{string(keys), 0, 0, 5, "c", "h"}, []string{"events_exec_id", "events_container"}, true},
		{"after", sqlite.AroundAfterSQL, []any{string(keys), 0, 0, 5, nil, nil}, []string{"events_exec_id", "events_container"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := sqlite.Plan(s, tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, index := range tt.indexes {
				if !strings.Contains(plan, "INDEX "+index+" ") {
					t.Errorf("plan does not use %s:\n%s", index, plan)
				}
			}
			if strings.Contains(plan, "SCAN events") || strings.Contains(plan, "SCAN processes") || strings.Contains(plan, "SCAN e\n") ||
				strings.Contains(plan, "SCAN p\n") || !tt.sorts && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("plan scans or sorts a table:\n%s", plan)
			}
		})
	}
}

// TestProcessesMigrateExisting applies the processes migration (and the
// ones after it) to a store made before it, whose events are kept.
func TestProcessesMigrateExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cairn.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := storetest.Tetragon(1, storetest.Base)
	storetest.MustWrite(t, s, ev)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	for _, q := range []string{`DROP TABLE processes`, `DROP TABLE detections`, `DROP TABLE detection_hits`,
		`DROP TABLE exceptions`, `DROP TABLE audit`, `DROP TABLE api_tokens`, `DROP TABLE detection_comments`, `DROP TABLE identity_status`,
		`ALTER TABLE events DROP COLUMN part`, `DELETE FROM schema_migrations WHERE version >= 2`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s = mustOpen(t, path)
	if _, err := s.GetEvent(context.Background(), ev.ID); err != nil {
		t.Errorf("event lost by the migration: %v", err)
	}
	storetest.MustWriteProcesses(t, s, storetest.Node("a", "", 1))
	if _, err := s.Process(context.Background(), "a"); err != nil {
		t.Error(err)
	}
}

// TestProcessInvalidUTF8 stores keys that are not valid UTF-8: they are
// kept as JSON text holds them, as exec ids are in the events table, and
// found by the same bytes.
func TestProcessInvalidUTF8(t *testing.T) {
	s := mustOpen(t, sqlite.Memory)
	ctx := context.Background()
	storetest.MustWriteProcesses(t, s, storetest.Node("k\xff", "p\xfe", 1), storetest.Node("p\xfe", "", 2))
	got, err := s.Lineage(ctx, "k\xff", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != "p\uFFFD" || got[1].Key != "k\uFFFD" {
		t.Errorf("lineage %q", []string{got[0].Key, got[len(got)-1].Key})
	}
	if kids, err := s.Children(ctx, "p\xfe", 0); err != nil || len(kids) != 1 {
		t.Errorf("children: %d, %v", len(kids), err)
	}
}
