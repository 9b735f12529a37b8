package remediate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/remediate"
)

const (
	userARN = "arn:aws:iam::123456789012:user/dev/ops/alice"
	roleARN = "arn:aws:iam::123456789012:role/service-role/node-role"
	keyA    = "AKIAABCDEFGHIJKLMNOP"
	keyS    = "ASIAABCDEFGHIJKLMNOP"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))

func mustTarget(tb testing.TB, key string, keys ...string) remediate.Target {
	tb.Helper()
	t, err := remediate.TargetOf(key, keys)
	if err != nil {
		tb.Fatalf("TargetOf(%q): %v", key, err)
	}
	return t
}

func plan(tb testing.TB, t remediate.Target, s remediate.Strategy, opts remediate.Options) remediate.Plan {
	tb.Helper()
	for _, p := range remediate.Plans(t, opts) {
		if p.Strategy == s {
			return p
		}
	}
	tb.Fatalf("no plan %s", s)
	return remediate.Plan{}
}

func TestTargetOf(t *testing.T) {
	good := []struct {
		key  string
		keys []string
		want remediate.Target
	}{
		{userARN, []string{keyA, keyS, keyA}, remediate.Target{Key: userARN, Type: "IAMUser", Account: "123456789012", UserName: "alice", AccessKeys: []string{keyA, keyS}}},
		{"arn:aws:iam::123456789012:user/a.b@c+d=e,f-g_h", nil, remediate.Target{Key: "arn:aws:iam::123456789012:user/a.b@c+d=e,f-g_h", Type: "IAMUser", Account: "123456789012", UserName: "a.b@c+d=e,f-g_h"}},
		{roleARN, []string{keyS}, remediate.Target{Key: roleARN, Type: "AssumedRole", Account: "123456789012", RoleName: "node-role", AccessKeys: []string{keyS}}},
		{"arn:aws-us-gov:iam::210987654321:role/r", nil, remediate.Target{Key: "arn:aws-us-gov:iam::210987654321:role/r", Type: "AssumedRole", Account: "210987654321", RoleName: "r"}},
		{"arn:aws:sts::123456789012:assumed-role/node-role/i-0123456789abcdef0", nil, remediate.Target{Key: "arn:aws:sts::123456789012:assumed-role/node-role/i-0123456789abcdef0", Type: "AssumedRole", Account: "123456789012", RoleName: "node-role"}},
		{"arn:aws:iam::123456789012:root", []string{keyA}, remediate.Target{Key: "arn:aws:iam::123456789012:root", Type: "Root", Account: "123456789012", AccessKeys: []string{keyA}}},
	}
	for _, c := range good {
		got, err := remediate.TargetOf(c.key, c.keys)
		if err != nil {
			t.Errorf("TargetOf(%q): %v", c.key, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("TargetOf(%q) = %+v, want %+v", c.key, got, c.want)
		}
	}
	bad := []struct {
		key  string
		keys []string
	}{
		{"", nil},
		{"alice", nil},
		{"arn:aws:iam::123456789012:user/a;rm -rf", nil},
		{"arn:aws:iam::123456789012:user/a$(id)", nil},
		{"arn:aws:iam::123456789012:user/a`id`", nil},
		{"arn:aws:iam::123456789012:user/a'b", nil},
		{"arn:aws:iam::123456789012:user/a b", nil},
		{"arn:aws:iam::123456789012:user/a\nb", nil},
		{"arn:aws:iam::123456789012:user/", nil},
		{"arn:aws:iam::123456789012:user/" + strings.Repeat("a", 65), nil},
		{"arn:aws:iam::123456789012:user/p a/alice", nil},
		{"arn:aws:iam::12345678901:user/alice", nil},
		{"arn:aws:iam::1234567890123:user/alice", nil},
		{"arn:aws:iam::12345678901x:user/alice", nil},
		{"arn:aws:iam:us-east-1:123456789012:user/alice", nil},
		{"arn:evil:iam::123456789012:user/alice", nil},
		{"arn:aws:s3:::bucket", nil},
		{"arn:aws:iam::123456789012:group/admins", nil},
		{"arn:aws:sts::123456789012:federated-user/bob", nil},
		{"arn:aws:sts::123456789012:assumed-role/r", nil},
		{"arn:aws:sts::123456789012:assumed-role/r/s;x", nil},
		{"AWSService:ec2.amazonaws.com", nil},
		{userARN, []string{"AKIA123"}},
		{userARN, []string{"akiaabcdefghijklmnop"}},
		{userARN, []string{"AKIAABCDEFGHIJKLMNO;"}},
		{userARN, []string{"AROAABCDEFGHIJKLMNOP"}},
		{roleARN, []string{keyA}},
	}
	for _, c := range bad {
		_, err := remediate.TargetOf(c.key, c.keys)
		if cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("TargetOf(%q, %q) error = %v, want an EINVALID error", c.key, c.keys, err)
		}
	}
}

