package filter_test

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/filter"
)

// scriptCase is one case of a testdata script: a filter and either the ids
// of the events it matches or the error it gives.
type scriptCase struct {
	pos    string // file:line of the filter
	src    string
	ids    []string
	errMsg string
	// sqlIDs, when not nil, are the ids SQL selects for a filter that
	// SQL cannot decide exactly (a superset of ids).
	sqlIDs []string
}

// loadScripts reads testdata/*.txt. Each case is a filter on one line
// followed by a line "=> id id ..." (the events it matches, in any order;
// nothing for none) or "=> error: message" (the exact error). A filter
// whose SQL selects a superset (see Expr.SQLExact) is followed by a line
// "sql=> id id ..." with what SQL selects ("sql=> *" for every event);
// without it SQL must select exactly the ids. Blank lines and lines starting with # are ignored.
func loadScripts(t *testing.T) []scriptCase {
	t.Helper()
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	var cases []scriptCase
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		line := 0
		var cur *scriptCase
		for sc.Scan() {
			line++
			text := sc.Text()
			switch {
			case strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#"):
			case strings.HasPrefix(text, "sql=>"):
				if len(cases) == 0 || cur != nil {
					t.Fatalf("%s:%d: sql=> must follow a => line", name, line)
				}
				cases[len(cases)-1].sqlIDs = strings.Fields(strings.TrimPrefix(text, "sql=>"))
			case strings.HasPrefix(text, "=>"):
				if cur == nil {
					t.Fatalf("%s:%d: => without a filter", name, line)
				}
				want := strings.TrimSpace(strings.TrimPrefix(text, "=>"))
				if msg, ok := strings.CutPrefix(want, "error: "); ok {
					cur.errMsg = msg
				} else {
					cur.ids = strings.Fields(want)
				}
				cases = append(cases, *cur)
				cur = nil
			default:
				if cur != nil {
					t.Fatalf("%s:%d: filter without =>", name, line-1)
				}
				cur = &scriptCase{pos: name + ":" + strconv.Itoa(line), src: text}
			}
		}
		f.Close()
		if cur != nil {
			t.Fatalf("%s: last filter has no =>", name)
		}
	}
	return cases
}

