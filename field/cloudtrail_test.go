package field_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// ctTestRecord is the part of a CloudTrail record that the decoder lifts
// into Event.Cloud.
type ctTestRecord struct {
	EventID            string    `json:"eventID"`
	EventName          string    `json:"eventName"`
	EventSource        string    `json:"eventSource"`
	EventType          string    `json:"eventType"`
	EventCategory      string    `json:"eventCategory"`
	EventVersion       string    `json:"eventVersion"`
	EventTime          time.Time `json:"eventTime"`
	Region             string    `json:"awsRegion"`
	SourceIP           string    `json:"sourceIPAddress"`
	UserAgent          string    `json:"userAgent"`
	ErrorCode          string    `json:"errorCode"`
	ErrorMessage       string    `json:"errorMessage"`
	ReadOnly           *bool     `json:"readOnly"`
	ManagementEvent    *bool     `json:"managementEvent"`
	RecipientAccountID string    `json:"recipientAccountId"`
	RequestID          string    `json:"requestID"`
	UserIdentity       struct {
		Type           string `json:"type"`
		PrincipalID    string `json:"principalId"`
		ARN            string `json:"arn"`
		AccountID      string `json:"accountId"`
		AccessKeyID    string `json:"accessKeyId"`
		UserName       string `json:"userName"`
		InvokedBy      string `json:"invokedBy"`
		SessionContext struct {
			SessionIssuer struct {
				Type string `json:"type"`
				ARN  string `json:"arn"`
			} `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
}

// ctEvent builds the Event the CloudTrail decoder makes of raw: Cloud
// filled from the record, Raw kept as is. Records that do not fit the
// shape (as in fuzzing) still get a Cloud with what could be read.
func ctEvent(raw []byte) *cairn.Event {
	var r ctTestRecord
	_ = json.Unmarshal(raw, &r)
	u := r.UserIdentity
	id := cairn.Identity{
		Type: u.Type, ARN: u.ARN, AccountID: u.AccountID, PrincipalID: u.PrincipalID,
		AccessKeyID: u.AccessKeyID, UserName: u.UserName, InvokedBy: u.InvokedBy,
		IssuerARN: u.SessionContext.SessionIssuer.ARN, IssuerType: u.SessionContext.SessionIssuer.Type,
	}
	switch {
	case u.Type == "AssumedRole":
		id.Key = id.IssuerARN
		id.SessionName = u.ARN[strings.LastIndexByte(u.ARN, '/')+1:]
	case u.Type == "AWSService" || u.ARN == "":
		id.Key = u.InvokedBy
	default:
		id.Key = u.ARN
	}
	return &cairn.Event{
		ID: r.EventID, Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Time: r.EventTime, Type: r.EventName,
		Cloud: &cairn.CloudCall{
			EventID: r.EventID, EventName: r.EventName, EventSource: r.EventSource, EventType: r.EventType,
			EventCategory: r.EventCategory, EventVersion: r.EventVersion, Region: r.Region,
			SourceIP: r.SourceIP, UserAgent: r.UserAgent, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage,
			ReadOnly: r.ReadOnly, ManagementEvent: r.ManagementEvent, RecipientAccount: r.RecipientAccountID,
			RequestID: r.RequestID, Identity: id,
		},
		Raw: raw,
	}
}

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cloudtrail", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ctOwned reports whether name is one of this file's fields.
func ctOwned(name string) bool {
	for _, p := range []string{"ct.", "s3.", "ec2.", "ecr.", "iam.", "cloud."} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func ctCatalog(tb testing.TB) []*field.Field {
	tb.Helper()
	var out []*field.Field
	for _, f := range field.All() {
		if ctOwned(f.Name) {
			out = append(out, f)
		}
	}
	return out
}

// TestCloudTrailCatalog checks that every field of Falco's cloudtrail
// plugin is registered with the plugin's type, and nothing else under its
// prefixes but cairn's cloud.* fields.
func TestCloudTrailCatalog(t *testing.T) {
	want := map[string]field.Type{
		"s3.bytes": field.Int, "s3.bytes.in": field.Int, "s3.bytes.out": field.Int,
		"s3.cnt.get": field.Int, "s3.cnt.put": field.Int, "s3.cnt.other": field.Int,
	}
	for _, name := range strings.Fields(`
		ct.id ct.error ct.errormessage ct.time ct.src ct.shortsrc ct.name ct.user ct.originaluser
		ct.user.accountid ct.user.identitytype ct.user.principalid ct.user.arn ct.region
		ct.response.subnetid ct.response.reservationid ct.response
		ct.request.availabilityzone ct.request.cluster ct.request.functionname ct.request.groupname
		ct.request.host ct.request.name ct.request.policy ct.request.reason ct.request.target
		ct.request.documentname ct.request.serialnumber ct.request.servicename ct.request.subnetid
		ct.request.taskdefinition ct.request.username ct.request
		ct.srcip ct.useragent ct.info ct.managementevent ct.readonly ct.requestid ct.eventtype
		ct.apiversion ct.resources ct.recipientaccountid ct.serviceeventdetails ct.sharedeventid
		ct.vpcendpointid ct.eventcategory ct.addendum.reason ct.addendum.updatedfields
		ct.addendum.originalrequestid ct.addendum.originaleventid ct.sessioncredentialfromconsole
		ct.edgedevicedetails ct.tlsdetails.tlsversion ct.tlsdetails.ciphersuite
		ct.tlsdetails.clientprovidedhostheader ct.additionaleventdata
		s3.uri s3.bucket s3.key ec2.name ec2.imageid ecr.repository ecr.imagetag iam.role iam.policy
		cloud.provider cloud.identity cloud.identity.type cloud.session.name cloud.accesskey.id cloud.account.id`) {
		want[name] = field.String
	}
	if len(want) != 78 {
		t.Fatalf("the test lists %d fields, want 72 of the plugin and 6 of cairn", len(want))
	}
	got := map[string]bool{}
	for _, f := range ctCatalog(t) {
		got[f.Name] = true
		typ, ok := want[f.Name]
		switch {
		case !ok:
			t.Errorf("unexpected field %s", f.Name)
		case f.Type != typ:
			t.Errorf("%s has type %s, want %s", f.Name, f.Type, typ)
		case f.Arg != field.NoArg:
			t.Errorf("%s takes an argument", f.Name)
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("field %s is not registered", name)
		}
	}
	ref, err := field.Lookup("json.value[/a]")
	if err != nil || ref.Field.Type != field.String || ref.Field.Arg != field.PointerArg || ref.Field.ArgOptional {
		t.Errorf("json.value: %v, %+v", err, ref.Field)
	}
}

// checkType fails when v is not the Go type of t.
func checkType(tb testing.TB, name string, t field.Type, v any) {
	tb.Helper()
	var ok bool
	switch t {
	case field.String, field.IP:
		_, ok = v.(string)
	case field.Int, field.Severity:
		_, ok = v.(int64)
	case field.Bool:
		_, ok = v.(bool)
	case field.Time:
		_, ok = v.(time.Time)
	case field.List:
		_, ok = v.([]string)
	}
	if !ok {
		tb.Errorf("%s: value %#v is not of type %s", name, v, t)
	}
}

// The expected values of every CloudTrail field for each record under
// testdata/cloudtrail; a field not listed must be missing.
var ctCases = []struct {
	file string
	want map[string]any
}{
	{"iam_user_put_user_policy.json", map[string]any{
		"ct.id":                                  "5e1b9c4e-0000-4000-8000-000000000001",
		"ct.time":                                "2025-11-20T10:00:00Z",
		"ct.src":                                 "iam.amazonaws.com",
		"ct.shortsrc":                            "iam",
		"ct.name":                                "PutUserPolicy",
		"ct.user":                                "alice",
		"ct.originaluser":                        "alice",
		"ct.user.accountid":                      "111122223333",
		"ct.user.identitytype":                   "IAMUser",
		"ct.user.principalid":                    "AIDAEXAMPLEALICE0001",
		"ct.user.arn":                            "arn:aws:iam::111122223333:user/alice",
		"ct.region":                              "us-east-1",
		"ct.srcip":                               "203.0.113.10",
		"ct.useragent":                           "AWS Internal",
		"ct.info":                                "alice via 203.0.113.10 → PutUserPolicy",
		"ct.managementevent":                     "true",
		"ct.readonly":                            "false",
		"ct.requestid":                           "8f1d3a52-0000-4000-8000-000000000001",
		"ct.eventtype":                           "AwsApiCall",
		"ct.recipientaccountid":                  "111122223333",
		"ct.eventcategory":                       "Management",
		"ct.sessioncredentialfromconsole":        "true",
		"ct.tlsdetails.tlsversion":               "TLSv1.3",
		"ct.tlsdetails.ciphersuite":              "TLS_AES_128_GCM_SHA256",
		"ct.tlsdetails.clientprovidedhostheader": "iam.amazonaws.com",
		"ct.request.username":                    "bob",
		"ct.request":                             `{"policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}","policyName":"inline-admin","userName":"bob"}`,
		"ct.response":                            "null",
		"iam.policy":                             "inline-admin",
		"s3.cnt.other":                           int64(1),
		"cloud.provider":                         "aws",
		"cloud.identity":                         "arn:aws:iam::111122223333:user/alice",
		"cloud.identity.type":                    "IAMUser",
		"cloud.accesskey.id":                     "ASIAEXAMPLEALICE0001",
		"cloud.account.id":                       "111122223333",
	}},
	{"assumed_role_attach_role_policy.json", map[string]any{
		"ct.id":                 "5e1b9c4e-0000-4000-8000-000000000002",
		"ct.time":               "2025-11-20T11:02:03Z",
		"ct.src":                "iam.amazonaws.com",
		"ct.shortsrc":           "iam",
		"ct.name":               "AttachRolePolicy",
		"ct.user":               "web-instance-role",
		"ct.originaluser":       "i-0abcd1234ef567890",
		"ct.user.accountid":     "111122223333",
		"ct.user.identitytype":  "AssumedRole",
		"ct.user.principalid":   "AROAEXAMPLEWEBROLE01:i-0abcd1234ef567890",
		"ct.user.arn":           "arn:aws:sts::111122223333:assumed-role/web-instance-role/i-0abcd1234ef567890",
		"ct.region":             "us-east-1",
		"ct.srcip":              "198.51.100.77",
		"ct.useragent":          "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.debian.12",
		"ct.info":               "web-instance-role via 198.51.100.77 → AttachRolePolicy",
		"ct.managementevent":    "true",
		"ct.readonly":           "false",
		"ct.requestid":          "8f1d3a52-0000-4000-8000-000000000002",
		"ct.eventtype":          "AwsApiCall",
		"ct.recipientaccountid": "111122223333",
		"ct.eventcategory":      "Management",
		"ct.request":            `{"policyArn":"arn:aws:iam::aws:policy/AdministratorAccess","roleName":"web-instance-role"}`,
		"ct.response":           "null",
		"iam.role":              "web-instance-role",
		"s3.cnt.other":          int64(1),
		"cloud.provider":        "aws",
		"cloud.identity":        "arn:aws:iam::111122223333:role/web-instance-role",
		"cloud.identity.type":   "AssumedRole",
		"cloud.session.name":    "i-0abcd1234ef567890",
		"cloud.accesskey.id":    "ASIAEXAMPLEWEBROLE01",
		"cloud.account.id":      "111122223333",
	}},
	{"root_deactivate_mfa.json", map[string]any{
		"ct.id":                           "5e1b9c4e-0000-4000-8000-000000000003",
		"ct.time":                         "2025-11-21T07:15:42Z",
		"ct.src":                          "iam.amazonaws.com",
		"ct.shortsrc":                     "iam",
		"ct.name":                         "DeactivateMFADevice",
		"ct.user":                         "<NA>",
		"ct.user.accountid":               "111122223333",
		"ct.user.identitytype":            "Root",
		"ct.user.principalid":             "111122223333",
		"ct.user.arn":                     "arn:aws:iam::111122223333:root",
		"ct.region":                       "us-east-1",
		"ct.srcip":                        "203.0.113.20",
		"ct.useragent":                    "AWS Internal",
		"ct.info":                         "<NA> via 203.0.113.20 → DeactivateMFADevice",
		"ct.managementevent":              "true",
		"ct.readonly":                     "false",
		"ct.requestid":                    "8f1d3a52-0000-4000-8000-000000000003",
		"ct.eventtype":                    "AwsApiCall",
		"ct.recipientaccountid":           "111122223333",
		"ct.eventcategory":                "Management",
		"ct.sessioncredentialfromconsole": "true",
		"ct.request.username":             "AWS ROOT USER",
		"ct.request.serialnumber":         "arn:aws:iam::111122223333:mfa/root-account-mfa-device",
		"ct.request":                      `{"serialNumber":"arn:aws:iam::111122223333:mfa/root-account-mfa-device","userName":"AWS ROOT USER"}`,
		"ct.response":                     "null",
		"s3.cnt.other":                    int64(1),
		"cloud.provider":                  "aws",
		"cloud.identity":                  "arn:aws:iam::111122223333:root",
		"cloud.identity.type":             "Root",
		"cloud.accesskey.id":              "ASIAEXAMPLEROOT00001",
		"cloud.account.id":                "111122223333",
	}},
	{"root_console_login.json", map[string]any{
		"ct.id":                                  "5e1b9c4e-0000-4000-8000-000000000004",
		"ct.time":                                "2025-11-21T07:10:00Z",
		"ct.src":                                 "signin.amazonaws.com",
		"ct.shortsrc":                            "signin",
		"ct.name":                                "ConsoleLogin",
		"ct.user":                                "<NA>",
		"ct.user.accountid":                      "111122223333",
		"ct.user.identitytype":                   "Root",
		"ct.user.principalid":                    "111122223333",
		"ct.user.arn":                            "arn:aws:iam::111122223333:root",
		"ct.region":                              "us-east-1",
		"ct.srcip":                               "203.0.113.20",
		"ct.useragent":                           "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"ct.info":                                "<NA> via 203.0.113.20 → ConsoleLogin",
		"ct.managementevent":                     "true",
		"ct.readonly":                            "false",
		"ct.eventtype":                           "AwsConsoleSignIn",
		"ct.recipientaccountid":                  "111122223333",
		"ct.eventcategory":                       "Management",
		"ct.tlsdetails.tlsversion":               "TLSv1.3",
		"ct.tlsdetails.ciphersuite":              "TLS_AES_128_GCM_SHA256",
		"ct.tlsdetails.clientprovidedhostheader": "signin.aws.amazon.com",
		// & stays as is: no HTML escaping.
		"ct.additionaleventdata": `{"LoginTo":"https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB","MFAUsed":"No","MobileVersion":"No"}`,
		"ct.request":             "null",
		"ct.response":            `{"ConsoleLogin":"Success"}`,
		"s3.cnt.other":           int64(1),
		"cloud.provider":         "aws",
		"cloud.identity":         "arn:aws:iam::111122223333:root",
		"cloud.identity.type":    "Root",
		"cloud.account.id":       "111122223333",
	}},
	{"aws_service_assume_role.json", map[string]any{
		"ct.id":                 "5e1b9c4e-0000-4000-8000-000000000005",
		"ct.time":               "2025-11-20T10:55:00Z",
		"ct.src":                "sts.amazonaws.com",
		"ct.shortsrc":           "sts",
		"ct.name":               "AssumeRole",
		"ct.user":               "ec2.amazonaws.com",
		"ct.user.accountid":     "111122223333", // from recipientAccountId
		"ct.user.identitytype":  "AWSService",
		"ct.region":             "us-east-1",
		"ct.srcip":              "ec2.amazonaws.com",
		"ct.useragent":          "ec2.amazonaws.com",
		"ct.info":               "ec2.amazonaws.com ← AssumeRole", // user = source: no "via"
		"ct.managementevent":    "true",
		"ct.readonly":           "true",
		"ct.requestid":          "8f1d3a52-0000-4000-8000-000000000005",
		"ct.eventtype":          "AwsApiCall",
		"ct.resources":          `{"ARN":"arn:aws:iam::111122223333:role/web-instance-role","accountId":"111122223333","type":"AWS::IAM::Role"}`,
		"ct.recipientaccountid": "111122223333",
		"ct.sharedeventid":      "0b5e4d7a-0000-4000-8000-000000000005",
		"ct.eventcategory":      "Management",
		"ct.request":            `{"roleArn":"arn:aws:iam::111122223333:role/web-instance-role","roleSessionName":"i-0abcd1234ef567890"}`,
		"ct.response":           `{"credentials":{"accessKeyId":"ASIAEXAMPLEWEBROLE01","expiration":"Nov 20, 2025, 5:05:00 PM","sessionToken":"EXAMPLE-TOKEN"}}`,
		"s3.cnt.other":          int64(1),
		"cloud.provider":        "aws",
		"cloud.identity":        "ec2.amazonaws.com",
		"cloud.identity.type":   "AWSService",
	}},
	{"no_identity_delete_bucket.json", map[string]any{
		"ct.id":                         "5e1b9c4e-0000-4000-8000-000000000006",
		"ct.time":                       "2025-11-22T08:00:00Z",
		"ct.src":                        "s3.amazonaws.com",
		"ct.shortsrc":                   "s3",
		"ct.name":                       "DeleteBucket",
		"ct.user.accountid":             "111122223333",
		"ct.region":                     "eu-west-1",
		"ct.srcip":                      "203.0.113.99",
		"ct.useragent":                  "[S3Console/0.4]",
		"ct.info":                       " via 203.0.113.99 ← DeleteBucket Bucket=old-logs-bucket",
		"ct.readonly":                   "false", // no readOnly: guessed from "Delete"
		"ct.requestid":                  "8f1d3a52-0000-4000-8000-000000000006",
		"ct.eventtype":                  "AwsApiCall",
		"ct.apiversion":                 "2006-03-01",
		"ct.recipientaccountid":         "111122223333",
		"ct.addendum.reason":            "DELIVERY_DELAY",
		"ct.addendum.updatedfields":     "",
		"ct.addendum.originalrequestid": "8f1d3a52-0000-4000-8000-000000000060",
		"ct.addendum.originaleventid":   "5e1b9c4e-0000-4000-8000-000000000060",
		"ct.request":                    `{"Host":"old-logs-bucket.s3.eu-west-1.amazonaws.com","bucketName":"old-logs-bucket"}`,
		"ct.request.host":               "old-logs-bucket.s3.eu-west-1.amazonaws.com",
		"ct.response":                   "null",
		"s3.bucket":                     "old-logs-bucket",
		"s3.cnt.other":                  int64(1),
		"cloud.provider":                "aws",
	}},
	{"service_event_rotate_key.json", map[string]any{
		"ct.id":                  "5e1b9c4e-0000-4000-8000-000000000007",
		"ct.time":                "2025-11-23T00:00:01Z",
		"ct.src":                 "kms.amazonaws.com",
		"ct.shortsrc":            "kms",
		"ct.name":                "RotateKey",
		"ct.user.accountid":      "111122223333",
		"ct.region":              "us-east-1",
		"ct.srcip":               "kms.amazonaws.com",
		"ct.useragent":           "kms.amazonaws.com",
		"ct.info":                " via kms.amazonaws.com → RotateKey",
		"ct.managementevent":     "true",
		"ct.readonly":            "false",
		"ct.eventtype":           "AwsServiceEvent",
		"ct.resources":           `{"ARN":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","accountId":"111122223333","type":"AWS::KMS::Key"}`,
		"ct.recipientaccountid":  "111122223333",
		"ct.serviceeventdetails": `{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}`,
		"ct.eventcategory":       "Management",
		"ct.request":             "null",
		"ct.response":            "null",
		"s3.cnt.other":           int64(1),
		"cloud.provider":         "aws",
		"cloud.identity":         "kms.amazonaws.com",
		"cloud.account.id":       "111122223333",
	}},
	{"s3_get_object.json", map[string]any{
		"ct.id":                                  "5e1b9c4e-0000-4000-8000-000000000008",
		"ct.time":                                "2025-11-20T11:30:00Z",
		"ct.src":                                 "s3.amazonaws.com",
		"ct.shortsrc":                            "s3",
		"ct.name":                                "GetObject",
		"ct.user":                                "Admin6",
		"ct.originaluser":                        "Admin6",
		"ct.user.accountid":                      "111122223333",
		"ct.user.identitytype":                   "IAMUser",
		"ct.user.principalid":                    "AIDAEXAMPLEADMIN6001",
		"ct.user.arn":                            "arn:aws:iam::111122223333:user/Admin6",
		"ct.region":                              "us-east-1",
		"ct.srcip":                               "198.51.100.23",
		"ct.useragent":                           "[aws-cli/2.15.0 md/command#s3.cp]",
		"ct.info":                                "Admin6 via 198.51.100.23 ← GetObject Size=1048576 URI=s3://confidential-data/reports/q3.pdf",
		"ct.managementevent":                     "false",
		"ct.readonly":                            "true",
		"ct.requestid":                           "8f1d3a52-0000-4000-8000-000000000008",
		"ct.eventtype":                           "AwsApiCall",
		"ct.resources":                           `{"ARN":"arn:aws:s3:::confidential-data/reports/q3.pdf","type":"AWS::S3::Object"},{"ARN":"arn:aws:s3:::confidential-data","accountId":"111122223333","type":"AWS::S3::Bucket"}`,
		"ct.recipientaccountid":                  "111122223333",
		"ct.vpcendpointid":                       "vpce-0123456789abcdef0",
		"ct.eventcategory":                       "Data",
		"ct.edgedevicedetails":                   `{"deviceID":"JID-EXAMPLE-0001","type":"snowball"}`,
		"ct.tlsdetails.tlsversion":               "TLSv1.3",
		"ct.tlsdetails.ciphersuite":              "TLS_AES_128_GCM_SHA256",
		"ct.tlsdetails.clientprovidedhostheader": "confidential-data.s3.us-east-1.amazonaws.com",
		// Numbers keep their text (1048576.0), keys are sorted.
		"ct.additionaleventdata": `{"AuthenticationMethod":"AuthHeader","CipherSuite":"TLS_AES_128_GCM_SHA256","SignatureVersion":"SigV4","bytesTransferredIn":0,"bytesTransferredOut":1048576.0}`,
		"ct.request":             `{"Host":"confidential-data.s3.us-east-1.amazonaws.com","bucketName":"confidential-data","key":"reports/q3.pdf"}`,
		"ct.request.host":        "confidential-data.s3.us-east-1.amazonaws.com",
		"ct.response":            "null",
		"s3.uri":                 "s3://confidential-data/reports/q3.pdf",
		"s3.bucket":              "confidential-data",
		"s3.key":                 "reports/q3.pdf",
		"s3.bytes":               int64(1048576),
		"s3.bytes.in":            int64(0),
		"s3.bytes.out":           int64(1048576),
		"s3.cnt.get":             int64(1),
		"cloud.provider":         "aws",
		"cloud.identity":         "arn:aws:iam::111122223333:user/Admin6",
		"cloud.identity.type":    "IAMUser",
		"cloud.accesskey.id":     "AKIAEXAMPLEADMIN6001",
		"cloud.account.id":       "111122223333",
	}},
	{"ec2_run_instances.json", map[string]any{
		"ct.id":                     "5e1b9c4e-0000-4000-8000-000000000009",
		"ct.time":                   "2025-11-20T12:01:00Z",
		"ct.src":                    "ec2.amazonaws.com",
		"ct.shortsrc":               "ec2",
		"ct.name":                   "RunInstances",
		"ct.user":                   "ci-deployer",
		"ct.originaluser":           "github-actions-1234",
		"ct.user.accountid":         "111122223333",
		"ct.user.identitytype":      "AssumedRole",
		"ct.user.principalid":       "AROAEXAMPLECIDEPLOY1:github-actions-1234",
		"ct.user.arn":               "arn:aws:sts::111122223333:assumed-role/ci-deployer/github-actions-1234",
		"ct.region":                 "us-west-2",
		"ct.srcip":                  "198.51.100.5",
		"ct.useragent":              "aws-sdk-go-v2/1.30.0",
		"ct.info":                   "ci-deployer via 198.51.100.5 → RunInstances",
		"ct.managementevent":        "true",
		"ct.readonly":               "false",
		"ct.requestid":              "8f1d3a52-0000-4000-8000-000000000009",
		"ct.eventtype":              "AwsApiCall",
		"ct.recipientaccountid":     "111122223333",
		"ct.eventcategory":          "Management",
		"ct.request.subnetid":       "subnet-0123456789abcdef0",
		"ct.response.reservationid": "r-0123456789abcdef0",
		"ct.request":                `{"instanceType":"t3.micro","instancesSet":{"items":[{"imageId":"ami-0abcdef1234567890","maxCount":1,"minCount":1}]},"subnetId":"subnet-0123456789abcdef0","tagSpecificationSet":{"items":[{"resourceType":"volume","tags":[{"key":"Name","value":"web-01-root"}]},{"resourceType":"instance","tags":[{"key":"team","value":"web"},{"key":"Name","value":"web-01"}]}]}}`,
		"ct.response":               `{"groupSet":{},"instancesSet":{"items":[{"imageId":"ami-0abcdef1234567890","instanceId":"i-0fedcba9876543210","instanceState":{"code":0,"name":"pending"},"subnetId":"subnet-0123456789abcdef0"}]},"ownerId":"111122223333","requestId":"8f1d3a52-0000-4000-8000-000000000009","reservationId":"r-0123456789abcdef0"}`,
		"ec2.name":                  "web-01", // the instance's tag, not the volume's
		"ec2.imageid":               "ami-0abcdef1234567890",
		"s3.cnt.other":              int64(1),
		"cloud.provider":            "aws",
		"cloud.identity":            "arn:aws:iam::111122223333:role/ci-deployer",
		"cloud.identity.type":       "AssumedRole",
		"cloud.session.name":        "github-actions-1234",
		"cloud.accesskey.id":        "ASIAEXAMPLECIDEPLOY1",
		"cloud.account.id":          "111122223333",
	}},
	{"error_stop_logging.json", map[string]any{
		"ct.id":                 "5e1b9c4e-0000-4000-8000-000000000010",
		"ct.error":              "AccessDenied",
		"ct.errormessage":       "User: arn:aws:iam::111122223333:user/Admin6 is not authorized to perform: cloudtrail:StopLogging on resource: arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events",
		"ct.time":               "2025-11-20T11:20:00Z",
		"ct.src":                "cloudtrail.amazonaws.com",
		"ct.shortsrc":           "cloudtrail",
		"ct.name":               "StopLogging",
		"ct.user":               "Admin6",
		"ct.originaluser":       "Admin6",
		"ct.user.accountid":     "111122223333",
		"ct.user.identitytype":  "IAMUser",
		"ct.user.principalid":   "AIDAEXAMPLEADMIN6001",
		"ct.user.arn":           "arn:aws:iam::111122223333:user/Admin6",
		"ct.region":             "us-east-1",
		"ct.srcip":              "198.51.100.23",
		"ct.useragent":          "aws-cli/2.15.0",
		"ct.info":               "Admin6 via 198.51.100.23 !→ StopLogging",
		"ct.managementevent":    "true",
		"ct.readonly":           "false",
		"ct.requestid":          "8f1d3a52-0000-4000-8000-000000000010",
		"ct.eventtype":          "AwsApiCall",
		"ct.recipientaccountid": "111122223333",
		"ct.eventcategory":      "Management",
		"ct.request.name":       "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events",
		"ct.request":            `{"name":"arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events"}`,
		"ct.response":           "null",
		"s3.cnt.other":          int64(1),
		"cloud.provider":        "aws",
		"cloud.identity":        "arn:aws:iam::111122223333:user/Admin6",
		"cloud.identity.type":   "IAMUser",
		"cloud.accesskey.id":    "AKIAEXAMPLEADMIN6001",
		"cloud.account.id":      "111122223333",
	}},
}

func TestCloudTrailFields(t *testing.T) {
	fields := ctCatalog(t)
	for _, tc := range ctCases {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			for name := range tc.want {
				if _, err := field.Lookup(name); err != nil {
					t.Errorf("expected field %s is not registered: %v", name, err)
				}
			}
			ev := ctEvent(mustRead(t, tc.file))
			for _, f := range fields {
				if f.Arg != field.NoArg {
					continue
				}
				got, ok := f.Get(ev, "")
				want, wantOK := tc.want[f.Name]
				switch {
				case ok != wantOK:
					t.Errorf("%s: got %#v (present %v), want %#v (present %v)", f.Name, got, ok, want, wantOK)
				case ok && got != want:
					t.Errorf("%s:\n got %#v\nwant %#v", f.Name, got, want)
				case ok:
					checkType(t, f.Name, f.Type, got)
				}
			}
		})
	}
}

