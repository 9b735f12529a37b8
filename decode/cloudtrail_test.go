package decode_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

func TestCloudTrailRecords(t *testing.T) {
	c := mustDecodeFile(t, "testdata/cloudtrail_records.json", decode.Auto)
	noRejects(t, c)
	if len(c.Events) != 3 {
		t.Fatalf("got %d events, want 3", len(c.Events))
	}
	ev := c.Events[0]
	yes := true
	want := &cairn.CloudCall{
		EventID: "3f1c2d4e-0000-4000-8000-000000000001", EventName: "GetSendQuota", EventSource: "ses.amazonaws.com",
		EventType: "AwsApiCall", EventCategory: "Management", EventVersion: "1.09", Region: "us-east-1",
		SourceIP: "198.51.100.7", UserAgent: "aws-cli/2.15.0", ReadOnly: &yes, ManagementEvent: &yes,
		RecipientAccount: "111122223333", RequestID: "req-0001",
		Identity: cairn.Identity{Key: "arn:aws:iam::111122223333:user/Admin6", Type: "IAMUser",
			ARN: "arn:aws:iam::111122223333:user/Admin6", AccountID: "111122223333", PrincipalID: "AIDAEXAMPLEADMIN6",
			AccessKeyID: "AKIAEXAMPLEKEY00001", UserName: "Admin6"},
	}
	if !reflect.DeepEqual(ev.Cloud, want) {
		t.Errorf("cloud call:\n got %+v\nwant %+v", *ev.Cloud, *want)
	}
	if ev.ID != "ct-3f1c2d4e-0000-4000-8000-000000000001-111122223333" || ev.Kind != cairn.KindCloud ||
		ev.Source != cairn.SourceCloudTrail || ev.Type != "GetSendQuota" || ev.Host != "" ||
		!ev.Time.Equal(mustTime(t, "2024-05-04T12:00:00Z")) {
		t.Errorf("event %s %s %s %s %q %v", ev.ID, ev.Kind, ev.Source, ev.Type, ev.Host, ev.Time)
	}
	// Raw is the element's bytes.
	var rec map[string]any
	if err := json.Unmarshal(ev.Raw, &rec); err != nil || rec["eventName"] != "GetSendQuota" || bytes.HasPrefix(ev.Raw, []byte(`{"Records"`)) {
		t.Errorf("Raw is not the record: %.60s", ev.Raw)
	}

	id := c.Events[1].Cloud.Identity
	if id.Key != "arn:aws:iam::111122223333:role/eks/app-node-role" || id.SessionName != "i-0abc123def4567890" ||
		id.IssuerARN != "arn:aws:iam::111122223333:role/eks/app-node-role" || id.IssuerType != "Role" ||
		id.MFA == nil || *id.MFA || id.AccessKeyID != "ASIAEXAMPLEKEY00002" {
		t.Errorf("assumed role identity %+v", id)
	}
	cl := c.Events[2].Cloud
	if cl.ErrorCode != "AccessDenied" || cl.ErrorMessage != "User is not authorized to perform: cloudtrail:StopLogging" || cl.ReadOnly == nil || *cl.ReadOnly {
		t.Errorf("failed call %+v", cl)
	}
}

// records returns the records of the test CloudTrail file.
func records(t *testing.T) []json.RawMessage {
	t.Helper()
	var file struct{ Records []json.RawMessage }
	if err := json.Unmarshal([]byte(mustRead(t, "testdata/cloudtrail_records.json")), &file); err != nil {
		t.Fatal(err)
	}
	return file.Records
}

