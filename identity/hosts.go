package identity

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn"
)

// InstanceHost links an EC2 instance whose role session an identity used
// to a runtime host cairn sees (an event's evt.hostname), so that an
// analyst can go from the stolen instance credentials to the node they
// were taken from.
type InstanceHost struct {
	Instance string `json:"instance"`
	// IP is the instance's private address the link went through, ""
	// when the host name names the instance itself.
	IP   string `json:"ip,omitempty"`
	Host string `json:"host"`
	// How is HowEC2Response, HowHostName or HowPrivateSource.
	How string `json:"how"`
}

// How an instance was linked to a host, the most trustworthy first.
const (
	// An EC2 RunInstances or DescribeInstances response gave the
	// instance's private address or DNS name: AWS's own word.
	HowEC2Response = "EC2 response"
	// The host name is the instance's resource name (i-0123....ec2.internal,
	// EC2's resource-based host names).
	HowHostName = "host name"
	// The instance session called AWS from a private address (through a
	// VPC endpoint, not a NAT gateway). That is the instance's own address
	// unless someone inside the VPC used its credentials, hence last.
	HowPrivateSource = "private source address"
)

func howRank(how string) int {
	switch how {
	case HowEC2Response:
		return 3
	case HowHostName:
		return 2
	}
	return 1
}

// Bounds on what Build keeps of instances' addresses and on its host
// queries, so that forged records cannot make it unbounded.
const (
	maxInstanceAddrs = 16 // private addresses (and DNS names) per instance
	maxInstances     = 10_000
	hostBatch        = 200 // candidate host names per query
)

// instanceAddrs is what Build learned of one instance's private
// addresses.
type instanceAddrs struct {
	ips     map[string]string // private IPv4 address -> how it was learned
	dns     map[string]string // private DNS name (from an EC2 response) -> its address, or ""
	regions map[string]bool   // where its calls and EC2 responses were
}

// noteInstance records that instance had the private address ip (when
// valid) and the DNS name dns (when not empty), learned as how, in region.
func (b *builder) noteInstance(instance, ip, dns, how, region string) {
	if !IsInstanceID(instance) {
		return
	}
	ia := b.instances[instance]
	if ia == nil {
		if len(b.instances) >= maxInstances {
			return
		}
		ia = &instanceAddrs{ips: map[string]string{}, dns: map[string]string{}, regions: map[string]bool{}}
		b.instances[instance] = ia
	}
	if !ia.regions[region] && len(ia.regions) < maxInstanceAddrs && regionRe.MatchString(region) {
		ia.regions[region] = true
	}
	addr := ""
	if a, err := netip.ParseAddr(ip); err == nil && a.Is4() && a.IsPrivate() {
		addr = a.String()
		if old, ok := ia.ips[addr]; ok {
			if howRank(how) > howRank(old) {
				ia.ips[addr] = how
			}
		} else if len(ia.ips) < maxInstanceAddrs {
			ia.ips[addr] = how
		}
	}
	if dns = strings.ToLower(strings.TrimSuffix(dns, ".")); hostNameRe.MatchString(dns) && len(ia.dns) < maxInstanceAddrs {
		if _, ok := ia.dns[dns]; !ok || addr != "" {
			ia.dns[dns] = addr
		}
	}
}

// noteEC2 learns instances' private addresses and DNS names from the
// response of a RunInstances or DescribeInstances call (CloudTrail often
// leaves the latter's out).
func (b *builder) noteEC2(ev *cairn.Event) {
	c := ev.Cloud
	if c == nil || c.ErrorCode != "" || c.EventSource != "ec2.amazonaws.com" {
		return
	}
	var sets []any
	switch c.EventName {
	case "RunInstances":
		sets = append(sets, get(ev.Doc(), "responseElements"))
	case "DescribeInstances":
		for _, r := range items(get(ev.Doc(), "responseElements", "reservationSet")) {
			sets = append(sets, r)
		}
	default:
		return
	}
	for _, set := range sets {
		for _, inst := range items(get(set, "instancesSet")) {
			id := str(inst, "instanceId")
			b.noteInstance(id, str(inst, "privateIpAddress"), str(inst, "privateDnsName"), HowEC2Response, c.Region)
			for _, ni := range items(get(inst, "networkInterfaceSet")) {
				b.noteInstance(id, str(ni, "privateIpAddress"), str(ni, "privateDnsName"), HowEC2Response, c.Region)
				for _, pa := range items(get(ni, "privateIpAddressesSet")) {
					b.noteInstance(id, str(pa, "privateIpAddress"), str(pa, "privateDnsName"), HowEC2Response, c.Region)
				}
			}
		}
	}
}

// items returns the items list of a CloudTrail set ({"items": [...]}).
func items(set any) []any {
	l, _ := get(set, "items").([]any)
	return l
}

