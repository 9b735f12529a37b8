// Package identity turns CloudTrail activity into a picture of each cloud
// identity (an IAM user, a role and its sessions, a federated principal,
// an AWS service): what it did, from where, with which keys, which
// detections name it, which workloads and identities handed it its
// credentials; and from that picture its compromise status and risk.
//
// It only reads the store: statuses an analyst sets and the wiring into
// the CLI and API live elsewhere.
package identity

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/geo"
)

// Store is what Build reads: the events and the detections.
type Store interface {
	cairn.EventReader
	QueryDetections(ctx context.Context, q cairn.DetectionQuery) (cairn.DetectionPage, error)
}

// DefaultMaxEvents is how many CloudTrail events Build reads when
// Options.MaxEvents is 0.
const DefaultMaxEvents = 200_000

// maxDetections bounds the detections Build reads of each query, so that
// a store flooded with detections cannot exhaust memory.
const maxDetections = 50_000

// Page sizes of Build's queries: the stores' largest event page, and a
// detection page.
const (
	eventPage     = 10_000
	detectionPage = 1_000
)

// Options select what Build reads.
type Options struct {
	// Since and Until bound the events' time (Since <= t < Until) and the
	// detections' last time; zero leaves that side open.
	Since, Until time.Time
	// Filter narrows the events, in the filter language (for example
	// `cloud.identity = "arn:aws:iam::1:user/x"`); it is applied to the
	// detections' triggering events too.
	Filter string
	// MaxEvents caps the CloudTrail events read (DefaultMaxEvents when
	// 0). Build reads newest first, so past the cap the oldest activity
	// is left out, not the latest.
	MaxEvents int
	// Geo locates public source addresses (IPUse.Country and ASN); nil
	// locates none.
	Geo *geo.DB
}

// Count is how many events carry one value.
type Count struct {
	Value string `json:"value"`
	N     int    `json:"n"`
}

// Kinds of source address.
const (
	AddrPrivate = "private" // a VPC, loopback or link-local address
	AddrAWS     = "aws"     // an AWS service acting for the identity (ec2.amazonaws.com)
	AddrPublic  = "public"  // any other address
)

