package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/ingest"
)

func runDemo(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "demo", "",
		"Generates the demo scenarios (CIS benchmark, log4shell, cryptominer, SCARLETEEL, with benign background)\n"+
			"as real-format Tetragon and CloudTrail records, anchored to now, and ingests them through the same decoders\n"+
			"as any other input. With --export, writes the raw files (and truth.json) instead.")
	db := dbFlag(fs, e)
	seed := fs.Int64("seed", 1, "seed: varies names, addresses, counts and timings (1 uses the documented names)")
	export := fs.String("export", "", "write the raw files into DIR instead of ingesting them")
	out := outputFlag(fs, "text", "json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") {
		return exitUsage
	}
	sc, err := demo.Generate(demo.Options{Seed: *seed, Now: time.Now()})
	if err != nil {
		return fail(e, err)
	}
	if *export != "" {
		if err := sc.Export(*export); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stdout, "wrote %d Tetragon and %d CloudTrail records and the ground truth (%s) under %s\n",
			len(sc.Tetragon), len(sc.CloudTrail), demo.TruthFile, *export)
		fmt.Fprintf(e.stdout, "ingest them with: cairn ingest %s %s\n",
			filepath.Join(*export, demo.TetragonFile), filepath.Join(*export, demo.CloudTrailDir))
		return exitOK
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	dets, err := loadRules(e, nil, false, "")
	if err != nil {
		return fail(e, err)
	}
	rep, err := ingestDemo(ctx, st, sc, dets)
	if err != nil {
		return fail(e, err)
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		return fail(e, err)
	}
	if *out == "json" {
		if err := writeJSON(e.stdout, map[string]any{"ingest": rep, "stored": stats}); err != nil {
			return fail(e, err)
		}
		return rep.ExitCode()
	}
	fmt.Fprintf(e.stdout, "demo (seed %d): %d records ingested into %s: %d new, %d already stored, %d rejected\n\n",
		*seed, rep.Accepted+rep.Duplicates+rep.Rejected, *db, rep.Accepted, rep.Duplicates, rep.Rejected)
	printStats(e, stats)
	if rep.Suppressed > 0 {
		fmt.Fprintf(e.stdout, "\n%d rule matches suppressed by exceptions (cairn exceptions list)\n", rep.Suppressed)
	}
	if dets, err := st.QueryDetections(ctx, cairn.DetectionQuery{Limit: 20}); err == nil && len(dets.Detections) > 0 {
		fmt.Fprintf(e.stdout, "\n%d detections; the newest:\n", rep.Detections)
		printDetections(e.stdout, dets.Detections)
	}
	fmt.Fprintf(e.stdout, "\nNext:\n  cairn events --db %s --filter 'proc.name=nc'\n  cairn events --db %s --filter 'ct.name=StopLogging'\n  cairn detections --db %s --filter 'severity>=high'\n  cairn tree --db %s ID    (an ID from the events list: its process tree and what happened around it)\n", *db, *db, *db, *db)
	return rep.ExitCode()
}

// ingestDemo ingests the demo's records through the same decoders and
// detectors as any other input.
func ingestDemo(ctx context.Context, st cairn.Store, sc *demo.Scenario, dets detectors) (*ingest.Report, error) {
	inputs := []ingest.Input{
		ingest.Memory("demo:tetragon", bytes.Join(sc.Tetragon, []byte("\n"))),
		ingest.Memory("demo:cloudtrail", demo.CloudTrailFile(sc.CloudTrail)),
	}
	return ingest.Run(ctx, inputs, ingest.Options{Store: st, Format: decode.Auto, Tree: ingest.NewTree(ctx, st),
		Rules: dets.falco, Detectors: dets.other})
}
