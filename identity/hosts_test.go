package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/identity"
	"github.com/cairn-cdr/cairn/internal/demostore"
	"github.com/cairn-cdr/cairn/sqlite"
)

// TestInstanceHostsDemo: the demo's CloudTrail tells no instance's
// private address (its instance sessions reach AWS through NAT gateways,
// its DescribeInstances records carry no response, it has no
// RunInstances, and its nodes have address-based names), so the node
// role links no host. Given the EC2 response a real trail of a
// RunInstances or DescribeInstances would hold, the root-cause instance
// links to the truth's node among the hosts the demo's runtime events
// name.
func TestInstanceHostsDemo(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { testInstanceHostsDemo(t, seed) })
	}
}

func testInstanceHostsDemo(t *testing.T, seed int64) {
	ctx := context.Background()
	fx := demostore.Open(t, seed, demoNow)
	truth := fx.Scenario.Truth
	var story *demo.Story
	for i := range truth.Stories {
		if truth.Stories[i].ID == demo.StoryScarleteel {
			story = &truth.Stories[i]
		}
	}
	if story == nil {
		t.Fatal("no SCARLETEEL story in the truth")
	}
	inst := story.RootCause.InstanceID
	var node, roleKey string
	nodeOf := map[string]string{}
	for _, c := range truth.Clusters {
		for i, id := range c.InstanceIDs {
			nodeOf[id] = c.Nodes[i]
			if id == inst {
				node, roleKey = c.Nodes[i], c.NodeRole
			}
		}
	}
	if node == "" {
		t.Fatalf("root-cause instance %s on no cluster node of the truth", inst)
	}
	ip := identity.HostIP(node)
	if ip == "" {
		t.Fatalf("node %q: no address in its name", node)
	}

	role := buildOne(t, fx.Store, roleKey, identity.Options{})
	if !slices.Contains(role.Instances, inst) {
		t.Fatalf("role %s instances %v: want %s", roleKey, role.Instances, inst)
	}
	for _, h := range role.InstanceHosts {
		if nodeOf[h.Instance] != h.Host {
			t.Errorf("demo link %+v: the truth puts %s on %q", h, h.Instance, nodeOf[h.Instance])
		}
	}
	if len(role.InstanceHosts) != 0 {
		t.Errorf("demo links %+v: the demo's trail tells no private address", role.InstanceHosts)
	}

	// A DescribeInstances response, by a user, naming the instance.
	ev := ctRecord(t, "probe-describe", demoNow.Add(-time.Hour), userIdentity(truth.AccountID, "ops"), "DescribeInstances", "198.51.100.20", truth.Region,
		map[string]any{"reservationSet": map[string]any{"items": []any{map[string]any{"instancesSet": map[string]any{"items": []any{
			map[string]any{"instanceId": inst, "privateIpAddress": ip, "privateDnsName": node},
		}}}}}}, "")
	if _, err := fx.Store.WriteEvents(ctx, []cairn.Event{ev}); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []identity.Options{{}, {Filter: fmt.Sprintf("cloud.identity = %q", roleKey)}} {
		role = buildOne(t, fx.Store, roleKey, opts)
		want := []identity.InstanceHost{{Instance: inst, IP: ip, Host: node, How: identity.HowEC2Response}}
		if !slices.Equal(role.InstanceHosts, want) {
			t.Errorf("filter %q: links %+v, want %+v", opts.Filter, role.InstanceHosts, want)
		}
	}
}

// buildOne builds the identities and returns key's.
func buildOne(t *testing.T, st identity.Store, key string, opts identity.Options) identity.Identity {
	t.Helper()
	ids, err := identity.Build(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id.Key == key {
			return id
		}
	}
	t.Fatalf("identity %s not built", key)
	return identity.Identity{}
}

