package assist

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/identity"
	"github.com/cairn-cdr/cairn/treeview"
)

// answerAttack lists the ATT&CK tactics and techniques the case's
// detections carry, along the kill chain, each with the detections that
// show it.
func answerAttack(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	var a Answer
	var b strings.Builder
	type techRow struct {
		id   string
		ds   []*cairn.Detection
		seen map[string]bool
	}
	type tacticRow struct {
		t     attack.Tactic
		techs map[string]*techRow
		ds    []*cairn.Detection // detections of the tactic naming no technique of it
	}
	tactics := map[string]*tacticRow{}
	row := func(t attack.Tactic) *tacticRow {
		r := tactics[t.ID]
		if r == nil {
			r = &tacticRow{t: t, techs: map[string]*techRow{}}
			tactics[t.ID] = r
		}
		return r
	}
	ev := newEvidence()
	allTechs := map[string]bool{}
	for i := range c.Detections {
		d := &c.Detections[i]
		dt := detTactics(d)
		covered := map[string]bool{}
		for _, id := range d.Techniques {
			var serves []attack.Tactic
			if tech, ok := attack.TechniqueByID(id); ok {
				for _, t := range dt {
					if slices.Contains(tech.Tactics, t.Shortname) {
						serves = append(serves, t)
					}
				}
				if len(serves) == 0 && len(tech.Tactics) > 0 {
					if t, ok := attack.TacticByName(tech.Tactics[0]); ok {
						serves = append(serves, t)
					}
				}
			}
			if len(serves) == 0 && len(dt) > 0 {
				serves = dt[:1]
			}
			for _, t := range serves {
				covered[t.ID] = true
				r := row(t)
				tr := r.techs[id]
				if tr == nil {
					tr = &techRow{id: id, seen: map[string]bool{}}
					r.techs[id] = tr
				}
				if !tr.seen[d.ID] {
					tr.seen[d.ID] = true
					tr.ds = append(tr.ds, d)
				}
			}
			allTechs[id] = true
			ev.add(d.ID)
		}
		for _, t := range dt {
			if !covered[t.ID] {
				r := row(t)
				r.ds = append(r.ds, d)
				ev.add(d.ID)
			}
		}
	}
	sug, err := suggestFromCalls(ctx, env, c, allTechs)
	if err != nil {
		return Answer{}, err
	}
	if len(tactics) == 0 {
		fmt.Fprintf(&b, "## MITRE ATT&CK\n\nNone of the %s in %s carries an ATT&CK tactic or technique.\n", plural(len(c.Detections), "detection group"), c.Scope.Label())
		if len(sug.techs) > 0 {
			sug.write(&b, ev)
		}
		a.Text = b.String()
		a.Evidence = ev.ids
		a.Suggestions = followUps(c, IntentAttack)
		if len(c.Detections) == 0 {
			a.Suggestions = []string{"Summarize all detections", "What can you answer?"}
		}
		return a, nil
	}
	order := make([]*tacticRow, 0, len(tactics))
	for _, r := range tactics {
		order = append(order, r)
	}
	slices.SortFunc(order, func(x, y *tacticRow) int { return cmp.Compare(x.t.Order, y.t.Order) })
	fmt.Fprintf(&b, "## MITRE ATT&CK tactics and techniques in %s\n\n", c.Scope.Label())
	fmt.Fprintf(&b, "%s and %s, shown by %s, in kill-chain order:\n", plural(len(order), "tactic"), plural(len(allTechs), "technique"), plural(len(ev.ids), "detection group"))
	for i, r := range order {
		fmt.Fprintf(&b, "\n### %d. %s (%s)\n\n", i+1, r.t.Name, r.t.ID)
		techs := make([]*techRow, 0, len(r.techs))
		for _, t := range r.techs {
			techs = append(techs, t)
		}
		slices.SortFunc(techs, func(x, y *techRow) int { return strings.Compare(x.id, y.id) })
		for _, t := range techs {
			name := "unknown technique"
			if tech, ok := attack.TechniqueByID(t.id); ok {
				name = techniqueName(tech)
			}
			fmt.Fprintf(&b, "- **%s %s**: %s\n", mdCode(t.id), name, detList(t.ds))
		}
		if len(r.ds) > 0 {
			fmt.Fprintf(&b, "- no technique named: %s\n", detList(r.ds))
		}
	}
	if len(sug.idents) > 0 {
		sug.write(&b, ev)
	}
	a.Text = b.String()
	a.Evidence = ev.ids
	a.Suggestions = followUps(c, IntentAttack)
	return a, nil
}