// IPUse is one source address of an identity's calls.
type IPUse struct {
	IP    string    `json:"ip"`
	N     int       `json:"n"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Kind is AddrPrivate, AddrAWS or AddrPublic.
	Kind string `json:"kind"`
	// Country (ISO 3166-1 alpha-2) and ASN locate a public address, when
	// Options.Geo knows it.
	Country string `json:"country,omitempty"`
	ASN     uint   `json:"asn,omitempty"`
}

// DetectionRef is a detection that names an identity.
type DetectionRef struct {
	ID       string    `json:"id"`
	Rule     string    `json:"rule"`
	Severity int64     `json:"severity"`
	Time     time.Time `json:"time"`
	EventIDs []string  `json:"event_ids"`
	// First is the time of the detection's earliest event (its first
	// event id), zero when that event is no longer stored; it tells when
	// the behaviour began, which may be well before the detection fired.
	First time.Time `json:"first,omitzero"`
}

// start is when the behaviour behind d began: its first event's time, or
// the detection's own when that is unknown.
func (d DetectionRef) start() time.Time {
	if !d.First.IsZero() {
		return d.First
	}
	return d.Time
}

// Identity is everything cairn knows of one cloud identity (keyed by
// cloud.identity) over the events Build read.
type Identity struct {
	Key     string    `json:"key"`
	Type    string    `json:"type,omitempty"`
	Account string    `json:"account,omitempty"`
	First   time.Time `json:"first_seen"`
	Last    time.Time `json:"last_seen"`
	Events  int       `json:"events"`
	// Errors counts the calls that failed (with an errorCode); ErrorRate
	// is Errors / Events.
	Errors    int     `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// Actions are the calls as "service:EventName", service being the
	// event source's first label (s3, iam, sts, ses).
	Actions []Count `json:"actions"`
	// Resources are what the calls named: S3 bucket and object ARNs,
	// secret ids, instance ids, role and user ARNs, other ARNs of the
	// record's resources.
	Resources  []Count `json:"resources"`
	SourceIPs  []IPUse `json:"source_ips"`
	UserAgents []Count `json:"user_agents"`
	Regions    []Count `json:"regions"`
	// AccessKeys are the access key ids (AKIA..., ASIA...) that signed
	// the calls, Sessions the role session names, Instances those session
	// names that are EC2 instance ids (an instance role's sessions).
	AccessKeys []string `json:"access_keys,omitempty"`
	Sessions   []string `json:"sessions,omitempty"`
	Instances  []string `json:"instances,omitempty"`
	// OutsideInstance are the public addresses that used an instance
	// session's credentials but are not the instance's own: for each
	// instance, its own address is the public address most of its calls
	// came from (private addresses are always its own).
	OutsideInstance []IPUse `json:"outside_instance,omitempty"`
	// InstanceHosts link the Instances to the runtime hosts cairn sees
	// (see InstanceHost), by instance then host.
	InstanceHosts []InstanceHost `json:"instance_hosts,omitempty"`
	// ConsoleNoMFA counts console sign-ins without MFA.
	ConsoleNoMFA int `json:"console_no_mfa,omitempty"`
	// AssumedBy are the identities whose AssumeRole calls handed out the
	// credentials this identity's sessions used: the session's access key
	// is the one an earlier AssumeRole response returned. Following
	// AssumedBy from identity to identity walks a role chain back to a
	// person.
	AssumedBy []string `json:"assumed_by,omitempty"`
	// Workloads are the pods (namespace/pod) of runtime detections whose
	// command line read this role's credentials from the instance
	// metadata service.
	Workloads []string `json:"workloads,omitempty"`
	// Detections are the cloud detections naming the identity, oldest
	// first; MaxSeverity is the highest of their severities, -1 when
	// there is none.
	Detections  []DetectionRef `json:"detections,omitempty"`
	MaxSeverity int64          `json:"max_severity"`
	// Privileges are posture findings on the identity (administrator
	// access, privilege escalation paths), one reason each, for Assess.
	// Build leaves it empty: the posture analysis fills it.
	Privileges []string `json:"privileges,omitempty"`
}

// Build reads CloudTrail events and the detections on them and returns
// one Identity per cloud identity, the most severe first (then the most
// recently active). It returns EINVALID for a malformed filter.
func Build(ctx context.Context, st Store, opts Options) ([]Identity, error) {
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = DefaultMaxEvents
	}
	b := &builder{st: st, opts: opts, byKey: map[string]*agg{}, assumed: map[string]assumeGrant{}, firstEvent: map[string]time.Time{},
		instances: map[string]*instanceAddrs{}, hosts: map[string]map[string]*InstanceHost{}, places: map[string]geo.Location{}}

	cloudDets, err := b.detections(ctx, and("cloud.identity exists", opts.Filter))
	if err != nil {
		return nil, err
	}
	for _, d := range cloudDets {
		if len(d.EventIDs) > 0 {
			b.firstEvent[d.EventIDs[0]] = time.Time{}
		}
	}
	if err := b.readEvents(ctx, and("cloud.identity exists", opts.Filter), b.add); err != nil {
		return nil, err
	}
	if opts.Filter != "" {
		// The AssumeRole calls that handed out a filtered identity's
		// credentials, and the EC2 responses that tell its instances'
		// addresses, were made by other identities, which the filter may
		// leave out.
		err := b.readEvents(ctx, `ct.name in (AssumeRole, AssumeRoleWithWebIdentity, AssumeRoleWithSAML, RunInstances, DescribeInstances)`,
			func(ev *cairn.Event) { b.noteAssume(ev); b.noteEC2(ev) })
		if err != nil {
			return nil, err
		}
	}
	if err := b.attachDetections(ctx, cloudDets); err != nil {
		return nil, err
	}
	if err := b.linkWorkloads(ctx); err != nil {
		return nil, err
	}
	if err := b.linkHosts(ctx); err != nil {
		return nil, err
	}

	out := make([]Identity, 0, len(b.byKey))
	for _, a := range b.byKey {
		out = append(out, b.finish(a))
	}
	slices.SortFunc(out, func(x, y Identity) int {
		return cmp.Or(cmp.Compare(y.MaxSeverity, x.MaxSeverity), y.Last.Compare(x.Last), strings.Compare(x.Key, y.Key))
	})
	return out, nil
}

