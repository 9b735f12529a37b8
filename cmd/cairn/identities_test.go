package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/demo"
)

// TestIdentitiesCLI walks the SCARLETEEL story of the demo as an analyst
// would: the IAM user is potentially compromised after the SES
// reconnaissance; flagging it makes it compromised (audited) and puts it
// first; its recommended policy holds what it did before the compromise
// began and none of the attacker's calls; the remediation plans name it
// and their policies are valid JSON.
func TestIdentitiesCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	if code, _, errs := cli(t, "", "demo", "--db", db, "--seed", "2"); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	sc, err := demo.Generate(demo.Options{Seed: 2, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var user string
	for _, st := range sc.Truth.Stories {
		if st.ID == demo.StoryScarleteel {
			for _, id := range st.Identities {
				if strings.Contains(id, ":user/") {
					user = id
				}
			}
		}
	}
	type view struct {
		Key    string `json:"key"`
		Status struct {
			State string    `json:"state"`
			Since time.Time `json:"since"`
			By    string    `json:"by"`
		} `json:"status"`
		Risk struct {
			Level string `json:"level"`
		} `json:"risk"`
	}
	list := func() []view {
		code, out, errs := cli(t, "", "identities", "--db", db, "-o", "json")
		if code != 0 {
			t.Fatalf("identities: %s", errs)
		}
		var vs []view
		if err := json.Unmarshal([]byte(out), &vs); err != nil {
			t.Fatal(err)
		}
		return vs
	}
	find := func(vs []view) (int, view) {
		for i, v := range vs {
			if v.Key == user {
				return i, v
			}
		}
		t.Fatalf("%s not listed", user)
		return 0, view{}
	}
	_, v := find(list())
	if v.Status.State != "potentially_compromised" || v.Status.By != "cairn" || v.Risk.Level != "critical" && v.Risk.Level != "high" {
		t.Fatalf("before the flag: %+v", v)
	}
	since := v.Status.Since
	if code, _, errs := cli(t, "", "identities", "flag", "--db", db, "--compromised", "--note", "keys used from a VPS", user); code != 0 {
		t.Fatalf("flag: %s", errs)
	}
	i, v := find(list())
	if i != 0 || v.Status.State != "compromised" || !v.Status.Since.Equal(since) {
		t.Errorf("after the flag: position %d %+v", i, v)
	}
	if code, out, _ := cli(t, "", "audit", "--db", db, "-o", "json"); code != 0 || !strings.Contains(out, "identity.status") {
		t.Errorf("no audit entry of the flag: %s", out)
	}
	// The policy: calls before the compromise only.
	code, out, errs := cli(t, "", "policy", "--db", db, user)
	if code != 0 {
		t.Fatalf("policy: %s", errs)
	}
	var doc struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   []string
			Resource []string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Version != "2012-10-17" {
		t.Fatalf("policy is not IAM JSON: %v\n%s", err, out)
	}
	for _, s := range doc.Statement {
		for _, a := range s.Action {
			switch a {
			case "cloudtrail:StopLogging", "s3:PutBucketPolicy", "ses:GetSendQuota", "ses:ListIdentities", "secretsmanager:ListSecrets":
				t.Errorf("the policy grants the attacker's %s", a)
			}
		}
	}
	// With the whole history, the attacker's calls are there: the
	// window above is what kept them out.
	code, out, _ = cli(t, "", "policy", "--db", db, "--until", time.Now().Add(time.Hour).Format(time.RFC3339), user)
	if code != 0 || !strings.Contains(out, "cloudtrail:StopLogging") {
		t.Errorf("the policy of the whole history lacks StopLogging:\n%s", out)
	}
	// Remediation plans name the user and carry valid policy JSON.
	code, out, errs = cli(t, "", "remediate", "--db", db, "-o", "json", user)
	if code != 0 {
		t.Fatalf("remediate: %s", errs)
	}
	var plans []struct {
		Strategy string `json:"strategy"`
		Applies  bool   `json:"applies"`
		Steps    []struct {
			CLI string `json:"cli"`
			API struct {
				Params map[string]any `json:"params"`
			} `json:"api"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 6 {
		t.Fatalf("plans: %v %s", err, out)
	}
	name := user[strings.LastIndex(user, "/")+1:]
	for _, p := range plans {
		if !p.Applies {
			continue
		}
		for _, s := range p.Steps {
			if strings.Contains(s.CLI, "--user-name") && !strings.Contains(s.CLI, "'"+name+"'") {
				t.Errorf("%s: %s does not name %s", p.Strategy, s.CLI, name)
			}
			if doc, ok := s.API.Params["PolicyDocument"].(string); ok && !json.Valid([]byte(doc)) {
				t.Errorf("%s: policy document is not JSON: %s", p.Strategy, doc)
			}
		}
	}
	// Posture: the user's policies make it an administrator, a reason of
	// its risk.
	authz := filepath.Join(t.TempDir(), "authz.json")
	name = user[strings.LastIndex(user, "/")+1:]
	authzDoc := `{"UserDetailList":[{"UserName":"` + name + `","UserId":"AIDA1","Arn":"` + user + `","Path":"/","CreateDate":"2019-01-01T00:00:00Z",` +
		`"UserPolicyList":[{"PolicyName":"all","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}],` +
		`"GroupList":[],"AttachedManagedPolicies":[]}],"GroupDetailList":[],"RoleDetailList":[],"Policies":[]}`
	if err := os.WriteFile(authz, []byte(authzDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = cli(t, "", "identities", "--db", db, "--posture", authz, "-o", "json")
	if code != 0 || !strings.Contains(out, "privileges: administrator access") {
		t.Errorf("identities with posture: %d %s %.500s", code, errs, out)
	}
	// With posture, the policy says what it removes: everything but
	// the calls made before the compromise.
	if code, _, errs := cli(t, "", "policy", "--db", db, "--posture", authz, user); code != 0 || !strings.Contains(errs, "wildcard") && !strings.Contains(errs, "removed") {
		t.Errorf("policy with posture: %d %s", code, errs)
	}
	if code, _, errs := cli(t, "", "remediate", "--db", db, "--strategy", "deactivate", "--execute", user); code != exitUsage && !strings.Contains(errs, "not confirmed") {
		t.Errorf("--execute without confirmation: %d %s", code, errs)
	}
}