// detList names detections by rule, with their count and where they
// happened, a few at most.
func detList(ds []*cairn.Detection) string {
	type group struct {
		rule   string
		n      int
		places []string
	}
	var gs []*group
	by := map[string]*group{}
	for _, d := range ds {
		g := by[d.Rule]
		if g == nil {
			g = &group{rule: d.Rule}
			by[d.Rule] = g
			gs = append(gs, g)
		}
		g.n += detCount(d)
		if pl := placeOf(d); pl != "" && !slices.Contains(g.places, pl) {
			g.places = append(g.places, pl)
		}
	}
	var parts []string
	for i, g := range gs {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more rules", len(gs)-5))
			break
		}
		s := fmt.Sprintf("%s (%s", mdCode(g.rule), plural(g.n, "detection"))
		if len(g.places) > 0 {
			shown := g.places
			if len(shown) > 3 {
				shown = shown[:3]
			}
			s += " on " + strings.Join(shown, ", ")
			if len(g.places) > 3 {
				s += fmt.Sprintf(" and %d more", len(g.places)-3)
			}
		}
		parts = append(parts, s+")")
	}
	return strings.Join(parts, "; ")
}

// placeOf is the short place of a detection: its pod, container, host or
// identity, as a code span.
func placeOf(d *cairn.Detection) string {
	e := d.Entities
	switch {
	case e.Pod != "":
		return mdCode(e.Namespace + "/" + e.Pod)
	case e.ContainerID != "" && e.ContainerID != "host":
		return mdCode(e.ContainerID)
	case e.Identity != "":
		return mdCode(e.Identity)
	case e.Host != "":
		return mdCode(e.Host)
	}
	return ""
}

// detTactics are the ATT&CK tactics of a detection in kill-chain order.
func detTactics(d *cairn.Detection) []attack.Tactic {
	var ts []attack.Tactic
	for _, id := range d.Tactics {
		t, ok := attack.TacticByID(id)
		if !ok {
			t, ok = attack.TacticByName(id)
		}
		if ok && !slices.ContainsFunc(ts, func(x attack.Tactic) bool { return x.ID == t.ID }) {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(x, y attack.Tactic) int { return cmp.Compare(x.Order, y.Order) })
	return ts
}

// stage is a detection's kill-chain position: its earliest tactic, or
// after every tactic when it has none.
func stage(d *cairn.Detection) int {
	if ts := detTactics(d); len(ts) > 0 {
		return ts[0].Order
	}
	return 1 << 30
}

// attackLine names a detection's tactics and techniques.
func attackLine(d *cairn.Detection) string {
	var parts []string
	for _, t := range detTactics(d) {
		parts = append(parts, fmt.Sprintf("%s (%s)", t.Name, t.ID))
	}
	for _, id := range d.Techniques {
		if tech, ok := attack.TechniqueByID(id); ok {
			parts = append(parts, fmt.Sprintf("%s %s", mdCode(id), tech.Name))
		} else {
			parts = append(parts, mdCode(id))
		}
	}
	return strings.Join(parts, ", ")
}

// answerPath lists the case's detections in time order, each with its
// kill-chain stage and, for runtime detections, the process lineage; it
// links cloud steps to the runtime steps they follow from.
func answerPath(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	var a Answer
	var b strings.Builder
	if len(c.Detections) == 0 {
		fmt.Fprintf(&b, "## Attack path\n\nThere are no detections in %s, so there is no attack path to show.\n", c.Scope.Label())
		a.Text = b.String()
		a.Evidence = []string{}
		a.Suggestions = []string{"Summarize all detections", "What can you answer?"}
		return a, nil
	}
	ds := make([]*cairn.Detection, len(c.Detections))
	for i := range c.Detections {
		ds[i] = &c.Detections[i]
	}
	slices.SortStableFunc(ds, func(x, y *cairn.Detection) int {
		return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(stage(x), stage(y)))
	})
	const maxSteps = 60
	ev := newEvidence()
	links := linkCloudToRuntime(c)
	lineages := map[string]string{} // exec id -> rendered lineage, each shown once
	fmt.Fprintf(&b, "## Attack path in %s\n\n", c.Scope.Label())
	fmt.Fprintf(&b, "%s in time order, each with its kill-chain stage", plural(len(ds), "detection group"))
	b.WriteString(".\n")
	var stages []string
	for _, d := range ds {
		for _, t := range detTactics(d) {
			if !slices.Contains(stages, t.Name) {
				stages = append(stages, t.Name)
			}
		}
	}
	if len(stages) > 0 {
		ts := detTacticsOf(stages)
		fmt.Fprintf(&b, "\nStages reached, along the kill chain: %s.\n", strings.Join(ts, " → "))
	}
	for i, d := range ds {
		if i == maxSteps {
			fmt.Fprintf(&b, "\n%d more detection groups are not shown: narrow the scope to see them.\n", len(ds)-maxSteps)
			break
		}
		ev.add(d.ID)
		var tn []string
		for _, t := range detTactics(d) {
			tn = append(tn, t.Name)
		}
		st := "no ATT&CK tactic"
		if len(tn) > 0 {
			st = strings.Join(tn, " / ")
		}
		fmt.Fprintf(&b, "\n### %d. %s: %s\n\n", i+1, mdTime(d.Time), mdCode(d.Rule))
		fmt.Fprintf(&b, "- **Stage:** %s; severity %s", st, field.SeverityName(d.Severity))
		if d.Count > 1 {
			fmt.Fprintf(&b, "; %s until %s", plural(d.Count, "time"), mdTime(detLast(d)))
		}
		b.WriteString("\n")
		if w := whereText(c, d); w != "" {
			fmt.Fprintf(&b, "- **Where:** %s\n", w)
		}
		fmt.Fprintf(&b, "- **What:** %s\n", mdCode(d.Output))
		e := c.Event(d)
		if e != nil && e.Process != nil && d.Entities.ExecID != "" {
			if prev, ok := lineages[d.Entities.ExecID]; ok {
				fmt.Fprintf(&b, "- **Process:** the same process as step %s\n", prev)
			} else {
				lin, err := lineageOf(ctx, env, d)
				if err != nil {
					return Answer{}, err
				}
				if len(lin) > 0 {
					fmt.Fprintf(&b, "- **Lineage:** %s\n", lineageText(lin))
				}
				lineages[d.Entities.ExecID] = fmt.Sprint(i + 1)
			}
		}
		for _, l := range links[d.ID] {
			fmt.Fprintf(&b, "- **Linked:** %s\n", l.text)
			ev.add(l.detID)
		}
	}
	a.Text = b.String()
	a.Evidence = ev.ids
	g, err := BuildGraph(ctx, env, c)
	if err != nil {
		return Answer{}, err
	}
	a.Artifacts = append(a.Artifacts, Artifact{Kind: ArtifactDOT, Name: "attack-path.dot", Content: g.DOT()},
		Artifact{Kind: ArtifactMermaid, Name: "attack-path.mmd", Content: g.Mermaid()})
	a.Suggestions = followUps(c, IntentPath)
	return a, nil
}