func FuzzTargetOf(f *testing.F) {
	for _, s := range []string{userARN, roleARN, "arn:aws:iam::123456789012:root", "arn:aws:sts::123456789012:assumed-role/r/s", "arn:aws:iam::123456789012:user/a$(id)", "arn:aws:iam::123456789012:user/a'b"} {
		f.Add(s, keyA)
	}
	f.Fuzz(func(t *testing.T, key, k string) {
		tg, err := remediate.TargetOf(key, []string{k})
		if err != nil {
			return
		}
		for _, name := range []string{tg.UserName, tg.RoleName} {
			if strings.ContainsAny(name, "'\"`$;&|<>()\\ \t\n/*?[]!{}~#") {
				t.Fatalf("accepted name %q", name)
			}
		}
		for _, p := range remediate.Plans(tg, remediate.Options{Now: now, CIDRs: []string{"192.0.2.0/24"}, NewPassword: func() string { return "x" }}) {
			for _, s := range p.Steps {
				if strings.Contains(s.CLI, "\n") {
					t.Fatalf("CLI with a newline: %q", s.CLI)
				}
			}
		}
	})
}

func TestApplies(t *testing.T) {
	opts := remediate.Options{Now: now, CIDRs: []string{"192.0.2.0/24"}}
	want := map[string]map[remediate.Strategy]bool{
		userARN:                          {"restrict-source-ip": true, "revoke-sessions": true, "deactivate": true, "reset-password": true, "rotate-keys": true, "delete": true},
		roleARN:                          {"restrict-source-ip": true, "revoke-sessions": true, "deactivate": false, "reset-password": false, "rotate-keys": false, "delete": false},
		"arn:aws:iam::123456789012:root": {"restrict-source-ip": false, "revoke-sessions": false, "deactivate": false, "reset-password": false, "rotate-keys": false, "delete": false},
	}
	for key, w := range want {
		ps := remediate.Plans(mustTarget(t, key), opts)
		if len(ps) != 6 {
			t.Fatalf("%s: %d plans", key, len(ps))
		}
		for _, p := range ps {
			if p.Applies != w[p.Strategy] {
				t.Errorf("%s %s: applies %v, want %v (%s)", key, p.Strategy, p.Applies, w[p.Strategy], p.Why)
			}
			if p.Why == "" || p.Title == "" {
				t.Errorf("%s %s: no title or why", key, p.Strategy)
			}
			if !p.Applies && len(p.Steps) > 0 {
				t.Errorf("%s %s: steps in a plan that does not apply", key, p.Strategy)
			}
		}
	}
}

// policy decodes a step's policy document and checks the CLI carries the
// same document, quoted.
type policy struct {
	Version   string
	Statement []struct {
		Effect, Action, Resource string
		Condition                map[string]map[string]any
	}
}

func stepPolicy(t *testing.T, s remediate.Step) policy {
	t.Helper()
	doc, _ := s.API.Params["PolicyDocument"].(string)
	var p policy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy document %q: %v", doc, err)
	}
	if !strings.HasSuffix(s.CLI, " --policy-document "+remediate.ShellQuote(doc)) {
		t.Errorf("CLI does not carry the quoted document: %s", s.CLI)
	}
	if p.Version != "2012-10-17" || len(p.Statement) != 1 || p.Statement[0].Effect != "Deny" || p.Statement[0].Action != "*" || p.Statement[0].Resource != "*" {
		t.Errorf("policy %+v is not one Deny * * statement", p)
	}
	return p
}

