package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/termsafe"
)

func runEvents(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "events", "",
		"Lists stored events, newest first.\n"+
			"Filter example: --filter 'k8s.ns.name in (prod, staging) and proc.name=nc'   (cairn fields lists the fields)")
	db := dbFlag(fs, e)
	filter := fs.String("filter", "", "filter expression")
	times := addTimeFlags(fs, "events")
	limit := fs.Int("limit", 100, "at most N events (0: no limit)")
	oldest := fs.Bool("oldest", false, "oldest first")
	out := outputFlag(fs, "text", "json", "ndjson")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json", "ndjson") {
		return exitUsage
	}
	if !noArguments(e, fs) {
		return exitUsage
	}
	q := cairn.EventQuery{Filter: *filter, Oldest: *oldest}
	var err error
	if q.Since, q.Until, err = times.parse(time.Now()); err != nil {
		return fail(e, err)
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()

	var events []cairn.Event
	remaining := *limit
	for {
		q.Limit = 1000
		if *limit > 0 {
			q.Limit = min(remaining, 1000)
		}
		page, err := st.QueryEvents(ctx, q)
		if err != nil {
			return fail(e, err)
		}
		events = append(events, page.Events...)
		remaining -= len(page.Events)
		if page.Next == "" || (*limit > 0 && remaining <= 0) {
			break
		}
		q.Cursor = page.Next
	}
	err = writeRecords(e.stdout, *out, events, printEvents)
	if err != nil {
		return fail(e, err)
	}
	return exitOK
}

func printEvents(w io.Writer, events []cairn.Event) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tID\tKIND\tWHERE\tWHAT")
	for i := range events {
		ev := &events[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n",
			ev.Time.UTC().Format("2006-01-02 15:04:05.000"),
			cell(ev.ID, 64), ev.Kind,
			cell(ev.Where(), 48), cell(ev.Summary(), 120))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d events\n", len(events))
	return err
}

// cell makes attacker-controlled text safe for a table cell: escapes
// control characters (tabs included) and truncates to n runes.
func cell(s string, n int) string {
	s = termsafe.String(s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}
