package iampolicy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/iampolicy"
	"github.com/cairn-cdr/cairn/internal/demostore"
)

const (
	account = "123456789012"
	user    = "arn:aws:iam::123456789012:user/app"
)

var (
	t0       = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	actionRe = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*]+$`)
)

// call builds a CloudTrail event of user at t0+minute.
func call(minute int, source, name string, params map[string]any) cairn.Event {
	raw := map[string]any{"eventSource": source, "eventName": name, "awsRegion": "eu-west-1", "recipientAccountId": account}
	if params != nil {
		raw["requestParameters"] = params
	}
	b, err := json.Marshal(raw)
	if err != nil {
		panic(err)
	}
	return cairn.Event{
		Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Type: name,
		Time: t0.Add(time.Duration(minute) * time.Minute),
		Cloud: &cairn.CloudCall{EventSource: source, EventName: name, Region: "eu-west-1", RecipientAccount: account,
			Identity: cairn.Identity{Key: user, ARN: user, AccountID: account, Type: "IAMUser"}},
		Raw: b,
	}
}

func TestActions(t *testing.T) {
	for _, tc := range []struct {
		source, name string
		want         []string // nil: unmapped
	}{
		{"s3.amazonaws.com", "ListObjects", []string{"s3:ListBucket"}},
		{"s3.amazonaws.com", "ListObjectsV2", []string{"s3:ListBucket"}},
		{"s3.amazonaws.com", "ListBuckets", []string{"s3:ListAllMyBuckets"}},
		{"s3.amazonaws.com", "HeadObject", []string{"s3:GetObject"}},
		{"s3.amazonaws.com", "GetObject", []string{"s3:GetObject"}},
		{"s3.amazonaws.com", "GetBucketPolicy", []string{"s3:GetBucketPolicy"}},
		{"s3.amazonaws.com", "PutBucketPolicy", []string{"s3:PutBucketPolicy"}},
		{"s3.amazonaws.com", "GetBucketCors", []string{"s3:GetBucketCORS"}},
		{"s3.amazonaws.com", "DeleteObjects", []string{"s3:DeleteObject"}},
		{"sts.amazonaws.com", "GetCallerIdentity", []string{"sts:GetCallerIdentity"}},
		{"ses.amazonaws.com", "ListIdentities", []string{"ses:ListIdentities"}},
		{"email.amazonaws.com", "ListIdentities", []string{"ses:ListIdentities"}},
		{"monitoring.amazonaws.com", "DescribeAlarms", []string{"cloudwatch:DescribeAlarms"}},
		{"states.amazonaws.com", "StartExecution", []string{"states:StartExecution"}},
		{"es.amazonaws.com", "DescribeDomain", []string{"es:DescribeDomain"}},
		{"cloudtrail.amazonaws.com", "StopLogging", []string{"cloudtrail:StopLogging"}},
		{"lambda.amazonaws.com", "Invoke", []string{"lambda:InvokeFunction"}},
		{"lambda.amazonaws.com", "ListFunctions20150331", []string{"lambda:ListFunctions"}},
		{"lambda.amazonaws.com", "GetFunction20150331v2", []string{"lambda:GetFunction"}},
		{"secretsmanager.amazonaws.com", "GetSecretValue", []string{"secretsmanager:GetSecretValue"}},
		{"frobnicator.amazonaws.com", "DoThing", nil},
		{"s3.amazonaws.com", `Get Object"`, nil},
		{"s3.amazonaws.com", "Get*", nil},
		{"s3.amazonaws.com", "", nil},
		{"s3.evil.com", "GetObject", nil},
		{`s3".amazonaws.com`, "GetObject", nil},
		{"models.lex.amazonaws.com", "GetBot", []string{"lex:GetBot"}},
		{"unknown.sub.amazonaws.com", "GetBot", nil},
	} {
		got, ok := iampolicy.Actions(tc.source, tc.name)
		if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("Actions(%q, %q) = %q, %v; want %q", tc.source, tc.name, got, ok, tc.want)
		}
	}
}

func TestKnown(t *testing.T) {
	for a, want := range map[string]bool{
		"s3:GetObject": true, "s3:ListAllMyBuckets": true, "cloudwatch:PutMetricData": true,
		"secretsmanager:GetSecretValue": true, "s3:ListObjectsV9": false, "s3:Frobnicate": false, "nope": false,
	} {
		if got := iampolicy.Known(a); got != want {
			t.Errorf("Known(%q) = %v, want %v", a, got, want)
		}
	}
}

