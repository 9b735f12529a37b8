// Package posture reads an AWS account's IAM configuration (the output of
// aws iam get-account-authorization-details and the IAM credential report)
// and finds what makes its principals dangerous before anything happens:
// administrator access, privilege escalation paths, actions that expose
// credentials or resources, missing MFA, old access keys and unused roles.
// The findings become the Privileges of cairn's identities.
//
// The analysis reads policies, it does not evaluate them: resources,
// conditions (except for administrator access), permission boundaries,
// SCPs and resource policies are not weighed, so a finding says a
// principal may do something, not that it can everywhere.
package posture

//go:generate go run ./internal/gen -corpus ../../shared/corpus/iam -out table_gen.go

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
)

// MaxAuthDetailsSize bounds the authorization details LoadAuthDetails
// reads; large real accounts export a few tens of megabytes.
const MaxAuthDetailsSize = 256 << 20

// Principal kinds.
const (
	KindUser  = "user"
	KindGroup = "group"
	KindRole  = "role"
)

// Account is the IAM configuration of one account: its principals with the
// policy statements that apply to them.
type Account struct {
	Principals []*Principal // users, then groups, then roles, in input order
}

// Principal is a user, group or role with its effective statements.
type Principal struct {
	Kind    string
	Name    string
	ARN     string
	Created time.Time // zero when the details lack it
	// Groups are a user's group names.
	Groups []string
	// Statements are the statements of the principal's inline and
	// attached managed policies and, for a user, those of its groups.
	Statements []Statement
	// Unresolved are managed policies attached to the principal (or its
	// groups) that the details do not hold and that are not well known:
	// their permissions are unknown, so no finding comes from them.
	Unresolved []string
	// LastUsedKnown is true when the details carry the role's
	// RoleLastUsed; LastUsed is its date, zero when the role was never used.
	LastUsedKnown bool
	LastUsed      time.Time
}

// Statement is one statement of a policy, with where it comes from.
type Statement struct {
	Allow       bool
	Action      []string
	NotAction   []string
	Resource    []string
	NotResource []string
	Conditional bool // it has a non-empty Condition
	// Source names the policy, e.g. "AdministratorAccess via group GOAT"
	// or "inline policy EC2-IAM-example".
	Source string
}

