package remediate

import (
	"crypto/rand"
	"fmt"
	"github.com/cairn-cdr/cairn"
	"math/big"
	"net/netip"
	"strings"
	"time"
)

// Strategy names a way to contain a compromised identity.
type Strategy string

// The strategies, in the order Plans returns them: from the least
// disruptive (the identity keeps working from the allowed networks) to
// the most (the identity is gone).
const (
	RestrictSourceIP Strategy = "restrict-source-ip"
	RevokeSessions   Strategy = "revoke-sessions"
	Deactivate       Strategy = "deactivate"
	ResetPassword    Strategy = "reset-password"
	RotateKeys       Strategy = "rotate-keys"
	Delete           Strategy = "delete"
)

// The item sets that list calls fill during Execute and that a Call's
// Each names: the call runs once for every item, with the item's
// identifying parameter added to its own.
const (
	EachAccessKey                 = "AccessKeys"                 // AccessKeyId
	EachMFADevice                 = "MFADevices"                 // SerialNumber
	EachVirtualMFADevice          = "VirtualMFADevices"          // SerialNumber (ARN serials only)
	EachSigningCertificate        = "SigningCertificates"        // CertificateId
	EachSSHPublicKey              = "SSHPublicKeys"              // SSHPublicKeyId
	EachServiceSpecificCredential = "ServiceSpecificCredentials" // ServiceSpecificCredentialId
	EachGroup                     = "Groups"                     // GroupName
	EachAttachedPolicy            = "AttachedPolicies"           // PolicyArn
	EachInlinePolicy              = "InlinePolicies"             // PolicyName
	EachPermissionsBoundary       = "PermissionsBoundary"        // one empty item when the user has one
)

// Options are what a plan needs beyond the target.
type Options struct {
	// Now is the revocation time of revoke-sessions: credentials issued
	// before it are denied.
	Now time.Time
	// CIDRs are the source networks restrict-source-ip keeps allowed.
	CIDRs []string
	// NewPassword makes the console password of reset-password; nil
	// means RandomPassword.
	NewPassword func() string
}

