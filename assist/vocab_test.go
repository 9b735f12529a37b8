package assist_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/assist"
)

// handCase is a small case written by hand: names that collide across
// kinds, a pod with generated suffixes, an ARN, common words as names.
func handCase() *assist.Case {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c := &assist.Case{Events: map[string]*cairn.Event{}}
	add := func(id, rule string, e cairn.Entities, ev *cairn.Event) {
		d := cairn.Detection{ID: "d-" + id, Time: t0.Add(time.Duration(len(c.Detections)) * time.Minute), Rule: rule, Entities: e}
		if ev != nil {
			ev.ID = "e-" + id
			d.EventIDs = []string{ev.ID}
			c.Events[ev.ID] = ev
		}
		c.Detections = append(c.Detections, d)
	}
	k8s := func(ns, pod, workload string) *cairn.K8s {
		return &cairn.K8s{Cluster: "prod-eks", Namespace: ns, Pod: pod, WorkloadName: workload}
	}
	add("1", "Reverse Shell",
		cairn.Entities{Cluster: "prod-eks", Namespace: "payments", Pod: "payment-api-7f9c-x2", Host: "ip-10-1-2-3.ec2.internal",
			Image: "ghcr.io/acme/payment-api:1.2"},
		&cairn.Event{Host: "ip-10-1-2-3.ec2.internal", K8s: k8s("payments", "payment-api-7f9c-x2", "payment-api"),
			Container: &cairn.Container{ID: "abc", Image: "ghcr.io/acme/payment-api:1.2"},
			Process:   &cairn.Process{Name: "nc"}, Net: &cairn.Conn{Op: "connect", SrcIP: "10.1.2.9", DstIP: "203.0.113.7", DstPort: 4444}})
	add("2", "Reverse Shell",
		cairn.Entities{Cluster: "prod-eks", Namespace: "payments", Pod: "payment-api-7f9c-k8zzq"},
		&cairn.Event{K8s: k8s("payments", "payment-api-7f9c-k8zzq", "payment-api"), Process: &cairn.Process{Binary: "/usr/bin/curl"},
			Net: &cairn.Conn{Op: "accept", SrcIP: "198.51.100.4", DstIP: "10.1.2.10"}})
	// A workload named like a namespace, and names that are common words.
	add("3", "Crypto Miner Started",
		cairn.Entities{Cluster: "prod-eks", Namespace: "shop", Pod: "payments-5d8f6b7c9-abcde"},
		&cairn.Event{K8s: k8s("shop", "payments-5d8f6b7c9-abcde", "payments"), Process: &cairn.Process{Name: "xmrig"}})
	add("4", "Crypto Miner Started",
		cairn.Entities{Cluster: "prod-eks", Namespace: "default", Pod: "report-0"},
		&cairn.Event{K8s: k8s("default", "report-0", "report"), Process: &cairn.Process{Name: "report"}})
	add("5", "Discovery Burst by One Identity",
		cairn.Entities{Identity: "arn:aws:iam::123:user/Admin6"},
		&cairn.Event{Cloud: &cairn.CloudCall{EventName: "ListBuckets", SourceIP: "192.0.2.66",
			Identity: cairn.Identity{Key: "arn:aws:iam::123:user/Admin6"}}})
	add("6", "Instance Role Session Checks Its Identity",
		cairn.Entities{Identity: "arn:aws:iam::123:role/node-role"},
		&cairn.Event{Cloud: &cairn.CloudCall{EventName: "GetCallerIdentity", SourceIP: "ec2.amazonaws.com",
			Identity: cairn.Identity{Key: "arn:aws:iam::123:role/node-role"}}})
	// A detection whose event is gone still gives its image.
	add("7", "Reverse Shell", cairn.Entities{Namespace: "payments", Image: "docker.io/library/busybox:1.36@sha256:abcd"}, nil)
	return c
}

func TestVocabularyValues(t *testing.T) {
	v := assist.NewVocabulary(handCase())
	want := map[assist.EntityKind][]string{
		assist.KindCluster:   {"prod-eks"},
		assist.KindNamespace: {"payments", "default", "shop"},
		assist.KindWorkload:  {"payment-api", "payments", "report"},
		assist.KindPod:       {"payment-api-7f9c-k8zzq", "payment-api-7f9c-x2", "payments-5d8f6b7c9-abcde", "report-0"},
		assist.KindImage:     {"docker.io/library/busybox", "ghcr.io/acme/payment-api"},
		assist.KindHost:      {"ip-10-1-2-3.ec2.internal"},
		assist.KindIdentity:  {"arn:aws:iam::123:role/node-role", "arn:aws:iam::123:user/Admin6"},
		assist.KindRule:      {"Reverse Shell", "Crypto Miner Started", "Discovery Burst by One Identity", "Instance Role Session Checks Its Identity"},
		assist.KindProcess:   {"curl", "nc", "report", "xmrig"},
		// fd.rip is the remote end: the server for connect, the client
		// for accept; ct.srcip only when it is an address.
		assist.KindIP: {"192.0.2.66", "198.51.100.4", "203.0.113.7"},
	}
	for k, w := range want {
		if got := v.Values(k); !slices.Equal(got, w) {
			t.Errorf("Values(%s) = %q, want %q", k, got, w)
		}
	}
	if got := v.Count(assist.KindNamespace, "payments"); got != 3 {
		t.Errorf("Count(namespace, payments) = %d, want 3", got)
	}
	if got := v.Count(assist.KindRule, "Reverse Shell"); got != 3 {
		t.Errorf("Count(rule, Reverse Shell) = %d, want 3", got)
	}
	if got := assist.NewVocabulary(nil).Values(assist.KindPod); len(got) != 0 {
		t.Errorf("empty vocabulary has pods %q", got)
	}
	var nilVocab *assist.Vocabulary
	if got := nilVocab.Values(assist.KindPod); got != nil {
		t.Errorf("nil vocabulary has pods %q", got)
	}
}

