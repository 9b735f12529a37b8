// Package analytics holds cairn's identity analytics that rules cannot
// express: detectors that keep state about identities across CloudTrail
// events and compare what an identity does now with what it did before.
package analytics

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/attack"
)

// InstanceCredentialsRule is the name of the detections InstanceCredentials
// raises.
const InstanceCredentialsRule = "Instance Credentials Used Outside the Instance"

// InstanceCredentials detects an EC2 instance role's credentials used from
// an address that is not the instance's: the session an instance gets
// from its metadata service is named after the instance (i-...), and every
// call the instance itself makes comes from its own addresses. The
// instance's addresses are learnt from
//
//   - the addresses EC2 API responses give for the instance (RunInstances,
//     DescribeInstances, when CloudTrail records the response);
//   - the address of the session's earliest call, which the instance made
//     when it fetched the credentials and began to use them;
//   - private (VPC) addresses, which are the instance's network.
//
// A call from another public address raises a detection. With Ranges (AWS's
// published ip-ranges.json), a call from outside AWS raises one even when
// nothing is known of the instance yet.
//
// State is bounded: at most MaxInstances instances are remembered, the
// least recently seen forgotten first (Evicted counts them).
type InstanceCredentials struct {
	Ranges       *IPRanges
	MaxInstances int

	instances map[string]*instance
	evicted   int
	tick      uint64
}

// instance is what is known of one instance's use of its role.
type instance struct {
	id string
	// addrs are the instance's addresses learnt from EC2 responses and
	// its private addresses; first is the address of the session's
	// earliest call seen, firstEv that call (reported if an earlier call
	// from another address shows first was not the instance's).
	addrs     map[netip.Addr]bool
	first     netip.Addr
	firstEv   *cairn.Event
	firstTime time.Time
	// foreign are the addresses already reported, each reported once.
	foreign map[netip.Addr]bool
	seen    uint64
}

func (in *instance) owns(addr netip.Addr) bool { return in.addrs[addr] || addr == in.first }

func (in *instance) hasPublic() bool {
	for a := range in.addrs {
		if a.IsGlobalUnicast() && !a.IsPrivate() {
			return true
		}
	}
	return false
}

// brief keeps what a later report needs of an event, not its raw record.
func brief(ev *cairn.Event) *cairn.Event {
	return &cairn.Event{ID: ev.ID, Time: ev.Time, Host: ev.Host, Source: ev.Source, Kind: ev.Kind, Cloud: ev.Cloud}
}

// Evicted returns how many instances were forgotten to bound the state.
func (a *InstanceCredentials) Evicted() int { return a.evicted }

// Detect observes one event and returns the detections it raises.
func (a *InstanceCredentials) Detect(ev *cairn.Event) []cairn.Detection {
	c := ev.Cloud
	if c == nil {
		return nil
	}
	a.learnFromResponse(ev)
	id := c.Identity
	if id.Type != "AssumedRole" || !strings.HasPrefix(id.SessionName, "i-") {
		return nil
	}
	addr, err := netip.ParseAddr(c.SourceIP)
	if err != nil {
		return nil // an AWS service name: the call was made on the role's behalf
	}
	addr = addr.Unmap()
	in := a.instance(id.AccountID, id.SessionName)
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		in.addrs[addr] = true
		return nil
	}
	var out []cairn.Detection
	switch {
	case in.owns(addr):
		if addr == in.first && ev.Time.Before(in.firstTime) {
			in.firstTime = ev.Time
		}
	case !in.first.IsValid() && in.hasPublic():
		// EC2 told us the instance's public address, and this is not it.
		out = append(out, a.report(in, addr, ev)...)
	case !in.first.IsValid():
		in.first, in.firstEv, in.firstTime = addr, brief(ev), ev.Time
	case ev.Time.Before(in.firstTime):
		// An earlier call than any seen: its address is the instance's,
		// and the one taken for it so far was not.
		old, oldEv := in.first, in.firstEv
		in.first, in.firstEv, in.firstTime = addr, brief(ev), ev.Time
		out = append(out, a.report(in, old, oldEv)...)
	default:
		out = append(out, a.report(in, addr, ev)...)
	}
	if len(out) == 0 && a.Ranges != nil && !a.Ranges.Contains(addr) && !in.addrs[addr] {
		out = append(out, a.report(in, addr, ev)...)
	}
	return out
}

