package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/demo"
	"github.com/cairn-cdr/cairn/identity"
	"github.com/cairn-cdr/cairn/internal/demostore"
)

var demoNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestDemo(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { testDemo(t, seed) })
	}
}

func testDemo(t *testing.T, seed int64) {
	ctx := context.Background()
	fx := demostore.Open(t, seed, demoNow)
	truth := fx.Scenario.Truth
	var story *demo.Story
	for i := range truth.Stories {
		if truth.Stories[i].ID == demo.StoryScarleteel {
			story = &truth.Stories[i]
		}
	}
	if story == nil {
		t.Fatal("no SCARLETEEL story in the truth")
	}
	var userKey, roleKey string
	for _, k := range story.Identities {
		switch {
		case strings.Contains(k, ":user/"):
			userKey = k
		case strings.Contains(k, ":role/"):
			roleKey = k
		}
	}
	if userKey == "" || roleKey == "" {
		t.Fatalf("story identities %v: want an IAM user and a role", story.Identities)
	}

	ids, err := identity.Build(ctx, fx.Store, identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*identity.Identity{}
	for i := range ids {
		byKey[ids[i].Key] = &ids[i]
	}
	user, role := byKey[userKey], byKey[roleKey]
	if user == nil || role == nil {
		t.Fatalf("identities %q and %q not built (%d identities)", userKey, roleKey, len(ids))
	}
	risks := map[string]identity.Risk{}
	statuses := map[string]identity.Status{}
	for i := range ids {
		st := identity.AutoStatus(&ids[i])
		statuses[ids[i].Key] = st
		risks[ids[i].Key] = identity.Assess(&ids[i], st)
		t.Logf("%-90s events %5d dets %2d risk %-8s %3d %q", ids[i].Key, ids[i].Events, len(ids[i].Detections),
			risks[ids[i].Key].Level, risks[ids[i].Key].Score, risks[ids[i].Key].Reasons)
	}

	// The IAM user: potentially compromised from the attack on, not
	// from its Terraform runs hours before.
	st := statuses[userKey]
	if st.State != identity.StatePotentiallyCompromised || st.By != identity.AutoBy {
		t.Fatalf("user status = %+v, want potentially compromised by cairn", st)
	}
	userEvents := events(t, fx.Store, fmt.Sprintf("cloud.identity = %q", userKey))
	var firstSES, lastBackground time.Time
	for _, ev := range userEvents {
		if slices.Contains(story.AttackerIPs, ev.Cloud.SourceIP) {
			if ev.Cloud.EventSource == "ses.amazonaws.com" && (firstSES.IsZero() || ev.Time.Before(firstSES)) {
				firstSES = ev.Time
			}
		} else if ev.Time.After(lastBackground) {
			lastBackground = ev.Time
		}
	}
	if firstSES.IsZero() || lastBackground.IsZero() {
		t.Fatalf("user events: first SES call %v, last background call %v: want both", firstSES, lastBackground)
	}
	if st.Since.After(firstSES) || !st.Since.After(lastBackground) {
		t.Errorf("user compromised since %v, want in (%v, %v]", st.Since, lastBackground, firstSES)
	}
	if len(st.Evidence) == 0 {
		t.Fatal("user status has no evidence")
	}
	for _, id := range st.Evidence {
		d, err := fx.Store.GetDetection(ctx, id)
		if err != nil {
			t.Fatalf("evidence %s: %v", id, err)
		}
		if d.Severity < 3 || d.Entities.Identity != userKey {
			t.Errorf("evidence %s: severity %d identity %q, want high or critical on %q", id, d.Severity, d.Entities.Identity, userKey)
		}
	}
	if !hasCount(user.Actions, "ses:GetSendQuota") || !hasCount(user.Actions, "cloudtrail:StopLogging") {
		t.Errorf("user actions %v: want ses:GetSendQuota and cloudtrail:StopLogging", user.Actions)
	}
	if user.Type != "IAMUser" || user.Account != truth.AccountID {
		t.Errorf("user type %q account %q, want IAMUser %q", user.Type, user.Account, truth.AccountID)
	}
	if !hasResource(user.Resources, ":secret:prod/") || !hasResource(user.Resources, "arn:aws:s3:::") {
		t.Errorf("user resources %v: want the secret and the buckets", user.Resources)
	}
	if n := countOf(user.Actions); n != user.Events || user.Events != len(userEvents) {
		t.Errorf("user actions count %d events, Events %d, store %d: want equal", n, user.Events, len(userEvents))
	}
	if ip := ipUse(user.SourceIPs, story.AttackerIPs[0]); ip == nil || ip.Kind != identity.AddrPublic {
		t.Errorf("user source IPs %+v: want the attacker's %s, public", user.SourceIPs, story.AttackerIPs[0])
	}
	if !slices.Contains(identity.NewAddresses(user), story.AttackerIPs[0]) {
		t.Errorf("user new addresses %v: want %s", identity.NewAddresses(user), story.AttackerIPs[0])
	}

	// The node role: the stolen instance session, used from the attacker's
	// address, linked to the workload that read it.
	rc := story.RootCause
	if !slices.Contains(role.Instances, rc.InstanceID) {
		t.Errorf("role instances %v: want %s", role.Instances, rc.InstanceID)
	}
	if ip := ipUse(role.SourceIPs, story.AttackerIPs[0]); ip == nil || ip.Kind != identity.AddrPublic {
		t.Errorf("role source IPs %+v: want the attacker's %s, public", role.SourceIPs, story.AttackerIPs[0])
	}
	if len(role.OutsideInstance) != 1 || role.OutsideInstance[0].IP != story.AttackerIPs[0] {
		t.Errorf("role used outside the instance from %+v, want only %s", role.OutsideInstance, story.AttackerIPs[0])
	}
	if rc.Workload == nil {
		t.Fatal("root cause names no workload")
	}
	if w := rc.Workload.Namespace + "/" + rc.Workload.Pod; !slices.Contains(role.Workloads, w) {
		t.Errorf("role workloads %v: want %s", role.Workloads, w)
	}
	if !slices.Contains(role.AccessKeys, rc.AccessKeyID) {
		t.Errorf("role access keys do not hold the stolen %s", rc.AccessKeyID)
	}
	if !slices.Contains(role.AssumedBy, "ec2.amazonaws.com") {
		t.Errorf("role assumed by %v: want ec2.amazonaws.com (the instance profile)", role.AssumedBy)
	}
	if statuses[roleKey].State != identity.StatePotentiallyCompromised {
		t.Errorf("role status %+v, want potentially compromised", statuses[roleKey])
	}

	// Ranking: both above every background identity; no background
	// identity is potentially compromised.
	for _, k := range []string{userKey, roleKey} {
		if l := risks[k].Level; l != identity.RiskCritical && l != identity.RiskHigh {
			t.Errorf("%s risk %+v, want high or critical", k, risks[k])
		}
	}
	var found int
	for _, k := range truth.Background.Identities {
		id := byKey[k]
		if id == nil {
			continue
		}
		found++
		if s := statuses[k]; s.State != "" {
			t.Errorf("background %s status %+v, want none", k, s)
		}
		for _, sk := range []string{userKey, roleKey} {
			if risks[k].Score >= risks[sk].Score {
				t.Errorf("background %s risk %d >= story %s risk %d", k, risks[k].Score, sk, risks[sk].Score)
			}
		}
	}
	if found < len(truth.Background.Identities)/2 {
		t.Errorf("only %d of the background identities %v were built", found, truth.Background.Identities)
	}

	// MaxEvents caps what is read.
	capped, err := identity.Build(ctx, fx.Store, identity.Options{MaxEvents: 10})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, id := range capped {
		n += id.Events
	}
	if n != 10 {
		t.Errorf("MaxEvents 10: read %d events", n)
	}

	// A filter narrows to one identity and still finds who assumed it.
	one, err := identity.Build(ctx, fx.Store, identity.Options{Filter: fmt.Sprintf("cloud.identity = %q", roleKey)})
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].Key != roleKey || one[0].Events != role.Events || !slices.Equal(one[0].AssumedBy, role.AssumedBy) {
		t.Errorf("filtered build: %d identities, want the role alone with %d events assumed by %v", len(one), role.Events, role.AssumedBy)
	}
}