// eventDB is an SQLite events table filled from the test events as the
// store fills it: fields is json.Marshal(field.Flatten(ev)), raw the
// record bytes.
func eventDB(t testing.TB, evs []*cairn.Event) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE events(id TEXT PRIMARY KEY, fields TEXT, raw BLOB)`); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		fields, err := json.Marshal(field.Flatten(ev))
		if err != nil {
			t.Fatal(err)
		}
		var raw []byte
		if ev.Raw != nil {
			raw = []byte(ev.Raw)
		}
		if _, err := db.Exec(`INSERT INTO events(id, fields, raw) VALUES (?, ?, ?)`, ev.ID, string(fields), raw); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// memIDs returns the ids of the events e matches, sorted.
func memIDs(e *filter.Expr, evs []*cairn.Event) []string {
	var ids []string
	for _, ev := range evs {
		if e.Match(ev) {
			ids = append(ids, ev.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// sqlIDs runs e's SQL and returns the matching ids, sorted. One argument
// is placed before the filter's, to check the placeholder numbering.
func sqlIDs(t testing.TB, db *sql.DB, d filter.Dialect, e *filter.Expr) []string {
	t.Helper()
	where, args := e.SQL(d, 1)
	first := "?1"
	if d.Name == "postgres" {
		first = "$1::text"
	}
	q := "SELECT id FROM events WHERE id <> " + first + " AND " + where + " ORDER BY id"
	rows, err := db.Query(q, append([]any{"no such id"}, args...)...)
	if err != nil {
		t.Fatalf("filter %q: %v\nSQL: %s\nargs: %#v", e, err, where, args)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("filter %q: %v\nSQL: %s", e, err, where)
	}
	slices.Sort(ids)
	return ids
}

// checkSQL checks that SQL selects what Match accepts (mem), or exactly
// want when not nil; want must be a superset of mem, and can only differ
// when the filter says SQL cannot decide some comparison.
func checkSQL(t *testing.T, pos string, db *sql.DB, d filter.Dialect, e *filter.Expr, mem, want []string) {
	t.Helper()
	got := sqlIDs(t, db, d, e)
	if want != nil {
		want = slices.Clone(want)
		slices.Sort(want)
		if e.SQLExact(d) {
			t.Errorf("%s: %q: has sql=> but SQLExact is true", pos, e)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q: SQL matches %v, want %v", pos, e, got, want)
		}
	}
	if want != nil || !e.SQLExact(d) {
		// A superset in any case.
		for _, id := range mem {
			if !slices.Contains(got, id) {
				t.Errorf("%s: %q: SQL (inexact) misses %s: got %v, in memory %v", pos, e, id, got, mem)
			}
		}
	}
	if want == nil && !e.SQLExact(d) && !slices.Equal(got, mem) {
		t.Errorf("%s: %q: inexact SQL matches %v, in memory %v; add a sql=> line if this is right", pos, e, got, mem)
	}
	if e.SQLExact(d) {
		if !slices.Equal(got, mem) {
			where, args := e.SQL(d, 1)
			t.Errorf("%s: %q: SQL matches %v, in memory %v\nSQL: %s\nargs: %#v", pos, e, got, mem, where, args)
		}
		return
	}
	for _, id := range mem {
		if !slices.Contains(got, id) {
			t.Errorf("%s: %q: SQL (inexact) misses %s: got %v, in memory %v", pos, e, id, got, mem)
		}
	}
}

// checkSuperset is checkSQL for the negation of a case: exact when
// SQLExact, a superset otherwise.
func checkSuperset(t *testing.T, pos string, db *sql.DB, d filter.Dialect, e *filter.Expr, mem []string) {
	t.Helper()
	got := sqlIDs(t, db, d, e)
	for _, id := range mem {
		if !slices.Contains(got, id) {
			t.Errorf("%s: %q: SQL misses %s: got %v, in memory %v", pos, e, id, got, mem)
		}
	}
	if e.SQLExact(d) && !slices.Equal(got, mem) {
		t.Errorf("%s: %q: SQL matches %v, in memory %v", pos, e, got, mem)
	}
}

// TestScripts runs every script case in memory, checks the expected ids,
// the canonical text, and that SQL over real SQLite agrees for the filter
// and for its negation.
func TestScripts(t *testing.T) {
	evs := testEvents()
	runScripts(t, evs, eventDB(t, evs), filter.SQLite)
}

// runScripts runs the script cases against evs and against db, an events
// table filled from evs, in dialect d.
func runScripts(t *testing.T, evs []*cairn.Event, db *sql.DB, d filter.Dialect) {
	all := memIDs(filter.MustParse(""), evs)
	// present keeps the ids of events in evs ("*" stands for all).
	present := func(ids []string) []string {
		if len(ids) == 1 && ids[0] == "*" {
			return all
		}
		var out []string
		for _, id := range ids {
			if slices.Contains(all, id) {
				out = append(out, id)
			}
		}
		return out
	}
	cases := loadScripts(t)
	for _, c := range cases {
		e, err := filter.Parse(c.src)
		if c.errMsg != "" {
			var ce *cairn.Error
			switch {
			case err == nil:
				t.Errorf("%s: %q: no error, want %q", c.pos, c.src, c.errMsg)
			case !errors.As(err, &ce) || ce.Code != cairn.EINVALID:
				t.Errorf("%s: %q: error %v is not an EINVALID *cairn.Error", c.pos, c.src, err)
			case err.Error() != c.errMsg:
				t.Errorf("%s: %q:\n got error %s\nwant error %s", c.pos, c.src, err, c.errMsg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %q: %v", c.pos, c.src, err)
			continue
		}
		mem := memIDs(e, evs)
		want := present(c.ids)
		slices.Sort(want)
		if !slices.Equal(mem, want) && !(len(mem) == 0 && len(want) == 0) {
			t.Errorf("%s: %q matches %v, want %v", c.pos, c.src, mem, want)
		}
		e2, err := filter.Parse(e.String())
		if err != nil {
			t.Errorf("%s: canonical text %q does not parse: %v", c.pos, e, err)
		} else if e2.String() != e.String() || !slices.Equal(memIDs(e2, evs), mem) {
			t.Errorf("%s: canonical text %q re-parses to %q matching %v", c.pos, e, e2, memIDs(e2, evs))
		}
		var sqlWant []string
		if c.sqlIDs != nil {
			sqlWant = present(c.sqlIDs)
		}
		checkSQL(t, c.pos, db, d, e, mem, sqlWant)

		neg := filter.MustParse("not (" + c.src + ")")
		negMem := memIDs(neg, evs)
		if len(negMem)+len(mem) != len(evs) {
			t.Errorf("%s: not (%s) matches %v, not the complement of %v", c.pos, c.src, negMem, mem)
		}
		checkSuperset(t, c.pos+" (negated)", db, d, neg, negMem)
	}
	t.Logf("%d script cases", len(cases))
}
