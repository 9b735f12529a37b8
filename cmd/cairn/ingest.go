package main

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/schollz/progressbar/v3"

	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/internal/termsafe"
)

func runIngest(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "ingest", "PATH... | -",
		"Reads records from files, directories (recursively; CloudTrail's S3 layout included) or standard input (-),\n"+
			"detects each input's format from its content (Tetragon JSON, Falco alerts, CloudTrail, cairn NDJSON; gzip too),\n"+
			"stores the events once each and dead-letters records that cannot be decoded.\n"+
			"With --bus, publishes the events to the bus instead, where detect workers (cairn serve --components detect)\n"+
			"evaluate and store them, and waits while the bus is full.\n"+
			"Exit status: 0 all stored or duplicates, 2 some records dead-lettered, 1 an input could not be read.")
	db := dbFlag(fs, e)
	format := fs.String("format", "auto", "input format: auto|tetragon|falco|cloudtrail|native")
	out := outputFlag(fs, "text", "json")
	var rules rulesFlag
	fs.Var(&rules, "rules", "Falco rules file to evaluate every event with, after cairn's pack (repeatable; later files amend earlier ones)")
	noPack := fs.Bool("no-default-rules", false, "do not load cairn's own rule pack and analytics (only the --rules files)")
	ranges := fs.String("aws-ip-ranges", "", "AWS's ip-ranges.json: instance credentials used from outside AWS are flagged even without history")
	bf := addBusFlags(fs, e)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") {
		return exitUsage
	}
	f, err := decode.ParseFormat(*format)
	if err != nil {
		return fail(e, err)
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(e.stderr, "cairn ingest: name at least one PATH, or - for standard input")
		return exitUsage
	}
	inputs, err := ingest.Expand(fs.Args(), e.stdin)
	if err != nil {
		return fail(e, err)
	}
	dets, err := loadRules(e, rules, *noPack, *ranges)
	if err != nil {
		return fail(e, err)
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	opts := ingest.Options{Store: st, Format: f, Tree: ingest.NewTree(ctx, st), Rules: dets.falco, Detectors: dets.other}
	if *bf.url != "" {
		// Scaled out: the events go to the bus, where detect workers
		// evaluate and store them; this reader waits while it is full.
		b, err := bf.connect(ctx, nil)
		if err != nil {
			return fail(e, err)
		}
		defer b.Close()
		opts = ingest.Options{Store: st, Format: f, Publish: waitingPublisher(b)}
	}
	var bar *progressbar.ProgressBar
	if e.isTerminal {
		bar = newBar(e.stderr)
		opts.Progress = func(read, total int64) {
			if total > 0 && bar.GetMax64() != total {
				bar.ChangeMax64(total)
			}
			_ = bar.Set64(read)
		}
	}
	rep, err := ingest.Run(ctx, inputs, opts)
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return fail(e, err)
	}
	if *out == "json" {
		if err := writeJSON(e.stdout, rep); err != nil {
			return fail(e, err)
		}
	} else {
		printReport(e.stdout, rep)
	}
	return rep.ExitCode()
}

func newBar(w io.Writer) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("ingesting"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
	)
}

func printReport(w io.Writer, rep *ingest.Report) {
	fmt.Fprintf(w, "inputs:     %d\n", rep.Inputs)
	if rep.Published {
		fmt.Fprintf(w, "published:  %d (to the bus: detect workers evaluate and store them, once each)\n", rep.Accepted)
	} else {
		fmt.Fprintf(w, "accepted:   %d\n", rep.Accepted)
		fmt.Fprintf(w, "duplicates: %d\n", rep.Duplicates)
	}
	fmt.Fprintf(w, "rejected:   %d\n", rep.Rejected)
	if rep.Detections > 0 {
		fmt.Fprintf(w, "detections: %d\n", rep.Detections)
	}
	if rep.Suppressed > 0 {
		fmt.Fprintf(w, "suppressed: %d (by exceptions)\n", rep.Suppressed)
	}
	if len(rep.BySource) > 0 {
		var srcs []string
		for s := range rep.BySource {
			srcs = append(srcs, s)
		}
		sort.Strings(srcs)
		fmt.Fprint(w, "decoded:   ")
		for _, s := range srcs {
			fmt.Fprintf(w, " %s=%d", s, rep.BySource[s])
		}
		fmt.Fprintln(w)
	}
	for _, r := range rep.Rejects {
		fmt.Fprintf(w, "  rejected %s %s: %s\n", termsafe.String(r.Origin), r.Position, termsafe.String(r.Reason))
	}
	if n := rep.Rejected - len(rep.Rejects); n > 0 {
		fmt.Fprintf(w, "  ... and %d more (cairn db dead-letters)\n", n)
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  unreadable %s: %s\n", termsafe.String(f.Origin), termsafe.String(f.Reason))
	}
}