// TestAssumedBy: a user's AssumeRole returns credentials, and a later
// call with them is the role's, assumed by the user.
func TestAssumedBy(t *testing.T) {
	ctx := context.Background()
	user := "arn:aws:iam::111122223333:user/alice"
	role := "arn:aws:iam::111122223333:role/deploy"
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	assume := cloudEvent(t, "e1", t0, cairn.Identity{Key: user, Type: "IAMUser", ARN: user, AccountID: "111122223333", AccessKeyID: "AKIAEXAMPLEALICE0001", UserName: "alice"},
		"sts.amazonaws.com", "AssumeRole", "203.0.113.7",
		map[string]any{"roleArn": role, "roleSessionName": "alice-deploy"},
		map[string]any{"credentials": map[string]any{"accessKeyId": "ASIAEXAMPLESESSION01", "sessionToken": "x", "expiration": "Mar 1, 2026, 11:00:00 AM"}})
	call := cloudEvent(t, "e2", t0.Add(time.Minute), cairn.Identity{Key: role, Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/deploy/alice-deploy",
		AccountID: "111122223333", AccessKeyID: "ASIAEXAMPLESESSION01", SessionName: "alice-deploy", IssuerARN: role},
		"s3.amazonaws.com", "GetObject", "203.0.113.7", map[string]any{"bucketName": "deploys", "key": "app.tar"}, nil)
	// A session whose key no AssumeRole handed out is assumed by no one.
	other := cloudEvent(t, "e3", t0.Add(2*time.Minute), cairn.Identity{Key: "arn:aws:iam::111122223333:role/other", Type: "AssumedRole",
		AccountID: "111122223333", AccessKeyID: "ASIAEXAMPLESESSION02", SessionName: "i-0123456789abcdef0"},
		"ec2.amazonaws.com", "DescribeInstances", "10.0.3.4", nil, nil)
	st := &memStore{events: []cairn.Event{assume, call, other}}

	ids, err := identity.Build(ctx, st, identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]identity.Identity{}
	for _, id := range ids {
		by[id.Key] = id
	}
	r, ok := by[role]
	if !ok {
		t.Fatalf("role not built: %+v", ids)
	}
	if !slices.Equal(r.AssumedBy, []string{user}) {
		t.Errorf("role assumed by %v, want [%s]", r.AssumedBy, user)
	}
	if !slices.Equal(r.Sessions, []string{"alice-deploy"}) || len(r.Instances) != 0 {
		t.Errorf("role sessions %v instances %v, want [alice-deploy] and none", r.Sessions, r.Instances)
	}
	if !hasCount(r.Resources, "arn:aws:s3:::deploys/app.tar") || !hasCount(r.Actions, "s3:GetObject") {
		t.Errorf("role resources %v actions %v", r.Resources, r.Actions)
	}
	if u := by[user]; len(u.AssumedBy) != 0 || !slices.Equal(u.AccessKeys, []string{"AKIAEXAMPLEALICE0001"}) || !hasCount(u.Resources, role) {
		t.Errorf("user assumed by %v keys %v resources %v", u.AssumedBy, u.AccessKeys, u.Resources)
	}
	o := by["arn:aws:iam::111122223333:role/other"]
	if len(o.AssumedBy) != 0 || !slices.Equal(o.Instances, []string{"i-0123456789abcdef0"}) || o.SourceIPs[0].Kind != identity.AddrPrivate {
		t.Errorf("other: assumed by %v instances %v ips %+v", o.AssumedBy, o.Instances, o.SourceIPs)
	}

	// The credentials used before the AssumeRole returned them were not
	// its doing.
	call.Time = t0.Add(-time.Minute)
	st = &memStore{events: []cairn.Event{assume, call}}
	ids, err = identity.Build(ctx, st, identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id.Key == role && len(id.AssumedBy) != 0 {
			t.Errorf("role assumed by %v before the AssumeRole", id.AssumedBy)
		}
	}
}