// TestCloudTrailFieldsDerivations covers the plugin's derivations case by
// case on small records.
func TestCloudTrailFieldsDerivations(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		field string
		want  any // nil: missing
	}{
		{"federated user", `{"eventName":"GetCallerIdentity","userIdentity":{"type":"FederatedUser","userName":"x"}}`, "ct.user", "FederatedUser"},
		{"aws account", `{"eventName":"Decrypt","userIdentity":{"type":"AWSAccount","accountId":"222233334444"}}`, "ct.user", "AWSAccount"},
		{"assumed role without issuer", `{"eventName":"X","userIdentity":{"type":"AssumedRole"}}`, "ct.user", "AssumedRole"},
		{"iam user without name", `{"eventName":"X","userIdentity":{"type":"IAMUser"}}`, "ct.user", "<NA>"},
		{"user name not a string", `{"eventName":"X","userIdentity":{"type":"IAMUser","userName":7}}`, "ct.user", "<NA>"},
		{"aws service without invokedBy", `{"eventName":"X","userIdentity":{"type":"AWSService"}}`, "ct.user", "<NA>"},
		{"unknown identity type", `{"eventName":"X","userIdentity":{"type":"IdentityCenterUser","userName":"u"}}`, "ct.user", nil},
		{"unknown identity type info", `{"eventName":"X","sourceIPAddress":"203.0.113.1","userIdentity":{"type":"IdentityCenterUser"}}`, "ct.info", "<NA> via 203.0.113.1 ← X"},
		{"unknown identity type original user", `{"eventName":"X","userIdentity":{"type":"IdentityCenterUser","userName":"u"}}`, "ct.originaluser", "u"},
		{"session from principal id", `{"eventName":"X","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r","principalId":"AROA1:sess"}}`, "ct.originaluser", "sess"},
		{"no session name", `{"eventName":"X","userIdentity":{"type":"AssumedRole","arn":"arn","principalId":"AROA1"}}`, "ct.originaluser", nil},
		{"info without event name", `{"userIdentity":{"type":"IAMUser","userName":"a"}}`, "ct.info", "<invalid cloudtrail event: eventName field missing>"},
		{"info with key only", `{"eventName":"X","requestParameters":{"key":"k","Host":"h"}}`, "ct.info", " ← X Key=k"},
		{"info with host only", `{"eventName":"X","requestParameters":{"Host":"h"}}`, "ct.info", " ← X Host=h"},
		{"info size without object", `{"eventName":"X","additionalEventData":{"bytesTransferredIn":5}}`, "ct.info", " ← X Size=5"},
		{"readonly guessed read", `{"eventName":"ListBuckets"}`, "ct.readonly", "true"},
		{"readonly guessed write", `{"eventName":"RunInstances"}`, "ct.readonly", "false"},
		{"readonly given", `{"eventName":"RunInstances","readOnly":true}`, "ct.readonly", "true"},
		{"management event absent", `{"eventName":"X"}`, "ct.managementevent", nil},
		{"short source without suffix", `{"eventName":"X","eventSource":"example.com"}`, "ct.shortsrc", "example.com"},
		{"short source only suffix", `{"eventName":"X","eventSource":".amazonaws.com"}`, "ct.shortsrc", ".amazonaws.com"},
		{"account from recipient", `{"eventName":"X","recipientAccountId":"5"}`, "ct.user.accountid", "5"},
		{"bytes as text are missing", `{"eventName":"X","additionalEventData":{"bytesTransferredIn":"12"}}`, "s3.bytes.in", nil},
		{"bytes total with one side", `{"eventName":"X","additionalEventData":{"bytesTransferredIn":"12","bytesTransferredOut":5}}`, "s3.bytes", int64(5)},
		{"bytes none", `{"eventName":"X","additionalEventData":{}}`, "s3.bytes", nil},
		{"bytes fraction truncated", `{"eventName":"X","additionalEventData":{"bytesTransferredOut":7.9}}`, "s3.bytes.out", int64(7)},
		{"bytes negative", `{"eventName":"X","additionalEventData":{"bytesTransferredOut":-3}}`, "s3.bytes.out", int64(0)},
		{"bytes exponent", `{"eventName":"X","additionalEventData":{"bytesTransferredOut":2e3}}`, "s3.bytes.out", int64(2000)},
		{"bytes overflow", `{"eventName":"X","additionalEventData":{"bytesTransferredOut":1e400}}`, "s3.bytes.out", int64(math.MaxInt64)},
		{"bytes above int64", `{"eventName":"X","additionalEventData":{"bytesTransferredOut":18446744073709551615}}`, "s3.bytes.out", int64(math.MaxInt64)},
		{"bytes sum saturates", `{"eventName":"X","additionalEventData":{"bytesTransferredIn":9223372036854775807,"bytesTransferredOut":9}}`, "s3.bytes", int64(math.MaxInt64)},
		{"put counted", `{"eventName":"PutObject"}`, "s3.cnt.put", int64(1)},
		{"put not other", `{"eventName":"PutObject"}`, "s3.cnt.other", nil},
		{"get not put", `{"eventName":"GetObject"}`, "s3.cnt.put", nil},
		{"uri needs key", `{"eventName":"X","requestParameters":{"bucketName":"b"}}`, "s3.uri", nil},
		{"request field not a string", `{"eventName":"X","requestParameters":{"policy":{"Version":"2012-10-17"}}}`, "ct.request.policy", nil},
		{"request as string", `{"eventName":"X","requestParameters":"text"}`, "ct.request", "text"},
		{"resources empty", `{"eventName":"X","resources":[]}`, "ct.resources", nil},
		{"resources not a list", `{"eventName":"X","resources":{"a":1}}`, "ct.resources", nil},
		{"console bool", `{"eventName":"X","sessionCredentialFromConsole":false}`, "ct.sessioncredentialfromconsole", "false"},
		{"console other text", `{"eventName":"X","sessionCredentialFromConsole":"yes"}`, "ct.sessioncredentialfromconsole", nil},
		{"image id where the plugin looks", `{"eventName":"X","responseElements":{"tagSpecificationSet":{"items":[{"imageId":"ami-1"}]},"instancesSet":{"items":[{"imageId":"ami-2"}]}}}`, "ec2.imageid", "ami-1"},
		{"image id absent", `{"eventName":"X","responseElements":{"instancesSet":{"items":[]}}}`, "ec2.imageid", nil},
		{"instance name empty", `{"eventName":"X","requestParameters":{"tagSpecificationSet":{"items":[{"resourceType":"instance","tags":[{"key":"Name","value":""}]}]}}}`, "ec2.name", nil},
		{"not json", `not json`, "ct.request", nil},
		// The plugin's named request fields.
		{"availability zone", `{"requestParameters":{"availabilityZone":"us-east-1a"}}`, "ct.request.availabilityzone", "us-east-1a"},
		{"cluster", `{"requestParameters":{"cluster":"prod"}}`, "ct.request.cluster", "prod"},
		{"document name", `{"requestParameters":{"documentName":"AWS-StartSSHSession"}}`, "ct.request.documentname", "AWS-StartSSHSession"},
		{"function name", `{"requestParameters":{"functionName":"f"}}`, "ct.request.functionname", "f"},
		{"group name", `{"requestParameters":{"groupName":"admins"}}`, "ct.request.groupname", "admins"},
		{"policy", `{"requestParameters":{"policy":"{}"}}`, "ct.request.policy", "{}"},
		{"reason", `{"requestParameters":{"reason":"debug"}}`, "ct.request.reason", "debug"},
		{"service name", `{"requestParameters":{"serviceName":"web"}}`, "ct.request.servicename", "web"},
		{"target", `{"requestParameters":{"target":"i-1"}}`, "ct.request.target", "i-1"},
		{"task definition", `{"requestParameters":{"taskDefinition":"miner:1"}}`, "ct.request.taskdefinition", "miner:1"},
		{"response subnet", `{"responseElements":{"subnetId":"subnet-1"}}`, "ct.response.subnetid", "subnet-1"},
		{"ecr repository", `{"requestParameters":{"repositoryName":"app"}}`, "ecr.repository", "app"},
		{"ecr tag", `{"requestParameters":{"imageTag":"v1"}}`, "ecr.imagetag", "v1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := field.Lookup(tc.field)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ref.Get(ctEvent([]byte(tc.raw)))
			if tc.want == nil {
				if ok {
					t.Errorf("%s = %#v, want missing", tc.field, got)
				}
				return
			}
			if !ok || got != tc.want {
				t.Errorf("%s = %#v (present %v), want %#v", tc.field, got, ok, tc.want)
			}
		})
	}
}