// and joins the base filter with the caller's.
func and(base, extra string) string {
	if strings.TrimSpace(extra) == "" {
		return base
	}
	return base + " and (" + extra + ")"
}

// builder holds Build's state while it reads.
type builder struct {
	st    Store
	opts  Options
	byKey map[string]*agg
	// assumed maps an access key id to the AssumeRole call that returned
	// it.
	assumed map[string]assumeGrant
	// firstEvent holds the time of each detection's first event, filled
	// in as the events are read (zero until then).
	firstEvent map[string]time.Time
	// instances holds what the events told of each EC2 instance's
	// private addresses, hosts the links linkHosts found (instance ->
	// host -> link).
	instances map[string]*instanceAddrs
	hosts     map[string]map[string]*InstanceHost
	// places caches the Geo lookups by address.
	places map[string]geo.Location
}

// assumeGrant is an AssumeRole call that handed out credentials.
type assumeGrant struct {
	by string // the caller's identity key
	at time.Time
}

// agg accumulates one identity.
type agg struct {
	id                               *Identity
	actions, resources, uas, regions map[string]int
	ips                              map[string]*IPUse
	keys                             map[string]time.Time // access key -> first use
	sessions                         map[string]bool
	instanceIPs                      map[string]map[string]*IPUse // instance id -> public address -> use
	detections                       map[string]bool
	workloads                        map[string]bool
}

func (b *builder) agg(key string) *agg {
	a := b.byKey[key]
	if a == nil {
		a = &agg{id: &Identity{Key: key, MaxSeverity: -1},
			actions: map[string]int{}, resources: map[string]int{}, uas: map[string]int{}, regions: map[string]int{},
			ips: map[string]*IPUse{}, keys: map[string]time.Time{}, sessions: map[string]bool{},
			instanceIPs: map[string]map[string]*IPUse{}, detections: map[string]bool{}, workloads: map[string]bool{}}
		b.byKey[key] = a
	}
	return a
}