func TestRestrictSourceIP(t *testing.T) {
	opts := remediate.Options{CIDRs: []string{"192.0.2.77/24", "2001:db8::/32"}}
	for _, c := range []struct{ key, op, who, name string }{
		{userARN, "PutUserPolicy", "UserName", "alice"},
		{roleARN, "PutRolePolicy", "RoleName", "node-role"},
	} {
		p := plan(t, mustTarget(t, c.key), remediate.RestrictSourceIP, opts)
		if !p.Applies || len(p.Steps) != 1 || len(p.Rollback) != 1 {
			t.Fatalf("%s: %+v", c.key, p)
		}
		s := p.Steps[0]
		if s.API.Op != c.op || s.API.Params[c.who] != c.name || s.API.Params["PolicyName"] != "CairnRestrictSourceIP" {
			t.Errorf("%s: call %+v", c.key, s.API)
		}
		cond := stepPolicy(t, s).Statement[0].Condition
		want := map[string]map[string]any{
			"NotIpAddress": {"aws:SourceIp": []any{"192.0.2.0/24", "2001:db8::/32"}},
			"BoolIfExists": {"aws:ViaAWSService": "false"},
		}
		if !reflect.DeepEqual(cond, want) {
			t.Errorf("%s: condition %v, want %v", c.key, cond, want)
		}
		undo := strings.Replace(c.op, "Put", "Delete", 1)
		if p.Rollback[0].API.Op != undo || p.Rollback[0].API.Params["PolicyName"] != "CairnRestrictSourceIP" {
			t.Errorf("%s: rollback %+v", c.key, p.Rollback[0].API)
		}
		if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, "aws:ViaAWSService") }) {
			t.Errorf("%s: no note on aws:ViaAWSService", c.key)
		}
	}
	for _, cidrs := range [][]string{nil, {"10.0.0.0/33"}, {"192.0.2.1"}, {"0.0.0.0/0"}, {"::/0"}, {"192.0.2.0/24", "x"}} {
		p := plan(t, mustTarget(t, userARN), remediate.RestrictSourceIP, remediate.Options{CIDRs: cidrs})
		if p.Applies {
			t.Errorf("CIDRs %q: plan applies", cidrs)
		}
	}
}

func TestRevokeSessions(t *testing.T) {
	for _, c := range []struct{ key, op, who, name, note string }{
		{userARN, "PutUserPolicy", "UserName", "alice", "does not stop long-term AKIA keys"},
		{roleARN, "PutRolePolicy", "RoleName", "node-role", "assuming the role again"},
	} {
		p := plan(t, mustTarget(t, c.key), remediate.RevokeSessions, remediate.Options{Now: now})
		if !p.Applies || len(p.Steps) != 1 {
			t.Fatalf("%s: %+v", c.key, p)
		}
		s := p.Steps[0]
		if s.API.Op != c.op || s.API.Params[c.who] != c.name || s.API.Params["PolicyName"] != "AWSRevokeOlderSessions" {
			t.Errorf("%s: call %+v", c.key, s.API)
		}
		cond := stepPolicy(t, s).Statement[0].Condition
		want := map[string]map[string]any{"DateLessThan": {"aws:TokenIssueTime": "2026-03-04T04:06:07Z"}}
		if !reflect.DeepEqual(cond, want) {
			t.Errorf("%s: condition %v, want %v", c.key, cond, want)
		}
		if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, c.note) }) {
			t.Errorf("%s: no note %q in %q", c.key, c.note, p.Notes)
		}
	}
	if p := plan(t, mustTarget(t, userARN), remediate.RevokeSessions, remediate.Options{}); p.Applies {
		t.Error("revoke-sessions applies without a time")
	}
}

// TestCLI checks every CLI line of every plan: it parses as shell, and
// each name appears only inside single quotes.
func TestCLI(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	opts := remediate.Options{Now: now, CIDRs: []string{"192.0.2.0/24"}, NewPassword: func() string { return `pa'ss$(id)"w` }}
	for _, key := range []string{"arn:aws:iam::123456789012:user/a.b@c+d=e,f-g_h", "arn:aws:iam::123456789012:role/x=y,z@w"} {
		tg := mustTarget(t, key, keyS)
		name := tg.UserName + tg.RoleName
		n := 0
		for _, p := range remediate.Plans(tg, opts) {
			for _, s := range append(slices.Clone(p.Steps), p.Rollback...) {
				n++
				if out, err := exec.Command(sh, "-n", "-c", s.CLI).CombinedOutput(); err != nil {
					t.Errorf("%s: sh -n %q: %v %s", p.Strategy, s.CLI, err, out)
				}
				if !strings.HasPrefix(s.CLI, "aws iam ") && !strings.Contains(s.CLI, "$(aws iam ") && !strings.HasPrefix(s.CLI, "for id in $") && !strings.HasPrefix(s.CLI, "if [") {
					t.Errorf("%s: unexpected CLI %q", p.Strategy, s.CLI)
				}
				if strings.Contains(s.CLI, name) && strings.Count(s.CLI, name) != strings.Count(s.CLI, remediate.ShellQuote(name)) {
					t.Errorf("%s: %q unquoted in %q", p.Strategy, name, s.CLI)
				}
				if pw, ok := s.API.Params["Password"].(string); ok && !strings.Contains(s.CLI, "--password "+remediate.ShellQuote(pw)+" ") {
					t.Errorf("%s: password not quoted in %q", p.Strategy, s.CLI)
				}
			}
		}
		if n == 0 {
			t.Fatalf("%s: no steps", key)
		}
	}
	if got := remediate.ShellQuote(`it's`); got != `'it'\''s'` {
		t.Errorf("ShellQuote = %s", got)
	}
}

func TestRandomPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		pw := remediate.RandomPassword()
		if len(pw) != 24 || seen[pw] {
			t.Fatalf("password %q: short or repeated", pw)
		}
		seen[pw] = true
		for _, set := range []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!@#$%^&*()_+-=[]{}|"} {
			if !strings.ContainsAny(pw, set) {
				t.Fatalf("password %q lacks one of %q", pw, set)
			}
		}
	}
}

// fakeIAM is an IAM Query-protocol endpoint: it records each call (the
// form less Action and Version) and answers from canned results.
type fakeIAM struct {
	mu    sync.Mutex
	calls []string
	docs  []string // PolicyDocument of each call that had one
	// results are the inner XML of <ActionResult> by action.
	results map[string]string
	// fail answers the call whose record starts with the key with an
	// error of that code (HTTP status 403 or 404).
	fail map[string]string
}

func (f *fakeIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	form := r.PostForm
	action := form.Get("Action")
	if form.Get("Version") != "2010-05-08" {
		http.Error(w, "bad version", http.StatusBadRequest)
		return
	}
	form.Del("Action")
	form.Del("Version")
	f.mu.Lock()
	if d := form.Get("PolicyDocument"); d != "" {
		f.docs = append(f.docs, d)
		form.Set("PolicyDocument", "…")
	}
	rec := action + " " + form.Encode()
	f.calls = append(f.calls, rec)
	var code string
	for prefix, c := range f.fail {
		if strings.HasPrefix(rec, prefix) {
			code = c
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if code != "" {
		status := http.StatusForbidden
		if code == "NoSuchEntity" {
			status = http.StatusNotFound
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>%s</Code><Message>refused by the fake</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, code)
		return
	}
	fmt.Fprintf(w, `<%[1]sResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><%[1]sResult>%[2]s</%[1]sResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></%[1]sResponse>`, action, f.results[action])
}

func newFake(t *testing.T, results, fail map[string]string) (*fakeIAM, remediate.IAMAPI) {
	t.Helper()
	f := &fakeIAM{results: results, fail: fail}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
	})
	c, err := remediate.NewClient(t.Context(), srv.URL, "us-east-1", creds)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func member(tag string, values ...string) string {
	var b strings.Builder
	b.WriteString("<" + tag + ">")
	for _, v := range values {
		b.WriteString("<member>" + v + "</member>")
	}
	b.WriteString("</" + tag + "><IsTruncated>false</IsTruncated>")
	return b.String()
}

func keys(ids ...string) string {
	var ms []string
	for _, id := range ids {
		ms = append(ms, "<UserName>alice</UserName><AccessKeyId>"+id+"</AccessKeyId><Status>Active</Status>")
	}
	return member("AccessKeyMetadata", ms...)
}

func checkCalls(t *testing.T, f *fakeIAM, want []string) {
	t.Helper()
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(f.calls, "\n  "), strings.Join(want, "\n  "))
	}
}

const key2 = "AKIAZZZZZZZZZZZZZZZZ"