// TestCloudTrailFieldsNeedCloudCall checks that no CloudTrail field reads
// an event that is not a CloudTrail call, even with a CloudTrail record in
// Raw, while json.value does.
func TestCloudTrailFieldsNeedCloudCall(t *testing.T) {
	raw := mustRead(t, "s3_get_object.json")
	events := map[string]*cairn.Event{
		"raw only":   {Source: cairn.SourceNative, Raw: raw},
		"empty":      {},
		"process":    {Source: cairn.SourceTetragon, Kind: cairn.KindExec, Process: &cairn.Process{PID: 1, Name: "sh"}},
		"cloud only": nil, // filled below: a Cloud with nothing in it
	}
	events["cloud only"] = &cairn.Event{Cloud: &cairn.CloudCall{}}
	for name, ev := range events {
		for _, f := range ctCatalog(t) {
			if f.Arg != field.NoArg {
				continue
			}
			got, ok := f.Get(ev, "")
			if name != "cloud only" && ok {
				t.Errorf("%s: %s = %#v, want missing", name, f.Name, got)
			}
			if ok {
				checkType(t, f.Name, f.Type, got)
			}
		}
	}
	ref, err := field.Lookup("json.value[/requestParameters/key]")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ref.Get(events["raw only"]); !ok || got != "reports/q3.pdf" {
		t.Errorf("json.value on a raw-only event = %#v, %v", got, ok)
	}
}

