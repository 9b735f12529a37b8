package filter_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/filter"
)

func TestEmptyFilterMatchesEverything(t *testing.T) {
	evs := testEvents()
	db := eventDB(t, evs)
	for _, src := range []string{"", "   ", "\t\n "} {
		e, err := filter.Parse(src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		if e.String() != "" {
			t.Errorf("Parse(%q).String() = %q, want empty", src, e)
		}
		for _, ev := range evs {
			if !e.Match(ev) {
				t.Errorf("Parse(%q) does not match %s", src, ev.ID)
			}
		}
		if got := sqlIDs(t, db, filter.SQLite, e); len(got) != len(evs) {
			t.Errorf("Parse(%q) SQL matches %d events, want %d", src, len(got), len(evs))
		}
		if len(e.Fields()) != 0 {
			t.Errorf("Parse(%q).Fields() = %v", src, e.Fields())
		}
	}
	var nilExpr *filter.Expr
	if !nilExpr.Match(evs[0]) || nilExpr.String() != "" || !nilExpr.SQLExact(filter.SQLite) {
		t.Error("a nil Expr should match everything")
	}
	if where, args := nilExpr.SQL(filter.Postgres, 0); where != "TRUE" || len(args) != 0 {
		t.Errorf("nil Expr SQL = %q %v", where, args)
	}
}

func TestCanonicalText(t *testing.T) {
	tests := []struct{ src, want string }{
		{"proc.name=bash", "proc.name = bash"},
		{`kubernetes.namespace.name == "prod"`, "k8s.ns.name = prod"},
		{"priority = Warning", "severity = medium"},
		{"severity >= ERROR", "severity >= high"},
		{"severity in (info, informational, Emergency)", "severity in (info, info, critical)"},
		{"proc.pid in (+1, 002, -3)", "proc.pid in (1, 2, -3)"},
		{"container.privileged = TRUE", "container.privileged = true"},
		{"evt.time > 2024-05-01", "evt.time > 2024-05-01T00:00:00Z"},
		{"evt.time = 2024-05-01T14:00:01.500+02:00", "evt.time = 2024-05-01T12:00:01.5Z"},
		{"proc.name = 'two words'", `proc.name = "two words"`},
		{`proc.name = 'it"s'`, `proc.name = "it\"s"`},
		{`proc.cmdline contains 'C:\Temp'`, `proc.cmdline contains C:\Temp`},
		{`proc.cmdline contains 'C:\Temp\\'`, `proc.cmdline contains C:\Temp\`},
		{`proc.cmdline contains "C:\\Temp\\ x"`, `proc.cmdline contains "C:\\Temp\\ x"`},
		{`proc.name = "and"`, `proc.name = "and"`},
		{`proc.name = "IN"`, `proc.name = "IN"`},
		{`proc.name = "a[1]"`, `proc.name = "a[1]"`},
		{`proc.name = ""`, `proc.name = ""`},
		{"proc.name = a-b.c/d:e", "proc.name = a-b.c/d:e"},
		{"proc.name = 34.", "proc.name = 34."},
		{"proc.name = ☃", "proc.name = ☃"},
		{"proc.name EXISTS", "proc.name exists"},
		{"NOT proc.name exists", "not proc.name exists"},
		{"proc.name Contains x AND proc.name StartsWith y OR proc.name EndsWith z",
			"proc.name contains x and proc.name startswith y or proc.name endswith z"},
		{"(proc.name = a)", "proc.name = a"},
		{"proc.name = a and (proc.name = b and proc.name = c)", "proc.name = a and proc.name = b and proc.name = c"},
		{"(proc.name = a or proc.name = b) or proc.name = c", "proc.name = a or proc.name = b or proc.name = c"},
		{"(proc.name = a or proc.name = b) and proc.name = c", "(proc.name = a or proc.name = b) and proc.name = c"},
		{"proc.name = a or (proc.name = b and proc.name = c)", "proc.name = a or proc.name = b and proc.name = c"},
		{"not (proc.name = a or proc.name = b)", "not (proc.name = a or proc.name = b)"},
		{"not (not proc.name = a)", "not not proc.name = a"},
		{"json.value[/a b/~1c] != x", "json.value[/a b/~1c] != x"},
		{"proc.aname[2] = sh", "proc.aname[2] = sh"},
	}
	for _, tt := range tests {
		e, err := filter.Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if e.String() != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.src, e, tt.want)
		}
		again, err := filter.Parse(e.String())
		if err != nil || again.String() != e.String() {
			t.Errorf("canonical %q re-parses to %v, %v", e, again, err)
		}
	}
}

func TestFields(t *testing.T) {
	e := filter.MustParse("kubernetes.namespace.name = prod and (proc.name = a or not k8s.ns.name exists) and proc.aname[2] = x and proc.aname = y and proc.name in (b)")
	var names []string
	for _, r := range e.Fields() {
		names = append(names, r.Name())
	}
	want := []string{"k8s.ns.name", "proc.name", "proc.aname[2]", "proc.aname"}
	if !slices.Equal(names, want) {
		t.Errorf("Fields() = %v, want %v", names, want)
	}
}

// TestBadText checks errors that script files cannot hold.
func TestBadText(t *testing.T) {
	tests := []struct{ src, want string }{
		{"proc.name = \"a\xffb\"", "col 15: invalid UTF-8 in filter"},
		{"proc.name = ☃\xe2\x98", "col 14: invalid UTF-8 in filter"},
		{"json.value[/\x00] = 0", "col 13: the NUL character is not allowed in a filter"},
		{"proc.name = bash\n  and\tproc.nme = x", `col 24: unknown field "proc.nme"; did you mean proc.name, proc.aname, proc.exe?`},
		{strings.Repeat("x", 70000), "filter too long: 70000 bytes, at most 32768"},
	}
	for _, tt := range tests {
		_, err := filter.Parse(tt.src)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%.30q) error %v, want %s", tt.src, err, tt.want)
		}
	}
}

func TestErrorsAreInvalid(t *testing.T) {
	for _, src := range []string{"proc.nme = x", "(", "proc.pid = x", strings.Repeat("x", 70000)} {
		_, err := filter.Parse(src)
		var ce *cairn.Error
		if !errors.As(err, &ce) || ce.Code != cairn.EINVALID {
			t.Errorf("Parse(%.20q) error %v, want an EINVALID *cairn.Error", src, err)
		}
	}
}

// TestLimits checks that hostile filters are refused or cost little, and
// that the largest accepted ones still run in SQLite.
func TestLimits(t *testing.T) {
	evs := testEvents()
	db := eventDB(t, evs)
	deep := func(n int) string {
		return strings.Repeat("(", n) + "proc.name = bash" + strings.Repeat(")", n)
	}
	nots := func(n int) string { return strings.Repeat("not ", n) + "proc.name = bash" }
	chain := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = "proc.pid = " + strconv.Itoa(i)
		}
		return strings.Join(parts, " or ")
	}
	list := func(n int) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = strconv.Itoa(i)
		}
		return "proc.name in (" + strings.Join(vals, ",") + ")"
	}
	pointer := func(n int) string { return "json.value[" + strings.Repeat("/0", n) + "] = x" }

	for _, src := range []string{deep(51), nots(51), pointer(33), strings.Repeat(" ", 33<<10)} {
		if _, err := filter.Parse(src); err == nil {
			t.Errorf("Parse(%.40q...) accepted a filter over the limits", src)
		}
	}
	// dense is the filter with the most SQL arguments per byte that fits:
	// a chain of 32-token pointers under 49 nots and a parenthesis.
	dense := strings.Repeat("not ", 49) + "("
	for term := "json.value[" + strings.Repeat("/0", 32) + "] exists"; len(dense)+len(term)+5 < 32<<10; {
		dense += term + " or "
	}
	dense += "proc.name = x)"
	for _, src := range []string{deep(50), nots(50), nots(25) + " and " + deep(25), chain(1500), list(5000), pointer(32), dense,
		"not (" + strings.Repeat("json.value[/1/0/a] = x or ", 400) + "proc.aname[1] = x)"} {
		e, err := filter.Parse(src)
		if err != nil {
			t.Errorf("Parse(%.40q...): %v", src, err)
			continue
		}
		mem := memIDs(e, evs)
		got := sqlIDs(t, db, filter.SQLite, e)
		if e.SQLExact(filter.SQLite) && !slices.Equal(got, mem) {
			t.Errorf("%.40q...: SQL %v, in memory %v", src, got, mem)
		}
	}
	_, err := filter.Parse(deep(51))
	if err == nil || !strings.Contains(err.Error(), "col 51: filter nested too deeply") {
		t.Errorf("deep nesting error = %v", err)
	}
}

// TestSQLHasNoValues checks that values, field names and JSON paths are
// arguments, never SQL text.
func TestSQLHasNoValues(t *testing.T) {
	evil := `x'); DROP TABLE events; --`
	srcs := []string{
		`proc.name = "` + evil + `"`,
		`proc.cmdline contains "` + evil + `"`,
		`proc.cmdline startswith "` + evil + `" or proc.cmdline endswith "` + evil + `"`,
		`proc.aname in ("` + evil + `", b)`,
		`json.value[/DROP TABLE/0] = "` + evil + `"`,
		`json.value[/DROP TABLE/0] exists`,
		`proc.name in (` + strings.Repeat(`"`+evil+`", `, 20) + `x)`,
	}
	for _, d := range []filter.Dialect{filter.SQLite, filter.Postgres} {
		for _, src := range srcs {
			where, args := filter.MustParse(src).SQL(d, 3)
			if strings.Contains(where, "DROP") || strings.Contains(where, "proc.") {
				t.Errorf("%s: %q: SQL text holds a value: %s", d.Name, src, where)
			}
			if len(args) == 0 {
				t.Errorf("%s: %q: no arguments", d.Name, src)
			}
			// Placeholders are numbered from argBase+1 to argBase+len(args).
			mark := "?"
			if d.Name == "postgres" {
				mark = "$"
			}
			for i := 1; i <= 3; i++ {
				if strings.Contains(where, mark+strconv.Itoa(i)+" ") || strings.Contains(where, mark+strconv.Itoa(i)+")") {
					t.Errorf("%s: %q uses placeholder %s%d below argBase", d.Name, src, mark, i)
				}
			}
			if last := mark + strconv.Itoa(3+len(args)); !strings.Contains(where, last) {
				t.Errorf("%s: %q: SQL does not use %s: %s", d.Name, src, last, where)
			}
		}
	}
	if evs := testEvents(); true {
		db := eventDB(t, evs)
		for _, src := range srcs {
			sqlIDs(t, db, filter.SQLite, filter.MustParse(src))
		}
		if _, err := db.Exec("SELECT count(*) FROM events"); err != nil {
			t.Fatalf("events table gone: %v", err)
		}
	}
}

func TestColumns(t *testing.T) {
	evs := testEvents()
	db := eventDB(t, evs)
	if _, err := db.Exec(`ALTER TABLE events ADD COLUMN k8s_ns TEXT`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`ALTER TABLE events ADD COLUMN sev INTEGER`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`ALTER TABLE events ADD COLUMN label_app TEXT`); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		flat := field.Flatten(ev)
		app, ok := filter.MustParse("k8s.pod.label[app] exists").Fields()[0].Get(ev)
		if !ok {
			app = nil
		}
		if _, err := db.Exec(`UPDATE events SET k8s_ns = ?, sev = ?, label_app = ? WHERE id = ?`,
			flat["k8s.ns.name"], flat["severity"], app, ev.ID); err != nil {
			t.Fatal(err)
		}
	}
	d := filter.SQLite
	d.Columns = map[string]string{"k8s.ns.name": "k8s_ns", "severity": "sev", "k8s.pod.label[app]": "label_app"}
	for _, src := range []string{
		"k8s.ns.name = prod", "k8s.ns.name < prod", "not k8s.ns.name = prod", "k8s.ns.name exists",
		"severity >= warning", "not severity > medium", "severity in (high, low)", "k8s.ns.name endswith od",
		"k8s.pod.label[app] = web", "not k8s.pod.label[app] exists",
	} {
		e := filter.MustParse(src)
		where, _ := e.SQL(d, 0)
		if strings.Contains(where, "fields") {
			t.Errorf("%q reads fields although a column holds it: %s", src, where)
		}
		if !e.SQLExact(d) {
			t.Errorf("%q: not exact with a column", src)
		}
		if got, mem := sqlIDs(t, db, d, e), memIDs(e, evs); !slices.Equal(got, mem) {
			t.Errorf("%q: SQL %v, in memory %v", src, got, mem)
		}
	}
}

// TestConcurrentMatch runs one Expr from many goroutines, each on its own
// events (an event's parsed record is cached without locking).
func TestConcurrentMatch(t *testing.T) {
	e := filter.MustParse("proc.name in (bash, curl) and not json.value[/eventName] = x or ct.name exists")
	want := memIDs(e, testEvents())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if got := memIDs(e, testEvents()); !slices.Equal(got, want) {
					t.Errorf("concurrent Match = %v, want %v", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestDeepPointerIsLinear guards against SQL whose size or cost doubles
// with each numeric pointer token (each may index an array or name a key).
func TestDeepPointerIsLinear(t *testing.T) {
	raw := strings.Repeat(`{"0":[`, 16) + `"x"` + strings.Repeat(`]}`, 16)
	evs := []*cairn.Event{{ID: "deep", Raw: []byte(raw)}, {ID: "flat", Raw: []byte(`{"a":1}`)}}
	db := eventDB(t, evs)
	e := filter.MustParse("json.value[" + strings.Repeat("/0", 32) + "] = x")
	where, _ := e.SQL(filter.SQLite, 0)
	if len(where) > 20000 {
		t.Errorf("SQL for a 32-token pointer is %d bytes", len(where))
	}
	done := make(chan []string, 1)
	go func() { done <- sqlIDs(t, db, filter.SQLite, e) }()
	select {
	case got := <-done:
		if !slices.Equal(got, []string{"deep"}) || !slices.Equal(memIDs(e, evs), []string{"deep"}) {
			t.Errorf("SQL %v, in memory %v, want [deep]", got, memIDs(e, evs))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("SQL for a deep pointer did not finish in 20s")
	}
}

func TestText(t *testing.T) {
	for _, s := range []string{"payments", "a b", `q"uo\te`, "and", "x)or(y", "ns=1", "[0]", "日本"} {
		src := "k8s.ns.name = " + filter.Text(s)
		e, err := filter.Parse(src)
		if err != nil {
			t.Errorf("Text(%q) = %s: %v", s, filter.Text(s), err)
			continue
		}
		ev := &cairn.Event{K8s: &cairn.K8s{Namespace: s}}
		if !e.Match(ev) {
			t.Errorf("%s does not match namespace %q", src, s)
		}
		if e.Match(&cairn.Event{K8s: &cairn.K8s{Namespace: s + "x"}}) {
			t.Errorf("%s matches namespace %q", src, s+"x")
		}
	}
}
