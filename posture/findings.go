package posture

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Finding kinds.
const (
	KindAdmin              = "admin"
	KindEscalation         = "privilege-escalation"
	KindCredentialExposure = "credential-exposure"
	KindResourceExposure   = "resource-exposure"
	KindNoMFA              = "no-mfa"
	KindConsoleWithoutMFA  = "console-without-mfa"
	KindOldAccessKey       = "old-access-key"
	KindUnusedRole         = "unused-role"
)

// Severities on cairn's scale (field.SeverityRank): low 1, medium 2,
// high 3, critical 4.
const (
	SeverityLow      int64 = 1
	SeverityMedium   int64 = 2
	SeverityHigh     int64 = 3
	SeverityCritical int64 = 4
)

// MaxAge is how old an access key's rotation or a role's last use may be
// before it is a finding (the CIS benchmark's 90 days).
const MaxAge = 90 * 24 * time.Hour

// Finding is one posture problem of a principal.
type Finding struct {
	Principal string // ARN
	Kind      string
	// Detail names what causes it: the policy, the actions, the key.
	Detail   string
	Severity int64
}

// escalationPaths are Rhino Security Labs' privilege escalation methods
// (as policy_sentry and cloudsplaining list them): a principal allowed
// every action of a path can escalate. Each action is in the generated
// escalationActions.
var escalationPaths = [][]string{
	{"iam:CreatePolicyVersion"},
	{"iam:SetDefaultPolicyVersion"},
	{"iam:PassRole", "ec2:RunInstances"},
	{"iam:CreateAccessKey"},
	{"iam:CreateLoginProfile"},
	{"iam:UpdateLoginProfile"},
	{"iam:AttachUserPolicy"},
	{"iam:AttachGroupPolicy"},
	{"iam:AttachRolePolicy", "sts:AssumeRole"},
	{"iam:PutUserPolicy"},
	{"iam:PutGroupPolicy"},
	{"iam:PutRolePolicy", "sts:AssumeRole"},
	{"iam:AddUserToGroup"},
	{"iam:UpdateAssumeRolePolicy", "sts:AssumeRole"},
	{"iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"},
	{"iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"},
	{"iam:PassRole", "lambda:CreateFunction", "lambda:AddPermission"},
	{"lambda:UpdateFunctionCode"},
	{"lambda:UpdateFunctionConfiguration"},
	{"iam:PassRole", "glue:CreateDevEndpoint", "glue:GetDevEndpoint"},
	{"glue:UpdateDevEndpoint", "glue:GetDevEndpoint"},
	{"iam:PassRole", "cloudformation:CreateStack"},
	{"iam:PassRole", "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"},
	{"iam:PassRole", "codestar:CreateProject"},
	{"codestar:CreateProjectFromTemplate"},
	{"codestar:CreateProject", "codestar:AssociateTeamMember"},
	{"iam:PassRole", "sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"},
	{"sagemaker:CreatePresignedNotebookInstanceUrl"},
	{"ec2-instance-connect:SendSSHPublicKey"},
	{"iam:PassRole", "rds:AddRoleToDBInstance"},
}

// glob matches an IAM action pattern (* any run, ? one character) against
// an action, case-insensitively, in time linear in their lengths times
// the number of stars.
func glob(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; {
			case c == '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case sx < len(s) && (c == '?' || c == s[sx]):
				px++
				sx++
				continue
			}
		}
		if nextPx >= 0 && nextSx <= len(s) {
			px, sx = nextPx+1, nextSx
			nextSx++
			continue
		}
		return false
	}
	return true
}

func anyGlob(patterns []string, action string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return glob(p, action) })
}

// covers reports whether s names action.
func (s Statement) covers(action string) bool {
	if s.NotAction != nil {
		return !anyGlob(s.NotAction, action)
	}
	return anyGlob(s.Action, action)
}

// everywhere reports whether s applies to every resource without
// conditions.
func (s Statement) everywhere() bool {
	return !s.Conditional && s.NotResource == nil && slices.Contains(s.Resource, "*")
}

// allowedBy returns the source of the first Allow statement of p that
// names action, or "" when none does or a Deny covers it exactly. A Deny
// subtracts only when it covers exactly: it names the action, applies to
// every resource ("*") and has no condition. Narrower Denies are ignored,
// which can overstate what a principal may do, never understate it.
func (p *Principal) allowedBy(action string) string {
	for _, s := range p.Statements {
		if !s.Allow && s.everywhere() && s.covers(action) {
			return ""
		}
	}
	for _, s := range p.Statements {
		if s.Allow && s.covers(action) {
			return s.Source
		}
	}
	return ""
}

// admin returns the source of p's administrator access: an Allow of "*"
// (or "*:*") on "*" without conditions, not cancelled by a Deny of "*" on
// "*".
func (p *Principal) admin() string {
	star := func(l []string) bool { return slices.Contains(l, "*") || slices.Contains(l, "*:*") }
	for _, s := range p.Statements {
		if !s.Allow && s.everywhere() && star(s.Action) {
			return ""
		}
	}
	for _, s := range p.Statements {
		if s.Allow && s.everywhere() && star(s.Action) {
			return s.Source
		}
	}
	return ""
}

// allowed returns the actions of list that p may do, with the policies
// that allow them.
func (p *Principal) allowed(list []string) (actions, sources []string) {
	for _, a := range list {
		if src := p.allowedBy(a); src != "" {
			actions = append(actions, a)
			if !slices.Contains(sources, src) {
				sources = append(sources, src)
			}
		}
	}
	return actions, sources
}

// summary lists up to five actions and counts the rest, with the policies.
func summary(actions, sources []string) string {
	shown := actions
	more := ""
	if len(shown) > 5 {
		shown, more = shown[:5], fmt.Sprintf(" and %d more", len(actions)-5)
	}
	return strings.Join(shown, ", ") + more + " (" + strings.Join(sources, ", ") + ")"
}

