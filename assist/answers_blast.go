package assist

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/filter"
)

// maxDetectionEvents caps the events read of one cloud detection (a
// correlation may stand for many calls).
const maxDetectionEvents = 200

// maxIdentityEvents caps the calls read of one identity from one address.
const maxIdentityEvents = 1000

// answerBlast counts and lists what the case's detections touched:
// workloads first (the number an analyst asks for), then hosts,
// identities, cloud resources and external addresses.
func answerBlast(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	var a Answer
	var b strings.Builder
	if len(c.Detections) == 0 {
		fmt.Fprintf(&b, "## Blast radius\n\n**0 workloads** were impacted: there are no detections in %s.\n", c.Scope.Label())
		a.Text = b.String()
		a.Evidence = []string{}
		a.Suggestions = []string{"Summarize all detections", "What can you answer?"}
		return a, nil
	}
	ev := newEvidence()
	for i := range c.Detections {
		ev.add(c.Detections[i].ID)
	}
	var evIDs []string // events cited, after the detections
	ws := caseWorkloads(c)
	slices.SortStableFunc(ws, func(x, y workloadRow) int {
		return cmp.Or(strings.Compare(x.Cluster, y.Cluster), strings.Compare(x.Namespace, y.Namespace), strings.Compare(x.Pod, y.Pod), strings.Compare(x.Container, y.Container))
	})
	containers := map[string]map[string]bool{} // workload key -> container names
	for i := range c.Detections {
		d := &c.Detections[i]
		e := c.Event(d)
		if e == nil || e.Container == nil || d.Entities.Pod == "" {
			continue
		}
		w := workloadRow{Cluster: d.Entities.Cluster, Namespace: d.Entities.Namespace, Pod: d.Entities.Pod}
		if containers[w.key()] == nil {
			containers[w.key()] = map[string]bool{}
		}
		if n := cmp.Or(e.Container.Name, e.Container.ID); n != "" {
			containers[w.key()][n] = true
		}
	}
	namespaces, clusters, images := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, w := range ws {
		if w.Namespace != "" {
			namespaces[w.Cluster+"/"+w.Namespace] = true
		}
		if w.Cluster != "" {
			clusters[w.Cluster] = true
		}
		if w.Image != "" {
			images[w.Image] = true
		}
	}
	hosts := tally(c, func(d *cairn.Detection) string { return d.Entities.Host })
	fmt.Fprintf(&b, "## Blast radius of %s\n\n", c.Scope.Label())
	fmt.Fprintf(&b, "**%s impacted**", plural(len(ws), "workload"))
	if len(ws) > 0 {
		fmt.Fprintf(&b, " (%s in %s of %s, running %s)", plural(len(ws), "pod"), plural(len(namespaces), "namespace"), plural(len(clusters), "cluster"), plural(len(images), "image"))
	}
	fmt.Fprintf(&b, ", on %s", plural(len(hosts), "host"))
	idents := tally(c, func(d *cairn.Detection) string { return d.Entities.Identity })
	fmt.Fprintf(&b, "; %s involved", plural(len(idents), "cloud identity"))
	fmt.Fprintf(&b, ", from %s.\n", plural(len(c.Detections), "detection group"))
	if c.Truncated {
		fmt.Fprintf(&b, "\nOnly the first %d detection groups were read: the counts are a lower bound.\n", MaxCaseDetections)
	}

	if len(ws) > 0 {
		b.WriteString("\n### Workloads\n\n| Cluster | Namespace | Pod | Containers | Image | Detections |\n| --- | --- | --- | --- | --- | ---: |\n")
		for _, w := range ws {
			var names []string
			for n := range containers[w.key()] {
				names = append(names, n)
			}
			slices.Sort(names)
			if w.Container != "" {
				names = append(names, w.Container)
			}
			var cells []string
			for _, n := range names {
				cells = append(cells, mdCell(n))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", mdCell(w.Cluster), mdCell(w.Namespace), mdCell(w.Pod), strings.Join(cells, ", "), mdCell(w.Image), w.n)
		}
	}
	if len(hosts) > 0 {
		fmt.Fprintf(&b, "\n### Hosts (%d)\n\n", len(hosts))
		for _, h := range hosts {
			fmt.Fprintf(&b, "- %s: %s\n", mdCode(h.v), plural(h.n, "detection"))
		}
	}

	// Cloud: identities with their keys and addresses, and the resources
	// their calls named.
	irows, cloudEvents, err := caseCloudCalls(ctx, env, c)
	if err != nil {
		return Answer{}, err
	}
	res := newResources()
	for _, e := range cloudEvents {
		if res.add(e) {
			evIDs = append(evIDs, e.ID)
		}
	}
	if len(irows) > 0 {
		fmt.Fprintf(&b, "\n### Cloud identities (%d)\n\n| Identity | Access keys | Source addresses | Sessions | Detections |\n| --- | --- | --- | --- | ---: |\n", len(irows))
		for _, r := range irows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", mdCell(r.key), cellList(r.keys), cellList(r.ips), cellList(r.session), r.n)
		}
	}
	if len(res.rows) > 0 {
		fmt.Fprintf(&b, "\n### Cloud resources touched (%d)\n\nNamed by the calls of the identities above from the addresses above.\n\n| Type | Resource | Calls | By |\n| --- | --- | --- | --- |\n", len(res.rows))
		for _, r := range res.rows {
			var calls []string
			for _, n := range r.calls {
				calls = append(calls, mdCell(n))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.kind, mdCell(r.name), strings.Join(calls, ", "), cellList(r.by))
		}
	}

	// Addresses the workloads contacted.
	type ipRow struct {
		ip    string
		ports []string
		from  []string
	}
	var ips []*ipRow
	byIP := map[string]*ipRow{}
	for i := range c.Detections {
		d := &c.Detections[i]
		e := c.Event(d)
		if e == nil || e.Net == nil || e.Net.DstIP == "" || !isExternal(e.Net.DstIP) || e.Net.Op == "accept" {
			continue
		}
		r := byIP[e.Net.DstIP]
		if r == nil {
			r = &ipRow{ip: e.Net.DstIP}
			byIP[r.ip] = r
			ips = append(ips, r)
		}
		if e.Net.DstPort > 0 {
			addOnce(&r.ports, fmt.Sprint(e.Net.DstPort))
		}
		if pl := placeOf(d); pl != "" && !slices.Contains(r.from, pl) {
			r.from = append(r.from, pl)
		}
		evIDs = append(evIDs, e.ID)
	}
	if len(ips) > 0 {
		fmt.Fprintf(&b, "\n### External addresses contacted (%d)\n\n", len(ips))
		for _, r := range ips {
			fmt.Fprintf(&b, "- %s", mdCode(r.ip))
			if len(r.ports) > 0 {
				fmt.Fprintf(&b, " port %s", strings.Join(r.ports, ", "))
			}
			if len(r.from) > 0 {
				fmt.Fprintf(&b, " from %s", strings.Join(r.from, ", "))
			}
			b.WriteString("\n")
		}
	}
	ev.add(evIDs...)
	a.Text = b.String()
	a.Evidence = ev.ids
	a.Suggestions = followUps(c, IntentBlast)
	return a, nil
}

