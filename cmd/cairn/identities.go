package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/identity"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/internal/when"
	"github.com/cairn-cdr/cairn/posture"
	"github.com/cairn-cdr/cairn/remediate"
)

func runIdentities(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "show":
			return identitiesShow(ctx, e, args[1:])
		case "flag":
			return identitiesFlag(ctx, e, args[1:])
		}
		fmt.Fprintf(e.stderr, "cairn identities: unknown subcommand %q; use show or flag (or no subcommand to list)\n", termsafe.String(args[0]))
		return exitUsage
	}
	fs := newFlags(e, "identities", "",
		"Lists the cloud identities seen in CloudTrail: compromised first, then potentially compromised (set by cairn\n"+
			"when a high or critical detection names them), then by risk. Subcommands: show ID, flag ID.")
	db := dbFlag(fs, e)
	flt := fs.String("filter", "", "only the identities of the CloudTrail events this filter selects")
	var postureFiles rulesFlag
	fs.Var(&postureFiles, "posture", "IAM posture: aws iam get-account-authorization-details JSON or a credential report CSV (repeatable)")
	out := outputFlag(fs, "text", "json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") || !noArguments(e, fs) {
		return exitUsage
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	pos, err := loadPosture(postureFiles)
	if err != nil {
		return fail(e, err)
	}
	vs, err := identity.List(ctx, st, st, pos, identity.Options{Filter: *flt})
	if err != nil {
		return fail(e, err)
	}
	if *out == "json" {
		if vs == nil {
			vs = []identity.View{}
		}
		return done(e, writeJSON(e.stdout, vs))
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tRISK\tIDENTITY\tEVENTS\tERRORS\tDETECTIONS\tLAST SEEN (UTC)")
	for _, v := range vs {
		state := v.Status.State
		if state == "" {
			state = "-"
		}
		fmt.Fprintf(tw, "%s\t%s (%d)\t%s\t%d\t%d\t%d\t%s\n", state, v.Risk.Level, v.Risk.Score, termsafe.String(v.Key),
			v.Events, v.Errors, len(v.Detections), v.Last.UTC().Format("2006-01-02 15:04:05"))
	}
	return done(e, tw.Flush())
}

// done turns a write error into the exit code.
func done(e *env, err error) int {
	if err != nil {
		return fail(e, err)
	}
	return exitOK
}

// openIdentity opens the store and builds the view of one identity in
// it, ENOTFOUND when it made no call cairn stored. The caller closes the
// store; on an error it is closed.
func openIdentity(ctx context.Context, db, key string) (cairn.Store, identity.View, error) {
	st, err := openStore(ctx, db)
	if err != nil {
		return nil, identity.View{}, err
	}
	v, err := identity.One(ctx, st, st, nil, identity.Options{}, key)
	if cairn.ErrorCode(err) == cairn.ENOTFOUND {
		err = cairn.Errorf(cairn.ENOTFOUND, "no CloudTrail call of identity %q is stored (cairn identities lists them)", termsafe.String(key))
	}
	if err != nil {
		st.Close()
		return nil, v, err
	}
	return st, v, nil
}

func identitiesShow(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "identities show", "ID", "Shows one identity: status, risk and reasons, activity, addresses, keys, links and detections.")
	db := dbFlag(fs, e)
	out := outputFlag(fs, "text", "json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "cairn identities show: name one identity (its ARN, as cairn identities lists it)")
		return exitUsage
	}
	st, v, err := openIdentity(ctx, *db, fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	if *out == "json" {
		return done(e, writeJSON(e.stdout, v))
	}
	return done(e, writeIdentity(e.stdout, v))
}

func writeIdentity(w io.Writer, v identity.View) error {
	bw := bufio.NewWriter(w)
	s := termsafe.String
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
	fmt.Fprintf(bw, "%s  (%s, account %s)\n", s(v.Key), s(v.Type), s(v.Account))
	state := v.Status.State
	if state == "" {
		state = "nothing known"
	}
	fmt.Fprintf(bw, "status: %s", state)
	if v.Status.By != "" {
		fmt.Fprintf(bw, " (by %s at %s)", s(v.Status.By), ts(v.Status.At))
	}
	if !v.Status.Since.IsZero() {
		fmt.Fprintf(bw, "; compromise began %s UTC", ts(v.Status.Since))
	}
	if v.Status.Note != "" {
		fmt.Fprintf(bw, "; %s", s(v.Status.Note))
	}
	fmt.Fprintf(bw, "\nrisk: %s (%d)\n", v.Risk.Level, v.Risk.Score)
	for _, r := range v.Risk.Reasons {
		fmt.Fprintf(bw, "  - %s\n", s(r))
	}
	fmt.Fprintf(bw, "activity: %d calls (%d failed), %s to %s UTC\n", v.Events, v.Errors, ts(v.First), ts(v.Last))
	list := func(title string, vals []string) {
		if len(vals) > 0 {
			fmt.Fprintf(bw, "%s: %s\n", title, s(strings.Join(vals, ", ")))
		}
	}
	var addrs []string
	for _, ip := range v.SourceIPs {
		addrs = append(addrs, fmt.Sprintf("%s (%s, %d)", ip.IP, ip.Kind, ip.N))
	}
	list("source addresses", addrs)
	list("access keys", v.AccessKeys)
	list("sessions", v.Sessions)
	list("instances", v.Instances)
	var hosts []string
	for _, h := range v.InstanceHosts {
		hosts = append(hosts, fmt.Sprintf("%s → %s (%s, from %s)", h.Instance, h.Host, h.IP, h.How))
	}
	list("instance hosts", hosts)
	list("assumed by", v.AssumedBy)
	list("workloads", v.Workloads)
	var acts []string
	for _, a := range v.Actions {
		acts = append(acts, fmt.Sprintf("%s×%d", a.Value, a.N))
	}
	list("actions", acts)
	for _, d := range v.Detections {
		fmt.Fprintf(bw, "detection %s  %s  %s\n", ts(d.Time), s(d.Rule), s(d.ID))
	}
	return bw.Flush()
}

func identitiesFlag(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "identities flag", "ID --compromised|--cleared",
		"Records an analyst's verdict on an identity (audited): compromised (with when it began: --since, default\n"+
			"cairn's own estimate) or cleared.")
	db := dbFlag(fs, e)
	compromised := fs.Bool("compromised", false, "the identity is compromised")
	cleared := fs.Bool("cleared", false, "the identity is not (or no longer) compromised")
	note := fs.String("note", "", "why")
	since := fs.String("since", "", "when the compromise began (RFC3339 or a duration ago); default: the earliest event behind cairn's evidence")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || *compromised == *cleared {
		fmt.Fprintln(e.stderr, "cairn identities flag: name one identity and exactly one of --compromised or --cleared")
		return exitUsage
	}
	now := time.Now().UTC()
	var began time.Time
	if *since != "" {
		t, err := when.Ago(*since, now)
		if err != nil {
			fmt.Fprintf(e.stderr, "cairn identities flag: --since: %v\n", err)
			return exitUsage
		}
		began = t
	}
	st, v, err := openIdentity(ctx, *db, fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	status := cairn.IdentityStatus{Identity: v.Key, State: cairn.IdentityCleared, By: actor(e), At: now, Note: *note}
	if *compromised {
		status.State = cairn.IdentityCompromised
		status.Since, status.Evidence = v.Status.Since, v.Status.Evidence
		if !began.IsZero() {
			status.Since = began
		}
	}
	if _, err := st.SetIdentityStatus(ctx, status, cairn.AuditEntry{Time: now, Actor: status.By}); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "%s: %s", termsafe.String(v.Key), status.State)
	if !status.Since.IsZero() {
		fmt.Fprintf(e.stdout, " since %s UTC", status.Since.UTC().Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintln(e.stdout)
	return exitOK
}

func runPolicy(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "policy", "ID",
		"Recommends a least-privilege IAM policy for an identity from the calls it made: by default those before its\n"+
			"compromise began (so the attacker's own calls cannot taint it), else its whole history. CloudTrail names are\n"+
			"mapped to IAM actions; resources are named where the calls name them.")
	db := dbFlag(fs, e)
	times := addTimeFlags(fs, "calls")
	var postureFiles rulesFlag
	fs.Var(&postureFiles, "posture", "IAM posture (authorization details JSON): also say what the policy removes from the identity's current permissions")
	out := outputFlag(fs, "text", "json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "cairn policy: name one identity (its ARN, as cairn identities lists it)")
		return exitUsage
	}
	since, until, err := times.parse(time.Now())
	if err != nil {
		fmt.Fprintf(e.stderr, "cairn policy: %v\n", err)
		return exitUsage
	}
	st, v, err := openIdentity(ctx, *db, fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	rec, err := identity.Recommend(ctx, st, v, since, until)
	if err != nil {
		return fail(e, err)
	}
	until = rec.Window.Until
	if *out == "json" {
		return done(e, writeJSON(e.stdout, rec))
	}
	doc, err := rec.JSON()
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "%s\n", doc)
	fmt.Fprintf(e.stderr, "from %d calls", rec.Events)
	if !until.IsZero() {
		fmt.Fprintf(e.stderr, " before %s UTC", until.UTC().Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintln(e.stderr)
	if len(rec.Unmapped) > 0 {
		fmt.Fprintf(e.stderr, "not mapped to IAM actions: %s\n", termsafe.String(strings.Join(rec.Unmapped, ", ")))
	}
	if len(rec.Unverified) > 0 {
		fmt.Fprintf(e.stderr, "actions not in the known-action table (kept, check them): %s\n", termsafe.String(strings.Join(rec.Unverified, ", ")))
	}
	pos, err := loadPosture(postureFiles)
	if err != nil {
		return fail(e, err)
	}
	if red, ok := pos.Reduce(v.Key, rec); ok {
		fmt.Fprintf(e.stderr, "against its current permissions: keeps %d of %d actions\n", len(red.Kept), red.CurrentCount)
		for _, l := range red.Summary() {
			fmt.Fprintf(e.stderr, "  %s\n", termsafe.String(l))
		}
	}
	return exitOK
}

func runRemediate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "remediate", "ID --strategy S",
		"Prints a remediation plan for a compromised identity: the IAM JSON and AWS CLI commands, preconditions and\n"+
			"rollback. Strategies: restrict-source-ip (--cidr), revoke-sessions, deactivate, reset-password, rotate-keys, delete.\n"+
			"--execute performs it through the IAM API (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n"+
			"AWS_SESSION_TOKEN) after you type the identity's name to confirm (or --yes); it is written to the audit log.")
	db := dbFlag(fs, e)
	strategy := fs.String("strategy", "", "the plan: restrict-source-ip, revoke-sessions, deactivate, reset-password, rotate-keys, delete; empty lists them all")
	var cidrs rulesFlag
	fs.Var(&cidrs, "cidr", "network the identity stays allowed from, for restrict-source-ip (repeatable)")
	execute := fs.Bool("execute", false, "perform the plan through the IAM API")
	yes := fs.Bool("yes", false, "with --execute: do not ask for confirmation")
	endpoint := fs.String("iam-endpoint", "https://iam.amazonaws.com", "the IAM API endpoint (for --execute)")
	out := outputFlag(fs, "text", "json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json") {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "cairn remediate: name one identity (its ARN, as cairn identities lists it)")
		return exitUsage
	}
	if *execute && *strategy == "" {
		fmt.Fprintln(e.stderr, "cairn remediate: --execute needs one --strategy")
		return exitUsage
	}
	st, v, err := openIdentity(ctx, *db, fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	keys, bad := remediate.UsableKeys(v.AccessKeys)
	if len(bad) > 0 {
		fmt.Fprintf(e.stderr, "cairn remediate: left out malformed access key ids: %s\n", termsafe.String(strings.Join(bad, ", ")))
	}
	t, err := remediate.TargetOf(v.Key, keys)
	if err != nil {
		return fail(e, err)
	}
	now := time.Now().UTC()
	if _, err := remediate.CheckCIDRs(cidrs); err != nil && (*strategy == string(remediate.RestrictSourceIP)) {
		return fail(e, err)
	}
	plans := remediate.Plans(t, remediate.Options{Now: now, CIDRs: cidrs})
	if *strategy != "" {
		var keep []remediate.Plan
		for _, p := range plans {
			if string(p.Strategy) == *strategy {
				keep = append(keep, p)
			}
		}
		if len(keep) == 0 {
			fmt.Fprintf(e.stderr, "cairn remediate: unknown strategy %q\n", termsafe.String(*strategy))
			return exitUsage
		}
		plans = keep
	}
	if !*execute {
		if *out == "json" {
			return done(e, writeJSON(e.stdout, plans))
		}
		for _, p := range plans {
			writePlan(e.stdout, p)
		}
		return exitOK
	}
	p := plans[0]
	if !p.Applies {
		return fail(e, cairn.Errorf(cairn.EINVALID, "%s does not apply to %s: %s", p.Strategy, v.Key, p.Why))
	}
	writePlan(e.stdout, p)
	if !*yes {
		name := t.UserName
		if name == "" {
			name = t.RoleName
		}
		fmt.Fprintf(e.stdout, "\nThis changes IAM in account %s. Type %q to go on: ", t.Account, name)
		line, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if strings.TrimSpace(line) != name {
			fmt.Fprintln(e.stderr, "cairn remediate: not confirmed; nothing was done")
			return exitUsage
		}
	}
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := aws.Credentials{AccessKeyID: e.getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: e.getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: e.getenv("AWS_SESSION_TOKEN"), Source: "environment"}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return aws.Credentials{}, fmt.Errorf("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
		}
		return c, nil
	})
	client, err := remediate.NewClient(ctx, *endpoint, "us-east-1", creds)
	if err != nil {
		return fail(e, err)
	}
	res, execErr := remediate.Execute(ctx, client, p)
	detail, _ := json.Marshal(map[string]any{"strategy": p.Strategy, "done": res.Done, "failed": res.Failed})
	if err := st.AppendAudit(ctx, cairn.AuditEntry{Time: time.Now().UTC(), Actor: actor(e), Action: "identity.remediate", Object: v.Key, Detail: string(detail)}); err != nil {
		return fail(e, err)
	}
	for _, d := range res.Done {
		fmt.Fprintf(e.stdout, "done: %s\n", termsafe.String(d))
	}
	if res.NewAccessKeyID != "" {
		fmt.Fprintf(e.stdout, "new access key %s; its secret, for the owner only (shown once): %s\n", res.NewAccessKeyID, res.NewSecretAccessKey)
	}
	if execErr != nil {
		fmt.Fprintf(e.stdout, "failed: %s\n", termsafe.String(res.Failed))
		return fail(e, execErr)
	}
	return exitOK
}

