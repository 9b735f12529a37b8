package assist

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/internal/disjoint"
)

// Risk is one incident: detections joined by what they share (a
// namespace or host, an identity, an attacker's address, a role whose
// credentials a container read), with a score that orders the list.
type Risk struct {
	Title string `json:"title"`
	// Score is severity × exposure × blast radius (see Risks).
	Score    float64 `json:"score"`
	Severity string  `json:"severity"`
	// Exposure lists why the incident reaches beyond the cluster.
	Exposure []string `json:"exposure"`
	// Workloads, Hosts and Identities are what it touched.
	Workloads  []string  `json:"workloads"`
	Hosts      []string  `json:"hosts"`
	Identities []string  `json:"identities"`
	Rules      []string  `json:"rules"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	// Identities holds the identity insights' verdict and risk of the
	// incident's identities, when known (see WithIdentities).
	IdentityRisk []string `json:"identity_risk,omitempty"`
	// Filter selects the incident's detections in the feed and its
	// attack path graph.
	Filter     string   `json:"filter"`
	Detections []string `json:"detections"`
}

// severityWeight weighs a severity rank (info 0 … critical 4).
var severityWeight = [...]float64{1, 2, 4, 7, 10}

// Risks groups the case's detections into incidents and orders them by
// score = severity weight (critical 10, high 7, medium 4, low 2, info 1)
// × exposure (1, plus 0.5 for contact with external addresses, plus 0.5
// for cloud credentials taken from a workload, plus 0.25 for a
// privileged container) × blast radius (1 + log2 of 1 + the workloads,
// hosts and identities touched). Identity risk and IAM posture join the
// score when cairn keeps them.
func Risks(c *Case) []Risk {
	n := len(c.Detections)
	sets := disjoint.New(n)
	find, union := sets.Find, sets.Union
	index := map[string]int{}
	byKey := map[string]int{}
	join := func(i int, key string) {
		if j, ok := byKey[key]; ok {
			union(i, j)
		} else {
			byKey[key] = i
		}
	}
	for i := range c.Detections {
		d := &c.Detections[i]
		index[d.ID] = i
		e := d.Entities
		switch {
		case e.Namespace != "":
			join(i, "ns\x00"+e.Cluster+"\x00"+e.Namespace)
		case e.Identity != "":
			join(i, "id\x00"+e.Identity)
		case e.Host != "":
			join(i, "host\x00"+e.Host)
		}
		if ev := c.Event(d); ev != nil && ev.Cloud != nil && isExternal(ev.Cloud.SourceIP) {
			join(i, "ip\x00"+ev.Cloud.SourceIP) // one attacker's address, several identities
		}
	}
	for id, links := range linkCloudToRuntime(c) {
		for _, l := range links {
			if i, ok := index[id]; ok {
				if j, ok := index[l.detID]; ok {
					union(i, j)
				}
			}
		}
	}
	groups := map[int][]int{}
	for i := range c.Detections {
		r := find(i)
		groups[r] = append(groups[r], i)
	}
	links := linkCloudToRuntime(c)
	var out []Risk
	for _, idx := range groups {
		out = append(out, risk(c, idx, links))
	}
	slices.SortStableFunc(out, func(a, b Risk) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), b.Last.Compare(a.Last), strings.Compare(a.Title, b.Title))
	})
	return out
}

// risk is the incident of the detections at idx.
func risk(c *Case, idx []int, links map[string][]link) Risk {
	var r Risk
	var maxSev int64
	top := &c.Detections[idx[0]]
	external := map[string]bool{}
	var credentials, privileged bool
	namespaces := map[string]bool{}
	for k, i := range idx {
		d := &c.Detections[i]
		r.Detections = append(r.Detections, d.ID)
		if k == 0 || d.Time.Before(r.First) {
			r.First = d.Time
		}
		if d.LastTime.After(r.Last) {
			r.Last = d.LastTime
		}
		if k == 0 || d.Severity > maxSev {
			maxSev, top = d.Severity, d
		}
		addOnce(&r.Rules, d.Rule)
		e := d.Entities
		if e.Pod != "" {
			addOnce(&r.Workloads, e.Namespace+"/"+e.Pod)
			namespaces[e.Cluster+"\x00"+e.Namespace] = true
		}
		if e.Host != "" {
			addOnce(&r.Hosts, e.Host)
		}
		if e.Identity != "" {
			addOnce(&r.Identities, e.Identity)
		}
		if len(links[d.ID]) > 0 {
			credentials = true
		}
		ev := c.Event(d)
		if ev == nil {
			continue
		}
		if ev.Net != nil && isExternal(ev.Net.DstIP) {
			external[ev.Net.DstIP] = true
		}
		if ev.Cloud != nil && isExternal(ev.Cloud.SourceIP) {
			external[ev.Cloud.SourceIP] = true
		}
		if ev.Process != nil && ev.Net == nil {
			for _, ip := range reHostIP.FindAllString(ev.Process.Args, -1) {
				if h, _, _ := strings.Cut(ip, ":"); isExternal(h) {
					external[h] = true
				}
			}
		}
		if ev.Container != nil && ev.Container.Privileged != nil && *ev.Container.Privileged {
			privileged = true
		}
	}
	exposure := 1.0
	if len(external) > 0 {
		exposure += 0.5
		ips := make([]string, 0, len(external))
		for ip := range external {
			ips = append(ips, ip)
		}
		slices.Sort(ips)
		r.Exposure = append(r.Exposure, fmt.Sprintf("in contact with %d external address(es): %s", len(ips), strings.Join(ips, ", ")))
	}
	if credentials {
		exposure += 0.5
		r.Exposure = append(r.Exposure, "cloud credentials were taken from a workload and used outside it")
	}
	if privileged {
		exposure += 0.25
		r.Exposure = append(r.Exposure, "a privileged container is involved")
	}
	blast := len(r.Workloads) + len(r.Hosts) + len(r.Identities)
	r.Severity = field.SeverityName(maxSev)
	r.Score = math.Round(severityWeight[min(max(maxSev, 0), 4)]*exposure*(1+math.Log2(1+float64(blast)))*10) / 10
	where := top.Entities.Namespace
	switch {
	case where != "":
		where = "namespace " + where
	case top.Entities.Identity != "":
		where = top.Entities.Identity
	default:
		where = top.Entities.Host
	}
	r.Title = top.Rule + " — " + where
	if len(r.Rules) > 1 {
		r.Title += fmt.Sprintf(" (+%d more rules)", len(r.Rules)-1)
	}
	// The feed filter: any of the incident's namespaces, identities or
	// hosts without a namespace.
	var parts []string
	for k := range namespaces {
		cl, ns, _ := strings.Cut(k, "\x00")
		p := "k8s.ns.name = " + filter.Text(ns)
		if cl != "" {
			p = "(" + p + " and k8s.cluster.name = " + filter.Text(cl) + ")"
		}
		parts = append(parts, p)
	}
	for _, id := range r.Identities {
		parts = append(parts, "cloud.identity = "+filter.Text(id))
	}
	if len(namespaces) == 0 && len(r.Identities) == 0 {
		for _, h := range r.Hosts {
			parts = append(parts, "evt.hostname = "+filter.Text(h))
		}
	}
	slices.Sort(parts)
	r.Filter = strings.Join(parts, " or ")
	if r.Workloads == nil {
		r.Workloads = []string{}
	}
	if r.Hosts == nil {
		r.Hosts = []string{}
	}
	if r.Identities == nil {
		r.Identities = []string{}
	}
	if r.Exposure == nil {
		r.Exposure = []string{}
	}
	return r
}

// IdentityRisk is what the identity insights know of one identity: its
// status and risk level with the reasons (IAM posture among them).
type IdentityRisk struct {
	State   string
	Level   string
	Reasons []string
}

// identityWeight raises an incident's score by its identities' risk: a
// compromised identity doubles it, a critical or high one adds half.
func identityWeight(ir IdentityRisk) float64 {
	switch {
	case ir.State == "compromised":
		return 1
	case ir.Level == "critical" || ir.Level == "high" || ir.State == "potentially_compromised":
		return 0.5
	}
	return 0
}

// WithIdentities joins the identity insights to the incidents: each
// identity's status, risk and reasons are listed, and its weight raises
// the score (severity × exposure × blast radius × (1 + the weights));
// the list is ordered again.
func WithIdentities(risks []Risk, ids map[string]IdentityRisk) []Risk {
	for i := range risks {
		r := &risks[i]
		w := 0.0
		for _, key := range r.Identities {
			ir, ok := ids[key]
			if !ok {
				continue
			}
			w += identityWeight(ir)
			line := key + ": risk " + ir.Level
			if ir.State != "" {
				line += ", " + strings.ReplaceAll(ir.State, "_", " ")
			}
			if len(ir.Reasons) > 0 {
				line += " (" + strings.Join(ir.Reasons, "; ") + ")"
			}
			r.IdentityRisk = append(r.IdentityRisk, line)
		}
		r.Score = math.Round(r.Score*(1+w)*10) / 10
	}
	slices.SortStableFunc(risks, func(a, b Risk) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), b.Last.Compare(a.Last), strings.Compare(a.Title, b.Title))
	})
	return risks
}