func TestExecuteDeactivate(t *testing.T) {
	f, c := newFake(t, map[string]string{"ListAccessKeys": keys(keyA, key2)}, map[string]string{"DeleteLoginProfile": "NoSuchEntity"})
	p := plan(t, mustTarget(t, userARN, keyA), remediate.Deactivate, remediate.Options{})
	res, err := remediate.Execute(t.Context(), c, p)
	if err != nil {
		t.Fatal(err)
	}
	checkCalls(t, f, []string{
		"ListAccessKeys UserName=alice",
		"UpdateAccessKey AccessKeyId=" + keyA + "&Status=Inactive&UserName=alice",
		"UpdateAccessKey AccessKeyId=" + key2 + "&Status=Inactive&UserName=alice",
		"DeleteLoginProfile UserName=alice",
	})
	want := []string{
		"ListAccessKeys(UserName=alice): 2 found [" + keyA + " " + key2 + "]",
		"UpdateAccessKey(AccessKeyId=" + keyA + ", Status=Inactive, UserName=alice)",
		"UpdateAccessKey(AccessKeyId=" + key2 + ", Status=Inactive, UserName=alice)",
		"DeleteLoginProfile(UserName=alice): the user had no console password",
	}
	if !slices.Equal(res.Done, want) || res.Failed != "" {
		t.Errorf("result %+v, want done %q", res, want)
	}
	if len(p.Rollback) != 1 || p.Rollback[0].API.Params["AccessKeyId"] != keyA || p.Rollback[0].API.Params["Status"] != "Active" {
		t.Errorf("rollback %+v", p.Rollback)
	}
}

func TestExecuteRevokeSessions(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{roleARN, "PutRolePolicy PolicyDocument=%E2%80%A6&PolicyName=AWSRevokeOlderSessions&RoleName=node-role"},
		{userARN, "PutUserPolicy PolicyDocument=%E2%80%A6&PolicyName=AWSRevokeOlderSessions&UserName=alice"},
	} {
		f, cl := newFake(t, nil, nil)
		res, err := remediate.Execute(t.Context(), cl, plan(t, mustTarget(t, c.key), remediate.RevokeSessions, remediate.Options{Now: now}))
		if err != nil {
			t.Fatal(err)
		}
		checkCalls(t, f, []string{c.want})
		if len(f.docs) != 1 || f.docs[0] != `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2026-03-04T04:06:07Z"}}}]}` {
			t.Errorf("documents sent: %q", f.docs)
		}
		if len(res.Done) != 1 {
			t.Errorf("done %q", res.Done)
		}
	}
}

