package decode_test

import (
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

// identityOf decodes a CloudTrail record with the given userIdentity.
func identityOf(t *testing.T, userIdentity string) cairn.Identity {
	t.Helper()
	in := `{"eventTime":"2024-05-04T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","userIdentity":` + userIdentity + `}`
	c := mustDecode(t, in, decode.CloudTrail)
	noRejects(t, c)
	if len(c.Events) != 1 {
		t.Fatalf("got %d events", len(c.Events))
	}
	return c.Events[0].Cloud.Identity
}

func TestCanonicalIdentity(t *testing.T) {
	tests := []struct {
		name, identity, key string
		check               func(cairn.Identity) bool
	}{
		{"IAM user", `{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::123456789012:user/Alice","accountId":"123456789012","userName":"Alice"}`,
			"arn:aws:iam::123456789012:user/Alice", nil},
		{"IAM user without ARN", `{"type":"IAMUser","accountId":"123456789012","userName":"Bob"}`,
			"arn:aws:iam::123456789012:user/Bob", nil},
		{"assumed role with issuer", `{"type":"AssumedRole","principalId":"AROA1:dev","arn":"arn:aws:sts::123456789012:assumed-role/Admin/dev","accountId":"123456789012","accessKeyId":"ASIA1","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::123456789012:role/team/Admin"},"sourceIdentity":"alice@example.com","attributes":{"mfaAuthenticated":"true"}}}`,
			"arn:aws:iam::123456789012:role/team/Admin", func(id cairn.Identity) bool {
				return id.SessionName == "dev" && id.AccessKeyID == "ASIA1" && id.IssuerARN == "arn:aws:iam::123456789012:role/team/Admin" &&
					id.SourceIdentity == "alice@example.com" && id.MFA != nil && *id.MFA
			}},
		{"assumed role without issuer", `{"type":"AssumedRole","principalId":"AROA1:i-0abc","arn":"arn:aws:sts::123456789012:assumed-role/node-role/i-0abc","accountId":"123456789012","sourceIdentity":"bob"}`,
			"arn:aws:iam::123456789012:role/node-role", func(id cairn.Identity) bool {
				return id.SessionName == "i-0abc" && id.IssuerARN == "" && id.SourceIdentity == "bob"
			}},
		{"assumed role in aws-cn", `{"type":"AssumedRole","arn":"arn:aws-cn:sts::123456789012:assumed-role/r/s"}`,
			"arn:aws-cn:iam::123456789012:role/r", nil},
		{"root", `{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"}`,
			"arn:aws:iam::123456789012:root", nil},
		{"federated user", `{"type":"FederatedUser","principalId":"123456789012:Bob","arn":"arn:aws:sts::123456789012:federated-user/Bob","accountId":"123456789012","sessionContext":{"sessionIssuer":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/Broker"}}}`,
			"arn:aws:sts::123456789012:federated-user/Bob", nil},
		{"SAML user", `{"type":"SAMLUser","principalId":"SampleUkh1i4+ExamplexL/jEvs=:SamlExample","userName":"SamlExample","identityProvider":"bdGOnTesti4+ExamplexL/jEvs="}`,
			"SAMLUser:bdGOnTesti4+ExamplexL/jEvs=:SamlExample", nil},
		{"web identity user", `{"type":"WebIdentityUser","principalId":"accounts.google.com:123","userName":"123","identityProvider":"accounts.google.com"}`,
			"WebIdentityUser:accounts.google.com:123", nil},
		{"AWS service", `{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}`, "ec2.amazonaws.com", func(id cairn.Identity) bool {
			return id.InvokedBy == "ec2.amazonaws.com"
		}},
		{"AWS account", `{"type":"AWSAccount","principalId":"AIDA2","accountId":"444455556666"}`, "arn:aws:iam::444455556666:root", nil},
		{"Identity Center user", `{"type":"IdentityCenterUser","accountId":"123456789012","onBehalfOf":{"userId":"544894e8-80c1-707f-60e3-3ba6510dfac1","identityStoreArn":"arn:aws:identitystore::123456789012:identitystore/d-9067642ac7"},"credentialId":"x"}`,
			"identitycenter:arn:aws:identitystore::123456789012:identitystore/d-9067642ac7:544894e8-80c1-707f-60e3-3ba6510dfac1", nil},
		{"unknown", `{"type":"Unknown","principalId":"AROA1:User","arn":"arn:aws:sts::1:assumed-role/SSO/User","accountId":"1"}`, "", func(id cairn.Identity) bool {
			return id.Type == "Unknown"
		}},
		{"none", `null`, "", func(id cairn.Identity) bool { return id == cairn.Identity{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := identityOf(t, tt.identity)
			if id.Key != tt.key {
				t.Errorf("key %q, want %q", id.Key, tt.key)
			}
			if got := decode.CanonicalIdentity(id); got != id.Key {
				t.Errorf("CanonicalIdentity %q differs from the decoded key %q", got, id.Key)
			}
			if tt.check != nil && !tt.check(id) {
				t.Errorf("identity %+v", id)
			}
		})
	}
}

func TestCanonicalIdentityFromARN(t *testing.T) {
	tests := []struct {
		id   cairn.Identity
		want string
	}{
		{cairn.Identity{ARN: "arn:aws:iam::123456789012:user/Alice"}, "arn:aws:iam::123456789012:user/Alice"},
		{cairn.Identity{ARN: "arn:aws:sts::123456789012:assumed-role/Admin/dev"}, "arn:aws:iam::123456789012:role/Admin"},
		{cairn.Identity{ARN: "arn:aws:iam::123456789012:role/x/Admin"}, "arn:aws:iam::123456789012:role/x/Admin"},
		{cairn.Identity{ARN: "arn:aws:iam::123456789012:root"}, "arn:aws:iam::123456789012:root"},
		{cairn.Identity{ARN: "not an arn"}, ""},
		{cairn.Identity{}, ""},
		{cairn.Identity{Type: "Directory", PrincipalID: "d-1"}, "Directory:d-1"},
	}
	for _, tt := range tests {
		if got := decode.CanonicalIdentity(tt.id); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.id, got, tt.want)
		}
	}
}
