package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/internal/when"
	"github.com/cairn-cdr/cairn/postgres"
	"github.com/cairn-cdr/cairn/sqlite"
)

// defaultDB is the store used when --db is not given.
const defaultDB = "cairn.db"

// newFlags returns a flag set for a command that reports errors to e.
func newFlags(e *env, name, args, desc string) *flag.FlagSet {
	fs := flag.NewFlagSet("cairn "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: cairn %s [flags] %s\n\n%s\n\nflags:\n", name, args, desc)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; it returns false with the exit code when the
// command should stop (help asked for, or a usage error).
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// dbFlag adds --db.
func dbFlag(fs *flag.FlagSet, e *env) *string {
	def := defaultDB
	if v := e.getenv("CAIRN_DB"); v != "" {
		def = v
	}
	return fs.String("db", def, "store: an SQLite file path, or a PostgreSQL URL postgres://user@host/db[?schema=NAME] (env CAIRN_DB)")
}

// outputFlag adds -o with the formats the command supports.
func outputFlag(fs *flag.FlagSet, formats ...string) *string {
	return fs.String("o", formats[0], "output format: "+strings.Join(formats, "|"))
}

func checkOutput(e *env, got string, formats ...string) bool {
	for _, f := range formats {
		if got == f {
			return true
		}
	}
	fmt.Fprintf(e.stderr, "cairn: unknown output format %q; use one of %s\n", got, strings.Join(formats, ", "))
	return false
}

// openStore opens the store named by --db: a PostgreSQL URL
// (postgres://user@host:port/db?sslmode=disable, with an optional
// schema=NAME parameter that cairn creates and uses), or an SQLite file.
func openStore(ctx context.Context, dsn string) (cairn.Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "--db: not a PostgreSQL URL: %v", err)
		}
		q := u.Query()
		schema := q.Get("schema")
		q.Del("schema")
		u.RawQuery = q.Encode()
		return postgres.Open(ctx, u.String(), postgres.Options{Schema: schema})
	}
	return sqlite.Open(ctx, dsn, sqlite.Options{})
}

// fail prints err for the user and returns the exit code. Internal
// errors' details are shown too on the CLI: the user running it is the
// operator.
func fail(e *env, err error) int {
	if cairn.ErrorCode(err) == cairn.EINTERNAL {
		fmt.Fprintf(e.stderr, "cairn: %v\n", err)
	} else {
		fmt.Fprintf(e.stderr, "cairn: %s\n", cairn.ErrorMessage(err))
	}
	return exitFailure
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// writeRecords prints records as a JSON array, NDJSON (one a line) or the
// command's text table.
func writeRecords[T any](w io.Writer, format string, records []T, text func(io.Writer, []T) error) error {
	switch format {
	case "json":
		if records == nil {
			records = []T{}
		}
		return writeJSON(w, records)
	case "ndjson":
		enc := json.NewEncoder(w)
		for i := range records {
			if err := enc.Encode(&records[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return text(w, records)
}

// timeFlags are --since and --until.
type timeFlags struct{ since, until *string }

// addTimeFlags adds --since and --until bounding what (events, detections
// last seen).
func addTimeFlags(fs *flag.FlagSet, what string) timeFlags {
	return timeFlags{
		since: fs.String("since", "", "only "+what+" at or after T: RFC3339 time, a date, or a duration ago (90m, 24h, 7d)"),
		until: fs.String("until", "", "only "+what+" before T (same forms as --since)"),
	}
}

// parse returns the bounds relative to now, or an EINVALID error naming
// the flag.
func (t timeFlags) parse(now time.Time) (since, until time.Time, err error) {
	if since, err = when.Ago(*t.since, now); err != nil {
		return since, until, cairn.Errorf(cairn.EINVALID, "--since: %v", err)
	}
	if until, err = when.Ago(*t.until, now); err != nil {
		return since, until, cairn.Errorf(cairn.EINVALID, "--until: %v", err)
	}
	return since, until, nil
}

// noArguments reports a usage error when a command that takes none got
// some (usually a filter left unquoted, or flags after arguments).
func noArguments(e *env, fs *flag.FlagSet) bool {
	if fs.NArg() == 0 {
		return true
	}
	fmt.Fprintf(e.stderr, "%s: unexpected argument %q (flags come first; quote the filter)\n", fs.Name(), termsafe.String(fs.Arg(0)))
	return false
}
