package rulepack_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/falco"
)

// stratusDir holds Stratus Red Team detonation logs, one technique per
// file (third-party data, never copied into the repository).
var stratusDir = filepath.Join("..", "..", "shared", "corpus", "cloudtrail", "stratus")

// TestStratusDetonations replays real CloudTrail logs of attack
// techniques through the pack's cloud rules: each technique whose
// behaviour a single call shows raises the rule written for it. The two
// left out are volume behaviours (many SecureString reads, many model
// invocations), which need the correlations of the Sigma issue.
func TestStratusDetonations(t *testing.T) {
	if _, err := os.Stat(stratusDir); err != nil {
		t.Skipf("Stratus Red Team logs not found at %s (../shared/corpus): %v", stratusDir, err)
	}
	want := map[string]string{
		"aws.credential-access.ec2-get-password-data.json":                 "Windows Password Data Retrieved",
		"aws.credential-access.secretsmanager-batch-retrieve-secrets.json": "Secrets Read in Bulk",
		"aws.defense-evasion.cloudtrail-event-selectors.json":              "CloudTrail Logging Disabled or Changed",
		"aws.defense-evasion.dns-delete-logs.json":                         "Security Monitoring Disabled",
		"aws.defense-evasion.vpc-remove-flow-logs.json":                    "Security Monitoring Disabled",
		"aws.execution.ec2-launch-unusual-instances.json":                  "GPU Instance Launch Attempted",
		"aws.execution.ssm-send-command.json":                              "Command Sent to Instances with SSM",
		"aws.exfiltration.ec2-security-group-open-port-22-ingress.json":    "Security Group Opened to the Internet",
		"aws.exfiltration.ec2-share-ebs-snapshot.json":                     "Snapshot or Image Shared",
		"aws.lateral-movement.ec2-instance-connect.json":                   "SSH Key Pushed with EC2 Instance Connect",
		"aws.persistence.iam-backdoor-role.json":                           "Role Trust Policy Changed",
		"aws.persistence.iam-create-admin-user.json":                       "Administrator Policy Attached",
		"aws.persistence.iam-create-user-login-profile.json":               "Console Password Set for Another User",
		"aws.persistence.rolesanywhere-create-trust-anchor.json":           "IAM Roles Anywhere Trust Anchor Created",
		"aws.privilege-escalation.iam-update-user-login-profile.json":      "Console Password Set for Another User",
	}
	eng := falco.NewEngine(load(t).Rules)
	for file, rule := range want {
		f, err := os.Open(filepath.Join(stratusDir, file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		var c decode.Collector
		err = decode.Decode(context.Background(), f, file, decode.Auto, &c)
		f.Close()
		if err != nil || len(c.Rejects) > 0 || len(c.Events) == 0 {
			t.Errorf("%s: decode: %v, %d rejects, %d events", file, err, len(c.Rejects), len(c.Events))
			continue
		}
		var fired []string
		for i := range c.Events {
			for _, m := range eng.Eval(&c.Events[i]) {
				if !slices.Contains(fired, m.Rule.Name) {
					fired = append(fired, m.Rule.Name)
				}
			}
		}
		if !slices.Contains(fired, rule) {
			t.Errorf("%s: %q did not fire (fired: %v)", file, rule, fired)
		}
	}
}
