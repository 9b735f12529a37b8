package storeutil

import (
	"reflect"
	"testing"
	"testing/fstest"
)

func TestMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0010_later.sql": {Data: []byte("B")},
		"migrations/0002_first.sql": {Data: []byte("A")},
		"migrations/notes.txt":      {Data: []byte("ignored")},
	}
	ms, err := Migrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []Migration{{2, "0002_first.sql", "A"}, {10, "0010_later.sql", "B"}}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("Migrations = %+v, want %+v", ms, want)
	}
	if v := SchemaVersion(fsys); v != 10 {
		t.Errorf("SchemaVersion = %d, want 10", v)
	}
	if v := SchemaVersion(fstest.MapFS{}); v != 0 {
		t.Errorf("SchemaVersion of none = %d, want 0", v)
	}
}

func TestMigrationsBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no version": {"migrations/init.sql": {}},
		"zero":       {"migrations/0000_x.sql": {}},
		"shared":     {"migrations/0001_a.sql": {}, "migrations/1_b.sql": {}},
	} {
		if _, err := Migrations(fsys); err == nil {
			t.Errorf("%s: no error", name)
		}
		if v := SchemaVersion(fsys); v != 0 {
			t.Errorf("%s: SchemaVersion = %d, want 0", name, v)
		}
	}
}
