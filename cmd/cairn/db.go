package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/internal/when"
	"github.com/cairn-cdr/cairn/sqlite"
)

const dbUsage = "Store maintenance.\n" +
	"  stats              what is stored, counted by source and kind\n" +
	"  dead-letters       records that could not be decoded, newest first\n" +
	"  backup FILE        copy the SQLite store to FILE, consistently, while it is in use\n" +
	"  restore FROM TO    check the backup FROM and copy it to the new file TO\n" +
	"  prune              remove events and dead letters (--events AGE) and detection\n" +
	"                     groups last seen (--detections AGE) before AGE ago; the audit\n" +
	"                     log is never pruned\n" +
	"Flags may come before or after the subcommand."

func runDB(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "db", "stats | dead-letters | backup FILE | restore FROM TO | prune", dbUsage)
	db := dbFlag(fs, e)
	out := outputFlag(fs, "text", "json", "ndjson")
	limit := fs.Int("limit", 100, "dead-letters: at most N")
	events := fs.String("events", "", "prune: events and dead letters older than this (30d, 12h, or a date)")
	detections := fs.String("detections", "", "prune: detection groups last seen before this (180d, or a date)")
	batch := fs.Int("batch", 1000, "prune: rows deleted per transaction (smaller waits less on ingest)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	// Flags after the subcommand: cairn db backup --db x.db FILE.
	sub := fs.Arg(0)
	if code, ok := parse(fs, fs.Args()[1:]); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json", "ndjson") {
		return exitUsage
	}
	operands := map[string]int{"stats": 0, "dead-letters": 0, "prune": 0, "backup": 1, "restore": 2}
	want, known := operands[sub]
	if !known {
		fmt.Fprintf(e.stderr, "cairn db: unknown subcommand %q\n", termsafe.String(sub))
		return exitUsage
	}
	if fs.NArg() != want {
		fmt.Fprintf(e.stderr, "cairn db %s: want %d argument(s), got %d\n", sub, want, fs.NArg())
		fs.Usage()
		return exitUsage
	}
	switch sub {
	case "backup":
		return dbBackup(ctx, e, *db, fs.Arg(0))
	case "restore":
		return dbRestore(ctx, e, fs.Arg(0), fs.Arg(1))
	case "prune":
		return dbPrune(ctx, e, *db, *events, *detections, *batch)
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	switch sub {
	case "stats":
		stats, err := st.Stats(ctx)
		if err != nil {
			return fail(e, err)
		}
		if *out != "text" {
			err = writeJSON(e.stdout, stats)
		} else {
			printStats(e, stats)
		}
		if err != nil {
			return fail(e, err)
		}
	case "dead-letters":
		dls, err := st.DeadLetters(ctx, *limit)
		if err != nil {
			return fail(e, err)
		}
		err = writeRecords(e.stdout, *out, dls, func(w io.Writer, dls []cairn.DeadLetter) error {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ORIGIN\tPOSITION\tREASON\tRECORD")
			for _, dl := range dls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cell(dl.Origin, 60), cell(dl.Position, 24), cell(dl.Reason, 80), cell(string(dl.Raw), 60))
			}
			return tw.Flush()
		})
		if err != nil {
			return fail(e, err)
		}
	}
	return exitOK
}

// isPostgresDSN reports whether --db names a PostgreSQL database.
func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// dbBackup copies the SQLite store at db to file.
func dbBackup(ctx context.Context, e *env, db, file string) int {
	if isPostgresDSN(db) || isPostgresDSN(file) {
		return fail(e, cairn.Errorf(cairn.EINVALID, "cairn db backup copies SQLite stores; back a PostgreSQL store up with pg_dump (pg_dump -Fc -f cairn.dump DBNAME)"))
	}
	st, err := sqlite.Open(ctx, db, sqlite.Options{})
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	if err := st.Backup(ctx, file); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "backed %s up to %s\n", termsafe.String(db), termsafe.String(file))
	return exitOK
}

// dbRestore copies the SQLite backup from to the new file to.
func dbRestore(ctx context.Context, e *env, from, to string) int {
	if isPostgresDSN(from) || isPostgresDSN(to) {
		return fail(e, cairn.Errorf(cairn.EINVALID, "cairn db restore restores SQLite stores; restore a PostgreSQL store with pg_restore (pg_restore -d DBNAME cairn.dump)"))
	}
	if err := sqlite.Restore(ctx, from, to); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "restored %s to %s; use it with --db %s\n", termsafe.String(from), termsafe.String(to), termsafe.String(to))
	return exitOK
}

// dbPrune removes what is older than the ages given, and says how much it
// removed.
func dbPrune(ctx context.Context, e *env, db, events, detections string, batch int) int {
	if events == "" && detections == "" {
		fmt.Fprintln(e.stderr, "cairn db prune: give --events AGE, --detections AGE or both (e.g. --events 30d --detections 180d)")
		return exitUsage
	}
	if batch < 1 {
		fmt.Fprintf(e.stderr, "cairn db prune: --batch %d: it must be at least 1\n", batch)
		return exitUsage
	}
	now := time.Now()
	type job struct {
		kind, flag, age, what string
	}
	var jobs []job
	if events != "" {
		// Dead letters first and apart, so that each count is printed.
		jobs = append(jobs, job{cairn.PruneDeadLetters, "--events", events, "dead letters"},
			job{cairn.PruneEvents, "--events", events, "events"})
	}
	if detections != "" {
		jobs = append(jobs, job{cairn.PruneDetections, "--detections", detections, "detection groups (with their hits and comments)"})
	}
	bounds := make([]time.Time, len(jobs))
	for i, j := range jobs {
		t, err := when.Ago(j.age, now)
		if err != nil {
			return fail(e, cairn.Errorf(cairn.EINVALID, "%s: %v", j.flag, err))
		}
		bounds[i] = t
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	p, ok := st.(cairn.Pruner)
	if !ok {
		return fail(e, cairn.Errorf(cairn.EINVALID, "this store cannot prune"))
	}
	for i, j := range jobs {
		n, err := p.Prune(ctx, j.kind, bounds[i], batch)
		if err != nil {
			if n > 0 {
				fmt.Fprintf(e.stdout, "deleted %d %s before %s, then stopped\n", n, j.what, bounds[i].UTC().Format(time.RFC3339))
			}
			return fail(e, err)
		}
		fmt.Fprintf(e.stdout, "deleted %d %s before %s\n", n, j.what, bounds[i].UTC().Format(time.RFC3339))
	}
	return exitOK
}

func printStats(e *env, stats cairn.Stats) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tKIND\tEVENTS")
	for _, c := range stats.ByKind {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", c.Source, c.Kind, c.N)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "%d events, %d dead letters, %.1f MiB on disk\n", stats.Events, stats.DeadLetters, float64(stats.Bytes)/(1<<20))
}

func runVersion(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stdout, "cairn", version)
	return exitOK
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
