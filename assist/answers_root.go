package assist

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/identity"
	"github.com/cairn-cdr/cairn/treeview"
)

// Kinds of origin a root cause names.
const (
	originScript    = "script"
	originService   = "exploited service"
	originScheduled = "scheduled job"
	originShell     = "interactive shell"
	originEntry     = "entry process"
	originCloud     = "cloud credential"
)

// origin is where one or more detections started.
type origin struct {
	kind string
	node treeview.Node // the originating process (runtime)
	// via is the process the origin ran under when it tells how it got
	// there (the interactive shell a script was run from).
	via     *treeview.Node
	started []string // command lines the origin started, toward the detections
	job     string   // the Job of a scheduled job
	ds      []*cairn.Detection
	start   time.Time

	// Cloud origins.
	identity                     string
	keys, ips, sessions, earlier []string
	earlierIDs                   []string          // an event of each earlier address
	imds                         []cairn.Detection // runtime detections that read the role's credentials
}

// answerRootCause walks each runtime detection's process lineage to the
// process it started from, and names the identity, key and addresses of
// each cloud detection, linking instance credentials to where they were
// read; the earliest origin first.
func answerRootCause(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	var a Answer
	var b strings.Builder
	ds := make([]*cairn.Detection, 0, len(c.Detections))
	for i := range c.Detections {
		ds = append(ds, &c.Detections[i])
	}
	// A question naming a process asks about that process's detections.
	var procs []string
	for _, e := range p.Entities {
		if e.Kind == KindProcess {
			procs = append(procs, e.Value)
		}
	}
	focusNote := ""
	if len(procs) > 0 {
		var sel []*cairn.Detection
		for _, d := range ds {
			if e := c.Event(d); e != nil && e.Process != nil && slices.Contains(procs, e.Process.Comm()) {
				sel = append(sel, d)
			}
		}
		if len(sel) > 0 {
			ds = sel
			focusNote = fmt.Sprintf("Focused on the %s of process %s.\n\n", plural(len(sel), "detection group"), joinCode(procs))
		} else {
			focusNote = fmt.Sprintf("No detection in this scope is on process %s; these are the root causes of all of them.\n\n", joinCode(procs))
		}
	}
	if len(ds) == 0 {
		fmt.Fprintf(&b, "## Root cause\n\nThere are no detections in %s to trace.\n", c.Scope.Label())
		a.Text = b.String()
		a.Evidence = []string{}
		a.Suggestions = []string{"Summarize all detections", "What can you answer?"}
		return a, nil
	}

	var origins []*origin
	byKey := map[string]*origin{}
	lineages := map[string][]treeview.Node{}
	var untraced []*cairn.Detection
	for _, d := range ds {
		e := c.Event(d)
		switch {
		case e != nil && e.Process != nil:
			key := d.Entities.ExecID
			lin, ok := lineages[key]
			if !ok || key == "" {
				var err error
				lin, err = lineageOf(ctx, env, d)
				if err != nil {
					return Answer{}, err
				}
				lineages[key] = lin
			}
			o := runtimeOrigin(lin, e)
			if o == nil {
				untraced = append(untraced, d)
				continue
			}
			k := cmp.Or(o.node.Key, o.node.ExecID, o.node.Cmdline)
			if prev := byKey[k]; prev != nil {
				prev.ds = append(prev.ds, d)
				for _, s := range o.started {
					addOnce(&prev.started, s)
				}
				continue
			}
			o.ds = []*cairn.Detection{d}
			byKey[k] = o
			origins = append(origins, o)
		case e != nil && e.Cloud != nil:
			k := "cloud\x00" + e.Cloud.Identity.Key
			o := byKey[k]
			if o == nil {
				o = &origin{kind: originCloud, identity: e.Cloud.Identity.Key, start: d.Time}
				byKey[k] = o
				origins = append(origins, o)
			}
			o.ds = append(o.ds, d)
			evs, err := detectionEvents(ctx, env, c, d)
			if err != nil {
				return Answer{}, err
			}
			for _, x := range evs {
				if x.Cloud == nil {
					continue
				}
				addOnce(&o.keys, x.Cloud.Identity.AccessKeyID)
				addOnce(&o.ips, x.Cloud.SourceIP)
				addOnce(&o.sessions, x.Cloud.Identity.SessionName)
			}
		default:
			untraced = append(untraced, d)
		}
	}
	for _, o := range origins {
		if o.kind != originCloud {
			continue
		}
		if err := cloudContext(ctx, env, o); err != nil {
			return Answer{}, err
		}
	}
	slices.SortStableFunc(origins, func(x, y *origin) int { return x.start.Compare(y.start) })

	ev := newEvidence()
	fmt.Fprintf(&b, "## Root cause in %s\n\n", c.Scope.Label())
	b.WriteString(focusNote)
	if len(origins) == 1 {
		b.WriteString("The detections trace back to one origin.\n")
	} else if len(origins) > 1 {
		fmt.Fprintf(&b, "The detections trace back to %s, earliest first.\n", plural(len(origins), "origin"))
	}
	const maxOrigins = 20
	for i, o := range origins {
		if i == maxOrigins {
			fmt.Fprintf(&b, "\n%d more origins are not shown: narrow the scope to see them.\n", len(origins)-maxOrigins)
			break
		}
		for _, d := range o.ds {
			ev.add(d.ID)
		}
		if o.kind == originCloud {
			writeCloudOrigin(&b, i+1, o, ev)
			for j, prev := range origins[:i] {
				var shared []string
				for _, ip := range o.ips {
					if prev.kind == originCloud && slices.Contains(prev.ips, ip) {
						shared = append(shared, ip)
					}
				}
				if len(shared) > 0 {
					fmt.Fprintf(&b, "- **Linked:** the same address %s used the credentials of %s (origin %d) first\n", joinCode(shared), mdCode(prev.identity), j+1)
				}
			}
		} else {
			writeRuntimeOrigin(&b, c, i+1, o)
		}
	}
	if len(untraced) > 0 {
		fmt.Fprintf(&b, "\n%s could not be traced (no process tree or event stored): %s.\n", plural(len(untraced), "detection group"), detList(untraced))
		for _, d := range untraced {
			ev.add(d.ID)
		}
	}
	for _, o := range origins {
		ev.add(o.earlierIDs...)
	}
	a.Text = b.String()
	a.Evidence = ev.ids
	a.Suggestions = followUps(c, IntentRootCause)
	return a, nil
}

