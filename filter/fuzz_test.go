package filter_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
)

// FuzzParse checks that Parse never panics and returns EINVALID errors,
// that the canonical text of what it accepts re-parses to the same text
// and the same matches, and that the SQL runs in SQLite and agrees with
// Match on the test events.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "=>") && !strings.HasPrefix(line, "sql=>") {
				f.Add(line)
			}
		}
	}
	f.Add("(((not a")
	f.Add(`json.value[/0/01/~0~1/] in ("x", 'y\'', 3)`)
	evs := testEvents()
	db := eventDB(f, evs)
	// PostgreSQL too when CAIRN_TEST_POSTGRES_DSN is set.
	var pg *sql.DB
	var pgEvs []*cairn.Event
	if os.Getenv("CAIRN_TEST_POSTGRES_DSN") != "" {
		pg, pgEvs = pgEventDB(f, evs)
	}
	f.Fuzz(func(t *testing.T, src string) {
		watchdog := time.AfterFunc(30*time.Second, func() { panic(fmt.Sprintf("slow input %q", src)) })
		defer watchdog.Stop()
		e, err := filter.Parse(src)
		if err != nil {
			var ce *cairn.Error
			if !errors.As(err, &ce) || ce.Code != cairn.EINVALID {
				t.Fatalf("Parse(%q) error %v is not EINVALID", src, err)
			}
			if !strings.HasPrefix(ce.Message, "col ") && !strings.HasPrefix(ce.Message, "filter too long") {
				t.Fatalf("Parse(%q) error %q has no position", src, ce.Message)
			}
			return
		}
		text := e.String()
		again, err := filter.Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): canonical text %q does not parse: %v", src, text, err)
		}
		if again.String() != text {
			t.Fatalf("Parse(%q): canonical text %q re-parses to %q", src, text, again)
		}
		mem := memIDs(e, evs)
		if got := memIDs(again, evs); !slices.Equal(got, mem) {
			t.Fatalf("%q matches %v, its canonical text %q %v", src, mem, text, got)
		}
		e.Fields()
		e.SQL(filter.Postgres, 7)
		got := sqlIDs(t, db, filter.SQLite, e)
		if e.SQLExact(filter.SQLite) && !slices.Equal(got, mem) {
			where, args := e.SQL(filter.SQLite, 1)
			t.Fatalf("%q: SQL %v, in memory %v\nSQL: %s\nargs: %#v", text, got, mem, where, args)
		}
		for _, id := range mem {
			if !slices.Contains(got, id) {
				t.Fatalf("%q: SQL %v misses %s (in memory %v)", text, got, id, mem)
			}
		}
		if pg != nil {
			mem := memIDs(e, pgEvs)
			got := sqlIDs(t, pg, filter.Postgres, e)
			if e.SQLExact(filter.Postgres) && !slices.Equal(got, mem) {
				where, args := e.SQL(filter.Postgres, 1)
				t.Fatalf("%q: PostgreSQL %v, in memory %v\nSQL: %s\nargs: %#v", text, got, mem, where, args)
			}
		}
	})
}