// TestAssess checks the risk reasons and levels on crafted identities.
func TestAssess(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	det := func(id string, sev int64, at time.Time) identity.DetectionRef {
		return identity.DetectionRef{ID: id, Rule: "rule " + id, Severity: sev, Time: at, First: at.Add(-time.Minute)}
	}
	quiet := identity.Identity{Key: "q", Events: 100, First: t0, Last: t0.Add(48 * time.Hour),
		SourceIPs: []identity.IPUse{{IP: "198.51.100.1", N: 100, First: t0, Last: t0.Add(48 * time.Hour), Kind: identity.AddrPublic}}}
	cases := []struct {
		name    string
		id      identity.Identity
		status  *identity.Status // nil: AutoStatus
		level   string
		score   int
		reasons []string // substrings, one per reason, in order
	}{
		{name: "quiet", id: quiet, level: identity.RiskLow, score: 0},
		{name: "medium detection", id: with(quiet, func(id *identity.Identity) { id.Detections = []identity.DetectionRef{det("d1", 2, t0)} }),
			level: identity.RiskLow, score: 10, reasons: []string{"1 detection of medium severity: rule d1"}},
		{name: "critical detection", id: with(quiet, func(id *identity.Identity) {
			id.Detections = []identity.DetectionRef{det("d1", 4, t0.Add(time.Hour)), det("d2", 4, t0.Add(2*time.Hour)), det("d3", 4, t0.Add(3*time.Hour))}
		}),
			level: identity.RiskCritical, score: 130, reasons: []string{"3 detections of critical severity", "potentially compromised since 2026-03-01T00:59:00Z (3 detections)"}},
		{name: "cleared", id: with(quiet, func(id *identity.Identity) { id.Detections = []identity.DetectionRef{det("d1", 4, t0.Add(time.Hour))} }),
			status: &identity.Status{State: identity.StateCleared, By: "ana", At: t0.Add(2 * time.Hour)},
			level:  identity.RiskLow, score: 0, reasons: []string{"cleared by ana at 2026-03-01T02:00:00Z: 1 detection before that not counted"}},
		{name: "compromised", id: quiet, status: &identity.Status{State: identity.StateCompromised, By: "ana", At: t0},
			level: identity.RiskHigh, score: 50, reasons: []string{"confirmed compromised by ana"}},
		{name: "console without MFA and error storm", id: with(quiet, func(id *identity.Identity) {
			id.ConsoleNoMFA, id.Errors, id.ErrorRate = 1, 60, 0.6
		}), level: identity.RiskMedium, score: 30, reasons: []string{"1 console sign-in without MFA", "error storm: 60 of 100 calls failed"}},
		{name: "few errors are no storm", id: with(quiet, func(id *identity.Identity) { id.Errors, id.ErrorRate = 19, 0.95 }), level: identity.RiskLow},
		{name: "new address", id: with(quiet, func(id *identity.Identity) {
			id.SourceIPs = append(id.SourceIPs, identity.IPUse{IP: "203.0.113.9", N: 2, First: t0.Add(47 * time.Hour), Last: t0.Add(48 * time.Hour), Kind: identity.AddrPublic},
				identity.IPUse{IP: "10.1.2.3", N: 2, First: t0.Add(47 * time.Hour), Last: t0.Add(48 * time.Hour), Kind: identity.AddrPrivate},
				identity.IPUse{IP: "192.0.2.1", N: 2, First: t0.Add(40 * time.Hour), Last: t0.Add(48 * time.Hour), Kind: identity.AddrPublic})
		}), level: identity.RiskLow, score: 15, reasons: []string{"new source address late in its history: 203.0.113.9"}},
		{name: "instance credentials outside", id: with(quiet, func(id *identity.Identity) {
			id.OutsideInstance = []identity.IPUse{{IP: "203.0.113.9", N: 3, Kind: identity.AddrPublic}}
		}), level: identity.RiskHigh, score: 50, reasons: []string{"instance credentials used from a public address that is not the instance's: 203.0.113.9"}},
		{name: "privileges", id: with(quiet, func(id *identity.Identity) { id.Privileges = []string{"AdministratorAccess", "iam:PassRole *", "x"} }),
			level: identity.RiskMedium, score: 30, reasons: []string{"privileges: AdministratorAccess", "privileges: iam:PassRole *", "privileges: x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := identity.AutoStatus(&c.id)
			if c.status != nil {
				st = *c.status
			}
			r := identity.Assess(&c.id, st)
			if r.Level != c.level || r.Score != c.score {
				t.Errorf("risk %+v, want level %s score %d", r, c.level, c.score)
			}
			if len(r.Reasons) != len(c.reasons) {
				t.Fatalf("reasons %q, want %d like %q", r.Reasons, len(c.reasons), c.reasons)
			}
			for i, want := range c.reasons {
				if !strings.Contains(r.Reasons[i], want) {
					t.Errorf("reason %d = %q, want it to contain %q", i, r.Reasons[i], want)
				}
			}
		})
	}
}