// wellKnown are AWS managed policies whose effect cairn knows without
// their document, for details that reference them but do not include
// them: the ones that grant everything or IAM-wide write.
var wellKnown = map[string]string{
	"AdministratorAccess": `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
	"IAMFullAccess":       `{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`,
}

// The JSON shapes of get-account-authorization-details.
type (
	inlinePolicy struct {
		PolicyName     string
		PolicyDocument json.RawMessage
	}
	attached struct {
		PolicyName string
		PolicyArn  string
	}
	userDetail struct {
		UserName                string
		Arn                     string
		CreateDate              string
		GroupList               []string
		UserPolicyList          []inlinePolicy
		AttachedManagedPolicies []attached
	}
	groupDetail struct {
		GroupName               string
		Arn                     string
		CreateDate              string
		GroupPolicyList         []inlinePolicy
		AttachedManagedPolicies []attached
	}
	roleDetail struct {
		RoleName                string
		Arn                     string
		CreateDate              string
		RolePolicyList          []inlinePolicy
		AttachedManagedPolicies []attached
		RoleLastUsed            *struct{ LastUsedDate string }
	}
	managedPolicy struct {
		PolicyName        string
		Arn               string
		PolicyVersionList []struct {
			Document         json.RawMessage
			IsDefaultVersion bool
		}
	}
	authDetails struct {
		UserDetailList  []userDetail
		GroupDetailList []groupDetail
		RoleDetailList  []roleDetail
		Policies        []managedPolicy
	}
)

// LoadAuthDetails parses the JSON output of aws iam
// get-account-authorization-details. It returns EINVALID errors that say
// what is wrong for input that is not such output or is larger than
// MaxAuthDetailsSize.
func LoadAuthDetails(r io.Reader) (*Account, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxAuthDetailsSize+1))
	if err != nil {
		return nil, fmt.Errorf("read authorization details: %w", err)
	}
	if len(b) > MaxAuthDetailsSize {
		return nil, cairn.Errorf(cairn.EINVALID, "authorization details larger than %d bytes", MaxAuthDetailsSize)
	}
	var d authDetails
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, cairn.Errorf(cairn.EINVALID, "authorization details: %v", err)
	}
	if d.UserDetailList == nil && d.GroupDetailList == nil && d.RoleDetailList == nil && d.Policies == nil {
		return nil, cairn.Errorf(cairn.EINVALID, "authorization details: no UserDetailList, GroupDetailList, RoleDetailList or Policies")
	}

	// The default version of each managed policy, by ARN.
	managed := map[string][]Statement{}
	for i, p := range d.Policies {
		if p.Arn == "" {
			return nil, cairn.Errorf(cairn.EINVALID, "authorization details: policy %d (%q) has no Arn", i, p.PolicyName)
		}
		found := false
		for _, v := range p.PolicyVersionList {
			if !v.IsDefaultVersion {
				continue
			}
			sts, err := parseDocument(v.Document, "")
			if err != nil {
				return nil, cairn.Errorf(cairn.EINVALID, "authorization details: policy %s: %v", p.Arn, err)
			}
			managed[p.Arn], found = sts, true
			break
		}
		if !found {
			return nil, cairn.Errorf(cairn.EINVALID, "authorization details: policy %s has no default version", p.Arn)
		}
	}

	// resolve returns the statements of the attached policies, labelled
	// with via, and the ARNs it cannot resolve.
	resolve := func(list []attached, via string) ([]Statement, []string, error) {
		var out []Statement
		var missing []string
		for _, a := range list {
			name := a.PolicyName
			if name == "" {
				name = a.PolicyArn[strings.LastIndexByte(a.PolicyArn, '/')+1:]
			}
			sts, ok := managed[a.PolicyArn]
			if !ok {
				doc, known := wellKnown[name]
				if !known || !awsManaged(a.PolicyArn) {
					missing = append(missing, a.PolicyArn)
					continue
				}
				var err error
				if sts, err = parseDocument(json.RawMessage(doc), ""); err != nil {
					return nil, nil, err
				}
			}
			for _, s := range sts {
				s.Source = name + via
				out = append(out, s)
			}
		}
		return out, missing, nil
	}
	inline := func(list []inlinePolicy, via string) ([]Statement, error) {
		var out []Statement
		for _, p := range list {
			sts, err := parseDocument(p.PolicyDocument, "inline policy "+p.PolicyName+via)
			if err != nil {
				return nil, fmt.Errorf("inline policy %q: %v", p.PolicyName, err)
			}
			out = append(out, sts...)
		}
		return out, nil
	}
	bad := func(kind, arn string, err error) error {
		return cairn.Errorf(cairn.EINVALID, "authorization details: %s %s: %v", kind, arn, err)
	}

	a := &Account{}
	groups := map[string]*Principal{}
	var groupList []*Principal
	for _, g := range d.GroupDetailList {
		if g.Arn == "" || g.GroupName == "" {
			return nil, cairn.Errorf(cairn.EINVALID, "authorization details: a group has no Arn or GroupName")
		}
		p := &Principal{Kind: KindGroup, Name: g.GroupName, ARN: g.Arn}
		var err error
		if p.Created, err = parseTime(g.CreateDate); err != nil {
			return nil, bad(KindGroup, g.Arn, err)
		}
		if p.Statements, err = inline(g.GroupPolicyList, ""); err != nil {
			return nil, bad(KindGroup, g.Arn, err)
		}
		sts, missing, err := resolve(g.AttachedManagedPolicies, "")
		if err != nil {
			return nil, bad(KindGroup, g.Arn, err)
		}
		p.Statements = append(p.Statements, sts...)
		p.Unresolved = missing
		groups[g.GroupName] = p
		groupList = append(groupList, p)
	}
	for _, u := range d.UserDetailList {
		if u.Arn == "" || u.UserName == "" {
			return nil, cairn.Errorf(cairn.EINVALID, "authorization details: a user has no Arn or UserName")
		}
		p := &Principal{Kind: KindUser, Name: u.UserName, ARN: u.Arn, Groups: u.GroupList}
		var err error
		if p.Created, err = parseTime(u.CreateDate); err != nil {
			return nil, bad(KindUser, u.Arn, err)
		}
		if p.Statements, err = inline(u.UserPolicyList, ""); err != nil {
			return nil, bad(KindUser, u.Arn, err)
		}
		sts, missing, err := resolve(u.AttachedManagedPolicies, "")
		if err != nil {
			return nil, bad(KindUser, u.Arn, err)
		}
		p.Statements = append(p.Statements, sts...)
		p.Unresolved = missing
		for _, gn := range u.GroupList {
			g, ok := groups[gn]
			if !ok {
				// A group the details do not list: its policies are unknown.
				p.Unresolved = append(p.Unresolved, "group "+gn)
				continue
			}
			for _, s := range g.Statements {
				if strings.HasPrefix(s.Source, "inline policy ") {
					s.Source += " of group " + gn
				} else {
					s.Source += " via group " + gn
				}
				p.Statements = append(p.Statements, s)
			}
			p.Unresolved = append(p.Unresolved, g.Unresolved...)
		}
		a.Principals = append(a.Principals, p)
	}
	a.Principals = append(a.Principals, groupList...)
	for _, r := range d.RoleDetailList {
		if r.Arn == "" || r.RoleName == "" {
			return nil, cairn.Errorf(cairn.EINVALID, "authorization details: a role has no Arn or RoleName")
		}
		p := &Principal{Kind: KindRole, Name: r.RoleName, ARN: r.Arn}
		var err error
		if p.Created, err = parseTime(r.CreateDate); err != nil {
			return nil, bad(KindRole, r.Arn, err)
		}
		if p.Statements, err = inline(r.RolePolicyList, ""); err != nil {
			return nil, bad(KindRole, r.Arn, err)
		}
		sts, missing, err := resolve(r.AttachedManagedPolicies, "")
		if err != nil {
			return nil, bad(KindRole, r.Arn, err)
		}
		p.Statements = append(p.Statements, sts...)
		p.Unresolved = missing
		if r.RoleLastUsed != nil {
			p.LastUsedKnown = true
			if p.LastUsed, err = parseTime(r.RoleLastUsed.LastUsedDate); err != nil {
				return nil, bad(KindRole, r.Arn, fmt.Errorf("RoleLastUsed: %v", err))
			}
		}
		a.Principals = append(a.Principals, p)
	}
	return a, nil
}

// awsManaged reports whether arn names an AWS managed policy
// (arn:PARTITION:iam::aws:policy/...).
func awsManaged(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[4] == "aws" && strings.HasPrefix(parts[5], "policy/")
}

// timeLayouts are the forms of dates in the details: the CLI's ISO 8601
// and boto3's str(datetime) that some exporters write.
var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05-07:00", "2006-01-02 15:04:05.999999-07:00", "2006-01-02T15:04:05.999999-07:00"}

// parseTime parses a date of the details; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("malformed date %q", s)
}

// The JSON shapes of a policy document.
type (
	document struct {
		Statement stringsOrObjects
	}
	statement struct {
		Effect      string
		Action      stringList
		NotAction   stringList
		Resource    stringList
		NotResource stringList
		Condition   map[string]json.RawMessage
	}
	// stringList is a string or a list of strings.
	stringList []string
	// stringsOrObjects is one statement or a list of them.
	stringsOrObjects []statement
)

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = []string{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %.40s", b)
	}
	*l = ss
	return nil
}

func (l *stringsOrObjects) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var s statement
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = []statement{s}
		return nil
	}
	var ss []statement
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}

// parseDocument parses a policy document given as a JSON object or as a
// JSON string holding the URL-encoded document (as the IAM API returns it).
func parseDocument(raw json.RawMessage, source string) ([]Statement, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if t := strings.TrimSpace(s); !strings.HasPrefix(t, "{") {
			u, err := url.QueryUnescape(s)
			if err != nil {
				return nil, fmt.Errorf("policy document: not JSON and not URL-encoded: %v", err)
			}
			s = u
		}
		raw = json.RawMessage(s)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("policy document: want a JSON object")
	}
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("policy document: %v", err)
	}
	out := make([]Statement, 0, len(d.Statement))
	for i, s := range d.Statement {
		var allow bool
		switch s.Effect {
		case "Allow":
			allow = true
		case "Deny":
		default:
			return nil, fmt.Errorf("policy document: statement %d: Effect %q is neither Allow nor Deny", i, s.Effect)
		}
		if (s.Action == nil) == (s.NotAction == nil) {
			return nil, fmt.Errorf("policy document: statement %d: want exactly one of Action and NotAction", i)
		}
		out = append(out, Statement{
			Allow: allow, Action: s.Action, NotAction: s.NotAction,
			Resource: s.Resource, NotResource: s.NotResource,
			Conditional: len(s.Condition) > 0, Source: source,
		})
	}
	return out, nil
}
