package posture_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/iampolicy"
	"github.com/cairn-cdr/cairn/posture"
)

const (
	appUser   = "arn:aws:iam::444455556666:user/app"
	adminUser = "arn:aws:iam::444455556666:user/boss"
)

// currentDoc gives app s3:* and iam:Get* (inline and through its group),
// less an exact Deny of s3:DeleteObject; a conditional Deny of
// s3:PutObject subtracts nothing. boss has AdministratorAccess (well
// known) and an exact Deny of iam:*; the role has NotAction; locked has
// an Allow that a Deny cancels entirely.
const currentDoc = `{
 "UserDetailList": [
  {"UserName": "app", "Arn": "arn:aws:iam::444455556666:user/app", "GroupList": ["readers"],
   "UserPolicyList": [{"PolicyName": "s3", "PolicyDocument": {"Statement": [
     {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
     {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
     {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}]},
  {"UserName": "boss", "Arn": "arn:aws:iam::444455556666:user/boss",
   "UserPolicyList": [{"PolicyName": "noiam", "PolicyDocument": {"Statement": {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}}}],
   "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]},
  {"UserName": "locked", "Arn": "arn:aws:iam::444455556666:user/locked",
   "UserPolicyList": [{"PolicyName": "l", "PolicyDocument": {"Statement": [
     {"Effect": "Allow", "Action": ["iam:Get*", "STS:getcalleridentity"], "Resource": "*"},
     {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}}]}
 ],
 "GroupDetailList": [
  {"GroupName": "readers", "Arn": "arn:aws:iam::444455556666:group/readers",
   "GroupPolicyList": [{"PolicyName": "iamread", "PolicyDocument": {"Statement": {"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}}}]}
 ],
 "RoleDetailList": [
  {"RoleName": "power", "Arn": "arn:aws:iam::444455556666:role/svc/power",
   "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}]}}]}
 ],
 "Policies": []
}`

