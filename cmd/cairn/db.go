package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/termsafe"
)

func runDB(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "db", "stats | dead-letters", "Store maintenance.\n  stats         what is stored, counted by source and kind\n  dead-letters  records that could not be decoded, newest first")
	db := dbFlag(fs, e)
	out := outputFlag(fs, "text", "json", "ndjson")
	limit := fs.Int("limit", 100, "dead-letters: at most N")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json", "ndjson") {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	switch fs.Arg(0) {
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
	default:
		fmt.Fprintf(e.stderr, "cairn db: unknown subcommand %q\n", termsafe.String(fs.Arg(0)))
		return exitUsage
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
	fmt.Fprintf(e.stdout, "%d events, %d dead letters\n", stats.Events, stats.DeadLetters)
}

func runVersion(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stdout, "cairn", version)
	return exitOK
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
