package demo

import (
	"fmt"
	"time"
)

// backgroundCloud adds the account's usual activity: the nodes' instance
// roles, people at work, CI pipelines, an application reading its
// configuration, and Terraform run by the admin user.
func (s *scen) backgroundCloud() {
	s.nodeCalls()
	s.humanSessions()
	s.ciPipelinesCloud()
	s.appConfigReads()
	s.adminTerraform()
	s.ordersApp()
}

func filterSet(name, value string) map[string]any {
	return map[string]any{"items": []any{map[string]any{"name": name, "valueSet": map[string]any{"items": []any{map[string]any{"value": value}}}}}}
}

// nodeCalls: the VPC CNI describes the node's network interfaces, and the
// kubelet's ECR credential provider fetches registry tokens.
func (s *scen) nodeCalls() {
	g := s.g
	for _, ck := range []*clusterNodes{s.shield, s.pay} {
		for _, n := range ck.nodes {
			t := s.snapshot.Add(g.dur(time.Minute, 30*time.Minute))
			for i := 0; t.Before(s.now.Add(-time.Minute)); i++ {
				a := s.sessionAt(n, t)
				s.cl.do(t, a, call{source: "ec2.amazonaws.com", name: "DescribeNetworkInterfaces", readOnly: true,
					params: map[string]any{"networkInterfaceIdSet": map[string]any{}, "filterSet": filterSet("attachment.instance-id", n.instanceID)}})
				if i%6 == 2 {
					s.cl.do(t.Add(g.dur(time.Second, time.Minute)), a, call{source: "ecr.amazonaws.com", name: "GetAuthorizationToken",
						readOnly: true, ua: uaECRCred, params: map[string]any{"registryIds": []string{s.c.account}}})
				}
				t = t.Add(g.dur(25*time.Minute, 40*time.Minute))
			}
		}
	}
}

// humanCalls are what engineers usually do from a terminal.
func (s *scen) humanCall(a *actor) call {
	c := s.c
	switch s.g.intn(10) {
	case 0:
		return call{source: "sts.amazonaws.com", name: "GetCallerIdentity", readOnly: true, ua: cliUA(osMac, "sts.get-caller-identity")}
	case 1, 2:
		return call{source: "ec2.amazonaws.com", name: "DescribeInstances", readOnly: true, ua: cliUA(osMac, "ec2.describe-instances"),
			params: map[string]any{"instancesSet": map[string]any{}, "filterSet": filterSet("tag:eks:cluster-name", any1(s.g, []string{c.shield, c.payments}))}}
	case 3:
		return call{source: "eks.amazonaws.com", name: "DescribeCluster", readOnly: true, ua: cliUA(osMac, "eks.describe-cluster"),
			params: map[string]any{"name": any1(s.g, []string{c.shield, c.payments})}}
	case 4:
		return call{source: "logs.amazonaws.com", name: "FilterLogEvents", readOnly: true, ua: cliUA(osMac, "logs.filter-log-events"),
			params: map[string]any{"logGroupName": "/aws/eks/" + c.payments + "/cluster", "filterPattern": "ERROR", "interleaved": true}}
	case 5:
		return call{source: "ecr.amazonaws.com", name: "DescribeImages", readOnly: true, ua: cliUA(osMac, "ecr.describe-images"),
			params: map[string]any{"repositoryName": any1(s.g, []string{c.s4sWorkload, c.minerStem + "-api", c.l4jWorkload}), "maxResults": 100}}
	case 6:
		return call{source: "ssm.amazonaws.com", name: "GetParameter", readOnly: true, ua: cliUA(osMac, "ssm.get-parameter"),
			params: map[string]any{"name": "/prod/" + c.s4sWorkload + "/feature-flags", "withDecryption": false}}
	case 7:
		return call{source: "monitoring.amazonaws.com", name: "GetMetricData", readOnly: true, ua: cliUA(osMac, "cloudwatch.get-metric-data"),
			params: map[string]any{"maxDatapoints": 1440, "scanBy": "TimestampDescending"}}
	case 8:
		return call{source: "ec2.amazonaws.com", name: "DescribeSecurityGroups", readOnly: true, ua: cliUA(osMac, "ec2.describe-security-groups"),
			params: map[string]any{"securityGroupSet": map[string]any{}, "securityGroupIdSet": map[string]any{}, "filterSet": map[string]any{}}}
	}
	return call{source: "iam.amazonaws.com", name: "GetUser", region: "us-east-1", readOnly: true, ua: cliUA(osMac, "iam.get-user"),
		params: map[string]any{"userName": a.ident.UserName}}
}