func TestExecuteDeleteUser(t *testing.T) {
	results := map[string]string{
		"ListAccessKeys":                 keys(keyA),
		"ListMFADevices":                 member("MFADevices", "<UserName>alice</UserName><SerialNumber>arn:aws:iam::123456789012:mfa/alice</SerialNumber><EnableDate>2024-01-01T00:00:00Z</EnableDate>", "<UserName>alice</UserName><SerialNumber>GAHT12345678</SerialNumber><EnableDate>2024-01-01T00:00:00Z</EnableDate>"),
		"ListSigningCertificates":        member("Certificates", "<UserName>alice</UserName><CertificateId>CERT1</CertificateId><CertificateBody>x</CertificateBody><Status>Active</Status>"),
		"ListSSHPublicKeys":              member("SSHPublicKeys", "<UserName>alice</UserName><SSHPublicKeyId>APKASSH1</SSHPublicKeyId><Status>Active</Status><UploadDate>2024-01-01T00:00:00Z</UploadDate>"),
		"ListServiceSpecificCredentials": member("ServiceSpecificCredentials", "<UserName>alice</UserName><ServiceSpecificCredentialId>ACCASSC1</ServiceSpecificCredentialId><ServiceName>codecommit.amazonaws.com</ServiceName><ServiceUserName>alice-at-1</ServiceUserName><Status>Active</Status><CreateDate>2024-01-01T00:00:00Z</CreateDate>"),
		"ListGroupsForUser":              member("Groups", "<GroupName>admins</GroupName><GroupId>AGPA1</GroupId><Path>/</Path><Arn>arn:aws:iam::123456789012:group/admins</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate>", "<GroupName>devs</GroupName><GroupId>AGPA2</GroupId><Path>/</Path><Arn>arn:aws:iam::123456789012:group/devs</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate>"),
		"ListAttachedUserPolicies":       member("AttachedPolicies", "<PolicyName>AdministratorAccess</PolicyName><PolicyArn>arn:aws:iam::aws:policy/AdministratorAccess</PolicyArn>"),
		"ListUserPolicies":               member("PolicyNames", "backdoor"),
		"GetUser":                        "<User><UserName>alice</UserName><UserId>AIDA1</UserId><Path>/dev/ops/</Path><Arn>" + userARN + "</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate><PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType><PermissionsBoundaryArn>arn:aws:iam::123456789012:policy/boundary</PermissionsBoundaryArn></PermissionsBoundary></User>",
	}
	f, c := newFake(t, results, nil)
	res, err := remediate.Execute(t.Context(), c, plan(t, mustTarget(t, userARN), remediate.Delete, remediate.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	checkCalls(t, f, []string{
		"ListAccessKeys UserName=alice",
		"ListMFADevices UserName=alice",
		"ListSigningCertificates UserName=alice",
		"ListSSHPublicKeys UserName=alice",
		"ListServiceSpecificCredentials UserName=alice",
		"ListGroupsForUser UserName=alice",
		"ListAttachedUserPolicies UserName=alice",
		"ListUserPolicies UserName=alice",
		"GetUser UserName=alice",
		"DeleteAccessKey AccessKeyId=" + keyA + "&UserName=alice",
		"DeleteLoginProfile UserName=alice",
		"DeactivateMFADevice SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice&UserName=alice",
		"DeactivateMFADevice SerialNumber=GAHT12345678&UserName=alice",
		"DeleteVirtualMFADevice SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice",
		"DeleteSigningCertificate CertificateId=CERT1&UserName=alice",
		"DeleteSSHPublicKey SSHPublicKeyId=APKASSH1&UserName=alice",
		"DeleteServiceSpecificCredential ServiceSpecificCredentialId=ACCASSC1&UserName=alice",
		"RemoveUserFromGroup GroupName=admins&UserName=alice",
		"RemoveUserFromGroup GroupName=devs&UserName=alice",
		"DetachUserPolicy PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAdministratorAccess&UserName=alice",
		"DeleteUserPolicy PolicyName=backdoor&UserName=alice",
		"DeleteUserPermissionsBoundary UserName=alice",
		"DeleteUser UserName=alice",
	})
	if len(res.Done) != len(f.calls) || res.Done[len(res.Done)-1] != "DeleteUser(UserName=alice)" || res.Done[8] != "GetUser(UserName=alice): permissions boundary arn:aws:iam::123456789012:policy/boundary" {
		t.Errorf("done %q", res.Done)
	}

	// A user with nothing attached: only the lists, the login profile and
	// the deletion.
	f, c = newFake(t, map[string]string{"GetUser": "<User><UserName>alice</UserName><UserId>AIDA1</UserId><Path>/</Path><Arn>" + userARN + "</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate></User>"}, nil)
	if _, err := remediate.Execute(t.Context(), c, plan(t, mustTarget(t, userARN), remediate.Delete, remediate.Options{})); err != nil {
		t.Fatal(err)
	}
	if got := f.calls[len(f.calls)-2:]; len(f.calls) != 11 || got[0] != "DeleteLoginProfile UserName=alice" || got[1] != "DeleteUser UserName=alice" {
		t.Errorf("calls for an empty user: %q", f.calls)
	}
}

func TestExecuteResetPassword(t *testing.T) {
	f, c := newFake(t, nil, nil)
	pw := `N3w-p@ss'word`
	p := plan(t, mustTarget(t, userARN), remediate.ResetPassword, remediate.Options{NewPassword: func() string { return pw }})
	if !strings.HasSuffix(p.Steps[0].CLI, " --password "+remediate.ShellQuote(pw)+" --password-reset-required") {
		t.Errorf("CLI %q", p.Steps[0].CLI)
	}
	res, err := remediate.Execute(t.Context(), c, p)
	if err != nil {
		t.Fatal(err)
	}
	checkCalls(t, f, []string{"UpdateLoginProfile " + url.Values{"Password": {pw}, "PasswordResetRequired": {"true"}, "UserName": {"alice"}}.Encode()})
	if len(res.Done) != 1 || strings.Contains(res.Done[0], pw) || res.Done[0] != "UpdateLoginProfile(Password=(hidden), PasswordResetRequired=true, UserName=alice)" {
		t.Errorf("done %q", res.Done)
	}
}

func TestExecuteRotateKeys(t *testing.T) {
	f, c := newFake(t, map[string]string{
		"ListAccessKeys":  keys(keyA),
		"CreateAccessKey": "<AccessKey><UserName>alice</UserName><AccessKeyId>" + key2 + "</AccessKeyId><Status>Active</Status><SecretAccessKey>s3cr3t</SecretAccessKey></AccessKey>",
	}, nil)
	p := plan(t, mustTarget(t, userARN, keyA), remediate.RotateKeys, remediate.Options{})
	res, err := remediate.Execute(t.Context(), c, p)
	if err != nil {
		t.Fatal(err)
	}
	checkCalls(t, f, []string{
		"ListAccessKeys UserName=alice",
		"CreateAccessKey UserName=alice",
		"UpdateAccessKey AccessKeyId=" + keyA + "&Status=Inactive&UserName=alice",
		"DeleteAccessKey AccessKeyId=" + keyA + "&UserName=alice",
	})
	if res.NewAccessKeyID != key2 || res.NewSecretAccessKey != "s3cr3t" {
		t.Errorf("new key %q %q", res.NewAccessKeyID, res.NewSecretAccessKey)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(strings.Join(res.Done, " "), "s3cr3t") || strings.Contains(string(b), "s3cr3t") {
		t.Errorf("secret leaked: %s %q", b, res.Done)
	}
	if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, "out of band") }) {
		t.Error("no out-of-band note")
	}
}