// Plan is one strategy for one target: whether it applies, what must be
// true first, the steps (as an AWS CLI line and as an API call), how to
// undo them, and what they do not cover.
type Plan struct {
	Strategy Strategy `json:"strategy"`
	Title    string   `json:"title"`
	Applies  bool     `json:"applies"`
	// Why says why the plan does not apply (or, when it does, why it is
	// offered).
	Why           string   `json:"why"`
	Preconditions []string `json:"preconditions,omitempty"`
	Steps         []Step   `json:"steps,omitempty"`
	// Rollback undoes the steps as far as they can be undone; empty when
	// they cannot (Notes say so).
	Rollback []Step   `json:"rollback,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Step is one action of a plan.
type Step struct {
	Description string `json:"description"`
	// CLI is the same action as an AWS CLI command line, every value
	// shell-quoted.
	CLI string `json:"cli"`
	API Call   `json:"api"`
}

// Call is one IAM API operation with its parameters, named as the API
// names them (UserName, PolicyDocument, ...).
type Call struct {
	Op     string         `json:"op"`
	Params map[string]any `json:"params"`
	// Each, when set, names an item set (Each* constants) filled by an
	// earlier list call: the call runs once per item.
	Each string `json:"each,omitempty"`
}

// Plans returns every strategy for t, in a fixed order, each marked
// whether it applies to t with opts.
func Plans(t Target, opts Options) []Plan {
	return []Plan{
		restrictPlan(t, opts),
		revokePlan(t, opts),
		deactivatePlan(t),
		resetPasswordPlan(t, opts),
		rotateKeysPlan(t),
		deletePlan(t),
	}
}

// notApplicable is a plan that only says why it does not apply.
func notApplicable(s Strategy, title, why string) Plan {
	return Plan{Strategy: s, Title: title, Why: why}
}

const rootWhy = "the root user is not bound by IAM policies and cannot be changed through IAM: sign in as root, change its password, delete its access keys, enable MFA, and use an SCP from the organization to restrict it"

func params(kv ...string) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// putPolicy is the step attaching an inline policy to t (a user or a
// role), and its rollback.
func putPolicy(t Target, desc, name string, doc policyDocument) (Step, Step) {
	if t.IsRole() {
		return Step{
				Description: desc,
				CLI:         awsIAM("put-role-policy").opt("role-name", t.RoleName).opt("policy-name", name).opt("policy-document", doc.String()).String(),
				API:         Call{Op: "PutRolePolicy", Params: params("RoleName", t.RoleName, "PolicyName", name, "PolicyDocument", doc.String())},
			}, Step{
				Description: "Remove the inline policy " + name + " from the role",
				CLI:         awsIAM("delete-role-policy").opt("role-name", t.RoleName).opt("policy-name", name).String(),
				API:         Call{Op: "DeleteRolePolicy", Params: params("RoleName", t.RoleName, "PolicyName", name)},
			}
	}
	return Step{
			Description: desc,
			CLI:         awsIAM("put-user-policy").opt("user-name", t.UserName).opt("policy-name", name).opt("policy-document", doc.String()).String(),
			API:         Call{Op: "PutUserPolicy", Params: params("UserName", t.UserName, "PolicyName", name, "PolicyDocument", doc.String())},
		}, Step{
			Description: "Remove the inline policy " + name + " from the user",
			CLI:         awsIAM("delete-user-policy").opt("user-name", t.UserName).opt("policy-name", name).String(),
			API:         Call{Op: "DeleteUserPolicy", Params: params("UserName", t.UserName, "PolicyName", name)},
		}
}

// CheckCIDRs validates source networks and returns them in canonical
// form (host bits cleared). A network that contains every address of its
// family is refused: the deny would never match.
func CheckCIDRs(cidrs []string) ([]string, error) {
	if len(cidrs) == 0 {
		return nil, cairn.Errorf(cairn.EINVALID, "no allowed source CIDR given")
	}
	out := make([]string, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "%q is not a CIDR", c)
		}
		if p.Bits() == 0 {
			return nil, cairn.Errorf(cairn.EINVALID, "%q allows every address", c)
		}
		out = append(out, p.Masked().String())
	}
	return out, nil
}

func restrictPlan(t Target, opts Options) Plan {
	const title = "Allow the identity's requests only from known networks"
	if t.Type == TypeRoot {
		return notApplicable(RestrictSourceIP, title, rootWhy)
	}
	cidrs, err := CheckCIDRs(opts.CIDRs)
	if err != nil {
		return notApplicable(RestrictSourceIP, title, err.Error())
	}
	who := "user"
	if t.IsRole() {
		who = "role"
	}
	step, undo := putPolicy(t, fmt.Sprintf("Attach the inline policy %s to the %s: deny every request from outside %s", PolicyRestrictSourceIP, who, strings.Join(cidrs, ", ")), PolicyRestrictSourceIP, restrictPolicy(cidrs))
	return Plan{
		Strategy: RestrictSourceIP, Title: title, Applies: true,
		Why: "keeps the identity working for its owners while stolen credentials used from elsewhere are denied",
		Preconditions: []string{
			"the allowed networks are the legitimate callers' public egress addresses (NAT gateways, office ranges), and the attacker's addresses are not among them",
			"callers that reach AWS through VPC endpoints are accounted for: their requests carry aws:VpcSourceIp, not aws:SourceIp, so this policy denies them",
		},
		Steps:    []Step{step},
		Rollback: []Step{undo},
		Notes: []string{
			"The deny is limited by BoolIfExists aws:ViaAWSService=false so that calls an AWS service makes on the identity's behalf (CloudFormation, Athena reading S3, KMS through EBS) keep working: they come from the service's addresses. The same exemption lets an attacker holding the credentials still act through such services from anywhere: pair this with revoke-sessions or deactivate when the credentials are known to be stolen.",
			"An explicit deny overrides every allow, so this also applies to sessions already issued; it does not stop an attacker who operates from inside an allowed network.",
		},
	}
}

func revokePlan(t Target, opts Options) Plan {
	const title = "Revoke the identity's temporary credentials issued until now"
	switch {
	case t.Type == TypeRoot:
		return notApplicable(RevokeSessions, title, rootWhy)
	case !t.IsUser() && !t.IsRole():
		return notApplicable(RevokeSessions, title, "only IAM users and roles have sessions to revoke")
	case opts.Now.IsZero():
		return notApplicable(RevokeSessions, title, "no revocation time given")
	}
	at := opts.Now.UTC().Format(time.RFC3339)
	who := "user"
	if t.IsRole() {
		who = "role"
	}
	step, undo := putPolicy(t, fmt.Sprintf("Attach the inline policy %s to the %s: deny every request signed with credentials issued before %s", PolicyRevokeSessions, who, at), PolicyRevokeSessions, revokePolicy(opts.Now))
	p := Plan{
		Strategy: RevokeSessions, Title: title, Applies: true,
		Why:           "temporary credentials cannot be deleted; denying those issued before a time is the way IAM revokes them",
		Preconditions: []string{"the time " + at + " is after the last use of the stolen credentials seen in the case"},
		Steps:         []Step{step},
		Rollback:      []Step{undo},
		Notes: []string{
			"Credentials issued at or after " + at + " keep working: whoever can obtain new ones still can.",
			"Leave the policy in place until every session issued before " + at + " has expired (role sessions last at most 12 hours, GetSessionToken credentials 36 hours); removing it earlier revives them.",
		},
	}
	if t.IsRole() {
		p.Notes = append(p.Notes, "Legitimate users and services get new credentials by assuming the role again. Find how the attacker obtained the role's credentials (its trust policy, an instance's metadata service, a leaked token) and close that, or they will assume it again.")
	} else {
		p.Notes = append(p.Notes, "Session revocation does not stop long-term AKIA keys: their requests carry no token issue time. Deactivate or rotate the user's access keys as well.")
	}
	return p
}

func deactivatePlan(t Target) Plan {
	const title = "Deactivate the user's access keys and remove its console password"
	switch {
	case t.Type == TypeRoot:
		return notApplicable(Deactivate, title, rootWhy)
	case !t.IsUser():
		return notApplicable(Deactivate, title, "only an IAM user has access keys and a console password; revoke a role's sessions instead")
	}
	u := t.UserName
	p := Plan{
		Strategy: Deactivate, Title: title, Applies: true,
		Why: "stops every long-term credential of the user at once while keeping the keys for the investigation (an inactive key can be reactivated; a deleted one cannot)",
		Preconditions: []string{
			"nothing legitimate depends on the user's keys, or its owners accept the outage",
		},
		Steps: []Step{
			{
				Description: "List the user's access keys (an attacker may have created more than the case shows)",
				CLI:         capture("keys", awsIAM("list-access-keys").opt("user-name", u), "AccessKeyMetadata[].AccessKeyId"),
				API:         Call{Op: "ListAccessKeys", Params: params("UserName", u)},
			},
			{
				Description: "Deactivate each access key",
				CLI:         loop("keys", awsIAM("update-access-key").opt("user-name", u).raw(`--access-key-id "$id" --status Inactive`)),
				API:         Call{Op: "UpdateAccessKey", Params: params("UserName", u, "Status", "Inactive"), Each: EachAccessKey},
			},
			{
				Description: "Delete the user's console password (a user without one is already in that state)",
				CLI:         awsIAM("delete-login-profile").opt("user-name", u).String(),
				API:         Call{Op: "DeleteLoginProfile", Params: params("UserName", u)},
			},
		},
		Notes: []string{
			"Session revocation does not stop long-term AKIA keys, and deactivating keys does not end sessions already issued: run revoke-sessions too.",
			"The console password cannot be restored: give the owner a new one with reset-password (which needs a login profile: create-login-profile) when the case is closed.",
		},
	}
	for _, k := range t.LongTermKeys() {
		p.Rollback = append(p.Rollback, Step{
			Description: "Reactivate the access key " + k,
			CLI:         awsIAM("update-access-key").opt("user-name", u).opt("access-key-id", k).opt("status", "Active").String(),
			API:         Call{Op: "UpdateAccessKey", Params: params("UserName", u, "AccessKeyId", k, "Status", "Active")},
		})
	}
	if len(p.Rollback) == 0 {
		p.Notes = append(p.Notes, "The case names no long-term key of this user, so no rollback is written: the result of the run lists every key deactivated.")
	}
	return p
}

func resetPasswordPlan(t Target, opts Options) Plan {
	const title = "Reset the user's console password"
	switch {
	case t.Type == TypeRoot:
		return notApplicable(ResetPassword, title, rootWhy)
	case !t.IsUser():
		return notApplicable(ResetPassword, title, "only an IAM user has a console password")
	}
	gen := opts.NewPassword
	if gen == nil {
		gen = RandomPassword
	}
	pw := gen()
	if pw == "" {
		return notApplicable(ResetPassword, title, "no new password could be made")
	}
	u := t.UserName
	return Plan{
		Strategy: ResetPassword, Title: title, Applies: true,
		Why:           "a stolen console password stops working, and the owner must choose a new one at the next sign-in",
		Preconditions: []string{"the user has a console password (a login profile); without one there is nothing to reset"},
		Steps: []Step{{
			Description: "Set a new random password that must be changed at the next sign-in",
			CLI:         awsIAM("update-login-profile").opt("user-name", u).opt("password", pw).raw("--password-reset-required").String(),
			API:         Call{Op: "UpdateLoginProfile", Params: map[string]any{"UserName": u, "Password": pw, "PasswordResetRequired": true}},
		}},
		Notes: []string{
			"This plan holds the new password: hand it to the owner out of band (not through the case, chat or e-mail the attacker may read) and do not store the plan.",
			"The old password cannot be restored. Console sessions already signed in are not ended: run revoke-sessions too, and check the user's MFA devices for one the attacker added.",
		},
	}
}

func rotateKeysPlan(t Target) Plan {
	const title = "Rotate the user's access keys"
	switch {
	case t.Type == TypeRoot:
		return notApplicable(RotateKeys, title, rootWhy)
	case !t.IsUser():
		return notApplicable(RotateKeys, title, "a role's credentials are temporary and cannot be rotated; revoke its sessions instead")
	}
	u := t.UserName
	return Plan{
		Strategy: RotateKeys, Title: title, Applies: true,
		Why: "the owner gets a working key while every key the attacker may know is deleted",
		Preconditions: []string{
			"the user has at most one access key now (IAM allows two, and the new one must fit); with two, run deactivate and delete one first",
			"the owner is ready to receive the new key and switch every application that used the old one",
		},
		Steps: []Step{
			{
				Description: "List the user's current access keys: all of them are replaced",
				CLI:         capture("old_keys", awsIAM("list-access-keys").opt("user-name", u), "AccessKeyMetadata[].AccessKeyId"),
				API:         Call{Op: "ListAccessKeys", Params: params("UserName", u)},
			},
			{
				Description: "Create the new access key",
				CLI:         awsIAM("create-access-key").opt("user-name", u).String(),
				API:         Call{Op: "CreateAccessKey", Params: params("UserName", u)},
			},
			{
				Description: "Deactivate each old access key",
				CLI:         loop("old_keys", awsIAM("update-access-key").opt("user-name", u).raw(`--access-key-id "$id" --status Inactive`)),
				API:         Call{Op: "UpdateAccessKey", Params: params("UserName", u, "Status", "Inactive"), Each: EachAccessKey},
			},
			{
				Description: "Delete each old access key",
				CLI:         loop("old_keys", awsIAM("delete-access-key").opt("user-name", u).raw(`--access-key-id "$id"`)),
				API:         Call{Op: "DeleteAccessKey", Params: params("UserName", u), Each: EachAccessKey},
			},
		},
		Notes: []string{
			"The new secret access key is shown once, in the result of create-access-key: hand it to the owner out of band (not through the case, chat or e-mail the attacker may read) and never log it.",
			"Deleted keys cannot be restored, so there is no rollback; applications still using an old key fail from now on.",
			"Session revocation does not stop long-term AKIA keys and rotation does not end sessions already issued: run revoke-sessions too.",
		},
	}
}

func deletePlan(t Target) Plan {
	const title = "Delete the IAM user"
	switch {
	case t.Type == TypeRoot:
		return notApplicable(Delete, title, rootWhy)
	case !t.IsUser():
		return notApplicable(Delete, title, "only IAM users are deleted by this plan; revoke a role's sessions and fix its trust policy instead")
	}
	u := t.UserName
	list := func(desc, op, sub, name, query string) Step {
		return Step{Description: desc, CLI: capture(name, awsIAM(sub).opt("user-name", u), query), API: Call{Op: op, Params: params("UserName", u)}}
	}
	remove := func(desc, name string, body *cmdline, op string, each string) Step {
		return Step{Description: desc, CLI: loop(name, body), API: Call{Op: op, Params: params("UserName", u), Each: each}}
	}
	steps := []Step{
		list("List the user's access keys", "ListAccessKeys", "list-access-keys", "keys", "AccessKeyMetadata[].AccessKeyId"),
		list("List the user's MFA devices", "ListMFADevices", "list-mfa-devices", "mfa", "MFADevices[].SerialNumber"),
		list("List the user's signing certificates", "ListSigningCertificates", "list-signing-certificates", "certs", "Certificates[].CertificateId"),
		list("List the user's SSH public keys", "ListSSHPublicKeys", "list-ssh-public-keys", "ssh_keys", "SSHPublicKeys[].SSHPublicKeyId"),
		list("List the user's service-specific credentials", "ListServiceSpecificCredentials", "list-service-specific-credentials", "creds", "ServiceSpecificCredentials[].ServiceSpecificCredentialId"),
		list("List the user's groups", "ListGroupsForUser", "list-groups-for-user", "groups", "Groups[].GroupName"),
		list("List the managed policies attached to the user", "ListAttachedUserPolicies", "list-attached-user-policies", "attached", "AttachedPolicies[].PolicyArn"),
		list("List the user's inline policies", "ListUserPolicies", "list-user-policies", "inline", "PolicyNames[]"),
		list("Read the user's permissions boundary", "GetUser", "get-user", "boundary", "User.PermissionsBoundary.PermissionsBoundaryArn"),
		remove("Delete each access key", "keys", awsIAM("delete-access-key").opt("user-name", u).raw(`--access-key-id "$id"`), "DeleteAccessKey", EachAccessKey),
		{Description: "Delete the console password (a user without one is already in that state)", CLI: awsIAM("delete-login-profile").opt("user-name", u).String(), API: Call{Op: "DeleteLoginProfile", Params: params("UserName", u)}},
		remove("Deactivate each MFA device", "mfa", awsIAM("deactivate-mfa-device").opt("user-name", u).raw(`--serial-number "$id"`), "DeactivateMFADevice", EachMFADevice),
		{
			Description: "Delete each virtual MFA device the user had (its serial number is an ARN; hardware devices have none to delete)",
			CLI:         `for id in $mfa; do case "$id" in arn:*) aws iam delete-virtual-mfa-device --serial-number "$id";; esac; done`,
			API:         Call{Op: "DeleteVirtualMFADevice", Params: map[string]any{}, Each: EachVirtualMFADevice},
		},
		remove("Delete each signing certificate", "certs", awsIAM("delete-signing-certificate").opt("user-name", u).raw(`--certificate-id "$id"`), "DeleteSigningCertificate", EachSigningCertificate),
		remove("Delete each SSH public key", "ssh_keys", awsIAM("delete-ssh-public-key").opt("user-name", u).raw(`--ssh-public-key-id "$id"`), "DeleteSSHPublicKey", EachSSHPublicKey),
		remove("Delete each service-specific credential", "creds", awsIAM("delete-service-specific-credential").opt("user-name", u).raw(`--service-specific-credential-id "$id"`), "DeleteServiceSpecificCredential", EachServiceSpecificCredential),
		remove("Remove the user from each group", "groups", awsIAM("remove-user-from-group").opt("user-name", u).raw(`--group-name "$id"`), "RemoveUserFromGroup", EachGroup),
		remove("Detach each managed policy", "attached", awsIAM("detach-user-policy").opt("user-name", u).raw(`--policy-arn "$id"`), "DetachUserPolicy", EachAttachedPolicy),
		remove("Delete each inline policy", "inline", awsIAM("delete-user-policy").opt("user-name", u).raw(`--policy-name "$id"`), "DeleteUserPolicy", EachInlinePolicy),
		{
			Description: "Remove the permissions boundary, if the user has one",
			CLI:         `if [ "$boundary" != None ]; then ` + awsIAM("delete-user-permissions-boundary").opt("user-name", u).String() + "; fi",
			API:         Call{Op: "DeleteUserPermissionsBoundary", Params: params("UserName", u), Each: EachPermissionsBoundary},
		},
		{Description: "Delete the user", CLI: awsIAM("delete-user").opt("user-name", u).String(), API: Call{Op: "DeleteUser", Params: params("UserName", u)}},
	}
	return Plan{
		Strategy: Delete, Title: title, Applies: true,
		Why: "removes the user and every credential it has, for a user that should not exist (one the attacker created, or one no longer needed)",
		Preconditions: []string{
			"the evidence is captured: the user's keys, policies, groups and CloudTrail history (the listing steps record what is removed)",
			"nothing legitimate uses the user",
		},
		Steps: steps,
		Notes: []string{
			"Deletion cannot be undone: a new user with the same name is a different principal, with new keys and a new unique id.",
			"Sessions the user obtained before deletion stop working once the user is gone, but resources it created (roles, users, keys of other users, Lambda functions) remain: review its CloudTrail history for them.",
		},
	}
}

// passwordChars are the classes a generated password draws from; IAM's
// password policies ask for at least one of each.
var passwordChars = []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!@#$%^&*()_+-=[]{}|"}

// RandomPassword returns a 24-character password from crypto/rand with
// at least one upper-case letter, lower-case letter, digit and symbol.
func RandomPassword() string {
	const n = 24
	all := strings.Join(passwordChars, "")
	pick := func(set string) byte {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported systems
		}
		return set[i.Int64()]
	}
	b := make([]byte, n)
	for i := range b {
		if i < len(passwordChars) {
			b[i] = pick(passwordChars[i])
		} else {
			b[i] = pick(all)
		}
	}
	// Shuffle so the classes are not at fixed positions.
	for i := n - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			panic(err)
		}
		b[i], b[j.Int64()] = b[j.Int64()], b[i]
	}
	return string(b)
}