// humanSessions: each engineer works in bursts of a few calls, from the
// office or VPN address. The first one signs in to the console with MFA.
func (s *scen) humanSessions() {
	g := s.g
	for i, h := range s.ids.humans {
		t := s.snapshot.Add(g.dur(30*time.Minute, 2*time.Hour))
		if i == 0 {
			login := *h.ident
			login.AccessKeyID = ""
			s.cl.do(t.Add(-g.dur(10*time.Second, time.Minute)), &actor{ident: &login, key: h.key, ip: h.ip, ua: uaBrowser}, call{
				source: "signin.amazonaws.com", name: "ConsoleLogin", region: "us-east-1", host: "signin.aws.amazon.com",
				eventType: "AwsConsoleSignIn", resp: map[string]any{"ConsoleLogin": "Success"},
				extra: map[string]any{"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
					"MobileVersion": "No", "MFAIdentifier": "arn:aws:iam::" + s.c.account + ":mfa/" + h.ident.UserName, "MFAUsed": "Yes"},
			})
		}
		for t.Before(s.now.Add(-10 * time.Minute)) {
			u := t
			for range g.between(4, 9) {
				s.cl.do(u, h, s.humanCall(h))
				u = u.Add(g.dur(8*time.Second, 90*time.Second))
			}
			t = t.Add(g.dur(90*time.Minute, 3*time.Hour))
		}
	}
}

