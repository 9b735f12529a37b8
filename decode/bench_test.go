package decode_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

// countSink counts what it receives.
type countSink struct{ events, rejects int }

func (s *countSink) Event(cairn.Event) error { s.events++; return nil }

func (s *countSink) Reject(cairn.DeadLetter) error { s.rejects++; return nil }

const benchRecords = 10000

// tetragonBench builds NDJSON resembling a Tetragon export: execs with
// pod and container, file kprobes and exits, about 2 KB a record.
func tetragonBench() []byte {
	var b bytes.Buffer
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	proc := func(pid int, bin, args string) string {
		return fmt.Sprintf(`{"exec_id":"bm9kZS0xOjEyMzQ1Njc4OTA6%d","pid":%d,"uid":0,"cwd":"/usr/share/app/","binary":%q,"arguments":%q,`+
			`"flags":"execve clone","start_time":%q,"auid":4294967295,"pod":{"namespace":"tenant-jobs","name":"app-56f8fc6988-pb8c7",`+
			`"container":{"id":"containerd://86eb9e29a77d432afc7a15b424db1d24a382f3caae26f860ab22df8cb5e96054","name":"app",`+
			`"image":{"id":"quay.io/example/app@sha256:ff3aa5862fd17f8695984609743f4523188984adbcd25cf5ac4224b71084558c","name":"quay.io/example/app:latest"},`+
			`"start_time":"2024-05-01T09:00:00Z","pid":131},"pod_labels":{"app":"app","pod-template-hash":"56f8fc6988"},"workload":"app"},`+
			`"docker":"86eb9e29a77d432afc7a15b4","parent_exec_id":"bm9kZS0xOjEyMzQ1Njc4OTA6%d","refcnt":1}`,
			pid, pid, bin, args, t0.Add(time.Duration(pid)*time.Millisecond).Format(time.RFC3339Nano), pid-1)
	}
	for i := range benchRecords {
		pid := 10000 + i
		at := t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		p, parent := proc(pid, "/usr/bin/curl", "-s https://example.com/"+fmt.Sprint(i)), proc(pid-1, "/bin/bash", "-c run.sh")
		switch i % 10 {
		case 0, 1:
			fmt.Fprintf(&b, `{"process_kprobe":{"process":%s,"parent":%s,"function_name":"security_file_permission","args":[{"file_arg":{"path":"etc/passwd"}},{"int_arg":4}],"action":"KPROBE_ACTION_POST"},"node_name":"node-1","time":%q}`, p, parent, at)
		case 2:
			fmt.Fprintf(&b, `{"process_exit":{"process":%s,"parent":%s,"status":0},"node_name":"node-1","time":%q}`, p, parent, at)
		default:
			fmt.Fprintf(&b, `{"process_exec":{"process":%s,"parent":%s},"node_name":"node-1","time":%q}`, p, parent, at)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// cloudTrailBench builds a CloudTrail file: {"Records":[...]} of IAM
// user and assumed-role calls, about 1.2 KB a record.
func cloudTrailBench() []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	t0 := time.Date(2024, 5, 4, 12, 0, 0, 0, time.UTC)
	for i := range benchRecords {
		if i > 0 {
			b.WriteByte(',')
		}
		identity := `{"type":"IAMUser","principalId":"AIDAEXAMPLEADMIN6","arn":"arn:aws:iam::111122223333:user/Admin6","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEKEY00001","userName":"Admin6"}`
		if i%3 == 0 {
			identity = `{"type":"AssumedRole","principalId":"AROAEXAMPLEROLE:i-0abc123def4567890","arn":"arn:aws:sts::111122223333:assumed-role/app-node-role/i-0abc123def4567890","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEKEY00002","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEROLE","arn":"arn:aws:iam::111122223333:role/app-node-role","accountId":"111122223333","userName":"app-node-role"},"attributes":{"creationDate":"2024-05-04T11:00:00Z","mfaAuthenticated":"false"},"ec2RoleDelivery":"2.0"}}`
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.09","userIdentity":%s,"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject",`+
			`"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"[aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.ubuntu.22 prompt/off command/s3api.get-object]",`+
			`"requestParameters":{"bucketName":"confidential-data","Host":"confidential-data.s3.us-east-1.amazonaws.com","key":"reports/%d.csv"},`+
			`"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"abc","bytesTransferredOut":1024},`+
			`"requestID":"REQ%08d","eventID":"3f1c2d4e-0000-4000-8000-%012d","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::confidential-data/reports/%d.csv"}],`+
			`"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"confidential-data.s3.us-east-1.amazonaws.com"}}`,
			identity, t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i, i, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func benchDecode(b *testing.B, input []byte, f decode.Format) {
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	var sink countSink
	for b.Loop() {
		sink = countSink{}
		if err := decode.Decode(context.Background(), bytes.NewReader(input), "bench", f, &sink); err != nil {
			b.Fatal(err)
		}
	}
	if sink.events != benchRecords || sink.rejects != 0 {
		b.Fatalf("%d events, %d rejects", sink.events, sink.rejects)
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkDecodeTetragon(b *testing.B) {
	benchDecode(b, tetragonBench(), decode.Auto)
}

func BenchmarkDecodeCloudTrail(b *testing.B) {
	benchDecode(b, cloudTrailBench(), decode.Auto)
}