func writePlan(w io.Writer, p remediate.Plan) {
	s := termsafe.Text
	fmt.Fprintf(w, "== %s: %s\n", p.Strategy, s(p.Title))
	if !p.Applies {
		fmt.Fprintf(w, "does not apply: %s\n\n", s(p.Why))
		return
	}
	fmt.Fprintf(w, "%s\n", s(p.Why))
	for _, c := range p.Preconditions {
		fmt.Fprintf(w, "precondition: %s\n", s(c))
	}
	for i, st := range p.Steps {
		fmt.Fprintf(w, "%d. %s\n   %s\n", i+1, s(st.Description), s(st.CLI))
	}
	for _, st := range p.Rollback {
		fmt.Fprintf(w, "rollback: %s\n   %s\n", s(st.Description), s(st.CLI))
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note: %s\n", s(n))
	}
	fmt.Fprintln(w)
}

// loadPosture reads IAM posture files: authorization details (JSON) and
// credential reports (CSV), told apart by their first byte. nil when
// there are none.
func loadPosture(files []string) (*posture.Index, error) {
	if len(files) == 0 {
		return nil, nil
	}
	var acct *posture.Account
	var creds []posture.Credential
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
			a, err := posture.LoadAuthDetails(bytes.NewReader(b))
			if err != nil {
				return nil, fmt.Errorf("--posture %s: %w", name, err)
			}
			if acct != nil {
				acct.Principals = append(acct.Principals, a.Principals...)
			} else {
				acct = a
			}
			continue
		}
		c, err := posture.LoadCredentialReport(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("--posture %s: %w", name, err)
		}
		creds = append(creds, c...)
	}
	return posture.NewIndex(acct, creds, time.Now()), nil
}