// ciPipelinesCloud: each pipeline's deploy stage assumes the CI role and
// pushes an image.
func (s *scen) ciPipelinesCloud() {
	g, c := s.g, s.c
	for i, r := range s.ids.ciRuns {
		t := r.Add(g.dur(4*time.Minute, 7*time.Minute))
		sess := s.assumeRole(t, s.ids.ci, s.ids.ciRole, fmt.Sprintf("gitlab-job-%d", 700000+i*37+g.intn(30)), false, uaCI+"sts.assume-role")
		repo := c.l4jWorkload
		t = t.Add(g.dur(time.Second, 4*time.Second))
		s.cl.do(t, sess, call{source: "ecr.amazonaws.com", name: "GetAuthorizationToken", readOnly: true, ua: uaCI + "ecr.get-login-password"})
		if i%2 == 0 {
			digest := "sha256:" + g.hex(64)
			t = t.Add(g.dur(5*time.Second, 20*time.Second))
			s.cl.do(t, sess, call{source: "ecr.amazonaws.com", name: "BatchCheckLayerAvailability", readOnly: true, ua: "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/5.10.223 os/linux arch/amd64",
				params: map[string]any{"repositoryName": repo, "registryId": c.account, "layerDigests": []string{"sha256:" + g.hex(64), "sha256:" + g.hex(64)}}})
			t = t.Add(g.dur(10*time.Second, 40*time.Second))
			tag := "sha-" + g.hex(7)
			s.cl.do(t, sess, call{source: "ecr.amazonaws.com", name: "PutImage", ua: "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/5.10.223 os/linux arch/amd64",
				params: map[string]any{"repositoryName": repo, "registryId": c.account, "imageTag": tag, "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"},
				resp: map[string]any{"image": map[string]any{"registryId": c.account, "repositoryName": repo,
					"imageId": map[string]any{"imageDigest": digest, "imageTag": tag}, "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"}},
				resources: []ctResource{{AccountID: c.account, Type: "AWS::ECR::Repository", ARN: fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", c.region, c.account, repo)}}})
		}
		t = t.Add(g.dur(2*time.Second, 10*time.Second))
		s.cl.do(t, sess, call{source: "eks.amazonaws.com", name: "DescribeCluster", readOnly: true, ua: uaCI + "eks.update-kubeconfig",
			params: map[string]any{"name": c.payments}})
	}
}

// appConfigReads: the payments service reads its configuration from S3
// through IRSA (a role for its service account).
func (s *scen) appConfigReads() {
	g, c := s.g, s.c
	web := s.webIdentity(c.l4jNS, c.l4jWorkload)
	t := s.snapshot.Add(g.dur(time.Minute, 20*time.Minute))
	var sess *actor
	var renewed time.Time
	for t.Before(s.now.Add(-time.Minute)) {
		if sess == nil || t.Sub(renewed) > 50*time.Minute {
			renewed = t
			sess = s.assumeRole(t, web, s.ids.appRole, fmt.Sprintf("aws-sdk-java-%d", t.UnixMilli()), true, uaJavaSDK)
			t = t.Add(g.dur(200*time.Millisecond, 2*time.Second))
		}
		s.cl.getObject(t, sess, c.cfgBucket, c.l4jWorkload+"/config.json", g.between(1800, 2600), "", "")
		t = t.Add(g.dur(12*time.Minute, 18*time.Minute))
	}
}

// adminTerraform: hours before the attack, a Terraform plan runs in CI
// with the admin user's keys — the user's usual address and client.
func (s *scen) adminTerraform() {
	g, c := s.g, s.c
	a := s.ids.admin
	t := s.now.Add(-g.dur(5*time.Hour, 8*time.Hour))
	step := func() time.Time { t = t.Add(g.dur(150*time.Millisecond, 2*time.Second)); return t }
	s.cl.do(step(), a, call{source: "sts.amazonaws.com", name: "GetCallerIdentity", readOnly: true})
	s.cl.getObject(step(), a, c.tfBucket, c.tfKey, g.between(150000, 260000), "", "")
	s.cl.do(step(), a, call{source: "iam.amazonaws.com", name: "GetRole", region: "us-east-1", readOnly: true,
		params: map[string]any{"roleName": c.nodeRole}})
	s.cl.do(step(), a, call{source: "iam.amazonaws.com", name: "GetRole", region: "us-east-1", readOnly: true,
		params: map[string]any{"roleName": c.ciRole}})
	s.cl.do(step(), a, call{source: "ec2.amazonaws.com", name: "DescribeInstances", readOnly: true,
		params: map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": s.shield.nodes[0].instanceID}}}, "filterSet": map[string]any{}}})
	host := c.confBucket + ".s3." + c.region + ".amazonaws.com"
	s.cl.do(step(), a, call{source: "s3.amazonaws.com", name: "GetBucketPolicy", readOnly: true, host: host,
		params: map[string]any{"bucketName": c.confBucket, "Host": host, "policy": ""}, extra: s.cl.s3Extra(0, 512)})
	s.cl.do(step(), a, call{source: "cloudtrail.amazonaws.com", name: "DescribeTrails", readOnly: true,
		params: map[string]any{"trailNameList": []string{}, "includeShadowTrails": false}})
	s.cl.do(step(), a, call{source: "cloudtrail.amazonaws.com", name: "GetTrailStatus", readOnly: true,
		params: map[string]any{"name": c.trailStopped}})
	s.cl.do(step(), a, call{source: "eks.amazonaws.com", name: "DescribeCluster", readOnly: true,
		params: map[string]any{"name": c.shield}})
}

// ordersApp: the Tomcat service reads its configuration from S3 with the
// node's instance role, and talks to its database.
func (s *scen) ordersApp() {
	g, c := s.g, s.c
	java := s.s4s.init
	n := s.s4s.pod.node
	s3IP := g.awsIP(c.region)
	db := fmt.Sprintf("%s.%d.%d", vpcPrefix(n.ip), g.between(100, 120), g.between(4, 250))
	t := s.snapshot.Add(g.dur(5*time.Minute, 25*time.Minute))
	for t.Before(s.now.Add(-time.Minute)) {
		s.rt.connect(java, t.Add(-g.dur(100*time.Millisecond, 300*time.Millisecond)), s3IP, 443)
		s.cl.getObject(t, s.sessionAt(n, t), c.cfgBucket, c.s4sWorkload+"/application.yml", g.between(3000, 4200), "", uaJavaSDK)
		// The database connection may come up to 5 minutes later: never
		// after the demo's now.
		if g.intn(2) == 0 {
			if at := t.Add(g.dur(time.Second, 5*time.Minute)); at.Before(s.now) {
				s.rt.connect(java, at, db, 5432)
			}
		}
		t = t.Add(g.dur(25*time.Minute, 35*time.Minute))
	}
}
