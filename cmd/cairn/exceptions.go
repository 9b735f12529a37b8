package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/exception"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/internal/when"
)

func runExceptions(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(e.stderr, "usage: cairn exceptions add|list|rm [flags]\n\n"+
			"  add --from-detection ID  suppress the rule's future detections like this one (shows the backtest first)\n"+
			"  list                     the stored exceptions (-o falco prints them as Falco rules-file exceptions)\n"+
			"  rm ID                    remove an exception\n")
		return exitUsage
	}
	switch args[0] {
	case "add":
		return exceptionsAdd(ctx, e, args[1:])
	case "list", "ls":
		return exceptionsList(ctx, e, args[1:])
	case "rm", "remove":
		return exceptionsRemove(ctx, e, args[1:])
	}
	fmt.Fprintf(e.stderr, "cairn exceptions: unknown subcommand %q; use add, list or rm\n", args[0])
	return exitUsage
}

func exceptionsAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "exceptions add", "--from-detection ID",
		"Adds an exception to the detection's rule, built from the detection's own event: for each field, the value\n"+
			"the event has. Before storing it, replays the rule's past detections through it and says how many it would\n"+
			"have suppressed (the backtest). It applies to every event ingested from then on.\n"+
			"Default fields: "+strings.Join(exception.RuntimeFields, ",")+" (runtime), "+strings.Join(exception.CloudFields, ",")+" (CloudTrail).")
	db := dbFlag(fs, e)
	from := fs.String("from-detection", "", "detection id (cairn detections -o json shows ids)")
	fields := fs.String("fields", "", "comma-separated fields to match on, at any ancestor level (proc.aname[2], proc.aexepath[3])")
	expires := fs.String("expires", "", "the exception stops applying after this long (30d, 12h) or at this time (RFC3339)")
	note := fs.String("note", "", "why the exception exists")
	name := fs.String("name", "", "the exception's name within the rule (default: made from its id)")
	dryRun := fs.Bool("dry-run", false, "show the exception and its backtest, store nothing")
	out := outputFlag(fs, "text", "json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") || !noArguments(e, fs) {
		return exitUsage
	}
	if *from == "" {
		fmt.Fprintln(e.stderr, "cairn exceptions add: --from-detection ID is required")
		return exitUsage
	}
	now := time.Now().UTC()
	var until time.Time
	if *expires != "" {
		t, err := when.Later(*expires, now)
		if err != nil {
			fmt.Fprintf(e.stderr, "cairn exceptions add: --expires: %v\n", err)
			return exitUsage
		}
		until = t
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	d, err := st.GetDetection(ctx, *from)
	if err != nil {
		return fail(e, err)
	}
	if len(d.EventIDs) == 0 {
		return fail(e, cairn.Errorf(cairn.EINVALID, "detection %s names no event to take values from", d.ID))
	}
	ev, err := st.GetEvent(ctx, d.EventIDs[0])
	if err != nil {
		return fail(e, err)
	}
	x, err := exception.FromEvent(d, &ev, splitList(*fields))
	if err != nil {
		return fail(e, err)
	}
	x.ID = exception.NewID()
	x.Name = *name
	if x.Name == "" {
		x.Name = "cairn_" + strings.ReplaceAll(x.ID, "-", "_")
	}
	x.Note, x.Author, x.Created, x.Expires, x.Detection = *note, actor(e), now, until, d.ID
	bt, err := exception.Replay(ctx, st, &x)
	if err != nil {
		return fail(e, err)
	}
	if !*dryRun {
		detail, _ := json.Marshal(x)
		if err := st.AddException(ctx, x, cairn.AuditEntry{Time: now, Actor: x.Author, Action: "exception.add", Detail: string(detail)}); err != nil {
			return fail(e, err)
		}
	}
	if *out == "json" {
		if err := writeJSON(e.stdout, map[string]any{"exception": x, "backtest": bt, "stored": !*dryRun}); err != nil {
			return fail(e, err)
		}
		return exitOK
	}
	fmt.Fprintf(e.stdout, "backtest: would have suppressed %d of the %d past detections of %q (%d of %d groups)\n",
		bt.Suppressed, bt.Detections, termsafe.String(x.Rule), bt.GroupsSuppressed, bt.Groups)
	if bt.Unreadable > 0 {
		fmt.Fprintf(e.stdout, "          %d detections could not be replayed: their events are no longer stored\n", bt.Unreadable)
	}
	if err := writeFalcoExceptions(e.stdout, []cairn.Exception{x}); err != nil {
		return fail(e, err)
	}
	if *dryRun {
		fmt.Fprintln(e.stdout, "dry run: nothing stored")
	} else {
		fmt.Fprintf(e.stdout, "added exception %s; it applies to every event ingested from now on (cairn exceptions rm %s removes it)\n", x.ID, x.ID)
	}
	return exitOK
}

