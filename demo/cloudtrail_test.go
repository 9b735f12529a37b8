package demo_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestCloudTrailRecordShape checks that every record has the keys
// CloudTrail writes, that identities are shaped by their type, and that
// S3 object reads are data events naming their resources.
func TestCloudTrailRecordShape(t *testing.T) {
	s := mustGenerate(t, 3)
	required := []string{"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "userAgent", "requestParameters", "responseElements", "requestID", "eventID", "readOnly",
		"eventType", "managementEvent", "recipientAccountId", "eventCategory"}
	types := map[string]int{}
	for i, raw := range s.CloudTrail {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		for _, k := range required {
			if _, ok := m[k]; !ok {
				t.Errorf("record %d lacks %s: %s", i, k, raw)
			}
		}
		var r struct {
			ctRecord
			ReadOnly      *bool  `json:"readOnly"`
			RecipientAcct string `json:"recipientAccountId"`
			TLS           *struct {
				Host string `json:"clientProvidedHostHeader"`
			} `json:"tlsDetails"`
			UserIdentity struct {
				Type           string `json:"type"`
				PrincipalID    string `json:"principalId"`
				ARN            string `json:"arn"`
				AccountID      string `json:"accountId"`
				AccessKeyID    string `json:"accessKeyId"`
				UserName       string `json:"userName"`
				InvokedBy      string `json:"invokedBy"`
				SessionContext *struct {
					SessionIssuer struct {
						Type, ARN, UserName string
					} `json:"sessionIssuer"`
					Attributes struct {
						CreationDate     string `json:"creationDate"`
						MFAAuthenticated string `json:"mfaAuthenticated"`
					} `json:"attributes"`
				} `json:"sessionContext"`
			} `json:"userIdentity"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		id := r.UserIdentity
		types[id.Type]++
		if !uuidRE.MatchString(r.EventID) {
			t.Errorf("record %d: eventID %q is not a UUID", i, r.EventID)
		}
		if r.RecipientAcct != s.Truth.AccountID {
			t.Errorf("record %d: recipient account %s", i, r.RecipientAcct)
		}
		switch id.Type {
		case "IAMUser":
			if !strings.HasPrefix(id.PrincipalID, "AIDA") || id.UserName == "" || !strings.HasSuffix(id.ARN, ":user/"+id.UserName) ||
				(r.EventName != "ConsoleLogin" && !strings.HasPrefix(id.AccessKeyID, "AKIA")) {
				t.Errorf("record %d: IAM user identity %+v", i, id)
			}
		case "AssumedRole":
			sc := id.SessionContext
			if sc == nil || sc.SessionIssuer.Type != "Role" || !strings.HasPrefix(id.AccessKeyID, "ASIA") ||
				!strings.Contains(id.ARN, ":assumed-role/"+sc.SessionIssuer.UserName+"/") || sc.Attributes.CreationDate == "" ||
				!strings.HasPrefix(id.PrincipalID, "AROA") {
				t.Errorf("record %d: assumed-role identity %+v", i, id)
			}
		case "AWSService":
			if id.InvokedBy == "" || r.SourceIPAddress != id.InvokedBy {
				t.Errorf("record %d: service identity %+v from %s", i, id, r.SourceIPAddress)
			}
		case "WebIdentityUser":
		default:
			t.Errorf("record %d: identity type %q", i, id.Type)
		}
		if id.Type != "AWSService" && (r.TLS == nil || r.TLS.Host == "") {
			t.Errorf("record %d has no tlsDetails", i)
		}
		if r.ErrorCode != "" && r.ErrorMessage == "" {
			t.Errorf("record %d: %s without a message", i, r.ErrorCode)
		}
		object := r.EventName == "GetObject" || r.EventName == "ListObjects"
		if data := r.EventCategory == "Data"; data != object || data == *r.ManagementEvent {
			t.Errorf("record %d: %s has eventCategory %s, managementEvent %v", i, r.EventName, r.EventCategory, *r.ManagementEvent)
		}
		if object && (len(r.Resources) != 2 || r.Resources[0].Type != "AWS::S3::Object" || r.Resources[1].Type != "AWS::S3::Bucket" ||
			r.RequestParameters["bucketName"] == nil) {
			t.Errorf("record %d: S3 data event without its resources: %s", i, raw)
		}
		if r.EventSource == "iam.amazonaws.com" && r.AWSRegion != "us-east-1" {
			t.Errorf("record %d: IAM call logged in %s", i, r.AWSRegion)
		}
	}
	for _, typ := range []string{"IAMUser", "AssumedRole", "AWSService", "WebIdentityUser"} {
		if types[typ] == 0 {
			t.Errorf("no record by a %s", typ)
		}
	}
}
