package posture_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/posture"
)

// postureCorpus holds cloudsplaining's example authorization details; the
// tests on it skip when it is absent.
var postureCorpus = filepath.Join("..", "..", "shared", "corpus", "posture")

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustLoad(t *testing.T, name string) *posture.Account {
	t.Helper()
	f, err := os.Open(filepath.Join(postureCorpus, name))
	if err != nil {
		t.Skipf("corpus not found: %v", err)
	}
	defer f.Close()
	a, err := posture.LoadAuthDetails(f)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// short is a finding without its detail text, to compare sets.
func short(fs []posture.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, strings.TrimPrefix(f.Principal, "arn:aws:iam::012345678901:")+" "+f.Kind)
	}
	return out
}

func TestExampleAuthDetails(t *testing.T) {
	a := mustLoad(t, "example-authz-details.json")
	fs := a.Findings(nil, now)
	want := []string{
		"user/obama admin",
		"user/userwithlotsofpermissions admin",
		"user/biden privilege-escalation",
		"user/biden resource-exposure",
		"role/MyRole resource-exposure",
		"role/MyRole unused-role",
		"role/MyOtherRole resource-exposure",
		"role/MyOtherRole unused-role",
		"role/OverprivilegedEC2 privilege-escalation",
		"role/OverprivilegedEC2 credential-exposure",
		"role/OverprivilegedEC2 resource-exposure",
		"role/OverprivilegedEC2 unused-role",
	}
	if got := short(fs); !slices.Equal(got, want) {
		t.Fatalf("findings:\n got %q\nwant %q", got, want)
	}
	details := map[string]string{}
	for _, f := range fs {
		details[strings.TrimPrefix(f.Principal, "arn:aws:iam::012345678901:")+" "+f.Kind] = f.Detail
	}
	for k, want := range map[string]string{
		"user/obama admin":                            "AdministratorAccess",
		"user/userwithlotsofpermissions admin":        "AdministratorAccess via group admin",
		"role/OverprivilegedEC2 privilege-escalation": "iam:CreateAccessKey (inline policy SupYo)",
		"role/OverprivilegedEC2 credential-exposure":  "iam:CreateAccessKey (inline policy SupYo)",
		"role/OverprivilegedEC2 resource-exposure":    "iam:CreateAccessKey, s3:PutObjectAcl (inline policy SupYo, InsecurePolicy)",
		"role/OverprivilegedEC2 unused-role":          "last used 2019-01-20 (2537 days ago)",
		"role/MyRole resource-exposure":               "iam:AddRoleToInstanceProfile, iam:CreateInstanceProfile, iam:PassRole (inline policy EC2-IAM-example)",
		"role/MyRole unused-role":                     "never used",
		// AWSLambdaFullAccess allows iam:PassRole and lambda:*; the group's
		// AmazonRDSFullAccess allows rds:*.
		"user/biden privilege-escalation": "iam:PassRole + lambda:CreateFunction + lambda:InvokeFunction, " +
			"iam:PassRole + lambda:CreateFunction + lambda:CreateEventSourceMapping, " +
			"iam:PassRole + lambda:CreateFunction + lambda:AddPermission, lambda:UpdateFunctionCode, " +
			"lambda:UpdateFunctionConfiguration and 1 more (AWSLambdaFullAccess, AmazonRDSFullAccess via group biden)",
	} {
		if details[k] != want {
			t.Errorf("%s: detail %q, want %q", k, details[k], want)
		}
	}
	// MyRole may pass roles but not run instances: no escalation.
	for _, f := range fs {
		if f.Principal == "arn:aws:iam::012345678901:role/MyRole" && f.Kind == posture.KindEscalation {
			t.Errorf("MyRole: unexpected escalation %q", f.Detail)
		}
	}
}

func TestExampleAuthDetailsV2(t *testing.T) {
	a := mustLoad(t, "example_authz_v2.json")
	fs := a.Findings(nil, now)
	want := []string{"user/BlakeBortles admin", "role/GOAT unused-role", "role/MyOtherRole unused-role"}
	if got := short(fs); !slices.Equal(got, want) {
		t.Fatalf("findings:\n got %q\nwant %q", got, want)
	}
	got := a.Privileges("arn:aws:iam::012345678901:user/BlakeBortles")
	if want := []string{"administrator access (AdministratorAccess via group GOAT)"}; !slices.Equal(got, want) {
		t.Errorf("Privileges = %q, want %q", got, want)
	}
	// Privileges leaves out time-dependent findings.
	if got := a.Privileges("arn:aws:iam::012345678901:role/GOAT"); got != nil {
		t.Errorf("Privileges(GOAT) = %q, want none", got)
	}
}