// TestInstanceHosts links crafted instances each way, in a real store that
// evaluates the host queries.
func TestInstanceHosts(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const (
		acct  = "111122223333"
		role  = "arn:aws:iam::111122223333:role/nodes"
		instA = "i-0aaaaaaaaaaaaaaa0" // RunInstances gave its address; also calls from it
		instB = "i-0bbbbbbbbbbbbbbb0" // calls from a private address in eu-west-1
		instC = "i-0ccccccccccccccc1" // a resource-named host
		instD = "i-0ddddddddddddddd0" // a DescribeInstances gave its address; no session uses it
		instE = "i-0eeeeeeeeeeeeeee0" // calls only through a NAT gateway
	)
	var evs []cairn.Event
	host := func(h string, at time.Time) {
		evs = append(evs, cairn.Event{ID: fmt.Sprintf("rt%d", len(evs)), Source: cairn.SourceTetragon, Kind: cairn.KindExec, Time: at, Host: h})
	}
	for _, h := range []string{"ip-10-5-3-31.ec2.internal", "ip-10-9-0-7.eu-west-1.compute.internal", instC + ".ec2.internal",
		"ip-10-5-3-32.ec2.internal", "ip-10-7-7-7.ec2.internal", "ip-10-9-0-7.ec2.internal", "ip-10-6-0-1.ec2.internal"} {
		host(h, t0.Add(-24*time.Hour))
		host(h, t0.Add(time.Hour))
	}
	user := userIdentity(acct, "ops")
	sess := func(inst string) map[string]any { return instanceIdentity(acct, "nodes", inst) }
	n := 0
	call := func(who map[string]any, name, ip, region string, resp map[string]any, errCode ...string) {
		n++
		evs = append(evs, ctRecord(t, fmt.Sprintf("ct%d", n), t0.Add(time.Duration(n)*time.Minute), who, name, ip, region, resp, strings.Join(errCode, "")))
	}
	call(user, "RunInstances", "198.51.100.20", "us-east-1", map[string]any{"instancesSet": map[string]any{"items": []any{
		map[string]any{"instanceId": instA, "privateIpAddress": "10.5.3.31", "privateDnsName": "ip-10-5-3-31.ec2.internal",
			"networkInterfaceSet": map[string]any{"items": []any{map[string]any{"privateIpAddress": "10.5.3.31",
				"privateIpAddressesSet": map[string]any{"items": []any{map[string]any{"privateIpAddress": "10.6.0.1"}}}}}}},
	}}})
	call(user, "DescribeInstances", "198.51.100.20", "us-east-1", map[string]any{"reservationSet": map[string]any{"items": []any{
		map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": instD, "privateIpAddress": "10.7.7.7"}}}},
	}}})
	call(sess(instA), "DescribeNetworkInterfaces", "10.5.3.31", "us-east-1", nil)
	call(sess(instA), "DescribeNetworkInterfaces", "54.80.1.2", "us-east-1", nil)
	call(sess(instB), "DescribeNetworkInterfaces", "10.9.0.7", "eu-west-1", nil)
	call(sess(instC), "DescribeNetworkInterfaces", "54.80.1.3", "us-east-1", nil)
	call(sess(instE), "DescribeNetworkInterfaces", "54.80.1.4", "us-east-1", nil)
	// A failed RunInstances tells nothing.
	call(user, "RunInstances", "198.51.100.20", "us-east-1", map[string]any{"instancesSet": map[string]any{"items": []any{
		map[string]any{"instanceId": instE, "privateIpAddress": "10.5.3.32"}}}}, "Client.InvalidParameterValue")
	if _, err := st.WriteEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	want := []identity.InstanceHost{
		{Instance: instA, IP: "10.5.3.31", Host: "ip-10-5-3-31.ec2.internal", How: identity.HowEC2Response},
		{Instance: instA, IP: "10.6.0.1", Host: "ip-10-6-0-1.ec2.internal", How: identity.HowEC2Response},
		{Instance: instB, IP: "10.9.0.7", Host: "ip-10-9-0-7.eu-west-1.compute.internal", How: identity.HowPrivateSource},
		{Instance: instC, Host: instC + ".ec2.internal", How: identity.HowHostName},
	}
	for _, opts := range []identity.Options{{}, {Filter: fmt.Sprintf("cloud.identity = %q", role)}} {
		r := buildOne(t, st, role, opts)
		if !slices.Equal(r.InstanceHosts, want) {
			t.Errorf("filter %q: links\n%+v\nwant\n%+v", opts.Filter, r.InstanceHosts, want)
		}
		if !slices.Equal(r.Instances, []string{instA, instB, instC, instE}) {
			t.Errorf("instances %v", r.Instances)
		}
	}
	if u := buildOne(t, st, "arn:aws:iam::111122223333:user/ops", identity.Options{}); len(u.InstanceHosts) != 0 {
		t.Errorf("user links %+v, want none: it used no instance's session", u.InstanceHosts)
	}
}