func TestAutoStatus(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	id := identity.Identity{Detections: []identity.DetectionRef{
		{ID: "low", Severity: 1, Time: t0, First: t0.Add(-time.Hour)},
		{ID: "high", Rule: "r1", Severity: 3, Time: t0.Add(2 * time.Hour), First: t0.Add(time.Hour)},
		{ID: "crit", Rule: "r2", Severity: 4, Time: t0.Add(3 * time.Hour)}, // first event unknown
	}}
	st := identity.AutoStatus(&id)
	if st.State != identity.StatePotentiallyCompromised || !st.Since.Equal(t0.Add(time.Hour)) || !st.At.Equal(t0.Add(3*time.Hour)) ||
		!slices.Equal(st.Evidence, []string{"high", "crit"}) || st.By != identity.AutoBy {
		t.Errorf("status %+v", st)
	}
	id.Detections[1].First = time.Time{}
	id.Detections[1].Time = t0.Add(5 * time.Hour)
	if st := identity.AutoStatus(&id); !st.Since.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("since %v, want the critical detection's own time", st.Since)
	}
	id.Detections = id.Detections[:1]
	if st := identity.AutoStatus(&id); st.State != "" || st.Evidence != nil {
		t.Errorf("status %+v with only a low detection, want none", st)
	}
}