// report returns the detection of a call from addr, once per address.
func (a *InstanceCredentials) report(in *instance, addr netip.Addr, ev *cairn.Event) []cairn.Detection {
	if in.foreign[addr] {
		return nil
	}
	in.foreign[addr] = true
	c := ev.Cloud
	var known []string
	if in.first.IsValid() && in.first != addr {
		known = append(known, in.first.String()+" (first used "+in.firstTime.UTC().Format(time.RFC3339)+")")
	}
	for k := range in.addrs {
		known = append(known, k.String())
	}
	sort.Strings(known[min(1, len(known)):])
	where := "an address that is not the instance's"
	if a.Ranges != nil && !a.Ranges.Contains(addr) {
		where = "outside AWS"
	}
	output := fmt.Sprintf("Credentials of instance %s (role %s) used from %s, %s (call=%s, instance addresses=%s, user agent=%s)",
		in.id, c.Identity.Key, addr, where, c.EventName, strings.Join(known, ","), c.UserAgent)
	tags := []string{"cairn", "aws", "identity", "mitre_credential_access", "mitre_initial_access", "T1552.005", "T1078.004"}
	sum := sha256.Sum256([]byte(InstanceCredentialsRule + "\x00" + ev.ID))
	d := cairn.Detection{
		ID: "dt-" + hex.EncodeToString(sum[:16]), Time: ev.Time, LastTime: ev.Time,
		Rule: InstanceCredentialsRule, Source: "cairn/analytics", Priority: "CRITICAL", Severity: 4,
		Output: output, Tags: tags, EventIDs: []string{ev.ID}, Count: 1,
		Entities: cairn.Entities{Identity: c.Identity.Key, Host: ev.Host},
	}
	d.Techniques, d.Tactics = attack.IDs(tags)
	return []cairn.Detection{d}
}

// instance returns the state of an instance, creating it (and evicting
// the least recently seen one when full).
func (a *InstanceCredentials) instance(account, id string) *instance {
	if a.instances == nil {
		a.instances = map[string]*instance{}
	}
	a.tick++
	key := account + "/" + id
	in := a.instances[key]
	if in == nil {
		max := a.MaxInstances
		if max <= 0 {
			max = 100000
		}
		if len(a.instances) >= max {
			a.evictOldest()
		}
		in = &instance{id: id, addrs: map[netip.Addr]bool{}, foreign: map[netip.Addr]bool{}}
		a.instances[key] = in
	}
	in.seen = a.tick
	return in
}

func (a *InstanceCredentials) evictOldest() {
	var oldest string
	var at uint64
	for k, in := range a.instances {
		if oldest == "" || in.seen < at {
			oldest, at = k, in.seen
		}
	}
	delete(a.instances, oldest)
	a.evicted++
}

// learnFromResponse records the addresses EC2 responses give for
// instances: reservationSet (DescribeInstances) or instancesSet
// (RunInstances) items with instanceId, privateIpAddress, ipAddress.
func (a *InstanceCredentials) learnFromResponse(ev *cairn.Event) {
	c := ev.Cloud
	if c.EventSource != "ec2.amazonaws.com" || (c.EventName != "RunInstances" && c.EventName != "DescribeInstances") {
		return
	}
	doc, _ := ev.Doc().(map[string]any)
	resp, _ := doc["responseElements"].(map[string]any)
	if resp == nil {
		return
	}
	var sets []any
	if rs, ok := items(resp["reservationSet"]); ok {
		for _, r := range rs {
			if m, ok := r.(map[string]any); ok {
				sets = append(sets, m["instancesSet"])
			}
		}
	}
	sets = append(sets, resp["instancesSet"])
	for _, s := range sets {
		is, _ := items(s)
		for _, i := range is {
			m, _ := i.(map[string]any)
			id, _ := m["instanceId"].(string)
			if id == "" {
				continue
			}
			in := a.instance(c.RecipientAccount, id)
			for _, k := range []string{"privateIpAddress", "ipAddress"} {
				if s, _ := m[k].(string); s != "" {
					if addr, err := netip.ParseAddr(s); err == nil {
						in.addrs[addr.Unmap()] = true
					}
				}
			}
		}
	}
}

// items returns the list of an EC2 response set ({"items": [...]}).
func items(v any) ([]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	l, ok := m["items"].([]any)
	return l, ok
}
