package postgres_test

import (
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
)

func TestRetention(t *testing.T) {
	dsn := testDSN(t)
	storetest.RunRetention(t, func(t *testing.T) cairn.Store {
		return mustOpen(t, dsn, freshSchema(t, dsn))
	})
}