func TestCloudTrailFlatten(t *testing.T) {
	flat := field.Flatten(ctEvent(mustRead(t, "s3_get_object.json")))
	if flat["ct.name"] != "GetObject" || flat["s3.bytes"] != int64(1048576) || flat["cloud.provider"] != "aws" {
		t.Errorf("Flatten lacks CloudTrail fields: ct.name=%#v s3.bytes=%#v cloud.provider=%#v",
			flat["ct.name"], flat["s3.bytes"], flat["cloud.provider"])
	}
	if _, ok := flat["json.value"]; ok {
		t.Error("Flatten includes json.value, which needs an argument")
	}
}

func TestJSONValue(t *testing.T) {
	const doc = `{"eventName":"GetObject","a/b":"slash","m~n":"tilde","~1":"literal",
		"n":{"int":10,"dec":1.50,"exp":1e3,"neg":-0.5,"t":true,"f":false,"z":null},
		"list":["x",{"k":"v"},[1,2]],
		"obj":{"b":1,"a":[true,null,"x<&>"],"é":"ü"},"":"empty key","s":"",
		"r":{"PublicAccessBlockConfiguration":{"RestrictPublicBuckets":false}}}`
	tests := []struct {
		pointer string
		want    any // nil: missing
	}{
		{"/eventName", "GetObject"},
		{"/a~1b", "slash"},
		{"/m~0n", "tilde"},
		{"/~01", "literal"}, // ~0 then 1: the key "~1"
		{"/a~2b", nil},
		{"/a~", nil},
		{"/n/int", "10"},
		{"/n/dec", "1.50"},
		{"/n/exp", "1e3"},
		{"/n/neg", "-0.5"},
		{"/n/t", "true"},
		{"/n/f", "false"},
		{"/n/z", nil},
		{"/n/absent", nil},
		{"/list/0", "x"},
		{"/list/1/k", "v"},
		{"/list/2", "[1,2]"},
		{"/list/2/1", "2"},
		{"/list/3", nil},
		{"/list/01", nil},
		{"/list/-", nil},
		{"/list/+1", nil},
		{"/list/x", nil},
		{"/list/99999999999", nil},
		{"/obj", `{"a":[true,null,"x<&>"],"b":1,"é":"ü"}`},
		{"/obj/a", `[true,null,"x<&>"]`},
		{"/", "empty key"},
		{"/s", ""},
		{"/eventName/0", nil},
		{"/r/PublicAccessBlockConfiguration/RestrictPublicBuckets", "false"},
		{"", `{"":"empty key","a/b":"slash","eventName":"GetObject","list":["x",{"k":"v"},[1,2]],"m~n":"tilde","n":{"dec":1.50,"exp":1e3,"f":false,"int":10,"neg":-0.5,"t":true,"z":null},"obj":{"a":[true,null,"x<&>"],"b":1,"é":"ü"},"r":{"PublicAccessBlockConfiguration":{"RestrictPublicBuckets":false}},"s":"","~1":"literal"}`},
	}
	// json.value reads any event whose Raw is JSON, not only CloudTrail.
	ev := &cairn.Event{Source: cairn.SourceFalco, Raw: json.RawMessage(doc)}
	for _, tc := range tests {
		t.Run(tc.pointer, func(t *testing.T) {
			ref, err := field.Lookup("json.value[" + tc.pointer + "]")
			if err != nil {
				t.Fatal(err)
			}
			got, ok := ref.Get(ev)
			if tc.want == nil {
				if ok {
					t.Errorf("json.value[%s] = %#v, want missing", tc.pointer, got)
				}
				return
			}
			if !ok || got != tc.want {
				t.Errorf("json.value[%s] = %#v (present %v), want %#v", tc.pointer, got, ok, tc.want)
			}
		})
	}
}