// detTacticsOf orders tactic names along the kill chain.
func detTacticsOf(names []string) []string {
	var ts []attack.Tactic
	for _, n := range names {
		if t, ok := attack.TacticByName(n); ok {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(x, y attack.Tactic) int { return cmp.Compare(x.Order, y.Order) })
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// lineageOf returns the lineage of a runtime detection's process, root
// first, without the unknown nodes above the host's init; nil when the
// store has no tree for it.
func lineageOf(ctx context.Context, env Env, d *cairn.Detection) ([]treeview.Node, error) {
	if env.Store == nil {
		return nil, nil
	}
	v, err := treeview.Build(ctx, env.Store, d.ID, treeview.Options{Before: 0, After: 0})
	switch cairn.ErrorCode(err) {
	case "":
	case cairn.ENOTFOUND, cairn.EINVALID:
		return nil, nil
	default:
		return nil, fmt.Errorf("process tree of detection %s: %w", d.ID, err)
	}
	var out []treeview.Node
	for _, n := range v.Lineage {
		if n.Exe == "" && n.Cmdline == "" {
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// lineageText draws a lineage on one line, root first, each process by
// its command line; processes before the container's are by name only.
func lineageText(lin []treeview.Node) string {
	var parts []string
	for _, n := range lin {
		s := n.Cmdline
		if n.Container == "" && n.Pod == "" {
			s = nodeName(n)
		}
		parts = append(parts, mdCode(s))
	}
	return strings.Join(parts, " → ")
}

func nodeName(n treeview.Node) string {
	if n.Exe != "" {
		if i := strings.LastIndexByte(n.Exe, '/'); i >= 0 {
			return n.Exe[i+1:]
		}
		return n.Exe
	}
	if f := strings.Fields(n.Cmdline); len(f) > 0 {
		return f[0]
	}
	return ""
}

// link is a reason a cloud detection follows from a runtime one.
type link struct {
	detID string // the other detection
	text  string
}

// linkCloudToRuntime links the case's cloud detections made with an
// instance role's credentials to the runtime detections that read that
// role's credentials from the instance metadata service, both ways: the
// runtime process's command line names the role
// (.../security-credentials/<role>) and the cloud session is the role's.
func linkCloudToRuntime(c *Case) map[string][]link {
	out := map[string][]link{}
	type imds struct {
		d    *cairn.Detection
		role string
	}
	var reads []imds
	for i := range c.Detections {
		d := &c.Detections[i]
		ev := c.Event(d)
		if ev == nil || ev.Process == nil {
			continue
		}
		if role := identity.IMDSRole(ev.Process.Args); role != "" {
			reads = append(reads, imds{d, role})
		}
	}
	if len(reads) == 0 {
		return out
	}
	back := map[string]bool{} // runtime detection and identity linked back once
	for i := range c.Detections {
		d := &c.Detections[i]
		ev := c.Event(d)
		if ev == nil || ev.Cloud == nil {
			continue
		}
		id := ev.Cloud.Identity
		role := identity.RoleName(id.Key)
		if role == "" {
			continue
		}
		for _, r := range reads {
			if r.role != role || r.d.Time.After(d.Time) {
				continue
			}
			how := "its session"
			if identity.IsInstanceID(id.SessionName) {
				how = "the instance session " + mdCode(id.SessionName)
			}
			out[d.ID] = append(out[d.ID], link{r.d.ID, fmt.Sprintf("the credentials of role %s were read from the instance metadata service by %s in pod %s on host %s at %s (detection %s); here %s of that role calls %s from %s",
				mdCode(role), mdCode(r.d.Rule), mdCode(r.d.Entities.Namespace+"/"+r.d.Entities.Pod), mdCode(r.d.Entities.Host), mdTime(r.d.Time), mdCode(r.d.ID), how, mdCode(ev.Cloud.EventName), mdCode(ev.Cloud.SourceIP))})
			if k := r.d.ID + "\x00" + id.Key; !back[k] {
				back[k] = true
				out[r.d.ID] = append(out[r.d.ID], link{d.ID, fmt.Sprintf("the role credentials read here were then used by %s from %s, outside the node (detection %s, %s)",
					mdCode(id.Key), mdCode(ev.Cloud.SourceIP), mdCode(d.ID), mdCode(d.Rule))})
			}
		}
	}
	return out
}

// techniqueName is a technique's name, with its parent's before a
// sub-technique's ("Valid Accounts: Cloud Accounts").
func techniqueName(t attack.Technique) string {
	if t.Parent != "" {
		if parent, ok := attack.TechniqueByID(t.Parent); ok {
			return parent.Name + ": " + t.Name
		}
	}
	return t.Name
}

// maxCallEvents caps the event ids cited for one suggested technique.
const maxCallEvents = 5

// callSuggestions are the ATT&CK techniques that the CloudTrail calls of
// the case's cloud identities suggest through TrailDiscover's catalog
// (attack.CallTechniques), beyond the ones the detections carry. They are
// a catalog's reading of what such a call is for, not a rule's finding,
// and the answer says so.
type callSuggestions struct {
	idents []*cloudIdentity
	calls  int // CloudTrail calls read
	techs  []*callTech
}

// callTech is one suggested technique with the calls behind it.
type callTech struct {
	tech    attack.Technique
	tactics []attack.Tactic // the catalog's tactics for the calls that serve the technique, else its own
	calls   []string        // service:EventName, in order of first call
	count   map[string]int  // calls by service:EventName
	idents  []string        // identity keys that made the calls
	events  []string        // event ids, at most maxCallEvents
	more    int             // event ids not cited
}

// suggestFromCalls reads the calls of the case's cloud identities (as the
// blast radius does: the detections' events and the same identities'
// other calls from the same addresses) and maps each through the catalog.
// A failed call (one with an errorCode) counts only for a discovery
// technique: a denied ListUsers still shows what the caller looked for,
// a denied GetObject took no data. Techniques the detections carry are
// left out, and so is a technique whose sub-technique is carried or named
// by the same call (GetCallerIdentity gives T1087 and T1087.004).
func suggestFromCalls(ctx context.Context, env Env, c *Case, carried map[string]bool) (*callSuggestions, error) {
	idents, events, err := caseCloudCalls(ctx, env, c)
	if err != nil {
		return nil, err
	}
	s := &callSuggestions{idents: idents}
	byID := map[string]*callTech{}
	for _, e := range events {
		if e.Cloud == nil {
			continue
		}
		s.calls++
		call, ok := attack.CallTechniques(e.Cloud.EventSource, e.Cloud.EventName)
		if !ok {
			continue
		}
		name := strings.TrimSuffix(call.Source, ".amazonaws.com") + ":" + call.Name
		for _, id := range call.Techniques {
			tech, ok := attack.TechniqueByID(id)
			if !ok || carried[id] || subCarried(id, carried) {
				continue
			}
			if slices.ContainsFunc(call.Techniques, func(x string) bool { return strings.HasPrefix(x, id+".") }) {
				continue
			}
			if e.Cloud.ErrorCode != "" && !slices.Contains(tech.Tactics, "discovery") {
				continue
			}
			t := byID[id]
			if t == nil {
				t = &callTech{tech: tech, count: map[string]int{}}
				byID[id] = t
				s.techs = append(s.techs, t)
			}
			for _, tid := range call.Tactics {
				if tac, ok := attack.TacticByID(tid); ok && slices.Contains(tech.Tactics, tac.Shortname) &&
					!slices.ContainsFunc(t.tactics, func(x attack.Tactic) bool { return x.ID == tac.ID }) {
					t.tactics = append(t.tactics, tac)
				}
			}
			if t.count[name] == 0 {
				t.calls = append(t.calls, name)
			}
			t.count[name]++
			addOnce(&t.idents, e.Cloud.Identity.Key)
			if len(t.events) < maxCallEvents {
				t.events = append(t.events, e.ID)
			} else {
				t.more++
			}
		}
	}
	for _, t := range s.techs {
		if len(t.tactics) == 0 {
			for _, sn := range t.tech.Tactics {
				if tac, ok := attack.TacticByName(sn); ok {
					t.tactics = append(t.tactics, tac)
				}
			}
		}
		slices.SortFunc(t.tactics, func(x, y attack.Tactic) int { return cmp.Compare(x.Order, y.Order) })
	}
	slices.SortFunc(s.techs, func(x, y *callTech) int {
		return cmp.Or(cmp.Compare(firstOrder(x.tactics), firstOrder(y.tactics)), strings.Compare(x.tech.ID, y.tech.ID))
	})
	return s, nil
}

// subCarried reports whether a sub-technique of id is carried.
func subCarried(id string, carried map[string]bool) bool {
	for c := range carried {
		if strings.HasPrefix(c, id+".") {
			return true
		}
	}
	return false
}

func firstOrder(ts []attack.Tactic) int {
	if len(ts) == 0 {
		return 1 << 30
	}
	return ts[0].Order
}

// write adds the section to an ATT&CK answer and the cited events to its
// evidence. Technique ids are written as plain text, not code: they are
// the catalog's, not values of the events.
func (s *callSuggestions) write(b *strings.Builder, ev *evidence) {
	b.WriteString("\n### Techniques the API calls suggest\n\n")
	fmt.Fprintf(b, "Not from a detection rule: these come from the API calls' catalog mapping (TrailDiscover's catalog of CloudTrail calls and the ATT&CK techniques they serve), "+
		"applied to the %s of the %s in the detections: the detections' events and the same identities' other calls from the same addresses. "+
		"A call that failed counts only for a discovery technique; techniques the detections carry are not repeated.\n\n",
		plural(s.calls, "CloudTrail call"), plural(len(s.idents), "cloud identity"))
	if len(s.techs) == 0 {
		b.WriteString("The mapping suggests no technique beyond the detections'.\n")
		return
	}
	for _, t := range s.techs {
		var tn []string
		for _, tac := range t.tactics {
			tn = append(tn, tac.Name)
		}
		var calls []string
		for _, n := range t.calls {
			calls = append(calls, fmt.Sprintf("%s (%s)", mdText(n), plural(t.count[n], "call")))
		}
		var ids []string
		for _, k := range t.idents {
			ids = append(ids, mdCode(k))
		}
		var evs []string
		for _, id := range t.events {
			evs = append(evs, mdCode(id))
		}
		fmt.Fprintf(b, "- **%s %s** (%s): %s by %s; events %s", t.tech.ID, techniqueName(t.tech), strings.Join(tn, ", "),
			strings.Join(calls, ", "), strings.Join(ids, ", "), strings.Join(evs, ", "))
		if t.more > 0 {
			fmt.Fprintf(b, " and %d more", t.more)
		}
		b.WriteString("\n")
		ev.add(t.events...)
	}
}