func TestParseEntitiesHand(t *testing.T) {
	v := assist.NewVocabulary(handCase())
	ns := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindNamespace, Value: s} }
	wl := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindWorkload, Value: s} }
	pod := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindPod, Value: s} }
	id := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindIdentity, Value: s} }
	proc := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindProcess, Value: s} }
	img := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindImage, Value: s} }
	host := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindHost, Value: s} }
	ip := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindIP, Value: s} }
	rule := func(s string) assist.Entity { return assist.Entity{Kind: assist.KindRule, Value: s} }
	cases := []struct {
		q    string
		want []assist.Entity
	}{
		// A bare name equal to a namespace is the namespace, even when a
		// workload has the same name; a kind word picks the workload.
		{"summarize payments", []assist.Entity{ns("payments")}},
		{"summarize the payments workload", []assist.Entity{wl("payments")}},
		{"summarize deployment payments", []assist.Entity{wl("payments")}},
		// The whole workload name beats the pods named after it; "pod"
		// asks for the pods, all of them.
		{"isolate payment-api", []assist.Entity{wl("payment-api")}},
		{"isolate pod payment-api", []assist.Entity{pod("payment-api-7f9c-k8zzq"), pod("payment-api-7f9c-x2")}},
		{"isolate the payment-api pods", []assist.Entity{pod("payment-api-7f9c-k8zzq"), pod("payment-api-7f9c-x2")}},
		{"isolate payment-api-7f9c-x2", []assist.Entity{pod("payment-api-7f9c-x2")}},
		{"isolate PAYMENT-API-7F9C-X2.", []assist.Entity{pod("payment-api-7f9c-x2")}},
		{"what did Admin6 do", []assist.Entity{id("arn:aws:iam::123:user/Admin6")}},
		{"what did user/admin6 do", []assist.Entity{id("arn:aws:iam::123:user/Admin6")}},
		{"what did identity admn6 do", []assist.Entity{id("arn:aws:iam::123:user/Admin6")}},
		{"what did arn:aws:iam::123:user/Admin6 do?", []assist.Entity{id("arn:aws:iam::123:user/Admin6")}},
		{"image busybox", []assist.Entity{img("docker.io/library/busybox")}},
		{"host ip-10-1-2-3", []assist.Entity{host("ip-10-1-2-3.ec2.internal")}},
		{"who is 203.0.113.7?", []assist.Entity{ip("203.0.113.7")}},
		{"explain Crypto Miner Started", []assist.Entity{rule("Crypto Miner Started")}},
		{"explain crypto minr started in shop", []assist.Entity{rule("Crypto Miner Started"), ns("shop")}},
		{"xmrig in shop", []assist.Entity{proc("xmrig"), ns("shop")}},
		// Common words name nothing unless a kind word says so.
		{"generate the report", nil},
		{"summarize the default namespace", []assist.Entity{ns("default")}},
		{"summarize namespace default", []assist.Entity{ns("default")}},
		{"what is the default", nil},
		{"isolate workload report", []assist.Entity{wl("report")}},
		{"what did process report do", []assist.Entity{proc("report")}},
		// Digits are never a typo: another host, another address.
		{"host ip-10-1-2-4", nil},
		{"what about 203.0.113.8", nil},
		// Too short for a typo.
		{"summarize shoq", nil},
		{"isolate paymnts", []assist.Entity{ns("payments")}},
	}
	for _, c := range cases {
		p := assist.Parse(c.q, v)
		if !slices.Equal(p.Entities, c.want) {
			t.Errorf("Parse(%q).Entities = %v, want %v", c.q, p.Entities, c.want)
		}
	}
}

func TestParseNilVocabulary(t *testing.T) {
	p := assist.Parse("isolate payments", nil)
	if p.Intent != assist.IntentIsolate || len(p.Entities) != 0 || !p.FollowUp {
		t.Errorf("Parse with no vocabulary = %+v", p)
	}
}
