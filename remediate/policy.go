package remediate

import (
	"encoding/json"
	"time"
)

// The names of the inline policies the plans attach. AWSRevokeOlderSessions
// is the name the IAM console uses when it revokes a role's sessions, so
// an operator recognises it.
const (
	PolicyRestrictSourceIP = "CairnRestrictSourceIP"
	PolicyRevokeSessions   = "AWSRevokeOlderSessions"
)

// policyDocument is an IAM policy; it is built from values and marshalled,
// never assembled as text.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Action    string                    `json:"Action"`
	Resource  string                    `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

func (p policyDocument) String() string {
	b, err := json.Marshal(p)
	if err != nil {
		// Only strings, slices and maps of them: cannot fail.
		panic(err)
	}
	return string(b)
}

// restrictPolicy denies every request whose source address is outside
// cidrs, except requests an AWS service makes on the identity's behalf
// (which come from the service's addresses, not the caller's).
func restrictPolicy(cidrs []string) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Sid:      "CairnDenyOutsideAllowedSourceIP",
		Effect:   "Deny",
		Action:   "*",
		Resource: "*",
		Condition: map[string]map[string]any{
			"NotIpAddress": {"aws:SourceIp": cidrs},
			"BoolIfExists": {"aws:ViaAWSService": "false"},
		},
	}}}
}

// revokePolicy denies every request signed with temporary credentials
// issued before now; requests without aws:TokenIssueTime (long-term keys)
// are not matched.
func revokePolicy(now time.Time) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Effect:   "Deny",
		Action:   "*",
		Resource: "*",
		Condition: map[string]map[string]any{
			"DateLessThan": {"aws:TokenIssueTime": now.UTC().Format(time.RFC3339)},
		},
	}}}
}