// ctRecord is an EC2 call's CloudTrail record as the store keeps it: the
// store decodes events again from their raw records.
func ctRecord(t *testing.T, id string, at time.Time, who map[string]any, name, ip, region string, resp map[string]any, errCode string) cairn.Event {
	t.Helper()
	rec := map[string]any{"eventVersion": "1.09", "userIdentity": who, "eventTime": at.UTC().Format(time.RFC3339),
		"eventSource": "ec2.amazonaws.com", "eventName": name, "awsRegion": region, "sourceIPAddress": ip,
		"userAgent": "aws-cli/2.17.0", "requestParameters": nil, "responseElements": resp,
		"eventID":   "00000000-0000-4000-8000-" + fmt.Sprintf("%012d", len(id)*1000+int(at.Unix()%1000)),
		"eventType": "AwsApiCall", "recipientAccountId": who["accountId"]}
	if errCode != "" {
		rec["errorCode"], rec["errorMessage"] = errCode, "failed"
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := decode.Record(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	ev.ID = id
	return ev
}

func userIdentity(acct, name string) map[string]any {
	return map[string]any{"type": "IAMUser", "principalId": "AIDAEXAMPLE" + strings.ToUpper(name), "arn": "arn:aws:iam::" + acct + ":user/" + name,
		"accountId": acct, "accessKeyId": "AKIAEXAMPLE" + strings.ToUpper(name), "userName": name}
}

func instanceIdentity(acct, role, inst string) map[string]any {
	return map[string]any{"type": "AssumedRole", "principalId": "AROAEXAMPLEROLE:" + inst,
		"arn": "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + inst, "accountId": acct, "accessKeyId": "ASIA" + strings.ToUpper(inst[2:18]),
		"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAEXAMPLEROLE",
			"arn": "arn:aws:iam::" + acct + ":role/" + role, "accountId": acct, "userName": role},
			"ec2RoleDelivery": "2.0"}}
}

func TestHostIP(t *testing.T) {
	for host, want := range map[string]string{
		"ip-10-5-3-31.ec2.internal":               "10.5.3.31",
		"ip-10-5-3-31.eu-west-1.compute.internal": "10.5.3.31",
		"IP-192-168-0-1":                          "192.168.0.1",
		"ip-10-5-3-256.ec2.internal":              "",
		"ip-10-5-3.ec2.internal":                  "",
		"ip-10-05-3-1":                            "",
		"ip-10-+5-3-1":                            "",
		"i-0aaaaaaaaaaaaaaa0.ec2.internal":        "",
		"node-1":                                  "",
		"":                                        "",
	} {
		if got := identity.HostIP(host); got != want {
			t.Errorf("HostIP(%q) = %q, want %q", host, got, want)
		}
	}
}

func FuzzHostIP(f *testing.F) {
	for _, s := range []string{"ip-10-5-3-31.ec2.internal", "ip-1-2-3", "ip-999-1-1-1", "ip-0-0-0-0.", "ip--1-2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		ip := identity.HostIP(host)
		if ip == "" {
			return
		}
		label, _, _ := strings.Cut(strings.ToLower(host), ".")
		if label != "ip-"+strings.ReplaceAll(ip, ".", "-") {
			t.Fatalf("HostIP(%q) = %q", host, ip)
		}
	})
}

// FuzzEC2Response feeds arbitrary EC2 responses, attacker-controlled
// text, to Build: it must neither fail nor link a host no event names.
func FuzzEC2Response(f *testing.F) {
	f.Add(`{"responseElements":{"instancesSet":{"items":[{"instanceId":"i-0aaaaaaaaaaaaaaa0","privateIpAddress":"10.1.2.3","privateDnsName":"x\"y"}]}}}`, "RunInstances")
	f.Add(`{"responseElements":{"reservationSet":{"items":[{"instancesSet":{"items":[7,{"instanceId":["x"]}]}}]}}}`, "DescribeInstances")
	f.Add(`{"responseElements":{"reservationSet":"no"}}`, "DescribeInstances")
	f.Fuzz(func(t *testing.T, raw, name string) {
		role := "arn:aws:iam::1:role/r"
		ev := cairn.Event{ID: "e", Raw: []byte(raw), Time: time.Unix(1, 0), Cloud: &cairn.CloudCall{EventSource: "ec2.amazonaws.com", EventName: name,
			Region: "us-east-1", SourceIP: "10.1.2.4", Identity: cairn.Identity{Key: role, SessionName: "i-0aaaaaaaaaaaaaaa0"}}}
		ids, err := identity.Build(context.Background(), &memStore{events: []cairn.Event{ev}}, identity.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if len(id.InstanceHosts) != 0 {
				t.Fatalf("links %+v with no host events", id.InstanceHosts)
			}
		}
	})
}