func TestHelpers(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"10.0.1.2", identity.AddrPrivate}, {"ec2.amazonaws.com", identity.AddrAWS}, {"AWS Internal", identity.AddrAWS},
		{"203.0.113.5", identity.AddrPublic}, {"::ffff:192.168.1.1", identity.AddrPrivate}, {"2600:1f18::1", identity.AddrPublic},
	} {
		if got := identity.AddrKind(c.in); got != c.want {
			t.Errorf("AddrKind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := identity.IMDSRole("-s http://169.254.169.254/latest/meta-data/iam/security-credentials/node-role -o x"); got != "node-role" {
		t.Errorf("IMDSRole = %q", got)
	}
	if got := identity.IMDSRole("-s http://169.254.169.254/latest/meta-data/"); got != "" {
		t.Errorf("IMDSRole without a role = %q", got)
	}
	if got := identity.RoleName("arn:aws:iam::1:role/path/to/eks-node"); got != "eks-node" {
		t.Errorf("RoleName = %q", got)
	}
	if identity.IsInstanceID("i-12345") || !identity.IsInstanceID("i-0abc12345") || identity.IsInstanceID("i-0ABC12345") {
		t.Error("IsInstanceID")
	}
	if got := identity.Action("sesv2.amazonaws.com", "GetAccount"); got != "sesv2:GetAccount" {
		t.Errorf("Action = %q", got)
	}
}

func with(id identity.Identity, f func(*identity.Identity)) identity.Identity {
	f(&id)
	return id
}

func hasCount(cs []identity.Count, v string) bool {
	return slices.ContainsFunc(cs, func(c identity.Count) bool { return c.Value == v && c.N > 0 })
}

func hasResource(cs []identity.Count, sub string) bool {
	return slices.ContainsFunc(cs, func(c identity.Count) bool { return strings.Contains(c.Value, sub) })
}

func countOf(cs []identity.Count) int {
	n := 0
	for _, c := range cs {
		n += c.N
	}
	return n
}

func ipUse(us []identity.IPUse, ip string) *identity.IPUse {
	for i := range us {
		if us[i].IP == ip {
			return &us[i]
		}
	}
	return nil
}

// events reads every event matching filter.
func events(t *testing.T, st cairn.EventReader, filter string) []cairn.Event {
	t.Helper()
	var out []cairn.Event
	q := cairn.EventQuery{Filter: filter, Limit: 1000}
	for {
		p, err := st.QueryEvents(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Events...)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}

// cloudEvent makes a CloudTrail event with its raw record.
func cloudEvent(t *testing.T, id string, at time.Time, who cairn.Identity, source, name, ip string, params, resp map[string]any) cairn.Event {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"eventSource": source, "eventName": name, "sourceIPAddress": ip,
		"requestParameters": params, "responseElements": resp})
	if err != nil {
		t.Fatal(err)
	}
	return cairn.Event{ID: id, Source: cairn.SourceCloudTrail, Kind: cairn.KindCloud, Time: at, Type: name, Raw: raw,
		Cloud: &cairn.CloudCall{EventName: name, EventSource: source, SourceIP: ip, Region: "us-east-1", Identity: who}}
}

