// Package remediate turns a compromised AWS identity into remediation
// plans (restrict its source addresses, revoke its sessions, deactivate,
// delete, reset its password, rotate its keys) and carries a plan out
// through the IAM API.
//
// The identity comes from events, and events are attacker-controlled: a
// Target is built only from names that match the grammar IAM itself
// accepts, policies are marshalled from structs, every value in a CLI
// line goes through ShellQuote, and API calls pass values as parameters,
// never as text to be parsed again.
package remediate

import (
	"regexp"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn"
)

// The identity types a Target can have, as CloudTrail's userIdentity.type
// names them. A role is keyed by its ARN and typed AssumedRole, as cairn
// keys the sessions of a role.
const (
	TypeIAMUser     = "IAMUser"
	TypeAssumedRole = "AssumedRole"
	TypeRoot        = "Root"
)

// The grammars IAM and STS accept.
var (
	reIAMName   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	reAccessKey = regexp.MustCompile(`^(AKIA|ASIA)[A-Z0-9]{16}$`)
	reAccount   = regexp.MustCompile(`^\d{12}$`)
	rePartition = regexp.MustCompile(`^aws(-[a-z]+){0,3}$`)
	// A path segment of an IAM path: IAM allows any printable ASCII but
	// the slash. The path never reaches a command; it only has to be
	// well formed.
	rePathPart = regexp.MustCompile(`^[!-.0-~]+$`)
	// A role session name, as STS accepts it.
	reSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// Target is the identity a plan acts on, parsed from cairn's canonical
// identity key.
type Target struct {
	// Key is the identity key as given (cloud.identity).
	Key string
	// Type is TypeIAMUser, TypeAssumedRole or TypeRoot.
	Type    string
	Account string
	// UserName is set for an IAM user, RoleName for a role.
	UserName string
	RoleName string
	// AccessKeys are the access key ids the case saw the identity use,
	// long-term (AKIA) and temporary (ASIA), without duplicates.
	AccessKeys []string
}

// IsUser reports whether t is an IAM user.
func (t Target) IsUser() bool { return t.Type == TypeIAMUser }

// IsRole reports whether t is a role.
func (t Target) IsRole() bool { return t.Type == TypeAssumedRole }

// LongTermKeys returns the AKIA keys of t: the ones that stay valid until
// deactivated, unlike session (ASIA) keys.
func (t Target) LongTermKeys() []string {
	var out []string
	for _, k := range t.AccessKeys {
		if strings.HasPrefix(k, "AKIA") {
			out = append(out, k)
		}
	}
	return out
}

// TargetOf parses an identity key — an IAM user's ARN
// (arn:aws:iam::123456789012:user/path/name), a role's ARN, the ARN of an
// assumed-role session (arn:aws:sts::…:assumed-role/name/session, taken
// as its role) or the root ARN — with the access keys seen for it. Any
// part that IAM would not accept makes it an EINVALID error: such a key
// cannot belong to a real identity, and its names must not reach a
// command.
func TargetOf(key string, keys []string) (Target, error) {
	bad := func(why string) (Target, error) {
		return Target{}, cairn.Errorf(cairn.EINVALID, "identity %q: %s", key, why)
	}
	parts := strings.SplitN(key, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return bad("not an ARN")
	}
	partition, service, region, account, resource := parts[1], parts[2], parts[3], parts[4], parts[5]
	if !rePartition.MatchString(partition) {
		return bad("unknown partition")
	}
	if region != "" {
		return bad("IAM ARNs have no region")
	}
	if !reAccount.MatchString(account) {
		return bad("the account is not 12 digits")
	}
	t := Target{Key: key, Account: account}
	switch {
	case service == "iam" && resource == "root":
		t.Type = TypeRoot
	case service == "iam" && strings.HasPrefix(resource, "user/"):
		name, ok := pathName(strings.TrimPrefix(resource, "user/"))
		if !ok {
			return bad("malformed user path or name")
		}
		t.Type, t.UserName = TypeIAMUser, name
	case service == "iam" && strings.HasPrefix(resource, "role/"):
		name, ok := pathName(strings.TrimPrefix(resource, "role/"))
		if !ok {
			return bad("malformed role path or name")
		}
		t.Type, t.RoleName = TypeAssumedRole, name
	case service == "sts" && strings.HasPrefix(resource, "assumed-role/"):
		rest := strings.Split(strings.TrimPrefix(resource, "assumed-role/"), "/")
		if len(rest) != 2 || !reIAMName.MatchString(rest[0]) || !reSessionName.MatchString(rest[1]) {
			return bad("malformed assumed-role session")
		}
		t.Type, t.RoleName = TypeAssumedRole, rest[0]
	default:
		return bad("not an IAM user, role, assumed-role session or root")
	}
	for _, k := range keys {
		if !reAccessKey.MatchString(k) {
			return bad("malformed access key id")
		}
		if t.IsRole() && strings.HasPrefix(k, "AKIA") {
			return bad("a role has no long-term (AKIA) access key")
		}
		if !slices.Contains(t.AccessKeys, k) {
			t.AccessKeys = append(t.AccessKeys, k)
		}
	}
	return t, nil
}

// pathName splits "path/segments/name" into the name, checking the path
// (at most 512 characters, as IAM allows) and the name.
func pathName(s string) (string, bool) {
	segs := strings.Split(s, "/")
	name := segs[len(segs)-1]
	if !reIAMName.MatchString(name) || len(s)-len(name) > 512 {
		return "", false
	}
	for _, p := range segs[:len(segs)-1] {
		if !rePathPart.MatchString(p) {
			return "", false
		}
	}
	return name, true
}

// UsableKeys splits access key ids into those TargetOf takes and the
// malformed rest, so that a caller can leave out (and report) a key an
// event carried that is not a key, instead of giving up on the identity.
func UsableKeys(keys []string) (ok, bad []string) {
	for _, k := range keys {
		if reAccessKey.MatchString(k) {
			ok = append(ok, k)
		} else {
			bad = append(bad, k)
		}
	}
	return ok, bad
}
