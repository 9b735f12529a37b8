package main

import (
	"context"
	"fmt"

	"github.com/cairn-cdr/cairn/treeview"
)

func runTree(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "tree", "ID",
		"Shows the process tree of an event (or of a detection's first event): its lineage from the root of the host or container down to its process,\n"+
			"with user, container, pod and host, the process's children and siblings, and the events just before and after\n"+
			"it in the same process tree and container.")
	db := dbFlag(fs, e)
	before := fs.Int("before", 5, "events before it")
	after := fs.Int("after", 5, "events after it")
	out := outputFlag(fs, "text", "json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "cairn tree: name one event or detection id (cairn events and cairn detections -o json show them)")
		return exitUsage
	}
	if *before < 0 || *after < 0 {
		fmt.Fprintln(e.stderr, "cairn tree: --before and --after must not be negative")
		return exitUsage
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	v, err := treeview.Build(ctx, st, fs.Arg(0), treeview.Options{Before: *before, After: *after})
	if err != nil {
		return fail(e, err)
	}
	if *out == "json" {
		err = writeJSON(e.stdout, v)
	} else {
		err = v.WriteText(e.stdout)
	}
	if err != nil {
		return fail(e, err)
	}
	return exitOK
}