func TestJSONValueRaw(t *testing.T) {
	tests := []struct {
		name, raw, pointer string
		want               any
	}{
		{"array document", `[1,"two"]`, "/1", "two"},
		{"null document", `null`, "", nil},
		{"not json", `{"a":`, "/a", nil},
		{"empty raw", ``, "/a", nil},
		{"scalar document", `"text"`, "", "text"},
	}
	ref, err := field.Lookup("json.value[/x]")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ref.Field.Get(&cairn.Event{Raw: json.RawMessage(tc.raw)}, tc.pointer)
			if tc.want == nil {
				if ok {
					t.Errorf("got %#v, want missing", got)
				}
				return
			}
			if !ok || got != tc.want {
				t.Errorf("got %#v (present %v), want %#v", got, ok, tc.want)
			}
		})
	}
	if _, err := field.Lookup("json.value"); err == nil {
		t.Error("json.value without a pointer was accepted")
	}
	if _, err := field.Lookup("json.value[eventName]"); err == nil {
		t.Error("json.value with a pointer not starting with / was accepted")
	}
}

// TestCatalogEntries checks every registered field, CloudTrail or not.
func TestCatalogEntries(t *testing.T) {
	all := field.All()
	if len(all) == 0 {
		t.Fatal("empty catalog")
	}
	for _, f := range all {
		if strings.TrimSpace(f.Desc) == "" {
			t.Errorf("%s has no description", f.Name)
		}
		if strings.HasPrefix(f.Type.String(), "type(") {
			t.Errorf("%s has an invalid type %d", f.Name, int(f.Type))
		}
		if f.Get == nil {
			t.Errorf("%s has no getter", f.Name)
		}
		if f.Name == "" || strings.ContainsAny(f.Name, " []") {
			t.Errorf("bad field name %q", f.Name)
		}
	}
}