func mustLoadDoc(t *testing.T, doc string) *posture.Account {
	t.Helper()
	a, err := posture.LoadAuthDetails(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// cloudCall is a successful CloudTrail call of identity.
func cloudCall(identity, source, name string) cairn.Event {
	return cairn.Event{
		Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Type: name,
		Time: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		Cloud: &cairn.CloudCall{EventSource: source, EventName: name, Region: "eu-west-1", RecipientAccount: "444455556666",
			Identity: cairn.Identity{Key: identity, ARN: identity, AccountID: "444455556666", Type: "IAMUser"}},
	}
}

func mustRecommend(t *testing.T, events ...cairn.Event) *iampolicy.Recommendation {
	t.Helper()
	rec, err := iampolicy.Recommend(events, iampolicy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// withPrefix counts the actions of list with the service prefix.
func withPrefix(list []string, prefix string) int {
	n := 0
	for _, a := range list {
		if strings.HasPrefix(a, prefix+":") {
			n++
		}
	}
	return n
}

func TestAllowed(t *testing.T) {
	a := mustLoadDoc(t, currentDoc)
	acts, unbounded, ok := a.Allowed(appUser)
	if !ok {
		t.Fatal("Allowed(app): unknown")
	}
	if !slices.IsSorted(acts) {
		t.Error("actions are not sorted")
	}
	for _, want := range []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "iam:GetUser", "iam:GetRole"} {
		if !slices.Contains(acts, want) {
			t.Errorf("Allowed(app) lacks %s", want)
		}
	}
	// The exact Deny subtracts; nothing outside s3:* and iam:Get* appears.
	for _, not := range []string{"s3:DeleteObject", "iam:CreateUser", "iam:PassRole", "ec2:RunInstances"} {
		if slices.Contains(acts, not) {
			t.Errorf("Allowed(app) holds %s", not)
		}
	}
	iamGets := 0
	for _, x := range iampolicy.KnownActions("iam") {
		if strings.HasPrefix(x, "iam:Get") {
			iamGets++
		}
	}
	if s3 := len(iampolicy.KnownActions("s3")) - 1; withPrefix(acts, "s3") != s3 || withPrefix(acts, "iam") != iamGets || len(acts) != s3+iamGets {
		t.Errorf("Allowed(app) = %d actions (%d s3, %d iam), want %d s3 and %d iam", len(acts), withPrefix(acts, "s3"), withPrefix(acts, "iam"), s3, iamGets)
	}
	if want := []string{"iam:Get*", "s3:*"}; !slices.Equal(unbounded, want) {
		t.Errorf("unbounded(app) = %q, want %q", unbounded, want)
	}

	// "*" is reported, not expanded; the Deny of iam:* leaves "*" granting.
	acts, unbounded, ok = a.Allowed(adminUser)
	if !ok || len(acts) != 0 || !slices.Equal(unbounded, []string{"*"}) {
		t.Errorf("Allowed(boss) = %d actions, unbounded %q, %v; want none, [*], true", len(acts), unbounded, ok)
	}
	// NotAction says so; a role key without its path finds the role.
	acts, unbounded, ok = a.Allowed("arn:aws:iam::444455556666:role/power")
	if want := []string{"* except iam:*, sts:*"}; !ok || len(acts) != 0 || !slices.Equal(unbounded, want) {
		t.Errorf("Allowed(power) = %q, unbounded %q, %v; want none, %q", acts, unbounded, ok, want)
	}
	// A Deny of iam:* cancels iam:Get* wholly; a literal action takes the
	// table's spelling.
	acts, unbounded, ok = a.Allowed("arn:aws:iam::444455556666:user/locked")
	if want := []string{"sts:GetCallerIdentity"}; !ok || !slices.Equal(acts, want) || len(unbounded) != 0 {
		t.Errorf("Allowed(locked) = %q, unbounded %q, %v; want %q and no unbounded", acts, unbounded, ok, want)
	}

	for _, arn := range []string{"arn:aws:iam::444455556666:user/nobody", "arn:aws:iam::999999999999:user/app", "arn:aws:iam::444455556666:group/readers", "", "*"} {
		if acts, unbounded, ok := a.Allowed(arn); ok || acts != nil || unbounded != nil {
			t.Errorf("Allowed(%q) = %d, %q, %v; want unknown", arn, len(acts), unbounded, ok)
		}
	}
}

func TestReduce(t *testing.T) {
	a := mustLoadDoc(t, currentDoc)
	rec := mustRecommend(t, cloudCall(appUser, "s3.amazonaws.com", "GetObject"), cloudCall(appUser, "iam.amazonaws.com", "GetRole"))
	r, ok := a.Reduce(appUser, rec)
	if !ok {
		t.Fatal("Reduce(app): unknown")
	}
	if want := []string{"iam:GetRole", "s3:GetObject"}; !slices.Equal(r.Kept, want) {
		t.Errorf("Kept = %q, want %q", r.Kept, want)
	}
	for _, want := range []string{"s3:PutObject", "iam:GetUser", "s3:ListBucket"} {
		if !slices.Contains(r.Removed, want) {
			t.Errorf("Removed lacks %s", want)
		}
	}
	for _, not := range []string{"s3:GetObject", "iam:GetRole", "s3:DeleteObject"} {
		if slices.Contains(r.Removed, not) {
			t.Errorf("Removed holds %s", not)
		}
	}
	current, _, _ := a.Allowed(appUser)
	if r.CurrentCount != len(current) || r.KeptCount != 2 || len(r.Removed) != len(current)-2 {
		t.Errorf("counts: current %d kept %d removed %d, want %d, 2, %d", r.CurrentCount, r.KeptCount, len(r.Removed), len(current), len(current)-2)
	}
	if want := []string{"iam", "s3"}; !slices.Equal(r.RemovedServices, want) {
		t.Errorf("RemovedServices = %q, want %q", r.RemovedServices, want)
	}
	if want := []string{"iam:Get*", "s3:*"}; !slices.Equal(r.Unbounded, want) {
		t.Errorf("Unbounded = %q, want %q", r.Unbounded, want)
	}
	if len(r.Added) != 0 {
		t.Errorf("Added = %q, want none", r.Added)
	}
	s3 := withPrefix(current, "s3")
	sum := r.Summary()
	if len(sum) != 4 || sum[1] != "s3: "+strconv.Itoa(s3-1)+" of "+strconv.Itoa(s3)+" actions removed" || sum[3] != `wildcard "s3:*" removed` {
		t.Errorf("Summary = %q", sum)
	}

	// Actions match case-insensitively; a recommended action the policies
	// do not allow is Added, not Kept.
	hand := &iampolicy.Recommendation{Identity: appUser, Policy: iampolicy.Policy{Statement: []iampolicy.Statement{
		{Effect: "Allow", Action: []string{"S3:getobject", "ec2:DescribeInstances", "s3:DeleteObject"}, Resource: []string{"*"}}}}}
	r, ok = a.Reduce(appUser, hand)
	if !ok || !slices.Equal(r.Kept, []string{"s3:GetObject"}) || !slices.Equal(r.Added, []string{"ec2:DescribeInstances", "s3:DeleteObject"}) {
		t.Errorf("Reduce(hand) = kept %q added %q, %v; want [s3:GetObject], [ec2:DescribeInstances s3:DeleteObject]", r.Kept, r.Added, ok)
	}
	if slices.Contains(r.Removed, "s3:GetObject") || !slices.Contains(r.Removed, "iam:GetRole") {
		t.Errorf("Reduce(hand) removed %d actions, wrong about s3:GetObject or iam:GetRole", len(r.Removed))
	}

	// An administrator keeps what it used through "*" and loses the "*".
	boss := mustRecommend(t, cloudCall(adminUser, "s3.amazonaws.com", "GetObject"), cloudCall(adminUser, "ec2.amazonaws.com", "DescribeInstances"))
	r, ok = a.Reduce(adminUser, boss)
	if !ok || !slices.Equal(r.Kept, []string{"ec2:DescribeInstances", "s3:GetObject"}) || len(r.Removed) != 0 || !slices.Equal(r.Unbounded, []string{"*"}) {
		t.Errorf("Reduce(boss) = %+v, %v", r, ok)
	}
	if sum := r.Summary(); !slices.Equal(sum, []string{`wildcard "*" removed`}) {
		t.Errorf("Summary(boss) = %q", sum)
	}

	for _, c := range []struct {
		name, arn string
		rec       *iampolicy.Recommendation
	}{
		{"unknown principal", "arn:aws:iam::444455556666:user/nobody", rec},
		{"nil recommendation", appUser, nil},
		{"another identity's recommendation", adminUser, rec},
	} {
		if r, ok := a.Reduce(c.arn, c.rec); ok || r.CurrentCount != 0 || r.Removed != nil {
			t.Errorf("%s: Reduce = %+v, %v; want false", c.name, r, ok)
		}
	}
}