func exceptionsList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "exceptions list", "", "Lists the stored exceptions, oldest first; expired ones are marked.")
	db := dbFlag(fs, e)
	out := outputFlag(fs, "text", "json", "falco")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json", "falco") || !noArguments(e, fs) {
		return exitUsage
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	xs, err := st.Exceptions(ctx)
	if err != nil {
		return fail(e, err)
	}
	switch *out {
	case "json":
		err = writeJSON(e.stdout, xs)
	case "falco":
		err = writeFalcoExceptions(e.stdout, xs)
	default:
		err = printExceptions(e.stdout, xs, time.Now())
	}
	if err != nil {
		return fail(e, err)
	}
	return exitOK
}

func printExceptions(w io.Writer, xs []cairn.Exception, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRULE\tMATCHES\tBY\tCREATED (UTC)\tEXPIRES\tNOTE")
	for _, x := range xs {
		var conds []string
		for _, tuple := range x.Values {
			parts := make([]string, len(tuple))
			for i, v := range tuple {
				comp := "="
				if i < len(x.Comps) {
					comp = x.Comps[i]
				}
				if i < len(x.Fields) {
					parts[i] = x.Fields[i] + comp + strconv.Quote(v)
				}
			}
			conds = append(conds, strings.Join(parts, " "))
		}
		exp := "never"
		if !x.Expires.IsZero() {
			exp = x.Expires.UTC().Format("2006-01-02 15:04")
			if !x.Active(now) {
				exp += " (expired)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, cell(x.Rule, 40), cell(strings.Join(conds, " | "), 90),
			cell(x.Author, 20), x.Created.UTC().Format("2006-01-02 15:04"), exp, cell(x.Note, 40))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d exceptions\n", len(xs))
	return err
}

// writeFalcoExceptions prints exceptions as a Falco rules file that
// appends them to their rules, so that they can be kept with the rules.
func writeFalcoExceptions(w io.Writer, xs []cairn.Exception) error {
	type fxc struct {
		Name   string     `yaml:"name"`
		Fields []string   `yaml:"fields,flow"`
		Comps  []string   `yaml:"comps,flow"`
		Values []flowList `yaml:"values"`
	}
	type frule struct {
		Rule       string            `yaml:"rule"`
		Exceptions []fxc             `yaml:"exceptions"`
		Override   map[string]string `yaml:"override"`
	}
	var doc []frule
	byRule := map[string]int{}
	for _, x := range xs {
		i, ok := byRule[x.Rule]
		if !ok {
			i = len(doc)
			byRule[x.Rule] = i
			doc = append(doc, frule{Rule: x.Rule, Override: map[string]string{"exceptions": "append"}})
		}
		vals := make([]flowList, len(x.Values))
		for j, v := range x.Values {
			vals[j] = flowList(v)
		}
		doc[i].Exceptions = append(doc[i].Exceptions, fxc{Name: x.Name, Fields: x.Fields, Comps: x.Comps, Values: vals})
	}
	if len(doc) == 0 {
		return nil
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	// Line by line, so that the newlines stay: a control or bidi
	// character in a value is shown escaped, never interpreted.
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i, l := range lines {
		lines[i] = termsafe.String(l)
	}
	_, err = fmt.Fprintln(w, strings.Join(lines, "\n"))
	return err
}

// flowList is a list YAML writes on one line: [a, b, c].
type flowList []string

func (l flowList) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range l {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s})
	}
	return n, nil
}

func exceptionsRemove(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "exceptions rm", "ID", "Removes an exception; the removal is written to the audit log.")
	db := dbFlag(fs, e)
	if code, ok := parse(fs, args); !ok {
		return code
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
	x, err := st.RemoveException(ctx, fs.Arg(0), cairn.AuditEntry{Time: time.Now().UTC(), Actor: actor(e), Action: "exception.rm"})
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "removed exception %s of %q\n", x.ID, termsafe.String(x.Rule))
	return exitOK
}

func runAudit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "audit", "", "Lists the audit log, newest first: who changed what (exceptions, ...) and when.")
	db := dbFlag(fs, e)
	limit := fs.Int("limit", 100, "at most N entries (0: all)")
	out := outputFlag(fs, "text", "json", "ndjson")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json", "ndjson") || !noArguments(e, fs) {
		return exitUsage
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	entries, err := st.Audit(ctx, *limit)
	if err != nil {
		return fail(e, err)
	}
	err = writeRecords(e.stdout, *out, entries, func(w io.Writer, es []cairn.AuditEntry) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tACTOR\tACTION\tOBJECT\tDETAIL")
		for _, a := range es {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", a.Seq, a.Time.UTC().Format("2006-01-02 15:04:05"),
				cell(a.Actor, 20), cell(a.Action, 20), cell(a.Object, 30), cell(a.Detail, 100))
		}
		return tw.Flush()
	})
	if err != nil {
		return fail(e, err)
	}
	return exitOK
}

// actor is who runs the CLI: the operating-system user.
func actor(e *env) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := e.getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