// Findings returns the posture findings of the account's users and roles
// (groups count through their members) and of the credential report's
// users, as of now. An administrator gets the admin finding only: the
// escalation and exposure findings say less about it.
func (a *Account) Findings(creds []Credential, now time.Time) []Finding {
	var out []Finding
	for _, p := range a.Principals {
		if p.Kind == KindGroup {
			continue
		}
		if src := p.admin(); src != "" {
			out = append(out, Finding{p.ARN, KindAdmin, src, SeverityCritical})
		} else {
			var paths []string
			for _, path := range escalationPaths {
				if !slices.ContainsFunc(path, func(act string) bool { return p.allowedBy(act) == "" }) {
					paths = append(paths, strings.Join(path, " + "))
				}
			}
			if len(paths) > 0 {
				var sources []string
				for _, path := range paths {
					for _, act := range strings.Split(path, " + ") {
						if src := p.allowedBy(act); !slices.Contains(sources, src) {
							sources = append(sources, src)
						}
					}
				}
				out = append(out, Finding{p.ARN, KindEscalation, summary(paths, sources), SeverityHigh})
			}
			if acts, srcs := p.allowed(credentialExposureActions); len(acts) > 0 {
				out = append(out, Finding{p.ARN, KindCredentialExposure, summary(acts, srcs), SeverityHigh})
			}
			if acts, srcs := p.allowed(resourceExposureActions); len(acts) > 0 {
				out = append(out, Finding{p.ARN, KindResourceExposure, summary(acts, srcs), SeverityMedium})
			}
		}
		if p.Kind == KindRole && p.LastUsedKnown && now.Sub(p.Created) > MaxAge {
			switch {
			case p.LastUsed.IsZero():
				out = append(out, Finding{p.ARN, KindUnusedRole, "never used", SeverityLow})
			case now.Sub(p.LastUsed) > MaxAge:
				out = append(out, Finding{p.ARN, KindUnusedRole, fmt.Sprintf("last used %s (%d days ago)", p.LastUsed.Format(time.DateOnly), days(now.Sub(p.LastUsed))), SeverityLow})
			}
		}
	}
	for _, c := range creds {
		switch {
		case !c.MFAActive && (c.PasswordEnabled || c.User == RootUser):
			sev := SeverityHigh
			if c.User == RootUser {
				sev = SeverityCritical
			}
			out = append(out, Finding{c.ARN, KindConsoleWithoutMFA, "console password without MFA", sev})
		case !c.MFAActive && (c.Keys[0].Active || c.Keys[1].Active):
			out = append(out, Finding{c.ARN, KindNoMFA, "active access keys and no MFA device", SeverityLow})
		}
		for i, k := range c.Keys {
			if k.Active && !k.LastRotated.IsZero() && now.Sub(k.LastRotated) > MaxAge {
				out = append(out, Finding{c.ARN, KindOldAccessKey,
					fmt.Sprintf("access key %d last rotated %s (%d days ago)", i+1, k.LastRotated.Format(time.DateOnly), days(now.Sub(k.LastRotated))), SeverityMedium})
			}
		}
	}
	return out
}

func days(d time.Duration) int { return int(d / (24 * time.Hour)) }

// reasons are the human texts of finding kinds, for Privileges.
var reasons = map[string]string{
	KindAdmin:              "administrator access",
	KindEscalation:         "can escalate privileges",
	KindCredentialExposure: "can obtain credentials",
	KindResourceExposure:   "can change who may use resources",
	KindNoMFA:              "no MFA",
	KindConsoleWithoutMFA:  "console access without MFA",
	KindOldAccessKey:       "old access key",
	KindUnusedRole:         "unused role",
}

// Reason returns the human text of f, e.g. "administrator access
// (AdministratorAccess via group GOAT)".
func (f Finding) Reason() string {
	if f.Kind == KindAdmin {
		return reasons[f.Kind] + " (" + f.Detail + ")"
	}
	return reasons[f.Kind] + ": " + f.Detail
}

// Privileges returns one reason per posture finding of the principal
// whose ARN or identity key is arn, from the account's policies alone (no
// credential report, no time-dependent findings), for
// identity.Identity.Privileges. An identity key of a role session is the
// role's ARN, possibly without the role's path: a key without a path
// matches a role of that account and name whatever its path.
func (a *Account) Privileges(arn string) []string {
	p := a.principal(arn)
	if p == nil {
		return nil
	}
	sub := &Account{Principals: []*Principal{p}}
	var out []string
	for _, f := range sub.Findings(nil, time.Time{}) {
		out = append(out, f.Reason())
	}
	return out
}

// principal returns the user or role arn names, or nil.
func (a *Account) principal(arn string) *Principal {
	for _, p := range a.Principals {
		if p.Kind != KindGroup && p.ARN == arn {
			return p
		}
	}
	acct, kind, name, ok := splitARN(arn)
	if !ok || strings.Contains(name, "/") {
		return nil
	}
	for _, p := range a.Principals {
		if pa, pk, pn, ok := splitARN(p.ARN); ok && p.Kind != KindGroup && pa == acct && pk == kind {
			if i := strings.LastIndexByte(pn, '/'); i >= 0 {
				pn = pn[i+1:]
			}
			if pn == name {
				return p
			}
		}
	}
	return nil
}

// splitARN splits arn:PARTITION:iam::ACCOUNT:KIND/PATH/NAME into the
// account, the kind and the path and name.
func splitARN(arn string) (account, kind, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" {
		return "", "", "", false
	}
	kind, name, ok = strings.Cut(parts[5], "/")
	return parts[4], kind, name, ok
}