// readEvents pages through the events matching filter, newest first, up
// to MaxEvents, and hands each to fn.
func (b *builder) readEvents(ctx context.Context, filter string, fn func(ev *cairn.Event)) error {
	q := cairn.EventQuery{Filter: filter, Since: b.opts.Since, Until: b.opts.Until, Limit: eventPage}
	n := 0
	for {
		page, err := b.st.QueryEvents(ctx, q)
		if err != nil {
			return fmt.Errorf("read cloud events: %w", err)
		}
		for i := range page.Events {
			if n == b.opts.MaxEvents {
				return nil
			}
			n++
			fn(&page.Events[i])
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// add accumulates one CloudTrail event into its identity.
func (b *builder) add(ev *cairn.Event) {
	c := ev.Cloud
	if c == nil || c.Identity.Key == "" {
		return
	}
	if _, ok := b.firstEvent[ev.ID]; ok {
		b.firstEvent[ev.ID] = ev.Time
	}
	b.noteAssume(ev)
	b.noteEC2(ev)
	a := b.agg(c.Identity.Key)
	id := a.id
	if id.Type == "" {
		id.Type = c.Identity.Type
	}
	if id.Account == "" {
		id.Account = c.Identity.AccountID
	}
	if id.First.IsZero() || ev.Time.Before(id.First) {
		id.First = ev.Time
	}
	if ev.Time.After(id.Last) {
		id.Last = ev.Time
	}
	id.Events++
	if c.ErrorCode != "" {
		id.Errors++
	}
	a.actions[Action(c.EventSource, c.EventName)]++
	for _, r := range Resources(ev) {
		a.resources[r]++
	}
	if c.UserAgent != "" {
		a.uas[c.UserAgent]++
	}
	if c.Region != "" {
		a.regions[c.Region]++
	}
	if c.SourceIP != "" {
		use(a.ips, c.SourceIP, ev.Time)
	}
	if k := c.Identity.AccessKeyID; k != "" {
		if t, ok := a.keys[k]; !ok || ev.Time.Before(t) {
			a.keys[k] = ev.Time
		}
	}
	if s := c.Identity.SessionName; s != "" {
		a.sessions[s] = true
		if IsInstanceID(s) {
			// Its region, and its address when the call came from a
			// private one.
			b.noteInstance(s, c.SourceIP, "", HowPrivateSource, c.Region)
		}
		if IsInstanceID(s) && AddrKind(c.SourceIP) == AddrPublic {
			m := a.instanceIPs[s]
			if m == nil {
				m = map[string]*IPUse{}
				a.instanceIPs[s] = m
			}
			use(m, c.SourceIP, ev.Time)
		}
	}
	if c.EventName == "ConsoleLogin" && str(ev.Doc(), "additionalEventData", "MFAUsed") == "No" {
		id.ConsoleNoMFA++
	}
}

// use counts one call from ip at t.
func use(m map[string]*IPUse, ip string, t time.Time) {
	u := m[ip]
	if u == nil {
		u = &IPUse{IP: ip, First: t, Last: t, Kind: AddrKind(ip)}
		m[ip] = u
	}
	u.N++
	if t.Before(u.First) {
		u.First = t
	}
	if t.After(u.Last) {
		u.Last = t
	}
}

// noteAssume remembers the credentials an AssumeRole call returned.
func (b *builder) noteAssume(ev *cairn.Event) {
	c := ev.Cloud
	if c == nil || c.ErrorCode != "" || !strings.HasPrefix(c.EventName, "AssumeRole") || c.Identity.Key == "" {
		return
	}
	k := str(ev.Doc(), "responseElements", "credentials", "accessKeyId")
	if k == "" {
		return
	}
	if g, ok := b.assumed[k]; !ok || ev.Time.Before(g.at) {
		b.assumed[k] = assumeGrant{by: c.Identity.Key, at: ev.Time}
	}
}

// detections reads the detections matching filter, up to maxDetections.
func (b *builder) detections(ctx context.Context, filter string) ([]cairn.Detection, error) {
	q := cairn.DetectionQuery{Filter: filter, Since: b.opts.Since, Until: b.opts.Until, Limit: detectionPage}
	var out []cairn.Detection
	seen := map[string]bool{}
	for len(out) < maxDetections {
		page, err := b.st.QueryDetections(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read detections: %w", err)
		}
		for _, d := range page.Detections {
			if !seen[d.ID] {
				seen[d.ID] = true
				out = append(out, d)
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	return out, nil
}

// attachDetections adds each cloud detection to the identity it names:
// its entities' identity, else its first event's.
func (b *builder) attachDetections(ctx context.Context, ds []cairn.Detection) error {
	for _, d := range ds {
		key := d.Entities.Identity
		var first time.Time
		if len(d.EventIDs) > 0 {
			first = b.firstEvent[d.EventIDs[0]]
			if first.IsZero() || key == "" {
				ev, err := b.st.GetEvent(ctx, d.EventIDs[0])
				switch cairn.ErrorCode(err) {
				case "":
					first = ev.Time
					if key == "" && ev.Cloud != nil {
						key = ev.Cloud.Identity.Key
					}
				case cairn.ENOTFOUND:
				default:
					return fmt.Errorf("first event of detection %s: %w", d.ID, err)
				}
			}
		}
		if key == "" {
			continue
		}
		a := b.agg(key)
		if a.detections[d.ID] {
			continue
		}
		a.detections[d.ID] = true
		a.id.Detections = append(a.id.Detections, DetectionRef{ID: d.ID, Rule: d.Rule, Severity: d.Severity, Time: d.Time,
			EventIDs: slices.Clone(d.EventIDs), First: first})
		a.id.MaxSeverity = max(a.id.MaxSeverity, d.Severity)
	}
	return nil
}

// linkWorkloads links each role to the pods of the runtime detections
// that read its credentials from the instance metadata service.
func (b *builder) linkWorkloads(ctx context.Context) error {
	roles := map[string][]*agg{}
	for key, a := range b.byKey {
		if r := RoleName(key); r != "" {
			roles[r] = append(roles[r], a)
		}
	}
	if len(roles) == 0 {
		return nil
	}
	ds, err := b.detections(ctx, `proc.args contains "`+imdsMarker+`"`)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if len(d.EventIDs) == 0 {
			continue
		}
		ev, err := b.st.GetEvent(ctx, d.EventIDs[0])
		switch cairn.ErrorCode(err) {
		case "":
		case cairn.ENOTFOUND:
			continue
		default:
			return fmt.Errorf("first event of detection %s: %w", d.ID, err)
		}
		if ev.Process == nil {
			continue
		}
		role := IMDSRole(ev.Process.Args)
		if role == "" {
			continue
		}
		w := workloadOf(&ev, d)
		for _, a := range roles[role] {
			a.workloads[w] = true
		}
	}
	return nil
}

// workloadOf names where a runtime detection happened: namespace/pod,
// else the container or host.
func workloadOf(ev *cairn.Event, d cairn.Detection) string {
	e := d.Entities
	if e.Pod == "" && ev.K8s != nil {
		e.Namespace, e.Pod = ev.K8s.Namespace, ev.K8s.Pod
	}
	switch {
	case e.Pod != "":
		return e.Namespace + "/" + e.Pod
	case e.ContainerID != "" && e.ContainerID != "host":
		return "container " + e.ContainerID
	}
	return "host " + cmp.Or(e.Host, ev.Host)
}

// finish turns an accumulator into the Identity.
func (b *builder) finish(a *agg) Identity {
	id := *a.id
	if id.Events > 0 {
		id.ErrorRate = float64(id.Errors) / float64(id.Events)
	}
	id.Actions = counts(a.actions)
	id.Resources = counts(a.resources)
	id.UserAgents = counts(a.uas)
	id.Regions = counts(a.regions)
	id.SourceIPs = ipUses(a.ips)
	b.locate(id.SourceIPs)
	by := map[string]bool{}
	for k, first := range a.keys {
		id.AccessKeys = append(id.AccessKeys, k)
		if g, ok := b.assumed[k]; ok && !g.at.After(first) && g.by != id.Key {
			by[g.by] = true
		}
	}
	slices.Sort(id.AccessKeys)
	id.AssumedBy = sortedKeys(by)
	id.Sessions = sortedKeys(a.sessions)
	for _, s := range id.Sessions {
		if IsInstanceID(s) {
			id.Instances = append(id.Instances, s)
		}
	}
	for _, m := range a.instanceIPs {
		home := homeAddress(m)
		for ip, u := range m {
			if ip != home {
				id.OutsideInstance = append(id.OutsideInstance, *u)
			}
		}
	}
	slices.SortFunc(id.OutsideInstance, func(x, y IPUse) int { return cmp.Or(x.First.Compare(y.First), strings.Compare(x.IP, y.IP)) })
	b.locate(id.OutsideInstance)
	id.InstanceHosts = b.instanceHosts(a)
	id.Workloads = sortedKeys(a.workloads)
	slices.SortFunc(id.Detections, func(x, y DetectionRef) int { return cmp.Or(x.Time.Compare(y.Time), strings.Compare(x.ID, y.ID)) })
	return id
}

// locate fills the country and ASN of the public addresses of us from
// Options.Geo.
func (b *builder) locate(us []IPUse) {
	if b.opts.Geo == nil {
		return
	}
	for i := range us {
		if us[i].Kind != AddrPublic {
			continue
		}
		loc, ok := b.places[us[i].IP]
		if !ok {
			loc = b.opts.Geo.Lookup(us[i].IP)
			b.places[us[i].IP] = loc
		}
		us[i].Country, us[i].ASN = loc.Country, loc.ASN
	}
}

// homeAddress is an instance's own public address: the one most of its
// session's calls came from, the earliest used on a tie.
func homeAddress(m map[string]*IPUse) string {
	var best *IPUse
	for _, u := range m {
		if best == nil || u.N > best.N || (u.N == best.N && (u.First.Before(best.First) || (u.First.Equal(best.First) && u.IP < best.IP))) {
			best = u
		}
	}
	if best == nil {
		return ""
	}
	return best.IP
}

// counts sorts a tally, the most frequent first, then by value.
func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for v, n := range m {
		out = append(out, Count{v, n})
	}
	slices.SortFunc(out, func(x, y Count) int { return cmp.Or(cmp.Compare(y.N, x.N), strings.Compare(x.Value, y.Value)) })
	return out
}

// ipUses sorts addresses, the most used first, then by first use.
func ipUses(m map[string]*IPUse) []IPUse {
	out := make([]IPUse, 0, len(m))
	for _, u := range m {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(x, y IPUse) int {
		return cmp.Or(cmp.Compare(y.N, x.N), x.First.Compare(y.First), strings.Compare(x.IP, y.IP))
	})
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Action names a call as "service:EventName", service being the event
// source's first label (s3.amazonaws.com gives s3).
func Action(eventSource, eventName string) string {
	svc, _, _ := strings.Cut(eventSource, ".")
	return svc + ":" + eventName
}

// AddrKind tells what a CloudTrail sourceIPAddress is: AddrPrivate for
// private, loopback and link-local addresses, AddrPublic for other
// addresses, AddrAWS for anything that is not an address (an AWS
// service's name such as ec2.amazonaws.com, or AWS Internal).
func AddrKind(src string) string {
	a, err := netip.ParseAddr(src)
	if err != nil {
		return AddrAWS
	}
	a = a.Unmap()
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return AddrPrivate
	}
	return AddrPublic
}

var instanceIDRe = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)

// IsInstanceID reports whether s is an EC2 instance id, as the session
// name of an instance role's credentials is.
func IsInstanceID(s string) bool { return instanceIDRe.MatchString(s) }

// imdsMarker is the path under which the instance metadata service
// serves a role's credentials.
const imdsMarker = "/latest/meta-data/iam/security-credentials/"

// IMDSRole returns the role whose credentials a command line fetches
// from the instance metadata service (.../security-credentials/<role>),
// or "". It is the same reading as the assistant's, kept here so that
// identity does not depend on the assistant.
func IMDSRole(args string) string {
	i := strings.Index(args, imdsMarker)
	if i < 0 {
		return ""
	}
	rest := args[i+len(imdsMarker):]
	if j := strings.IndexAny(rest, " \t\"'/?"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// RoleName is the role name of an identity key that is a role's ARN
// (arn:aws:iam::1:role/path/name), or "".
func RoleName(key string) string {
	i := strings.Index(key, ":role/")
	if i < 0 {
		return ""
	}
	name := key[i+len(":role/"):]
	if j := strings.LastIndexByte(name, '/'); j >= 0 {
		name = name[j+1:]
	}
	return name
}