func writeRuntimeOrigin(b *strings.Builder, c *Case, n int, o *origin) {
	d := o.ds[0]
	name := nodeName(o.node)
	if o.kind == originScript {
		name = scriptOf(o.node.Cmdline)
	}
	fmt.Fprintf(b, "\n### %d. %s: %s\n\n", n, originTitle(o.kind), mdCode(name))
	fmt.Fprintf(b, "- **Process:** %s", mdCode(o.node.Cmdline))
	if !o.node.Start.IsZero() {
		fmt.Fprintf(b, ", started %s", mdTime(o.node.Start))
	}
	if o.node.User != "" {
		fmt.Fprintf(b, " as %s", mdCode(o.node.User))
	}
	b.WriteString("\n")
	if w := whereText(c, d); w != "" {
		fmt.Fprintf(b, "- **Workload:** %s\n", w)
	}
	switch o.kind {
	case originScript:
		if o.via != nil {
			fmt.Fprintf(b, "- **How it started:** run from the interactive shell %s directly under the container runtime, outside the container's own process tree, as `kubectl exec` opens one\n", mdCode(o.via.Cmdline))
		} else {
			b.WriteString("- **How it started:** a shell script run in the container\n")
		}
	case originService:
		b.WriteString("- **How it started:** the container's service process itself did something a service should not: an exploited application\n")
	case originScheduled:
		if o.job != "" {
			fmt.Fprintf(b, "- **How it started:** the entry process of a scheduled job (Job %s)\n", mdCode(o.job))
		} else {
			b.WriteString("- **How it started:** run by a scheduler (cron)\n")
		}
	case originShell:
		b.WriteString("- **How it started:** an interactive shell directly under the container runtime, as `kubectl exec` opens one\n")
	}
	if len(o.started) > 0 {
		shown := o.started
		if len(shown) > 8 {
			shown = shown[:8]
		}
		fmt.Fprintf(b, "- **It started:** %s", joinCode(shown))
		if len(o.started) > 8 {
			fmt.Fprintf(b, " and %d more", len(o.started)-8)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "- **Detections from it:** %s\n", detList(o.ds))
}

func writeCloudOrigin(b *strings.Builder, n int, o *origin, ev *evidence) {
	instance := ""
	for _, s := range o.sessions {
		if identity.IsInstanceID(s) {
			instance = s
		}
	}
	title := "credentials of " + mdCode(o.identity)
	if instance != "" {
		title = "instance credentials of " + mdCode(o.identity)
	}
	fmt.Fprintf(b, "\n### %d. %s: %s\n\n", n, originTitle(o.kind), title)
	fmt.Fprintf(b, "- **Identity:** %s\n", mdCode(o.identity))
	if len(o.keys) > 0 {
		fmt.Fprintf(b, "- **Access key:** %s\n", joinCode(o.keys))
	}
	if len(o.ips) > 0 {
		fmt.Fprintf(b, "- **Source addresses:** %s\n", joinCode(o.ips))
	}
	if len(o.sessions) > 0 {
		fmt.Fprintf(b, "- **Session:** %s", joinCode(o.sessions))
		if instance != "" {
			fmt.Fprintf(b, " (an EC2 instance id: these are the credentials of instance %s's role)", mdCode(instance))
		}
		b.WriteString("\n")
	}
	var newIPs []string
	for _, ip := range o.ips {
		if !slices.Contains(o.earlier, ip) {
			newIPs = append(newIPs, ip)
		}
	}
	if len(o.earlier) > 0 {
		fmt.Fprintf(b, "- **Before the first detection** the identity called from %s", joinCode(o.earlier))
		if len(newIPs) > 0 {
			fmt.Fprintf(b, "; %s is new", joinCode(newIPs))
		}
		b.WriteString("\n")
	}
	for _, d := range o.imds {
		fmt.Fprintf(b, "- **Where the credentials came from:** %s read them from the instance metadata service at %s in pod %s on host %s (detection %s); ",
			mdCode(d.Rule), mdTime(d.Time), mdCode(d.Entities.Namespace+"/"+d.Entities.Pod), mdCode(d.Entities.Host), mdCode(d.ID))
		if instance != "" {
			b.WriteString("the instance's credentials were then used off the instance\n")
		} else {
			b.WriteString("the role's credentials were then used\n")
		}
		ev.add(d.ID)
	}
	fmt.Fprintf(b, "- **Detections from it:** %s\n", detList(o.ds))
}

// cloudContext reads from the store, for a cloud origin, the addresses the
// identity called from before its first detection and, for a role, the
// runtime detections that read the role's credentials from the instance
// metadata service.
func cloudContext(ctx context.Context, env Env, o *origin) error {
	if env.Store == nil {
		return nil
	}
	page, err := env.Store.QueryEvents(ctx, cairn.EventQuery{Filter: "cloud.identity = " + filter.Text(o.identity), Until: o.start, Limit: 500})
	if err != nil {
		return fmt.Errorf("earlier calls of %s: %w", o.identity, err)
	}
	for i := range page.Events {
		if cl := page.Events[i].Cloud; cl != nil && cl.SourceIP != "" && !slices.Contains(o.earlier, cl.SourceIP) {
			o.earlier = append(o.earlier, cl.SourceIP)
			o.earlierIDs = append(o.earlierIDs, page.Events[i].ID)
		}
	}
	role := identity.RoleName(o.identity)
	if role == "" {
		return nil
	}
	q := cairn.DetectionQuery{Filter: "proc.cmdline contains " + filter.Text("/latest/meta-data/iam/security-credentials/"+role), Until: o.start.Add(time.Second), Limit: 50}
	dp, err := env.Store.QueryDetections(ctx, q)
	if err != nil {
		return fmt.Errorf("metadata reads of role %s: %w", role, err)
	}
	seen := map[string]bool{}
	for _, d := range dp.Detections {
		if d.Time.After(o.start) || seen[d.Entities.ExecID] {
			continue
		}
		seen[d.Entities.ExecID] = true
		o.imds = append(o.imds, d)
	}
	slices.SortFunc(o.imds, func(x, y cairn.Detection) int { return x.Time.Compare(y.Time) })
	if len(o.imds) > 0 && o.imds[0].Time.Before(o.start) {
		// The theft is where this origin starts.
		o.start = o.imds[0].Time
	}
	return nil
}

func originTitle(kind string) string {
	return strings.ToUpper(kind[:1]) + kind[1:]
}

// runtimeOrigin finds where a runtime detection's process started: the
// script a shell ran, the job's entry process, the service that spawned
// it, the interactive shell, or the first process in the container. nil
// when the lineage is unknown.
func runtimeOrigin(lin []treeview.Node, e *cairn.Event) *origin {
	if len(lin) == 0 {
		return nil
	}
	// k is the first process of the container (or, on a host, the first
	// below init).
	k := -1
	for i, n := range lin {
		if n.Container != "" || n.Pod != "" {
			k = i
			break
		}
	}
	if k < 0 {
		k = 0
		if len(lin) > 1 && isInit(nodeName(lin[0])) {
			k = 1
		}
		for i, n := range lin {
			if isCron(nodeName(n)) && i+1 < len(lin) {
				o := &origin{kind: originScheduled, node: lin[i+1]}
				o.started = childrenOf(lin, i+1)
				o.start = lin[i+1].Start
				return o
			}
		}
	}
	o := &origin{node: lin[k], start: lin[k].Start}
	for i := k; i < len(lin); i++ {
		if isScript(lin[i].Cmdline) {
			o.kind, o.node, o.start = originScript, lin[i], lin[i].Start
			if i > 0 {
				if prev := lin[i-1]; isShell(nodeName(prev)) && shellArgs(prev.Cmdline) == "" {
					o.via = &prev
				}
			}
			o.started = childrenOf(lin, i)
			return o
		}
	}
	o.started = childrenOf(lin, k)
	if job := jobOf(e); job != "" {
		o.kind, o.job = originScheduled, job
		return o
	}
	for _, n := range lin[:k] {
		if isCron(nodeName(n)) {
			o.kind = originScheduled
			return o
		}
	}
	name := nodeName(lin[k])
	switch {
	case isShell(name) && shellArgs(lin[k].Cmdline) == "":
		o.kind = originShell
	case !isShell(name):
		// The container's service, which either spawned the detection's
		// process or did the detected thing itself.
		o.kind = originService
	default:
		o.kind = originEntry
	}
	return o
}

// childrenOf is the command line of the lineage's process after i, the
// one the origin started toward the detection.
func childrenOf(lin []treeview.Node, i int) []string {
	if i+1 < len(lin) {
		return []string{lin[i+1].Cmdline}
	}
	return nil
}

// jobOf is the Job that owns the event's pod, or "".
func jobOf(e *cairn.Event) string {
	k := e.K8s
	if k == nil {
		return ""
	}
	if k.WorkloadKind == "Job" || k.WorkloadKind == "CronJob" {
		return cmp.Or(k.WorkloadName, k.Pod)
	}
	return cmp.Or(k.Labels["batch.kubernetes.io/job-name"], k.Labels["job-name"])
}

var shells = []string{"sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "fish", "tcsh", "csh"}

func isShell(name string) bool { return slices.Contains(shells, name) }

func isInit(name string) bool { return name == "systemd" || name == "init" }

func isCron(name string) bool {
	return name == "cron" || name == "crond" || name == "anacron" || name == "atd"
}

// shellArgs returns the arguments of a shell's command line, "" when it
// is not a shell or has none.
func shellArgs(cmdline string) string {
	f := strings.Fields(cmdline)
	if len(f) == 0 || !isShell(pathBase(f[0])) {
		return ""
	}
	return strings.Join(f[1:], " ")
}

// isScript reports whether a command line is a shell running a script
// file (sh ./x.sh, bash -x /tmp/x.sh), not an inline command (sh -c ...).
func isScript(cmdline string) bool {
	f := strings.Fields(cmdline)
	if len(f) < 2 || !isShell(pathBase(f[0])) {
		return false
	}
	for _, a := range f[1:] {
		if a == "-c" {
			return false
		}
		if strings.HasPrefix(a, "-") {
			continue
		}
		return strings.HasSuffix(a, ".sh") || strings.Contains(a, "/")
	}
	return false
}

// scriptOf is the script file a shell's command line runs.
func scriptOf(cmdline string) string {
	f := strings.Fields(cmdline)
	for _, a := range f[1:] {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return cmdline
}

func pathBase(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func joinCode(vs []string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = mdCode(v)
	}
	return strings.Join(parts, ", ")
}
