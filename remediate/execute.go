package remediate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/cairn-cdr/cairn"
)

// IAMAPI is the part of the IAM API the plans use; *iam.Client satisfies
// it, and tests may pass anything else that does.
type IAMAPI interface {
	PutUserPolicy(context.Context, *iam.PutUserPolicyInput, ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error)
	PutRolePolicy(context.Context, *iam.PutRolePolicyInput, ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteUserPolicy(context.Context, *iam.DeleteUserPolicyInput, ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error)
	DeleteRolePolicy(context.Context, *iam.DeleteRolePolicyInput, ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	CreateAccessKey(context.Context, *iam.CreateAccessKeyInput, ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error)
	UpdateAccessKey(context.Context, *iam.UpdateAccessKeyInput, ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
	DeleteAccessKey(context.Context, *iam.DeleteAccessKeyInput, ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)
	UpdateLoginProfile(context.Context, *iam.UpdateLoginProfileInput, ...func(*iam.Options)) (*iam.UpdateLoginProfileOutput, error)
	DeleteLoginProfile(context.Context, *iam.DeleteLoginProfileInput, ...func(*iam.Options)) (*iam.DeleteLoginProfileOutput, error)
	ListMFADevices(context.Context, *iam.ListMFADevicesInput, ...func(*iam.Options)) (*iam.ListMFADevicesOutput, error)
	DeactivateMFADevice(context.Context, *iam.DeactivateMFADeviceInput, ...func(*iam.Options)) (*iam.DeactivateMFADeviceOutput, error)
	DeleteVirtualMFADevice(context.Context, *iam.DeleteVirtualMFADeviceInput, ...func(*iam.Options)) (*iam.DeleteVirtualMFADeviceOutput, error)
	ListSigningCertificates(context.Context, *iam.ListSigningCertificatesInput, ...func(*iam.Options)) (*iam.ListSigningCertificatesOutput, error)
	DeleteSigningCertificate(context.Context, *iam.DeleteSigningCertificateInput, ...func(*iam.Options)) (*iam.DeleteSigningCertificateOutput, error)
	ListSSHPublicKeys(context.Context, *iam.ListSSHPublicKeysInput, ...func(*iam.Options)) (*iam.ListSSHPublicKeysOutput, error)
	DeleteSSHPublicKey(context.Context, *iam.DeleteSSHPublicKeyInput, ...func(*iam.Options)) (*iam.DeleteSSHPublicKeyOutput, error)
	ListServiceSpecificCredentials(context.Context, *iam.ListServiceSpecificCredentialsInput, ...func(*iam.Options)) (*iam.ListServiceSpecificCredentialsOutput, error)
	DeleteServiceSpecificCredential(context.Context, *iam.DeleteServiceSpecificCredentialInput, ...func(*iam.Options)) (*iam.DeleteServiceSpecificCredentialOutput, error)
	ListGroupsForUser(context.Context, *iam.ListGroupsForUserInput, ...func(*iam.Options)) (*iam.ListGroupsForUserOutput, error)
	RemoveUserFromGroup(context.Context, *iam.RemoveUserFromGroupInput, ...func(*iam.Options)) (*iam.RemoveUserFromGroupOutput, error)
	ListAttachedUserPolicies(context.Context, *iam.ListAttachedUserPoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error)
	DetachUserPolicy(context.Context, *iam.DetachUserPolicyInput, ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error)
	ListUserPolicies(context.Context, *iam.ListUserPoliciesInput, ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error)
	GetUser(context.Context, *iam.GetUserInput, ...func(*iam.Options)) (*iam.GetUserOutput, error)
	DeleteUserPermissionsBoundary(context.Context, *iam.DeleteUserPermissionsBoundaryInput, ...func(*iam.Options)) (*iam.DeleteUserPermissionsBoundaryOutput, error)
	DeleteUser(context.Context, *iam.DeleteUserInput, ...func(*iam.Options)) (*iam.DeleteUserOutput, error)
}

var _ IAMAPI = (*iam.Client)(nil)

// Result is what Execute did.
type Result struct {
	// Done describes each API call that succeeded, in order; a list call
	// names what it found, so the result records what was removed.
	Done []string `json:"done"`
	// Failed describes the call that failed, "" when none did.
	Failed string `json:"failed,omitempty"`
	Err    error  `json:"-"`
	// NewAccessKeyID and NewSecretAccessKey are the key rotate-keys
	// created. The secret is for the owner alone: hand it over out of
	// band, never log or store it (it is not marshalled).
	NewAccessKeyID     string `json:"new_access_key_id,omitempty"`
	NewSecretAccessKey string `json:"-"`
}

// Execute performs the API calls of p's steps in order and stops at the
// first failure, which it returns (also in Result.Err) with what was
// done before it. A plan that does not apply is refused before any call.
func Execute(ctx context.Context, client IAMAPI, p Plan) (Result, error) {
	var res Result
	if !p.Applies {
		res.Err = cairn.Errorf(cairn.EINVALID, "plan %s does not apply: %s", p.Strategy, p.Why)
		return res, res.Err
	}
	x := &executor{client: client, items: map[string][]map[string]any{}, res: &res}
	for _, s := range p.Steps {
		calls := []map[string]any{s.API.Params}
		if s.API.Each != "" {
			set, ok := x.items[s.API.Each]
			if !ok {
				res.Err = cairn.Errorf(cairn.EINVALID, "step %q runs for each of %s, which no earlier step lists", s.Description, s.API.Each)
				return res, res.Err
			}
			calls = calls[:0]
			for _, it := range set {
				m := maps.Clone(s.API.Params)
				if m == nil {
					m = map[string]any{}
				}
				maps.Copy(m, it)
				calls = append(calls, m)
			}
		}
		for _, params := range calls {
			desc := describe(s.API.Op, params)
			found, err := x.call(ctx, s.API.Op, params)
			if err != nil {
				res.Failed = desc
				res.Err = fmt.Errorf("%s: %w", desc, err)
				return res, res.Err
			}
			res.Done = append(res.Done, desc+found)
		}
	}
	return res, nil
}

// describe shows a call with its parameters, sorted, without the
// password or the policy text.
func describe(op string, params map[string]any) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(params)) {
		switch k {
		case "Password":
			kv = append(kv, k+"=(hidden)")
		case "PolicyDocument":
			kv = append(kv, k+"=(given)")
		default:
			kv = append(kv, fmt.Sprintf("%s=%v", k, params[k]))
		}
	}
	return op + "(" + strings.Join(kv, ", ") + ")"
}

type executor struct {
	client IAMAPI
	items  map[string][]map[string]any
	res    *Result
}

// set records the items a list call found, and describes them.
func (x *executor) set(name, key string, values []string) string {
	s := []map[string]any{}
	for _, v := range values {
		s = append(s, map[string]any{key: v})
	}
	x.items[name] = s
	return fmt.Sprintf(": %d found %v", len(values), values)
}

// call performs one API call; a list call returns a description of what
// it found.
func (x *executor) call(ctx context.Context, op string, p map[string]any) (string, error) {
	need, ok := opParams[op]
	if !ok {
		return "", cairn.Errorf(cairn.EINVALID, "unknown operation %q", op)
	}
	g := getter{p: p}
	for _, k := range need {
		if k == "PasswordResetRequired" {
			g.bool(k)
		} else {
			g.str(k)
		}
	}
	if g.err != nil {
		return "", g.err
	}
	user := func() *string { return g.str("UserName") }
	c := x.client
	var err error
	switch op {
	case "PutUserPolicy":
		_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user(), PolicyName: g.str("PolicyName"), PolicyDocument: g.str("PolicyDocument")})
	case "PutRolePolicy":
		_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: g.str("RoleName"), PolicyName: g.str("PolicyName"), PolicyDocument: g.str("PolicyDocument")})
	case "DeleteUserPolicy":
		_, err = c.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: user(), PolicyName: g.str("PolicyName")})
	case "DeleteRolePolicy":
		_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: g.str("RoleName"), PolicyName: g.str("PolicyName")})
	case "CreateAccessKey":
		var out *iam.CreateAccessKeyOutput
		if out, err = c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user()}); err == nil && out.AccessKey != nil {
			x.res.NewAccessKeyID = aws.ToString(out.AccessKey.AccessKeyId)
			x.res.NewSecretAccessKey = aws.ToString(out.AccessKey.SecretAccessKey)
			return ": " + x.res.NewAccessKeyID, nil
		}
	case "UpdateAccessKey":
		_, err = c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user(), AccessKeyId: g.str("AccessKeyId"), Status: types.StatusType(aws.ToString(g.str("Status")))})
	case "DeleteAccessKey":
		_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user(), AccessKeyId: g.str("AccessKeyId")})
	case "UpdateLoginProfile":
		_, err = c.UpdateLoginProfile(ctx, &iam.UpdateLoginProfileInput{UserName: user(), Password: g.str("Password"), PasswordResetRequired: g.bool("PasswordResetRequired")})
	case "DeleteLoginProfile":
		_, err = c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: user()})
		// A user without a password is what this call is for.
		if nse := (*types.NoSuchEntityException)(nil); errors.As(err, &nse) {
			return ": the user had no console password", nil
		}
	case "DeactivateMFADevice":
		_, err = c.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: user(), SerialNumber: g.str("SerialNumber")})
	case "DeleteVirtualMFADevice":
		_, err = c.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: g.str("SerialNumber")})
	case "DeleteSigningCertificate":
		_, err = c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: user(), CertificateId: g.str("CertificateId")})
	case "DeleteSSHPublicKey":
		_, err = c.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: user(), SSHPublicKeyId: g.str("SSHPublicKeyId")})
	case "DeleteServiceSpecificCredential":
		_, err = c.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: user(), ServiceSpecificCredentialId: g.str("ServiceSpecificCredentialId")})
	case "RemoveUserFromGroup":
		_, err = c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: user(), GroupName: g.str("GroupName")})
	case "DetachUserPolicy":
		_, err = c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user(), PolicyArn: g.str("PolicyArn")})
	case "DeleteUserPermissionsBoundary":
		_, err = c.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: user()})
	case "DeleteUser":
		_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user()})
	default:
		return x.list(ctx, op, &g)
	}
	return "", err
}