// regionRe is an AWS region (us-east-1, us-gov-west-1, ap-southeast-2).
var regionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// hostNameRe is a plain DNS name, safe to quote in a filter.
var hostNameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}\.){0,8}[a-z0-9-]{1,63}$`)

// hostLink is one way a candidate host name leads to an instance.
type hostLink struct {
	instance, ip, how string
}

// linkHosts fills InstanceHosts: the host names cairn could see for each
// instance of an identity are worked out from what Build learned (the EC2
// forms ip-10-5-3-31.ec2.internal, ip-10-5-3-31.<region>.compute.internal
// and ip-10-5-3-31 of its private addresses, the DNS names EC2 responses
// gave, and the resource names i-0123....ec2.internal), and the stored
// events are asked which of them exist.
func (b *builder) linkHosts(ctx context.Context) error {
	cands := map[string][]hostLink{}
	addCand := func(host string, l hostLink) {
		if !slices.Contains(cands[host], l) {
			cands[host] = append(cands[host], l)
		}
	}
	for _, a := range b.byKey {
		for s := range a.sessions {
			if !IsInstanceID(s) {
				continue
			}
			ia := b.instances[s]
			var regions []string
			if ia != nil {
				regions = sortedKeys(ia.regions)
			}
			for _, name := range ec2Names(s, regions) {
				addCand(name, hostLink{instance: s, how: HowHostName})
			}
			if ia == nil {
				continue
			}
			for ip, how := range ia.ips {
				for _, name := range ec2Names("ip-"+strings.ReplaceAll(ip, ".", "-"), regions) {
					addCand(name, hostLink{instance: s, ip: ip, how: how})
				}
			}
			for dns, ip := range ia.dns {
				addCand(dns, hostLink{instance: s, ip: ip, how: HowEC2Response})
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	names := make([]string, 0, len(cands))
	for n := range cands {
		names = append(names, n)
	}
	slices.Sort(names)
	for len(names) > 0 {
		batch := names[:min(hostBatch, len(names))]
		names = names[len(batch):]
		found, err := b.hostsAmong(ctx, batch)
		if err != nil {
			return err
		}
		for _, host := range found {
			for _, l := range cands[host] {
				b.noteHost(l, host)
			}
		}
	}
	return nil
}

// noteHost keeps the link of l's instance to host, the most trustworthy
// way when there are several, and the address whichever way gave one.
func (b *builder) noteHost(l hostLink, host string) {
	m := b.hosts[l.instance]
	if m == nil {
		m = map[string]*InstanceHost{}
		b.hosts[l.instance] = m
	}
	h := m[host]
	if h == nil {
		m[host] = &InstanceHost{Instance: l.instance, IP: l.ip, Host: host, How: l.how}
		return
	}
	if howRank(l.how) > howRank(h.How) {
		h.How = l.how
		if l.ip != "" {
			h.IP = l.ip
		}
	}
	if h.IP == "" {
		h.IP = l.ip
	}
}

// ec2Names are the host names EC2 gives a machine whose first label is
// label: the short name, and the full one of each region (ec2.internal in
// us-east-1, <region>.compute.internal elsewhere).
func ec2Names(label string, regions []string) []string {
	out := []string{label}
	for _, r := range regions {
		if r == "us-east-1" {
			out = append(out, label+".ec2.internal")
		} else {
			out = append(out, label+"."+r+".compute.internal")
		}
	}
	return out
}

// hostsAmong returns which of names are the evt.hostname of stored
// events, at any time: one query per host found, each leaving out the
// hosts already found, the last finding none.
func (b *builder) hostsAmong(ctx context.Context, names []string) ([]string, error) {
	var found []string
	for range len(names) + 1 {
		f := "evt.hostname in (" + quoteAll(names) + ")"
		if len(found) > 0 {
			f += " and not evt.hostname in (" + quoteAll(found) + ")"
		}
		page, err := b.st.QueryEvents(ctx, cairn.EventQuery{Filter: f, Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("find instance hosts: %w", err)
		}
		if len(page.Events) == 0 {
			break
		}
		h := page.Events[0].Host
		if h == "" || !slices.Contains(names, h) || slices.Contains(found, h) {
			break // a store that does not evaluate the filter
		}
		found = append(found, h)
	}
	return found, nil
}

// quoteAll quotes names for a filter's in list; they are plain DNS names
// (hostNameRe, instance ids, addresses), but are escaped all the same.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(n) + `"`
	}
	return strings.Join(q, ", ")
}

// instanceHosts lists a's links, by instance then host.
func (b *builder) instanceHosts(a *agg) []InstanceHost {
	var out []InstanceHost
	for s := range a.sessions {
		for _, h := range b.hosts[s] {
			out = append(out, *h)
		}
	}
	slices.SortFunc(out, func(x, y InstanceHost) int {
		return cmp.Or(strings.Compare(x.Instance, y.Instance), strings.Compare(x.Host, y.Host))
	})
	return out
}
