package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

func TestRetentionFile(t *testing.T) {
	storetest.RunRetention(t, func(t *testing.T) cairn.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "cairn.db"))
	})
}

func TestRetentionMemory(t *testing.T) {
	storetest.RunRetention(t, func(t *testing.T) cairn.Store {
		return mustOpen(t, sqlite.Memory)
	})
}
