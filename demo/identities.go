package demo

import (
	"encoding/json"
	"fmt"
	"time"
)

// User agents. The legitimate ones are those of the AWS CLI v2, the SDKs
// the workloads use and Terraform; the attacker's is an older CLI on Kali.
func cliUA(osTag, command string) string {
	return "aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/" + osTag + " md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe prompt/off md/command#" + command
}

func attackerUA(command string) string {
	return "aws-cli/1.29.54 md/Botocore#1.31.54 ua/2.0 os/linux#6.5.0-kali3-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy botocore/1.31.54 command/" + command
}

const (
	uaVPCCNI    = "aws-sdk-go-v2/1.30.3 ua/2.0 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.173.0 amazon-vpc-cni-k8s/v1.18.3-eksbuild.1"
	uaECRCred   = "aws-sdk-go-v2/1.30.3 ua/2.0 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ecr#1.30.3 ecr-credential-provider/v1.30.0"
	uaJavaSDK   = "aws-sdk-java/2.20.162 Linux/5.10.223-211.872.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7 Java/17.0.12 vendor/Eclipse_Adoptium io/sync http/Apache cfg/retry-mode/legacy"
	uaTerraform = "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.64.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4 ua/2.0 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64"
	uaBrowser   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	uaCI        = "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#5.10.223-211.872.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#docker md/distrib#debian.12 prompt/off md/command#"
	osMac       = "macos#23.5.0"
)

// period is an instance role session valid from `from`.
type period struct {
	from time.Time
	a    *actor
}

// identities of the account, built by cloudBase.
type identities struct {
	humans  []*actor
	ci      *actor
	ciRole  *role
	appRole *role
	admin   *actor
	oidc    string // the payments cluster's OIDC provider ARN
	// creds are the instance role sessions of each node, by cluster and
	// node index, in time order.
	creds map[*node][]period
	// ciRuns are the start times of CI pipelines.
	ciRuns []time.Time
}

// cloudBase creates the account's identities and the instance role
// sessions of the nodes, recording EC2's AssumeRole calls that renew
// them.
func (s *scen) cloudBase() {
	g, c, cl := s.g, s.c, s.cl
	id := &identities{creds: map[*node][]period{}}
	s.ids = id
	for i, h := range c.humans {
		id.humans = append(id.humans, cl.user(h, c.corpIPs[i%len(c.corpIPs)], ""))
	}
	id.ci = cl.user(c.ciUser, s.pay.nat[0], uaCI+"sts.assume-role")
	id.ciRole = cl.role(c.ciRole)
	id.appRole = cl.role(c.appRole)
	id.admin = cl.user(c.adminUser, s.pay.nat[0], uaTerraform)
	id.oidc = fmt.Sprintf("arn:aws:iam::%s:oidc-provider/oidc.eks.%s.amazonaws.com/id/%s", c.account, c.region, g.from("0123456789ABCDEF", 32))

	for _, ck := range []*clusterNodes{s.shield, s.pay} {
		for i, n := range ck.nodes {
			from := s.truth.Start.Add(-g.dur(0, 5*time.Hour)).Truncate(time.Second)
			for from.Before(s.now) {
				key := g.accessKey("ASIA")
				a := cl.sessionOf(ck.role, n.instanceID, key, from, true, nil, ck.nat[i], uaVPCCNI)
				id.creds[n] = append(id.creds[n], period{from: from, a: a})
				if !from.Before(s.truth.Start) {
					cl.assumeRoleByEC2(from, ck.role, n.instanceID, key)
				}
				from = from.Add(6*time.Hour - g.dur(5*time.Minute, 15*time.Minute)).Truncate(time.Second)
			}
		}
	}

	t := s.snapshot.Add(g.dur(20*time.Minute, 50*time.Minute))
	for t.Before(s.now.Add(-20 * time.Minute)) {
		id.ciRuns = append(id.ciRuns, t)
		t = t.Add(g.dur(55*time.Minute, 95*time.Minute))
	}

	var bg []string
	for _, h := range id.humans {
		bg = append(bg, h.key)
	}
	bg = append(bg, id.ci.key, id.ciRole.arn, id.appRole.arn, s.pay.role.arn)
	s.truth.Background.Identities = bg
	s.truth.Background.SourceIPs = append(append(append([]string{}, c.corpIPs...), s.shield.nat...), s.pay.nat...)
}

// sessionAt returns the instance role session of n valid at t.
func (s *scen) sessionAt(n *node, t time.Time) *actor {
	ps := s.ids.creds[n]
	a := ps[0].a
	for _, p := range ps {
		if !p.from.After(t) {
			a = p.a
		}
	}
	return a
}

// webIdentity returns the userIdentity of a Kubernetes service account
// federated through the cluster's OIDC provider.
func (s *scen) webIdentity(namespace, sa string) *actor {
	sub := "system:serviceaccount:" + namespace + ":" + sa
	return &actor{
		ident: &ctIdentity{Type: "WebIdentityUser", PrincipalID: s.ids.oidc + ":sts.amazonaws.com:" + sub,
			UserName: sub, IdentityProvider: s.ids.oidc},
		key: s.ids.oidc, ip: s.pay.nat[0], ua: uaJavaSDK,
	}
}

// assumeRole records a's AssumeRole call (or AssumeRoleWithWebIdentity
// for a web identity) and returns the session.
func (s *scen) assumeRole(t time.Time, a *actor, r *role, session string, web bool, ua string) *actor {
	key := s.g.accessKey("ASIA")
	name := "AssumeRole"
	params := map[string]any{"roleArn": r.arn, "roleSessionName": session, "durationSeconds": 3600}
	var fed *ctWebID
	if web {
		name = "AssumeRoleWithWebIdentity"
		fed = &ctWebID{FederatedProvider: s.ids.oidc, Attributes: json.RawMessage("{}")}
		delete(params, "durationSeconds")
	}
	s.cl.do(t, a, call{
		source: "sts.amazonaws.com", name: name, readOnly: true, ua: ua, params: params,
		resp: map[string]any{
			"credentials": map[string]any{"accessKeyId": key, "sessionToken": s.g.token(96),
				"expiration": t.Add(time.Hour).UTC().Format("Jan 2, 2006, 3:04:05 PM")},
			"assumedRoleUser": map[string]any{"assumedRoleId": r.id + ":" + session,
				"arn": "arn:aws:sts::" + s.c.account + ":assumed-role/" + r.name + "/" + session},
		},
		resources: []ctResource{{AccountID: s.c.account, Type: "AWS::IAM::Role", ARN: r.arn}},
	})
	return s.cl.sessionOf(r, session, key, t, false, fed, a.ip, ua)
}