// list performs a list call, following every page, and keeps what it
// found for the calls that run for each item.
func (x *executor) list(ctx context.Context, op string, g *getter) (string, error) {
	c, u := x.client, g.str("UserName")
	var vals []string
	switch op {
	case "ListAccessKeys":
		pg := iam.NewListAccessKeysPaginator(c, &iam.ListAccessKeysInput{UserName: u})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return "", err
			}
			for _, k := range out.AccessKeyMetadata {
				vals = append(vals, aws.ToString(k.AccessKeyId))
			}
		}
		return x.set(EachAccessKey, "AccessKeyId", vals), nil
	case "ListMFADevices":
		pg := iam.NewListMFADevicesPaginator(c, &iam.ListMFADevicesInput{UserName: u})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return "", err
			}
			for _, d := range out.MFADevices {
				vals = append(vals, aws.ToString(d.SerialNumber))
			}
		}
		var virtual []string
		for _, v := range vals {
			if strings.HasPrefix(v, "arn:") {
				virtual = append(virtual, v)
			}
		}
		x.set(EachVirtualMFADevice, "SerialNumber", virtual)
		return x.set(EachMFADevice, "SerialNumber", vals), nil
	case "ListSigningCertificates":
		pg := iam.NewListSigningCertificatesPaginator(c, &iam.ListSigningCertificatesInput{UserName: u})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return "", err
			}
			for _, s := range out.Certificates {
				vals = append(vals, aws.ToString(s.CertificateId))
			}
		}
		return x.set(EachSigningCertificate, "CertificateId", vals), nil
	case "ListSSHPublicKeys":
		pg := iam.NewListSSHPublicKeysPaginator(c, &iam.ListSSHPublicKeysInput{UserName: u})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return "", err
			}
			for _, k := range out.SSHPublicKeys {
				vals = append(vals, aws.ToString(k.SSHPublicKeyId))
			}
		}
		return x.set(EachSSHPublicKey, "SSHPublicKeyId", vals), nil
	case "ListServiceSpecificCredentials":
		// No paginator in the SDK: follow the marker by hand.
		in := &iam.ListServiceSpecificCredentialsInput{UserName: u}
		for range 1000 {
			out, err := c.ListServiceSpecificCredentials(ctx, in)
			if err != nil {
				return "", err
			}
			for _, s := range out.ServiceSpecificCredentials {
				vals = append(vals, aws.ToString(s.ServiceSpecificCredentialId))
			}
			if !out.IsTruncated || aws.ToString(out.Marker) == "" {
				break
			}
			in.Marker = out.Marker
		}
		return x.set(EachServiceSpecificCredential, "ServiceSpecificCredentialId", vals), nil
	case "ListGroupsForUser":
		pg := iam.NewListGroupsForUserPaginator(c, &iam.ListGroupsForUserInput{UserName: u})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return "", err
			}
			for _, gr := range out.Groups {
				vals = append(vals, aws.ToString(gr.GroupName))
			}
		}
		return x.set(EachGroup, "GroupName", vals), nil
	case "ListAttachedUserPolicies":
		pg := iam.NewListAttachedUserPoliciesPaginator(c, &iam.ListAttachedUserPoliciesInput{UserName: u})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return "", err
			}
			for _, ap := range out.AttachedPolicies {
				vals = append(vals, aws.ToString(ap.PolicyArn))
			}
		}
		return x.set(EachAttachedPolicy, "PolicyArn", vals), nil
	case "ListUserPolicies":
		pg := iam.NewListUserPoliciesPaginator(c, &iam.ListUserPoliciesInput{UserName: u})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return "", err
			}
			vals = append(vals, out.PolicyNames...)
		}
		return x.set(EachInlinePolicy, "PolicyName", vals), nil
	case "GetUser":
		out, err := c.GetUser(ctx, &iam.GetUserInput{UserName: u})
		if err != nil {
			return "", err
		}
		x.items[EachPermissionsBoundary] = []map[string]any{}
		if out.User != nil && out.User.PermissionsBoundary != nil {
			x.items[EachPermissionsBoundary] = []map[string]any{{}}
			return ": permissions boundary " + aws.ToString(out.User.PermissionsBoundary.PermissionsBoundaryArn), nil
		}
		return ": no permissions boundary", nil
	}
	return "", cairn.Errorf(cairn.EINVALID, "unknown operation %q", op)
}

