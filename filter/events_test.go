package filter_test

import (
	"encoding/json"
	"time"

	"github.com/cairn-cdr/cairn"
)

func ptr[T any](v T) *T { return &v }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ctRecord is a CloudTrail record whose keys exercise json.value: nested
// objects, arrays, numbers as written, booleans, null, keys with dots,
// slashes, tildes, quotes, digits and multi-byte characters.
const ctRecord = `{
  "eventVersion": "1.08",
  "eventName": "ConsoleLogin",
  "eventSource": "signin.amazonaws.com",
  "sourceIPAddress": "203.0.113.9",
  "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"},
  "requestParameters": null,
  "responseElements": {"ConsoleLogin": "Success"},
  "additionalEventData": {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
  "readOnly": false,
  "n": {"int": 42, "dec": 1.50, "exp": 1E3, "neg": -7, "big": 123456789012345678901},
  "keys": {"a.b": "dot", "a/b": "slash", "a~b": "tilde", "q\"k": "quote", "b\\s": "backslash", "0": "zero-key", "01": "lead", "ключ": "юникод", "": "empty-key", "sp ace": "space"},
  "list": ["first", {"deep": ["x", "y"]}, 3, true, null],
  "text": "line1\nline2 \u00e9 \"quoted\" 100% a_b",
  "obj": {"z": 1, "a": 2}
}`

// ctRole is a CloudTrail record of an assumed role reading from S3.
const ctRole = `{"eventVersion":"1.08","eventName":"GetObject","eventSource":"s3.amazonaws.com","sourceIPAddress":"198.51.100.7",
"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Deploy/session-1","accountId":"111122223333",
"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/Deploy"}}},
"requestParameters":{"bucketName":"acme-prod-secrets","key":"db/password.txt"},"readOnly":true,"errorCode":"AccessDenied",
"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::acme-prod-secrets/db/password.txt"}],"list":{"0":"object-zero"}}`

// testEvents returns the fixed events the script cases run against, by id.
func testEvents() []*cairn.Event {
	return []*cairn.Event{
		{
			ID: "exec-bash", Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve",
			Time: at("2024-05-01T12:00:00Z"), Host: "node-1",
			Process: &cairn.Process{ExecID: "e1", PID: 4242, PPID: 4200, Name: "bash", Binary: "/bin/bash",
				Args: `-c "curl http://example.test/a_b%20c"`, Cwd: "/app", UID: ptr(int64(0)), UpperLayer: ptr(false)},
			Parent:    &cairn.Process{PID: 4200, Name: "sh", Binary: "/bin/sh"},
			Ancestors: []cairn.Process{{PID: 100, Name: "containerd-shim"}, {PID: 1, Name: "systemd"}},
			Container: &cairn.Container{ID: "0123456789ab", Image: "ghcr.io/acme/web:1.2", Privileged: ptr(true)},
			K8s:       &cairn.K8s{Cluster: "risks-aws-eks-workloads-shield", Namespace: "prod", Pod: "web-7d9f", Labels: map[string]string{"app": "web"}},
			Raw:       json.RawMessage(`{"process_exec":{"process":{"binary":"/bin/bash","pid":4242}},"node_name":"node-1","time":"2024-05-01T12:00:00Z"}`),
		},
		{
			ID: "exec-curl", Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve",
			Time: at("2024-05-01T12:00:01.5Z"), Host: "node-1",
			Process: &cairn.Process{PID: 77, Name: "curl", Binary: "/usr/bin/curl",
				Args: "-s http://169.254.169.254/latest/meta-data/iam/security-credentials/", UpperLayer: ptr(true)},
			Parent:    &cairn.Process{PID: 4242, Name: "bash", Binary: "/bin/bash"},
			Ancestors: []cairn.Process{{PID: 4200, Name: "sh"}, {PID: 100, Name: "containerd-shim"}},
			Container: &cairn.Container{ID: "0123456789ab", Image: "docker.io/library/alpine:3.19", Privileged: ptr(false)},
			K8s:       &cairn.K8s{Cluster: "risks-aws-eks-workloads-shield", Namespace: "Prod", Pod: "web-7d9f"},
			Raw:       json.RawMessage(`{"process_exec":{"process":{"binary":"/usr/bin/curl","pid":77}}}`),
		},
		{
			ID: "exec-host", Source: cairn.SourceSensor, Kind: cairn.KindExec, Type: "execve",
			Time: at("2024-05-02T00:00:00Z"), Host: "bastion",
			Process: &cairn.Process{PID: 1, Name: "sshd", Binary: "/usr/sbin/sshd", Args: "-D ünïcödé ☃ 雪", User: "root", UID: ptr(int64(0))},
		},
		{
			ID: "exec-odd", Source: cairn.SourceTetragon, Kind: cairn.KindExec,
			Time:    at("2023-12-31T23:59:59.999999999Z"),
			Process: &cairn.Process{PID: 31337, Name: `we"ird'name`, Binary: `C:\Temp\we"ird'name`, Args: "100%_done and 50% _x_ \x00nul \xff\xfe bad"},
			Parent:  &cairn.Process{Name: "PowerShell"},
			K8s:     &cairn.K8s{Namespace: "kube-system"},
		},
		{
			ID: "alert-high", Source: cairn.SourceFalco, Kind: cairn.KindAlert,
			Time:    at("2024-05-01T12:00:02Z"),
			Process: &cairn.Process{PID: 4242, Name: "bash"},
			K8s:     &cairn.K8s{Cluster: "risks-aws-eks-workloads-shield", Namespace: "prod"},
			Alert: &cairn.Alert{Rule: "Terminal shell in container", Priority: "Error", Source: "syscall",
				Tags: []string{"container", "shell", "mitre_execution"}},
			Raw: json.RawMessage(`{"rule":"Terminal shell in container","priority":"Error","output_fields":{"proc.name":"bash"}}`),
		},
		{
			ID: "alert-warning", Source: cairn.SourceFalco, Kind: cairn.KindAlert,
			Time:  at("2024-05-03T08:30:00+02:00"),
			Alert: &cairn.Alert{Rule: "Drift detected (chmod)", Priority: "Warning", Tags: []string{"T1611", "Container"}},
			Raw:   json.RawMessage(`   "just a string"  `),
		},
		{
			ID: "ct-root", Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Type: "ConsoleLogin",
			Time: at("2024-05-01T11:59:00Z"),
			Cloud: &cairn.CloudCall{EventName: "ConsoleLogin", EventSource: "signin.amazonaws.com", SourceIP: "203.0.113.9",
				ReadOnly: ptr(false), Identity: cairn.Identity{Key: "arn:aws:iam::111122223333:root", Type: "Root",
					ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333"}},
			Raw: json.RawMessage(ctRecord),
		},
		{
			ID: "ct-role", Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Type: "GetObject",
			Time: at("2024-05-01T12:05:00Z"),
			Cloud: &cairn.CloudCall{EventName: "GetObject", EventSource: "s3.amazonaws.com", SourceIP: "198.51.100.7",
				ReadOnly: ptr(true), ErrorCode: "AccessDenied", Identity: cairn.Identity{Key: "arn:aws:iam::111122223333:role/Deploy",
					Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/Deploy/session-1", AccountID: "111122223333"}},
			Raw: json.RawMessage(ctRole),
		},
		{
			ID: "raw-invalid", Source: cairn.SourceNative, Kind: cairn.KindOther,
			Time: at("2024-05-01T00:00:00Z"),
			Raw:  json.RawMessage(`{"eventName": "Broken", `),
		},
		{ID: "empty"},
	}
}