// memStore serves crafted events in one page and no detections; it does
// not evaluate filters, which the crafted tests do not use.
type memStore struct{ events []cairn.Event }

func (m *memStore) QueryEvents(_ context.Context, q cairn.EventQuery) (cairn.EventPage, error) {
	if strings.Contains(q.Filter, "ct.name") {
		return cairn.EventPage{}, nil
	}
	return cairn.EventPage{Events: slices.Clone(m.events)}, nil
}

func (m *memStore) GetEvent(_ context.Context, id string) (cairn.Event, error) {
	for _, ev := range m.events {
		if ev.ID == id {
			return ev, nil
		}
	}
	return cairn.Event{}, cairn.Errorf(cairn.ENOTFOUND, "event %s not found", id)
}

func (m *memStore) QueryDetections(context.Context, cairn.DetectionQuery) (cairn.DetectionPage, error) {
	return cairn.DetectionPage{}, nil
}

// FuzzResources feeds arbitrary raw records to Resources and IMDSRole,
// which read attacker-controlled text.
func FuzzResources(f *testing.F) {
	f.Add(`{"requestParameters":{"bucketName":"b","key":"k/x"},"resources":[{"ARN":"arn:aws:s3:::b"}]}`, "s3.amazonaws.com")
	f.Add(`{"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0"},7]},"roleName":"r"}}`, "ec2.amazonaws.com")
	f.Add(`{"requestParameters":{"name":12.5,"secretId":["x"]},"resources":"no"}`, "cloudtrail.amazonaws.com")
	f.Add(`[1,2]`, "")
	f.Fuzz(func(t *testing.T, raw, source string) {
		ev := cairn.Event{Raw: []byte(raw), Cloud: &cairn.CloudCall{EventSource: source, Identity: cairn.Identity{AccountID: "1"}}}
		rs := identity.Resources(&ev)
		if len(rs) > 32 {
			t.Fatalf("%d resources", len(rs))
		}
		for i, r := range rs {
			if r == "" || slices.Contains(rs[:i], r) {
				t.Fatalf("resources %q: empty or repeated", rs)
			}
		}
		if role := identity.IMDSRole(raw); strings.ContainsAny(role, " \t\"'/?") {
			t.Fatalf("IMDSRole(%q) = %q", raw, role)
		}
	})
}