// opParams are the operations Execute knows, with the parameters each
// requires (PasswordResetRequired a boolean, the others strings).
var opParams = map[string][]string{
	"PutUserPolicy":                   {"UserName", "PolicyName", "PolicyDocument"},
	"PutRolePolicy":                   {"RoleName", "PolicyName", "PolicyDocument"},
	"DeleteUserPolicy":                {"UserName", "PolicyName"},
	"DeleteRolePolicy":                {"RoleName", "PolicyName"},
	"CreateAccessKey":                 {"UserName"},
	"UpdateAccessKey":                 {"UserName", "AccessKeyId", "Status"},
	"DeleteAccessKey":                 {"UserName", "AccessKeyId"},
	"UpdateLoginProfile":              {"UserName", "Password", "PasswordResetRequired"},
	"DeleteLoginProfile":              {"UserName"},
	"DeactivateMFADevice":             {"UserName", "SerialNumber"},
	"DeleteVirtualMFADevice":          {"SerialNumber"},
	"DeleteSigningCertificate":        {"UserName", "CertificateId"},
	"DeleteSSHPublicKey":              {"UserName", "SSHPublicKeyId"},
	"DeleteServiceSpecificCredential": {"UserName", "ServiceSpecificCredentialId"},
	"RemoveUserFromGroup":             {"UserName", "GroupName"},
	"DetachUserPolicy":                {"UserName", "PolicyArn"},
	"DeleteUserPermissionsBoundary":   {"UserName"},
	"DeleteUser":                      {"UserName"},
	"ListAccessKeys":                  {"UserName"},
	"ListMFADevices":                  {"UserName"},
	"ListSigningCertificates":         {"UserName"},
	"ListSSHPublicKeys":               {"UserName"},
	"ListServiceSpecificCredentials":  {"UserName"},
	"ListGroupsForUser":               {"UserName"},
	"ListAttachedUserPolicies":        {"UserName"},
	"ListUserPolicies":                {"UserName"},
	"GetUser":                         {"UserName"},
}

// getter reads call parameters, keeping the first error.
type getter struct {
	p   map[string]any
	err error
}

func (g *getter) str(k string) *string {
	s, ok := g.p[k].(string)
	if !ok && g.err == nil {
		g.err = cairn.Errorf(cairn.EINVALID, "parameter %s missing or not a string", k)
	}
	return aws.String(s)
}

func (g *getter) bool(k string) *bool {
	b, ok := g.p[k].(bool)
	if !ok && g.err == nil {
		g.err = cairn.Errorf(cairn.EINVALID, "parameter %s missing or not a boolean", k)
	}
	return aws.Bool(b)
}