func TestCloudTrailLayouts(t *testing.T) {
	recs := records(t)
	var lines, pretty []string
	for _, r := range recs {
		lines = append(lines, string(r))
		var buf bytes.Buffer
		if err := json.Indent(&buf, r, "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty = append(pretty, buf.String())
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(mustRead(t, "testdata/cloudtrail_records.json")))
	zw.Close()
	layouts := map[string]string{
		"Records file":       mustRead(t, "testdata/cloudtrail_records.json"),
		"gzipped":            gz.String(),
		"array":              "[" + strings.Join(lines, ",") + "]",
		"pretty array":       "[\n" + strings.Join(pretty, ",\n") + "\n]\n",
		"one per line":       strings.Join(lines, "\n") + "\n",
		"CRLF and BOM":       "\xEF\xBB\xBF" + strings.Join(lines, "\r\n") + "\r\n",
		"pretty objects":     strings.Join(pretty, "\n"),
		"Records not first":  `{"x":1,"Records":[` + strings.Join(lines, ",") + `]}`,
		"pretty Records":     "{\n  \"Records\": [\n" + strings.Join(pretty, ",\n") + "\n  ]\n}",
		"concatenated files": `{"Records":[` + lines[0] + `]}` + "\n" + `{"Records":[` + strings.Join(lines[1:], ",") + `]}`,
	}
	for name, in := range layouts {
		t.Run(name, func(t *testing.T) {
			for _, f := range []decode.Format{decode.Auto, decode.CloudTrail} {
				c := mustDecode(t, in, f)
				noRejects(t, c)
				if len(c.Events) != 3 {
					t.Fatalf("got %d events, want 3", len(c.Events))
				}
				for i, ev := range c.Events {
					if want := "ct-3f1c2d4e-0000-4000-8000-00000000000" + string(rune('1'+i)) + "-111122223333"; ev.ID != want {
						t.Errorf("event %d: id %s, want %s", i, ev.ID, want)
					}
				}
			}
		})
	}
}

func TestCloudTrailSingleEvent(t *testing.T) {
	c := mustDecode(t, string(records(t)[0]), decode.Auto)
	noRejects(t, c)
	if len(c.Events) != 1 || c.Events[0].Cloud.EventName != "GetSendQuota" {
		t.Fatalf("single bare event: %+v", c.Events)
	}
}

func TestCloudTrailEmpty(t *testing.T) {
	for _, in := range []string{"", "  \n", "[]", "[ ]\n", `{"Records":[]}`, "{\n  \"Records\": []\n}\n", "\xEF\xBB\xBF"} {
		for _, f := range []decode.Format{decode.Auto, decode.CloudTrail} {
			c := mustDecode(t, in, f)
			if len(c.Events)+len(c.Rejects) != 0 {
				t.Errorf("%q (%q): %d events, %d rejects", in, f, len(c.Events), len(c.Rejects))
			}
		}
	}
}

func TestCloudTrailRejects(t *testing.T) {
	const ok = `"eventTime":"2024-05-04T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"`
	tests := []struct{ name, in, reason string }{
		{"no eventTime", `{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}`, "cloudtrail: record has no eventTime"},
		{"bad eventTime", `{"eventTime":"12:00","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`, `cloudtrail: eventTime: "12:00" is not an RFC 3339 time`},
		{"no eventName", `{"eventTime":"2024-05-04T12:00:00Z","eventSource":"s3.amazonaws.com"}`, "cloudtrail: record has no eventName"},
		{"no eventSource", `{"eventTime":"2024-05-04T12:00:00Z","eventName":"GetObject"}`, "cloudtrail: record has no eventSource"},
		{"eventName not a string", `{` + ok + `,"eventName":7}`, "cloudtrail: field eventName: JSON number where string is expected"},
		{"Records not an array", `{"Records":{"a":1}}`, "cloudtrail: Records is not an array"},
		{"element not an object", `[1]`, "cloudtrail: record is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustDecode(t, tt.in, decode.CloudTrail)
			if len(c.Events) != 0 || len(c.Rejects) != 1 || c.Rejects[0].Reason != tt.reason {
				t.Fatalf("events %d rejects %+v, want %q", len(c.Events), c.Rejects, tt.reason)
			}
		})
	}
	// Valid without userIdentity, with an Unknown one, and without an
	// eventID (hashed id).
	for _, in := range []string{`{` + ok + `}`, `{` + ok + `,"userIdentity":null}`, `{` + ok + `,"userIdentity":{"type":"Unknown","arn":"arn:aws:sts::1:assumed-role/r/s"}}`} {
		c := mustDecode(t, in, decode.CloudTrail)
		noRejects(t, c)
		if len(c.Events) != 1 || c.Events[0].Cloud.Identity.Key != "" || !strings.HasPrefix(c.Events[0].ID, "ct-") || len(c.Events[0].ID) != 35 {
			t.Errorf("%s: %+v", in, c.Events)
		}
	}
}
