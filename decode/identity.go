package decode

import (
	"strings"

	"github.com/cairn-cdr/cairn"
)

// CanonicalIdentity returns the canonical key of a cloud identity, the
// cloud.identity field, so that every capability keys identities the
// same way:
//
//   - IAMUser: its ARN (arn:aws:iam::<account>:user/<name> when the ARN is
//     missing);
//   - AssumedRole: the role's ARN, from the session issuer when known,
//     else derived from the session's ARN
//     (arn:aws:sts::<acct>:assumed-role/<role>/<session> becomes
//     arn:aws:iam::<acct>:role/<role>; a role with a path needs the
//     issuer's ARN);
//   - Role: its ARN;
//   - Root and AWSAccount: arn:aws:iam::<account>:root;
//   - FederatedUser: the federated ARN
//     (arn:aws:sts::<account>:federated-user/<name>);
//   - SAMLUser and WebIdentityUser: <type>:<provider>:<user name or
//     principal id>, with the provider in IssuerARN;
//   - AWSService: the invoking service's name (ec2.amazonaws.com);
//   - IdentityCenterUser: identitycenter:<identity store ARN>:<user id>,
//     with the store in IssuerARN and the user id in PrincipalID;
//   - Unknown, or no identity at all: "".
//
// An Identity without a Type is typed from its ARN (user, assumed-role,
// role, root, federated-user), so an ARN alone keys the same way a
// CloudTrail record does. Other types key by ARN, else by
// <type>:<principal id>.
func CanonicalIdentity(id cairn.Identity) string {
	typ := id.Type
	if typ == "" {
		typ = typeFromARN(id.ARN)
	}
	part := partition(id.ARN, id.IssuerARN)
	acct := id.AccountID
	if acct == "" {
		acct = arnAccount(id.ARN)
	}
	switch typ {
	case "IAMUser":
		if id.ARN != "" {
			return id.ARN
		}
		if acct != "" && id.UserName != "" {
			return "arn:" + part + ":iam::" + acct + ":user/" + id.UserName
		}
	case "AssumedRole":
		if id.IssuerARN != "" {
			return id.IssuerARN
		}
		if r := roleOfSession(id.ARN); r != "" {
			return r
		}
		return id.ARN
	case "Role":
		return id.ARN
	case "Root", "AWSAccount":
		if acct != "" {
			return "arn:" + part + ":iam::" + acct + ":root"
		}
		return id.ARN
	case "FederatedUser":
		if id.ARN != "" {
			return id.ARN
		}
		if acct != "" && id.UserName != "" {
			return "arn:" + part + ":sts::" + acct + ":federated-user/" + id.UserName
		}
	case "SAMLUser", "WebIdentityUser":
		who := id.UserName
		if who == "" {
			who = id.PrincipalID
		}
		if id.IssuerARN != "" || who != "" {
			return typ + ":" + id.IssuerARN + ":" + who
		}
	case "AWSService":
		return id.InvokedBy
	case "IdentityCenterUser":
		if id.IssuerARN != "" || id.PrincipalID != "" {
			return "identitycenter:" + id.IssuerARN + ":" + id.PrincipalID
		}
	case "", "Unknown":
		return ""
	default:
		if id.ARN != "" {
			return id.ARN
		}
		if id.PrincipalID != "" {
			return typ + ":" + id.PrincipalID
		}
	}
	return ""
}

// arnParts splits an ARN into partition, service, account and resource.
func arnParts(arn string) (partition, service, account, resource string, ok bool) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[1] == "" {
		return "", "", "", "", false
	}
	return p[1], p[2], p[4], p[5], true
}

// arnResource returns an ARN's service and resource.
func arnResource(arn string) (service, resource string, ok bool) {
	_, service, _, resource, ok = arnParts(arn)
	return service, resource, ok
}

func arnAccount(arn string) string {
	_, _, acct, _, _ := arnParts(arn)
	return acct
}

// partition returns the partition of the first ARN that has one (aws,
// aws-cn, aws-us-gov), "aws" when none does.
func partition(arns ...string) string {
	for _, a := range arns {
		if p, _, _, _, ok := arnParts(a); ok {
			return p
		}
	}
	return "aws"
}

// roleOfSession turns arn:<p>:sts::<acct>:assumed-role/<role>/<session>
// into arn:<p>:iam::<acct>:role/<role>, or returns "".
func roleOfSession(arn string) string {
	p, svc, acct, res, ok := arnParts(arn)
	if !ok || svc != "sts" || !strings.HasPrefix(res, "assumed-role/") {
		return ""
	}
	role := strings.TrimPrefix(res, "assumed-role/")
	if i := strings.LastIndexByte(role, '/'); i >= 0 {
		role = role[:i]
	}
	if role == "" {
		return ""
	}
	return "arn:" + p + ":iam::" + acct + ":role/" + role
}

// typeFromARN guesses CloudTrail's identity type from an ARN.
func typeFromARN(arn string) string {
	_, svc, _, res, ok := arnParts(arn)
	if !ok {
		return ""
	}
	switch {
	case svc == "iam" && res == "root":
		return "Root"
	case svc == "iam" && strings.HasPrefix(res, "user/"):
		return "IAMUser"
	case svc == "iam" && strings.HasPrefix(res, "role/"):
		return "Role"
	case svc == "sts" && strings.HasPrefix(res, "assumed-role/"):
		return "AssumedRole"
	case svc == "sts" && strings.HasPrefix(res, "federated-user/"):
		return "FederatedUser"
	}
	return ""
}