// doc is authorization details with a role under a path, a managed policy
// of two versions, a URL-encoded inline policy, a Deny and a NotAction.
const doc = `{
 "UserDetailList": [
  {"UserName": "dev", "Arn": "arn:aws:iam::111122223333:user/dev", "GroupList": ["ops", "gone"],
   "UserPolicyList": [{"PolicyName": "encoded", "PolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22iam%3ACreate%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"}],
   "AttachedManagedPolicies": [{"PolicyName": "Custom", "PolicyArn": "arn:aws:iam::111122223333:policy/Custom"}]}
 ],
 "GroupDetailList": [
  {"GroupName": "ops", "Arn": "arn:aws:iam::111122223333:group/ops",
   "GroupPolicyList": [{"PolicyName": "deny", "PolicyDocument": {"Statement": {"Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*"}}}],
   "AttachedManagedPolicies": [{"PolicyName": "Unknown", "PolicyArn": "arn:aws:iam::aws:policy/Unknown"}]}
 ],
 "RoleDetailList": [
  {"RoleName": "deploy", "Arn": "arn:aws:iam::111122223333:role/ci/deploy", "CreateDate": "2025-12-20T00:00:00Z",
   "RolePolicyList": [{"PolicyName": "power", "PolicyDocument": {"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}]}}],
   "AttachedManagedPolicies": [{"PolicyName": "IAMFullAccess", "PolicyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}],
   "RoleLastUsed": {}},
  {"RoleName": "cond", "Arn": "arn:aws:iam::111122223333:role/cond",
   "RolePolicyList": [{"PolicyName": "c", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "*:*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}}]}
 ],
 "Policies": [
  {"PolicyName": "Custom", "Arn": "arn:aws:iam::111122223333:policy/Custom", "PolicyVersionList": [
   {"Document": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, "IsDefaultVersion": false},
   {"Document": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ec2:RunInstances\",\"IAM:passrole\"],\"Resource\":\"*\"}]}", "IsDefaultVersion": true}]}
 ]
}`