// cloudIdentity is a cloud identity of the case's detections, with the
// access keys, source addresses and sessions of its detections' events.
type cloudIdentity struct {
	key     string
	keys    []string
	ips     []string
	session []string
	n       int // detections
}

// caseCloudCalls returns the cloud identities of the case's detections and
// their calls: the detections' events, then the calls the same identities
// made from the same addresses beyond the ones a rule flagged (what an
// attacker with the credentials reached), at most maxIdentityEvents per
// identity and address; each event once, in that order.
func caseCloudCalls(ctx context.Context, env Env, c *Case) ([]*cloudIdentity, []*cairn.Event, error) {
	var irows []*cloudIdentity
	byIdent := map[string]*cloudIdentity{}
	var cloudEvents []*cairn.Event
	for i := range c.Detections {
		d := &c.Detections[i]
		if d.Entities.Identity == "" {
			continue
		}
		evs, err := detectionEvents(ctx, env, c, d)
		if err != nil {
			return nil, nil, err
		}
		r := byIdent[d.Entities.Identity]
		if r == nil {
			r = &cloudIdentity{key: d.Entities.Identity}
			byIdent[r.key] = r
			irows = append(irows, r)
		}
		r.n += detCount(d)
		for _, e := range evs {
			if e.Cloud == nil {
				continue
			}
			cloudEvents = append(cloudEvents, e)
			id := e.Cloud.Identity
			addOnce(&r.keys, id.AccessKeyID)
			addOnce(&r.ips, e.Cloud.SourceIP)
			addOnce(&r.session, id.SessionName)
		}
	}
	if env.Store != nil {
		for _, r := range irows {
			for _, ip := range r.ips {
				q := cairn.EventQuery{Filter: "cloud.identity = " + filter.Text(r.key) + " and ct.srcip = " + filter.Text(ip),
					Since: c.Scope.Since, Limit: maxIdentityEvents, Oldest: true}
				page, err := env.Store.QueryEvents(ctx, q)
				if err != nil {
					return nil, nil, fmt.Errorf("calls of %s from %s: %w", r.key, ip, err)
				}
				for i := range page.Events {
					cloudEvents = append(cloudEvents, &page.Events[i])
				}
			}
		}
	}
	seen := map[string]bool{}
	out := cloudEvents[:0]
	for _, e := range cloudEvents {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return irows, out, nil
}

// detectionEvents returns the events of a detection: the case's first
// event and, for a detection that stands for several, the others from the
// store (at most maxDetectionEvents).
func detectionEvents(ctx context.Context, env Env, c *Case, d *cairn.Detection) ([]*cairn.Event, error) {
	var out []*cairn.Event
	for i, id := range d.EventIDs {
		if i == maxDetectionEvents {
			break
		}
		if e := c.Events[id]; e != nil {
			out = append(out, e)
			continue
		}
		if env.Store == nil {
			continue
		}
		e, err := env.Store.GetEvent(ctx, id)
		switch {
		case err == nil:
			out = append(out, &e)
		case cairn.ErrorCode(err) != cairn.ENOTFOUND:
			return nil, fmt.Errorf("event %s of detection %s: %w", id, d.ID, err)
		}
	}
	return out, nil
}

// resources collects the cloud resources calls named.
type resources struct {
	rows []*resourceRow
	by   map[string]*resourceRow
}

type resourceRow struct {
	kind, name string
	calls, by  []string
}

func newResources() *resources { return &resources{by: map[string]*resourceRow{}} }

// resourceFields are the request parameters that name a resource, read
// through the field catalog.
var resourceFields = []struct {
	kind, field string
}{
	{"S3 bucket", "json.value[/requestParameters/bucketName]"},
	{"secret", "json.value[/requestParameters/secretId]"},
	{"instance", "json.value[/requestParameters/instanceId]"},
	{"IAM user", "json.value[/requestParameters/userName]"},
	{"IAM role", "json.value[/requestParameters/roleName]"},
	{"function", "json.value[/requestParameters/functionName]"},
	{"trail", "json.value[/requestParameters/name]"},
}

// add records the resources e names and reports whether it named any.
func (r *resources) add(e *cairn.Event) bool {
	if e.Cloud == nil {
		return false
	}
	named := false
	put := func(kind, name string) {
		if name == "" {
			return
		}
		k := kind + "\x00" + name
		row := r.by[k]
		if row == nil {
			row = &resourceRow{kind: kind, name: name}
			r.by[k] = row
			r.rows = append(r.rows, row)
		}
		addOnce(&row.calls, e.Cloud.EventName)
		addOnce(&row.by, e.Cloud.Identity.Key)
		named = true
	}
	var bucket string
	for _, f := range resourceFields {
		ref, err := field.Lookup(f.field)
		if err != nil {
			continue
		}
		v, ok := ref.Get(e)
		s, _ := v.(string)
		if !ok || s == "" {
			continue
		}
		if f.kind == "trail" && e.Cloud.EventSource != "cloudtrail.amazonaws.com" {
			continue
		}
		if f.kind == "S3 bucket" {
			bucket = s
		}
		put(f.kind, s)
	}
	if bucket != "" {
		if ref, err := field.Lookup("json.value[/requestParameters/key]"); err == nil {
			if v, ok := ref.Get(e); ok {
				if s, _ := v.(string); s != "" {
					put("S3 object", bucket+"/"+s)
				}
			}
		}
	}
	// Instances named in a set, as RunInstances and StopInstances give them.
	if doc, ok := e.Doc().(map[string]any); ok {
		for _, id := range instanceIDs(doc) {
			put("instance", id)
		}
	}
	return named
}

// instanceIDs reads requestParameters.instancesSet.items[].instanceId.
func instanceIDs(doc map[string]any) []string {
	rp, _ := doc["requestParameters"].(map[string]any)
	set, _ := rp["instancesSet"].(map[string]any)
	items, _ := set["items"].([]any)
	var out []string
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			if id, ok := m["instanceId"].(string); ok && id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

func addOnce(list *[]string, v string) {
	if v != "" && !slices.Contains(*list, v) {
		*list = append(*list, v)
	}
}

func cellList(vs []string) string {
	var cells []string
	for _, v := range vs {
		cells = append(cells, mdCell(v))
	}
	return strings.Join(cells, ", ")
}

// isExternal reports whether an address is a public one: not private,
// loopback, link-local (the instance metadata service) or unspecified.
func isExternal(s string) bool {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	return !(ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsLinkLocalMulticast())
}