func TestExecuteStopsAtFailure(t *testing.T) {
	f, c := newFake(t, map[string]string{"ListAccessKeys": keys(keyA, key2)}, map[string]string{"UpdateAccessKey AccessKeyId=" + key2: "AccessDenied"})
	res, err := remediate.Execute(t.Context(), c, plan(t, mustTarget(t, userARN), remediate.Deactivate, remediate.Options{}))
	if err == nil || !errors.Is(res.Err, err) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("err %v, result err %v", err, res.Err)
	}
	checkCalls(t, f, []string{
		"ListAccessKeys UserName=alice",
		"UpdateAccessKey AccessKeyId=" + keyA + "&Status=Inactive&UserName=alice",
		"UpdateAccessKey AccessKeyId=" + key2 + "&Status=Inactive&UserName=alice",
	})
	if len(res.Done) != 2 || res.Done[1] != "UpdateAccessKey(AccessKeyId="+keyA+", Status=Inactive, UserName=alice)" ||
		res.Failed != "UpdateAccessKey(AccessKeyId="+key2+", Status=Inactive, UserName=alice)" {
		t.Errorf("result %+v", res)
	}
}

func TestExecuteRefuses(t *testing.T) {
	f, c := newFake(t, nil, nil)
	p := plan(t, mustTarget(t, roleARN), remediate.Delete, remediate.Options{})
	if _, err := remediate.Execute(t.Context(), c, p); cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("delete of a role: err %v", err)
	}
	bad := remediate.Plan{Applies: true, Steps: []remediate.Step{
		{API: remediate.Call{Op: "DeleteUser", Params: map[string]any{"UserName": "alice"}}},
		{API: remediate.Call{Op: "DeleteAccessKey", Params: map[string]any{"UserName": "alice"}, Each: remediate.EachAccessKey}},
	}}
	res, err := remediate.Execute(t.Context(), c, bad)
	if cairn.ErrorCode(err) != cairn.EINVALID || len(res.Done) != 1 {
		t.Errorf("each without a list: %v %+v", err, res)
	}
	for _, call := range []remediate.Call{{Op: "CreateUser", Params: map[string]any{"UserName": "x"}}, {Op: "DeleteUser", Params: map[string]any{"UserName": 1}}, {Op: "DeleteUser"}} {
		if _, err := remediate.Execute(t.Context(), c, remediate.Plan{Applies: true, Steps: []remediate.Step{{API: call}}}); cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("%+v: err %v", call, err)
		}
	}
	if len(f.calls) != 1 {
		t.Errorf("calls %q, want only the first DeleteUser", f.calls)
	}
	if _, err := remediate.NewClient(t.Context(), "ftp://x", "", aws.AnonymousCredentials{}); err == nil {
		t.Error("ftp endpoint accepted")
	}
}

func TestUsableKeys(t *testing.T) {
	ok, bad := remediate.UsableKeys([]string{"AKIAQNGTLZOZQ2LIQCTC", "AKIAEXAMPLE", "ASIAWFQ77JWXF3B2GQ7S", "x;y"})
	if len(ok) != 2 || len(bad) != 2 || bad[0] != "AKIAEXAMPLE" {
		t.Errorf("UsableKeys = %v, %v", ok, bad)
	}
}
