package analytics_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/analytics"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/demo"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// call is a CloudTrail record of an instance role session.
func call(t *testing.T, n int, at time.Time, session, ip, name string, response string) *cairn.Event {
	t.Helper()
	if response == "" {
		response = "null"
	}
	rec := fmt.Sprintf(`{"eventVersion":"1.09","eventTime":%q,"eventSource":"ec2.amazonaws.com","eventName":%q,"awsRegion":"us-east-1",`+
		`"sourceIPAddress":%q,"userAgent":"aws-cli/2","eventID":"ev-%d","eventType":"AwsApiCall","recipientAccountId":"111122223333",`+
		`"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/node-role/%s","accountId":"111122223333",`+
		`"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/node-role","accountId":"111122223333","userName":"node-role"}}},`+
		`"responseElements":%s}`, at.Format(time.RFC3339), name, ip, n, session, response)
	var c decode.Collector
	if err := decode.Decode(context.Background(), strings.NewReader(rec), "t", decode.CloudTrail, &c); err != nil || len(c.Events) != 1 {
		t.Fatalf("decode: %v %+v", err, c.Rejects)
	}
	return &c.Events[0]
}

func TestInstanceCredentials(t *testing.T) {
	const home, thief = "34.202.254.134", "194.165.17.218"
	type step struct {
		min          int
		session, ip  string
		name         string
		response     string
		wantDetected bool
	}
	cases := []struct {
		name   string
		ranges string
		steps  []step
	}{
		{"used from the instance, then elsewhere", "", []step{
			{0, "i-01", home, "DescribeNetworkInterfaces", "", false},
			{5, "i-01", home, "DescribeNetworkInterfaces", "", false},
			{9, "i-01", thief, "GetCallerIdentity", "", true},
			{10, "i-01", thief, "ListBuckets", "", false}, // the same address is reported once
			{11, "i-01", home, "DescribeNetworkInterfaces", "", false},
		}},
		{"out of order: the thief's call arrives first", "", []step{
			{9, "i-01", thief, "GetCallerIdentity", "", false},
			{0, "i-01", home, "DescribeNetworkInterfaces", "", true},
			{12, "i-01", thief, "ListBuckets", "", false},
		}},
		{"private addresses, service names and other sessions", "", []step{
			{0, "i-01", "10.0.3.7", "DescribeNetworkInterfaces", "", false},
			{1, "i-01", "ec2.amazonaws.com", "DescribeNetworkInterfaces", "", false},
			{2, "i-01", home, "DescribeNetworkInterfaces", "", false},
			{3, "i-02", thief, "DescribeNetworkInterfaces", "", false}, // another instance's first use
			{4, "gitlab-job-1", thief, "DescribeNetworkInterfaces", "", false},
		}},
		{"the instance's address from RunInstances", "", []step{
			{0, "admin", "81.2.69.117", "RunInstances", `{"instancesSet":{"items":[{"instanceId":"i-09","privateIpAddress":"10.0.0.9","ipAddress":"` + home + `"}]}}`, false},
			{5, "i-09", thief, "GetCallerIdentity", "", true},
		}},
		{"outside AWS's ranges with no history", `{"prefixes":[{"ip_prefix":"34.192.0.0/10"}],"ipv6_prefixes":[]}`, []step{
			{0, "i-05", thief, "GetCallerIdentity", "", true},
			{1, "i-06", home, "GetCallerIdentity", "", false},
		}},
	}
	for _, c := range cases {
		a := &analytics.InstanceCredentials{}
		if c.ranges != "" {
			r, err := analytics.ParseIPRanges(strings.NewReader(c.ranges))
			if err != nil {
				t.Fatal(err)
			}
			a.Ranges = r
		}
		for i, s := range c.steps {
			ev := call(t, i, t0.Add(time.Duration(s.min)*time.Minute), s.session, s.ip, s.name, s.response)
			ds := a.Detect(ev)
			if (len(ds) > 0) != s.wantDetected {
				t.Errorf("%s, step %d (%s from %s): %d detections, want detected=%v: %+v", c.name, i, s.session, s.ip, len(ds), s.wantDetected, ds)
				continue
			}
			for _, d := range ds {
				if d.Rule != analytics.InstanceCredentialsRule || d.Severity != 4 || !strings.Contains(d.Output, thief) ||
					d.Entities.Identity != "arn:aws:iam::111122223333:role/node-role" || len(d.Techniques) == 0 {
					t.Errorf("%s: detection %+v", c.name, d)
				}
			}
		}
	}
}

func TestInstanceCredentialsEviction(t *testing.T) {
	a := &analytics.InstanceCredentials{MaxInstances: 2}
	for i, s := range []string{"i-1", "i-2", "i-3"} {
		a.Detect(call(t, i, t0, s, "34.202.254.134", "GetCallerIdentity", ""))
	}
	if a.Evicted() != 1 {
		t.Errorf("Evicted() = %d, want 1", a.Evicted())
	}
}

func TestIPRangesErrors(t *testing.T) {
	for _, in := range []string{`{`, `{"prefixes":[]}`, `{"prefixes":[{"ip_prefix":"bogus"}]}`} {
		if _, err := analytics.ParseIPRanges(strings.NewReader(in)); err == nil {
			t.Errorf("ParseIPRanges(%s) succeeded", in)
		}
	}
}

// On the demo (any seed), the SCARLETEEL story's stolen node-role session
// is caught, on the right identity, and nothing else is.
func TestInstanceCredentialsDemo(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		sc, err := demo.Generate(demo.Options{Seed: seed, Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		var c decode.Collector
		in := append(append([]byte(`{"Records":[`), bytes.Join(sc.CloudTrail, []byte(","))...), "]}"...)
		if err := decode.Decode(context.Background(), bytes.NewReader(in), "demo", decode.CloudTrail, &c); err != nil {
			t.Fatal(err)
		}
		a := &analytics.InstanceCredentials{}
		var got []cairn.Detection
		for i := range c.Events {
			got = append(got, a.Detect(&c.Events[i])...)
		}
		if len(got) != 1 {
			t.Fatalf("seed %d: %d detections, want 1: %+v", seed, len(got), got)
		}
		if !strings.Contains(got[0].Entities.Identity, "node-role") || !strings.Contains(got[0].Output, "GetCallerIdentity") {
			t.Errorf("seed %d: %+v", seed, got[0])
		}
	}
}

func FuzzIPRanges(f *testing.F) {
	f.Add(`{"prefixes":[{"ip_prefix":"3.5.140.0/22"}],"ipv6_prefixes":[{"ipv6_prefix":"2600:1f00::/24"}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := analytics.ParseIPRanges(strings.NewReader(s)); err == nil && r == nil {
			t.Fatal("nil ranges without an error")
		}
	})
}
