package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/postgres"
)

// dsnEnv names the database the tests use; they skip when it is unset.
const dsnEnv = "CAIRN_TEST_POSTGRES_DSN"

// testDSN returns the test database's DSN, or skips the test.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		tb.Skipf("%s not set: the PostgreSQL store is not tested (set it to a database the tests may create schemas in, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", dsnEnv)
	}
	return dsn
}

// freshSchema returns the name of a schema no other test uses, and drops
// it when the test ends.
func freshSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	var b [8]byte
	rand.Read(b[:])
	schema := "cairn_test_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		conn := rawConn(tb, dsn, "")
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// rawConn opens a connection of its own, with schema as its search path
// when set, for checks the store's API does not expose.
func rawConn(tb testing.TB, dsn, schema string) *pgx.Conn {
	tb.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	if schema != "" {
		cfg.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// mustOpen opens a store on schema and closes it when the test ends.
func mustOpen(tb testing.TB, dsn, schema string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema})
	if err != nil {
		tb.Fatalf("Open(schema %s): %v", schema, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// openFresh opens a store on a schema of its own.
func openFresh(tb testing.TB) (*postgres.Store, string, string) {
	tb.Helper()
	dsn := testDSN(tb)
	schema := freshSchema(tb, dsn)
	return mustOpen(tb, dsn, schema), dsn, schema
}

func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	storetest.Run(t, func(t *testing.T) cairn.Store {
		return mustOpen(t, dsn, freshSchema(t, dsn))
	})
}

// TestConcurrentOpen opens stores on one new schema at once, as two cairn
// processes starting together would: the migrations apply once and every
// store works.
func TestConcurrentOpen(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	const n = 4
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("store %d: %v", i, errs[i])
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	var rows, top int
	if err := rawConn(t, dsn, schema).QueryRow(context.Background(),
		`SELECT count(*), max(version) FROM schema_migrations`).Scan(&rows, &top); err != nil {
		t.Fatal(err)
	}
	if v := postgres.SchemaVersion(); rows != v || top != v {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d up to %d", rows, top, v, v)
	}
	// What one store writes, the others read.
	for i, s := range stores {
		storetest.MustWrite(t, s, storetest.Tetragon(i, storetest.Base))
	}
	for i, s := range stores {
		page := storetest.MustQuery(t, s, cairn.EventQuery{Oldest: true})
		if len(page.Events) != n {
			t.Errorf("store %d reads %d events, want %d", i, len(page.Events), n)
		}
	}
	// Re-opening applies nothing and keeps the data.
	s := mustOpen(t, dsn, schema)
	if st, err := s.Stats(context.Background()); err != nil || st.Events != n {
		t.Errorf("after re-opening: %+v, %v; want %d events", st, err, n)
	}
}

// TestNewerSchemaRefused opens a schema a newer cairn migrated.
func TestNewerSchemaRefused(t *testing.T) {
	_, dsn, schema := openFresh(t)
	conn := rawConn(t, dsn, schema)
	if _, err := conn.Exec(context.Background(), `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`,
		postgres.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema})
	if cairn.ErrorCode(err) != cairn.ECONFLICT {
		t.Errorf("Open of a newer schema: %v, want code %s", err, cairn.ECONFLICT)
	}
}

// TestTwoStoresWrite writes the same events through two stores (two
// connection pools, as two processes have), in opposite orders and
// overlapping batches: every event is stored once and counted once, and
// no write fails.
func TestTwoStoresWrite(t *testing.T) {
	a, dsn, schema := openFresh(t)
	b := mustOpen(t, dsn, schema)
	evs := storetest.Mixed(600, storetest.Base)
	rev := slices.Clone(evs)
	slices.Reverse(rev)
	nodes := make([]cairn.ProcessNode, 0, 100)
	for i := range 100 {
		nodes = append(nodes, storetest.Node(evs[2*(i%50)].Process.ExecID, "", i))
	}
	results := make([]cairn.WriteResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for w, job := range []struct {
		s   *postgres.Store
		evs []cairn.Event
	}{{a, evs}, {b, rev}} {
		wg.Go(func() {
			for i := 0; i < len(job.evs); i += 75 {
				r, err := job.s.WriteEvents(context.Background(), job.evs[i:min(i+75, len(job.evs))])
				if err == nil {
					err = job.s.WriteProcesses(context.Background(), nodes[i%100:min(i%100+30, 100)])
				}
				if err != nil {
					errs[w] = err
					return
				}
				results[w].Inserted += r.Inserted
				results[w].Duplicates += r.Duplicates
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	if got := results[0].Inserted + results[1].Inserted; got != len(evs) {
		t.Errorf("inserted %d in all, want %d", got, len(evs))
	}
	if got := results[0].Duplicates + results[1].Duplicates; got != len(evs) {
		t.Errorf("%d duplicates in all, want %d", got, len(evs))
	}
	for _, s := range []*postgres.Store{a, b} {
		if st, err := s.Stats(context.Background()); err != nil || st.Events != len(evs) {
			t.Errorf("stats %+v, %v; want %d events", st, err, len(evs))
		}
	}
}

// TestHostileText stores text PostgreSQL's text type refuses (NUL,
// invalid UTF-8) and records whose JSON its parser refuses (\u0000,
// lone surrogates, deep nesting): the writes succeed, records and keys
// come back byte for byte, and filters over them run.
func TestHostileText(t *testing.T) {
	s, _, _ := openFresh(t)
	ctx := context.Background()
	evs := []cairn.Event{
		storetest.Decoded(t, "nul-escape", `{"eventVersion":"1.09","eventTime":"2025-03-14T09:26:53Z","eventSource":"s3.amazonaws.com","eventName":"Get\u0000Object","awsRegion":"us-east-1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a\u0000b"},"sourceIPAddress":"1.2.3.4"}`),
		storetest.Decoded(t, "surrogate", `{"eventVersion":"1.09","eventTime":"2025-03-14T09:26:54Z","eventSource":"s3.amazonaws.com","eventName":"Lone\ud800","awsRegion":"us-east-1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/\udc00x"},"sourceIPAddress":"1.2.3.4"}`),
		{ID: "id-\x00-\xff", Source: cairn.SourceNative, Kind: cairn.KindOther, Time: storetest.Base, Type: "t\x00", Host: "h\xff\x00",
			Raw: []byte(`{"deep":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`)},
		{ID: "raw-invalid-utf8", Source: cairn.SourceNative, Kind: cairn.KindOther, Time: storetest.Base, Host: "x",
			Raw: []byte("{\"a\":\"\xff\xfe\"}")},
	}
	storetest.MustWrite(t, s, evs...)
	for _, ev := range evs {
		got, err := s.GetEvent(ctx, ev.ID)
		if err != nil {
			t.Fatalf("GetEvent(%q): %v", ev.ID, err)
		}
		if string(got.Raw) != string(ev.Raw) || got.ID != ev.ID {
			t.Errorf("event %q came back as %q with raw %q, want raw %q", ev.ID, got.ID, got.Raw, ev.Raw)
		}
	}
	for _, tt := range []struct {
		filter string
		want   []string
	}{
		// In memory the record's \u0000 is a NUL, which no filter can
		// hold: SQL selects more, and the rows are matched again.
		{"json.value[/eventName] = \"Get\uFFFDObject\"", nil},
		{"json.value[/eventName] startswith Get", []string{"nul-escape"}},
		{"json.value[/eventName] startswith Lone", []string{"surrogate"}},
		{"json.value[/a] = \"\uFFFD\uFFFD\"", []string{"raw-invalid-utf8"}},
		{"evt.hostname = \"h\uFFFD\uFFFD\"", []string{"id-\x00-\xff"}},
		{"json.value[/deep] exists", nil}, // too deep for SQL's JSON
		{"ct.name in (" + strings.Repeat("x, ", 20) + "\"Lone\uFFFD\")", []string{"surrogate"}},
	} {
		page, err := s.QueryEvents(ctx, cairn.EventQuery{Filter: tt.filter, Oldest: true})
		if err != nil {
			t.Errorf("filter %q: %v", tt.filter, err)
			continue
		}
		var got []string
		for _, ev := range page.Events {
			got = append(got, ev.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("filter %q: got %q, want %q", tt.filter, got, tt.want)
		}
	}
	// Process keys, hosts and event ids with NUL and invalid UTF-8.
	node := storetest.Node("key\x00\xff", "parent\x00", 1)
	node.Host, node.EventID = "host\x00", "ev\x00\xff"
	storetest.MustWriteProcesses(t, s, node)
	got, err := s.Process(ctx, node.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != "key\x00\uFFFD" || got.ParentKey != node.ParentKey || got.Host != node.Host || got.EventID != node.EventID {
		t.Errorf("node came back as key %q parent %q host %q event %q", got.Key, got.ParentKey, got.Host, got.EventID)
	}
	if cs, err := s.Children(ctx, "parent\x00", 0); err != nil || len(cs) != 1 {
		t.Errorf("Children: %d nodes, %v; want 1", len(cs), err)
	}
	// Dead letters, detections and exceptions with the same text.
	if err := s.WriteDeadLetters(ctx, []cairn.DeadLetter{{Origin: "o\xff\x00", Position: "p\x00", Reason: "r\x00", Raw: []byte("\x00\xff")}}); err != nil {
		t.Fatal(err)
	}
	d := cairn.Detection{ID: "d\x00", Rule: "rule\x00\xff", Output: "out\x00", EventIDs: []string{"nul-escape", "id-\x00-\xff"},
		Entities: cairn.Entities{Host: "h\x00"}, Time: storetest.Base}
	storetest.MustWriteDetections(t, s, evs, d)
	// Event ids are kept as JSON text, as the SQLite store keeps them.
	wantIDs := []string{"nul-escape", "id-\x00-\uFFFD"}
	if got, err := s.GetDetection(ctx, "d\x00"); err != nil || !slices.Equal(got.EventIDs, wantIDs) {
		t.Errorf("GetDetection: %+v, %v; want event ids %q", got, err, wantIDs)
	}
	if hits, err := s.RuleHits(ctx, d.Rule); err != nil || len(hits) != 1 {
		t.Errorf("RuleHits: %+v, %v; want one hit", hits, err)
	}
	x := cairn.Exception{ID: "x\x00", Rule: "r\xff", Fields: []string{"proc.name"}, Comps: []string{"="},
		Values: [][]string{{"a\x00"}}, Note: "n\x00", Author: "a\x00"}
	if err := s.AddException(ctx, x, cairn.AuditEntry{Actor: "a\x00\xff", Action: "exception.add"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RemoveException(ctx, "x\x00", cairn.AuditEntry{Actor: "b", Action: "exception.rm"}); err != nil ||
		!reflect.DeepEqual(got.Values, x.Values) {
		t.Errorf("RemoveException: %+v, %v; want values %q", got, err, x.Values)
	}
}

// TestAuditAppendOnly changes and deletes audit entries with plain SQL on
// a connection of its own: the database refuses, and the log is intact.
func TestAuditAppendOnly(t *testing.T) {
	s, dsn, schema := openFresh(t)
	ctx := context.Background()
	x := cairn.Exception{ID: "x-1", Rule: "r", Fields: []string{"proc.name"}, Comps: []string{"="},
		Values: [][]string{{"bash"}}, Created: storetest.Base}
	if err := s.AddException(ctx, x, cairn.AuditEntry{Actor: "alice", Action: "exception.add"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, cairn.AuditEntry{Actor: "bob", Action: "rule.disable", Object: "r"}); err != nil {
		t.Fatal(err)
	}
	// A rolled-back append leaves a gap in the seqs.
	if err := s.AppendAudit(ctx, cairn.AuditEntry{Actor: "bob", Action: "rule.disable", Detail: "not json"}); cairn.ErrorCode(err) != cairn.EINVALID {
		t.Fatalf("invalid detail: %v", err)
	}
	before := storetest.MustAudit(t, s)
	last := before[0].Seq

	conn := rawConn(t, dsn, schema)
	for _, tt := range []struct{ stmt, want string }{
		{`UPDATE audit SET actor = 'mallory' WHERE seq = 1`, "append-only"},
		{`UPDATE audit SET detail = NULL`, "append-only"},
		{`DELETE FROM audit WHERE seq = 1`, "append-only"},
		{`DELETE FROM audit`, "append-only"},
		{`TRUNCATE audit`, "append-only"},
		{`INSERT INTO audit (seq, time, actor, action, object) VALUES (1, 0, 'mallory', 'x', 'y')`, "non-DEFAULT"},
		{`INSERT INTO audit (seq, time, actor, action, object) OVERRIDING SYSTEM VALUE VALUES (1, 0, 'mallory', 'x', 'y')
ON CONFLICT (seq) DO UPDATE SET actor = excluded.actor`, "append-only"},
		{`INSERT INTO audit (seq, time, actor, action, object) OVERRIDING SYSTEM VALUE VALUES (` +
			strconv.FormatInt(last+100, 10) + `, 0, 'mallory', 'x', 'y')`, "append-only"},
		{`INSERT INTO audit (seq, time, actor, action, object) OVERRIDING SYSTEM VALUE VALUES (0, 0, 'mallory', 'x', 'y')`, "append-only"},
		{`INSERT INTO audit (seq, time, actor, action, object) OVERRIDING SYSTEM VALUE VALUES (-1, 0, 'mallory', 'x', 'y')`, "append-only"},
	} {
		_, err := conn.Exec(ctx, tt.stmt)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one with %q", tt.stmt, err, tt.want)
		}
	}
	// Appending stays possible, even on the side.
	if _, err := conn.Exec(ctx, `INSERT INTO audit (time, actor, action, object) VALUES (0, 'carol', 'x', 'y')`); err != nil {
		t.Errorf("raw insert: %v", err)
	}
	after := storetest.MustAudit(t, s)
	if len(after) != len(before)+1 || !reflect.DeepEqual(after[1:], before) || after[0].Actor != "carol" {
		t.Errorf("audit after the refused changes:\n%+v\nwant carol's entry on top of\n%+v", after, before)
	}
}

// TestClosed checks that a closed store refuses work and closes twice.
func TestClosed(t *testing.T) {
	s, _, _ := openFresh(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.WriteEvents(context.Background(), []cairn.Event{storetest.Tetragon(1, storetest.Base)}); err == nil {
		t.Error("WriteEvents after Close succeeded")
	}
	if _, err := s.QueryEvents(context.Background(), cairn.EventQuery{}); err == nil {
		t.Error("QueryEvents after Close succeeded")
	}
}

// TestBadDSN refuses a DSN that does not parse.
func TestBadDSN(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://%zz", postgres.Options{})
	if cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("Open of a malformed DSN: %v, want code %s", err, cairn.EINVALID)
	}
}