// FuzzCloudTrailFields feeds arbitrary records through every CloudTrail
// field and json.value: none may panic, and every value has its field's
// type.
func FuzzCloudTrailFields(f *testing.F) {
	for _, tc := range ctCases {
		f.Add(mustRead(f, tc.file), "/requestParameters")
	}
	f.Add([]byte(`{"userIdentity":{"type":"AssumedRole","arn":"a/b/c"},"additionalEventData":{"bytesTransferredIn":-1e999}}`), "/x~1y/0")
	f.Add([]byte(`[[[]]]`), "/0/0/0")
	fields := ctCatalog(f)
	jsonValue, err := field.Lookup("json.value[/]")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte, pointer string) {
		ev := ctEvent(raw)
		for _, fl := range fields {
			if fl.Arg != field.NoArg {
				continue
			}
			if v, ok := fl.Get(ev, ""); ok {
				checkType(t, fl.Name, fl.Type, v)
			}
		}
		if v, ok := jsonValue.Field.Get(ev, pointer); ok {
			checkType(t, "json.value", field.String, v)
		}
	})
}

// FuzzJSONPointer checks that a key escaped as RFC 6901 says is found
// again by json.value, whatever its characters.
func FuzzJSONPointer(f *testing.F) {
	for _, k := range []string{"a", "a/b", "~", "~0", "~1", "/~/", "", "0", "é"} {
		f.Add(k, "value")
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		if !utf8.ValidString(key) || !utf8.ValidString(value) {
			t.Skip("the JSON decoder replaces invalid UTF-8")
		}
		raw, err := json.Marshal(map[string]any{"outer": map[string]string{key: value}})
		if err != nil {
			t.Fatal(err)
		}
		escaped := strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
		ref, err := field.Lookup("json.value[/outer/" + escaped + "]")
		if err != nil {
			// Lookup splits at the first [ and needs the name to end with ]:
			// call the field directly instead.
			ref, err = field.Lookup("json.value[/]")
			if err != nil {
				t.Fatal(err)
			}
			ref.Arg = "/outer/" + escaped
		}
		got, ok := ref.Get(&cairn.Event{Raw: raw})
		if !ok || got != value {
			t.Errorf("json.value[/outer/%s] = %#v (present %v), want %q", escaped, got, ok, value)
		}
	})
}
