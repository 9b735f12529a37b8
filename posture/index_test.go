package posture_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/posture"
)

func TestIndex(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	acct, err := posture.LoadAuthDetails(strings.NewReader(`{"UserDetailList":[{"UserName":"obama","UserId":"AIDA1","Arn":"arn:aws:iam::123456789012:user/obama","Path":"/",
"CreateDate":"2019-01-01T00:00:00Z","UserPolicyList":[{"PolicyName":"all","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}],
"GroupList":[],"AttachedManagedPolicies":[]}],"GroupDetailList":[],"RoleDetailList":[],"Policies":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	report := "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n" +
		"obama,arn:aws:iam::123456789012:user/obama,2019-01-01T00:00:00+00:00,true,2026-11-20T00:00:00+00:00,2019-01-01T00:00:00+00:00,N/A,false,true,2025-01-01T00:00:00+00:00,2026-11-20T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
	creds, err := posture.LoadCredentialReport(strings.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(posture.NewIndex(acct, creds, now).Privileges("arn:aws:iam::123456789012:user/obama"), "; ")
	for _, want := range []string{"administrator access", "without MFA", "old access key"} {
		if !strings.Contains(got, want) {
			t.Errorf("Privileges = %q, lacks %q", got, want)
		}
	}
	if r := posture.NewIndex(nil, nil, now).Privileges("arn:aws:iam::123456789012:user/obama"); len(r) != 0 {
		t.Errorf("empty index: %v", r)
	}
	var nilIndex *posture.Index
	if r := nilIndex.Privileges("x"); r != nil {
		t.Errorf("nil index: %v", r)
	}
}