func TestCraftedAuthDetails(t *testing.T) {
	a, err := posture.LoadAuthDetails(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var dev *posture.Principal
	for _, p := range a.Principals {
		if p.Name == "dev" {
			dev = p
		}
	}
	if dev == nil {
		t.Fatal("no user dev")
	}
	// The group's unknown AWS managed policy and the group the details
	// lack are unresolved, not guessed.
	if want := []string{"arn:aws:iam::aws:policy/Unknown", "group gone"}; !slices.Equal(dev.Unresolved, want) {
		t.Fatalf("dev unresolved = %q, want %q", dev.Unresolved, want)
	}
	byKind := map[string]string{}
	for _, f := range a.Findings(nil, now) {
		byKind[strings.TrimPrefix(f.Principal, "arn:aws:iam::111122223333:")+" "+f.Kind] = f.Detail
	}
	want := map[string]string{
		// The non-default version's "*" does not count; iam:Create* expands
		// but the group's exact Deny removes iam:CreateAccessKey.
		"user/dev privilege-escalation": "iam:CreatePolicyVersion, iam:PassRole + ec2:RunInstances, iam:CreateLoginProfile (inline policy encoded, Custom)",
		"user/dev credential-exposure":  "iam:CreateLoginProfile, iam:CreateServiceSpecificCredential (inline policy encoded)",
		"user/dev resource-exposure":    "iam:CreateAccountAlias, iam:CreateGroup, iam:CreateInstanceProfile, iam:CreateLoginProfile, iam:CreateOpenIDConnectProvider and 9 more (inline policy encoded, Custom)",
		// NotAction iam:*, sts:* grants neither; IAMFullAccess (well known)
		// grants iam: every path but the three that need sts:AssumeRole.
		"role/ci/deploy privilege-escalation": "iam:CreatePolicyVersion, iam:SetDefaultPolicyVersion, iam:PassRole + ec2:RunInstances, iam:CreateAccessKey, iam:CreateLoginProfile and 22 more (IAMFullAccess, inline policy power)",
	}
	for k, w := range want {
		if byKind[k] != w {
			t.Errorf("%s: %q, want %q", k, byKind[k], w)
		}
	}
	// A conditional "*:*" is not admin; a role created 12 days ago is not
	// unused yet.
	for _, k := range []string{"role/cond admin", "role/ci/deploy unused-role", "role/ci/deploy admin", "user/dev admin"} {
		if d, ok := byKind[k]; ok {
			t.Errorf("unexpected %s: %q", k, d)
		}
	}
	// An identity key without the role's path matches it.
	got := a.Privileges("arn:aws:iam::111122223333:role/deploy")
	if len(got) != 3 || !strings.HasPrefix(got[0], "can escalate privileges: iam:CreatePolicyVersion") {
		t.Errorf("Privileges(role/deploy) = %q", got)
	}
	if got := a.Privileges("arn:aws:iam::999999999999:role/deploy"); got != nil {
		t.Errorf("other account: %q", got)
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "iam:PassRole", true},
		{"iam:*", "IAM:PassRole", true},
		{"iam:Create*", "iam:CreateAccessKey", true},
		{"iam:Create*", "iam:DeleteUser", false},
		{"iam:?assRole", "iam:passrole", true},
		{"*:*Role", "sts:AssumeRole", true},
		{"s3:Get", "s3:GetObject", false},
		{"", "", true},
	} {
		if got := posture.Glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

// TestEscalationPathsUseTable checks that every action of the escalation
// paths is in the generated list, so a typo cannot hide a path.
func TestEscalationPathsUseTable(t *testing.T) {
	for _, p := range posture.EscalationPaths {
		for _, a := range p {
			if !slices.ContainsFunc(posture.EscalationActions, func(b string) bool { return strings.EqualFold(a, b) }) {
				t.Errorf("%s is not in escalationActions", a)
			}
		}
	}
}

const report = `user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,2025-12-01T00:00:00+00:00,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::111122223333:user/alice,2020-01-01T00:00:00+00:00,true,2025-12-30T10:00:00+00:00,2020-01-01T00:00:00+00:00,N/A,false,true,2025-06-15T00:00:00+00:00,2025-12-31T00:00:00+00:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
bot,arn:aws:iam::111122223333:user/bot,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,true,2025-12-01T00:00:00+00:00,no_information,N/A,N/A,false,N/A,false,N/A
carol,arn:aws:iam::111122223333:user/carol,2020-01-01T00:00:00+00:00,true,no_information,N/A,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
`

func TestCredentialReport(t *testing.T) {
	creds, err := posture.LoadCredentialReport(strings.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 4 || creds[1].User != "alice" || !creds[1].PasswordEnabled || creds[1].MFAActive ||
		!creds[1].Keys[0].Active || !creds[1].Keys[0].LastRotated.Equal(time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)) ||
		!creds[3].MFAActive || !creds[2].PasswordLastUsed.IsZero() {
		t.Fatalf("creds = %+v", creds)
	}
	got := (&posture.Account{}).Findings(creds, now)
	want := []posture.Finding{
		{"arn:aws:iam::111122223333:root", posture.KindConsoleWithoutMFA, "console password without MFA", posture.SeverityCritical},
		{"arn:aws:iam::111122223333:user/alice", posture.KindConsoleWithoutMFA, "console password without MFA", posture.SeverityHigh},
		{"arn:aws:iam::111122223333:user/alice", posture.KindOldAccessKey, "access key 1 last rotated 2025-06-15 (200 days ago)", posture.SeverityMedium},
		// bot's first key is old but inactive; the second is recent.
		{"arn:aws:iam::111122223333:user/bot", posture.KindNoMFA, "active access keys and no MFA device", posture.SeverityLow},
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, c := range []struct{ in, msg string }{
		{`[]`, "authorization details: json: cannot unmarshal array"},
		{`{}`, "no UserDetailList"},
		{`{"Policies":[{"Arn":"arn:aws:iam::1:policy/p","PolicyVersionList":[]}]}`, "policy arn:aws:iam::1:policy/p has no default version"},
		{`{"RoleDetailList":[{"RoleName":"r","Arn":"a","RolePolicyList":[{"PolicyName":"x","PolicyDocument":{"Statement":[{"Effect":"Maybe","Action":"*"}]}}]}]}`, `role a: inline policy "x": policy document: statement 0: Effect "Maybe"`},
		{`{"RoleDetailList":[{"RoleName":"r","Arn":"a","RoleLastUsed":{"LastUsedDate":"yesterday"}}]}`, `RoleLastUsed: malformed date "yesterday"`},
		{`{"UserDetailList":[{"UserName":"u","Arn":"a","UserPolicyList":[{"PolicyName":"x","PolicyDocument":"%zz"}]}]}`, "not JSON and not URL-encoded"},
	} {
		_, err := posture.LoadAuthDetails(strings.NewReader(c.in))
		if cairn.ErrorCode(err) != cairn.EINVALID || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err %v, want EINVALID containing %q", c.in, err, c.msg)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"", "credential report is empty"},
		{"user,arn\n", "no user_creation_time column"},
		{strings.Replace(report, "not_supported,false,false", "not_supported,maybe,false", 1), `line 2: mfa_active is "maybe"`},
		{report + "x,y\n", "line 6: wrong number of fields"},
	} {
		_, err := posture.LoadCredentialReport(strings.NewReader(c.in))
		if cairn.ErrorCode(err) != cairn.EINVALID || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%.30q: err %v, want EINVALID containing %q", c.in, err, c.msg)
		}
	}
}

func FuzzLoadAuthDetails(f *testing.F) {
	f.Add([]byte(doc))
	for _, name := range []string{"example-authz-details.json", "example_authz_v2.json"} {
		if b, err := os.ReadFile(filepath.Join(postureCorpus, name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"UserDetailList":[{"UserName":"u","Arn":"a","UserPolicyList":[{"PolicyName":"x","PolicyDocument":"%7B%7D"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := posture.LoadAuthDetails(strings.NewReader(string(b)))
		if err != nil {
			if cairn.ErrorCode(err) != cairn.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		for _, p := range a.Principals {
			a.Privileges(p.ARN)
		}
		a.Findings(nil, now)
	})
}

func FuzzLoadCredentialReport(f *testing.F) {
	f.Add([]byte(report))
	f.Add([]byte("user,arn\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		creds, err := posture.LoadCredentialReport(strings.NewReader(string(b)))
		if err != nil {
			if cairn.ErrorCode(err) != cairn.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		(&posture.Account{}).Findings(creds, now)
	})
}
