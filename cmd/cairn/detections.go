package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/analytics"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/rulepack"
	"github.com/cairn-cdr/cairn/sigma"
)

// rulesFlag collects --rules FILE, repeatable.
type rulesFlag []string

func (r *rulesFlag) String() string     { return strings.Join(*r, ",") }
func (r *rulesFlag) Set(v string) error { *r = append(*r, v); return nil }

// detectors is everything that raises detections during an ingest.
type detectors struct {
	falco *falco.Engine
	other []ingest.Detector
	sigma *sigma.Detector // among other; nil without Sigma rules
}

// ruleSets are the loaded rules, from which detectors are made.
type ruleSets struct {
	falco  *falco.RuleSet
	sigma  *sigma.RuleSet
	pack   bool // cairn's analytics run too
	ranges *analytics.IPRanges
}

// loadRuleSets loads cairn's rule pack (unless noPack) and then the named
// rules files and directories: Falco files in order, later ones amending
// earlier ones, and Sigma rules and correlations. Skipped rules are
// reported on stderr, never silently. rangesFile, if set, is AWS's
// ip-ranges.json for the analytics.
func loadRuleSets(e *env, names []string, noPack bool, rangesFile string) (ruleSets, error) {
	rs := ruleSets{pack: !noPack}
	fal, sig, err := ruleFiles(names)
	if err != nil {
		return rs, err
	}
	if !noPack {
		fal = append(rulepack.Files(), fal...)
		sig = append(rulepack.SigmaFiles(), sig...)
	}
	if rangesFile != "" {
		f, err := os.Open(rangesFile)
		if err != nil {
			return rs, cairn.Errorf(cairn.EINVALID, "--aws-ip-ranges: %v", err)
		}
		rs.ranges, err = analytics.ParseIPRanges(f)
		f.Close()
		if err != nil {
			return rs, cairn.Errorf(cairn.EINVALID, "--aws-ip-ranges %s: %v", rangesFile, err)
		}
	}
	if len(fal) > 0 {
		if rs.falco, err = falco.Load(fal...); err != nil {
			return rs, err
		}
		if len(names) > 0 || len(rs.falco.Skipped) > 0 {
			fmt.Fprintf(e.stderr, "falco rules: %d loaded, %d skipped (cairn rules lint shows why)\n", len(rs.falco.Rules), len(rs.falco.Skipped))
		}
	}
	if len(sig) > 0 {
		if rs.sigma, err = sigma.Load(sig...); err != nil {
			return rs, err
		}
		if len(names) > 0 || len(rs.sigma.Skipped) > 0 {
			fmt.Fprintf(e.stderr, "sigma rules: %d loaded, %d correlations, %d skipped (cairn rules lint shows why)\n",
				len(rs.sigma.Rules), len(rs.sigma.Correlations), len(rs.sigma.Skipped))
		}
	}
	return rs, nil
}

// detectors makes fresh detectors of the rule sets: the Falco engine and
// the stateful Sigma correlations and analytics.
func (rs ruleSets) detectors() (detectors, error) {
	return rs.detectorsWith(sigma.DetectorOptions{Lateness: sigmaLateness})
}

// detectorsWith makes fresh detectors with opts for the Sigma rules.
func (rs ruleSets) detectorsWith(opts sigma.DetectorOptions) (detectors, error) {
	var d detectors
	if rs.falco != nil {
		d.falco = falco.NewEngine(rs.falco.Rules)
	}
	if rs.pack {
		d.other = append(d.other, &analytics.InstanceCredentials{Ranges: rs.ranges})
	}
	if rs.sigma != nil {
		sd, err := sigma.NewDetector(rs.sigma, opts)
		if err != nil {
			return d, err
		}
		d.other = append(d.other, sd)
		d.sigma = sd
	}
	return d, nil
}

// loadRules loads the rule sets and makes their detectors.
func loadRules(e *env, names []string, noPack bool, rangesFile string) (detectors, error) {
	rs, err := loadRuleSets(e, names, noPack, rangesFile)
	if err != nil {
		return detectors{}, err
	}
	return rs.detectors()
}

// Detect runs every detector on ev, as ingest does (without exceptions).
func (d detectors) Detect(ev *cairn.Event) []cairn.Detection {
	var out []cairn.Detection
	if d.falco != nil {
		for _, m := range d.falco.Eval(ev) {
			out = append(out, m.Detection(ev))
		}
	}
	for _, o := range d.other {
		out = append(out, o.Detect(ev)...)
	}
	return out
}

// Flush flushes the detectors that hold windows.
func (d detectors) Flush() []cairn.Detection {
	var out []cairn.Detection
	for _, o := range d.other {
		if f, ok := o.(ingest.Flusher); ok {
			out = append(out, f.Flush()...)
		}
	}
	return out
}

// sigmaLateness is how far out of order events may arrive and still be
// placed correctly in correlation windows. An ingest reads files one
// after the other (CloudTrail's by region and hour, Tetragon's by node),
// so the correlations hold hits back for a week of event time and decide
// them in time order, at the latest when the input ends.
const sigmaLateness = 7 * 24 * time.Hour

func runDetections(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "detections", "",
		"Lists detections, newest first, identical ones grouped with a count.\n"+
			"The filter sees the detection's fields (severity, rule.name, rule.tags, mitre.tactic, mitre.technique) and its first event's.")
	db := dbFlag(fs, e)
	filter := fs.String("filter", "", "filter expression, e.g. 'severity>=high and k8s.ns.name=payments'")
	times := addTimeFlags(fs, "detections last seen")
	limit := fs.Int("limit", 100, "at most N detections")
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
	q := cairn.DetectionQuery{Filter: *filter, Limit: *limit}
	var err error
	if q.Since, q.Until, err = times.parse(time.Now()); err != nil {
		return fail(e, err)
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	page, err := st.QueryDetections(ctx, q)
	if err != nil {
		return fail(e, err)
	}
	err = writeRecords(e.stdout, *out, page.Detections, printDetections)
	if err != nil {
		return fail(e, err)
	}
	return exitOK
}

func printDetections(w io.Writer, dets []cairn.Detection) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLAST SEEN (UTC)\tSEVERITY\tCOUNT\tRULE\tWHERE\tOUTPUT")
	for _, d := range dets {
		where := d.Entities.Identity
		if d.Entities.Pod != "" {
			where = d.Entities.Namespace + "/" + d.Entities.Pod
		} else if where == "" {
			where = d.Entities.Host
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.LastTime.UTC().Format("2006-01-02 15:04:05"),
			field.SeverityName(d.Severity), d.Count, cell(d.Rule, 48), cell(where, 48), cell(d.Output, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d detections\n", len(dets))
	return err
}