func TestRecommend(t *testing.T) {
	denied := call(9, "iam.amazonaws.com", "CreateUser", map[string]any{"userName": "backdoor"})
	denied.Cloud.ErrorCode = "AccessDenied"
	events := []cairn.Event{
		call(0, "s3.amazonaws.com", "ListBuckets", nil),
		call(1, "s3.amazonaws.com", "ListObjects", map[string]any{"bucketName": "data"}),
		call(2, "s3.amazonaws.com", "GetObject", map[string]any{"bucketName": "data", "key": "a/b.txt"}),
		call(3, "s3.amazonaws.com", "HeadObject", map[string]any{"bucketName": "data", "key": "c.txt"}),
		call(4, "sts.amazonaws.com", "GetCallerIdentity", nil),
		call(5, "email.amazonaws.com", "ListIdentities", nil),
		call(6, "frobnicator.amazonaws.com", "DoThing", nil),
		call(7, "s3.amazonaws.com", `Get Object"`, nil),
		call(8, "s3.amazonaws.com", "FrobnicateBucket", map[string]any{"bucketName": "data"}),
		denied,
		call(10, "lambda.amazonaws.com", "Invoke", map[string]any{"functionName": "resize"}),
		call(11, "dynamodb.amazonaws.com", "GetItem", map[string]any{"tableName": "orders"}),
		call(12, "iam.amazonaws.com", "GetRole", map[string]any{"roleName": "deploy"}),
		call(13, "secretsmanager.amazonaws.com", "GetSecretValue", map[string]any{"secretId": "db/password"}),
		call(14, "sqs.amazonaws.com", "SendMessage", map[string]any{"queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"}),
		call(15, "s3.amazonaws.com", "GetObject", map[string]any{"bucketName": "data", "key": "*"}),
		call(16, "s3.amazonaws.com", "GetBucketAcl", map[string]any{"bucketName": "${aws:username}"}),
		call(60, "cloudtrail.amazonaws.com", "StopLogging", nil), // after Until
	}
	rec, err := iampolicy.Recommend(events, iampolicy.Options{Until: t0.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	want := iampolicy.Policy{Version: "2012-10-17", Statement: []iampolicy.Statement{
		{Sid: "Dynamodb", Effect: "Allow", Action: []string{"dynamodb:GetItem"}, Resource: []string{"arn:aws:dynamodb:eu-west-1:123456789012:table/orders"}},
		{Sid: "Iam", Effect: "Allow", Action: []string{"iam:GetRole"}, Resource: []string{"arn:aws:iam::123456789012:role/deploy"}},
		{Sid: "Lambda", Effect: "Allow", Action: []string{"lambda:InvokeFunction"}, Resource: []string{"arn:aws:lambda:eu-west-1:123456789012:function:resize"}},
		{Sid: "S31", Effect: "Allow", Action: []string{"s3:FrobnicateBucket", "s3:ListBucket"}, Resource: []string{"arn:aws:s3:::data"}},
		{Sid: "S32", Effect: "Allow", Action: []string{"s3:GetBucketAcl", "s3:ListAllMyBuckets"}, Resource: []string{"*"}},
		// The key "*" would widen the grant: it stands for the bucket's objects.
		{Sid: "S33", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{"arn:aws:s3:::data/*", "arn:aws:s3:::data/a/b.txt", "arn:aws:s3:::data/c.txt"}},
		{Sid: "Secretsmanager", Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue"}, Resource: []string{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db/password-??????"}},
		{Sid: "Ses", Effect: "Allow", Action: []string{"ses:ListIdentities"}, Resource: []string{"*"}},
		{Sid: "Sqs", Effect: "Allow", Action: []string{"sqs:SendMessage"}, Resource: []string{"arn:aws:sqs:eu-west-1:123456789012:jobs"}},
		{Sid: "Sts", Effect: "Allow", Action: []string{"sts:GetCallerIdentity"}, Resource: []string{"*"}},
	}}
	gotJSON, _ := json.MarshalIndent(rec.Policy, "", " ")
	wantJSON, _ := json.MarshalIndent(want, "", " ")
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("policy:\n%s\nwant:\n%s", gotJSON, wantJSON)
	}
	if want := []string{`"s3:Get Object\""`, "frobnicator:DoThing"}; !slices.Equal(rec.Unmapped, want) {
		t.Errorf("Unmapped = %q, want %q", rec.Unmapped, want)
	}
	if want := []string{"s3:FrobnicateBucket"}; !slices.Equal(rec.Unverified, want) {
		t.Errorf("Unverified = %q, want %q", rec.Unverified, want)
	}
	if rec.Events != 14 || rec.Identity != user {
		t.Errorf("Events = %d, Identity = %q; want 14, %q", rec.Events, rec.Identity, user)
	}
	if !rec.Window.First.Equal(t0) || !rec.Window.Last.Equal(t0.Add(16*time.Minute)) {
		t.Errorf("Window = %+v", rec.Window)
	}
	checkJSON(t, rec)

	// The failed call counts only when asked for; the window's end is exclusive.
	rec, err = iampolicy.Recommend(events, iampolicy.Options{Since: t0.Add(9 * time.Minute), Until: t0.Add(60 * time.Minute), IncludeFailed: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(rec); !slices.Equal(got, []string{"dynamodb:GetItem", "iam:CreateUser", "iam:GetRole", "lambda:InvokeFunction",
		"s3:GetBucketAcl", "s3:GetObject", "secretsmanager:GetSecretValue", "sqs:SendMessage"}) {
		t.Errorf("with failed calls, Since 9m: actions %q", got)
	}
	rec, err = iampolicy.Recommend(events, iampolicy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(actions(rec), "cloudtrail:StopLogging") {
		t.Errorf("without Until, StopLogging is missing: %q", actions(rec))
	}
}

func TestRecommendRejectsTwoIdentities(t *testing.T) {
	a, b := call(0, "sts.amazonaws.com", "GetCallerIdentity", nil), call(1, "sts.amazonaws.com", "GetCallerIdentity", nil)
	b.Cloud.Identity.Key = "arn:aws:iam::123456789012:user/other"
	if _, err := iampolicy.Recommend([]cairn.Event{a, b}, iampolicy.Options{}); cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("err = %v, want %s", err, cairn.EINVALID)
	}
}

func TestObjectsCollapse(t *testing.T) {
	var events []cairn.Event
	for i := range 21 {
		events = append(events, call(i, "s3.amazonaws.com", "GetObject", map[string]any{"bucketName": "logs", "key": fmt.Sprintf("k%02d", i)}))
	}
	events = append(events, call(30, "s3.amazonaws.com", "GetObject", map[string]any{"bucketName": "small", "key": "one"}))
	rec, err := iampolicy.Recommend(events, iampolicy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Policy.Statement) != 1 {
		t.Fatalf("statements %+v", rec.Policy.Statement)
	}
	if got, want := rec.Policy.Statement[0].Resource, []string{"arn:aws:s3:::logs/*", "arn:aws:s3:::small/one"}; !slices.Equal(got, want) {
		t.Errorf("resources %q, want %q", got, want)
	}
	// 20 objects stay named.
	rec, _ = iampolicy.Recommend(events[1:], iampolicy.Options{})
	if got := len(rec.Policy.Statement[0].Resource); got != 21 {
		t.Errorf("20 objects of logs + 1: %d resources", got)
	}
}

func TestRecordResources(t *testing.T) {
	ev := call(0, "kinesis.amazonaws.com", "PutRecord", nil)
	ev.Raw = []byte(`{"eventSource":"kinesis.amazonaws.com","eventName":"PutRecord","resources":[{"ARN":"arn:aws:kinesis:eu-west-1:123456789012:stream/s"}]}`)
	bad := call(1, "kinesis.amazonaws.com", "GetRecords", nil)
	bad.Raw = []byte(`{"resources":[{"ARN":"arn:aws:kinesis:eu-west-1:123456789012:stream/*"}]}`)
	rec, err := iampolicy.Recommend([]cairn.Event{ev, bad}, iampolicy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []iampolicy.Statement{
		{Sid: "Kinesis1", Effect: "Allow", Action: []string{"kinesis:GetRecords"}, Resource: []string{"*"}},
		{Sid: "Kinesis2", Effect: "Allow", Action: []string{"kinesis:PutRecord"}, Resource: []string{"arn:aws:kinesis:eu-west-1:123456789012:stream/s"}},
	}
	if got := fmt.Sprint(rec.Policy.Statement); got != fmt.Sprint(want) {
		t.Errorf("statements %s, want %s", got, want)
	}
}

func actions(rec *iampolicy.Recommendation) []string {
	var out []string
	for _, s := range rec.Policy.Statement {
		out = append(out, s.Action...)
	}
	slices.Sort(out)
	return out
}

// checkJSON checks that the policy document parses as IAM JSON with
// well-formed actions and no statement twice.
func checkJSON(t testing.TB, rec *iampolicy.Recommendation) {
	t.Helper()
	b, err := rec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []struct {
			Sid, Effect      string
			Action, Resource []string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("policy JSON does not parse: %v\n%s", err, b)
	}
	if doc.Version != "2012-10-17" || doc.Statement == nil {
		t.Fatalf("policy JSON %s", b)
	}
	sids := map[string]bool{}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || len(s.Action) == 0 || len(s.Resource) == 0 || sids[s.Sid] || !regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(s.Sid) {
			t.Errorf("bad statement %+v", s)
		}
		sids[s.Sid] = true
		for _, a := range s.Action {
			if !actionRe.MatchString(a) {
				t.Errorf("malformed action %q", a)
			}
		}
		for _, r := range s.Resource {
			trimmed := strings.TrimSuffix(strings.TrimSuffix(r, "/*"), "-??????")
			if r != "*" && (!strings.HasPrefix(r, "arn:aws:") || strings.ContainsAny(trimmed, "$*?") || strings.ContainsFunc(r, unicode.IsControl)) {
				t.Errorf("unsafe resource %q", r)
			}
		}
	}
}

func TestScarleteelUserBeforeCompromise(t *testing.T) {
	if testing.Short() {
		t.Skip("demo store in -short mode")
	}
	fx := demostore.Open(t, 1, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	var userARN string
	var start time.Time
	for _, st := range fx.Scenario.Truth.Stories {
		if st.ID != "scarleteel" {
			continue
		}
		for _, id := range st.Identities {
			if strings.Contains(id, ":user/") {
				userARN = id
			}
		}
		start = st.Detections[0].Time
		for _, d := range st.Detections {
			if d.Time.Before(start) {
				start = d.Time
			}
		}
	}
	if userARN == "" || start.IsZero() {
		t.Fatalf("no scarleteel IAM user or detection in the truth")
	}
	page, err := fx.Store.QueryEvents(context.Background(), cairn.EventQuery{Filter: fmt.Sprintf("cloud.identity = %q", userARN), Oldest: true, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) == 0 {
		t.Fatalf("no events of %s", userARN)
	}
	var before, after int
	for _, ev := range page.Events {
		if ev.Time.Before(start) {
			before++
		} else {
			after++
		}
	}
	t.Logf("%s: %d events before the compromise start %s, %d after", userARN, before, start, after)

	full, err := iampolicy.Recommend(page.Events, iampolicy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkJSON(t, full)
	for _, a := range []string{"cloudtrail:StopLogging", "s3:PutBucketPolicy"} {
		if !slices.Contains(actions(full), a) {
			t.Errorf("over all events the policy lacks the attacker's %s: %q", a, actions(full))
		}
	}

	rec, err := iampolicy.Recommend(page.Events, iampolicy.Options{Until: start})
	if err != nil {
		t.Fatal(err)
	}
	checkJSON(t, rec)
	b, _ := rec.JSON()
	t.Logf("policy before the compromise (%d calls):\n%s", rec.Events, b)
	got := actions(rec)
	for _, a := range []string{"cloudtrail:StopLogging", "s3:PutBucketPolicy"} {
		if slices.Contains(got, a) {
			t.Errorf("policy before the compromise grants the attacker's %s", a)
		}
	}
	// Every action granted comes from a call made before the compromise.
	allowed := map[string]bool{}
	mapped := 0
	for _, ev := range page.Events {
		if ev.Time.Before(start) && ev.Cloud != nil && ev.Cloud.ErrorCode == "" {
			acts, ok := iampolicy.Actions(ev.Cloud.EventSource, ev.Cloud.EventName)
			if ok {
				mapped++
			}
			for _, a := range acts {
				allowed[a] = true
			}
		}
	}
	for _, a := range got {
		if !allowed[a] {
			t.Errorf("policy grants %s, which no call before the compromise used", a)
		}
	}
	if rec.Events != mapped || before > 0 && len(rec.Policy.Statement) == 0 {
		t.Errorf("policy from %d calls with %d statements; %d mapped calls before the compromise", rec.Events, len(rec.Policy.Statement), mapped)
	}
	if !rec.Window.Last.Before(start) {
		t.Errorf("window's last call %s is not before the compromise %s", rec.Window.Last, start)
	}
	if before == 0 && (rec.Events != 0 || len(rec.Policy.Statement) != 0) {
		t.Errorf("no events before the compromise, yet the policy has %d calls, %d statements", rec.Events, len(rec.Policy.Statement))
	}
}

func FuzzRecommend(f *testing.F) {
	f.Add("s3.amazonaws.com", "ListObjects", "data", "k")
	f.Add("s3.amazonaws.com", `Get Object"`, "*", "${aws:username}")
	f.Add("lambda.amazonaws.com", "GetFunction20150331v2", "a b", "")
	f.Add("monitoring.amazonaws.com", "Describe\u0000Alarms", "", "../x")
	f.Add("x.y.amazonaws.com", "Get*", "arn:aws:s3:::b", "\"")
	f.Fuzz(func(t *testing.T, source, name, bucket, key string) {
		ev := call(0, source, name, map[string]any{"bucketName": bucket, "key": key, "functionName": bucket,
			"roleName": key, "tableName": bucket, "secretId": key, "topicArn": bucket, "queueUrl": key})
		rec, err := iampolicy.Recommend([]cairn.Event{ev, call(1, "s3.amazonaws.com", "GetObject", map[string]any{"bucketName": bucket, "key": key})},
			iampolicy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkJSON(t, rec)
		if _, err := json.Marshal(rec); err != nil {
			t.Fatal(err)
		}
	})
}
