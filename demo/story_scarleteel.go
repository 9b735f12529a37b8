package demo

import (
	"fmt"
	"time"
)

const imds = "169.254.169.254"

// storyScarleteel: a Spring4Shell webshell in the Tomcat service reads the
// node's instance role credentials from the metadata service; minutes
// later they are used from outside AWS to enumerate the account and read
// the Terraform state, where the admin user's keys are; with those the
// attacker probes SES and Secrets Manager, stops CloudTrail logging,
// opens a bucket's policy and reads confidential objects.
func (s *scen) storyScarleteel() *Story {
	g, c := s.g, s.c
	st := newStory(StoryScarleteel, "SCARLETEEL: instance credentials stolen from a container lead to account compromise", true)
	a := s.s4s
	java := a.init
	n := a.pod.node
	addWorkload(st, a)
	admin := s.ids.admin
	ip := c.attackerIP
	sec := func(lo, hi int) time.Duration {
		return g.dur(time.Duration(lo)*time.Second, time.Duration(hi)*time.Second)
	}
	var ss steps
	var sess *actor // the stolen session, known once the theft's time is

	// Runtime: the webshell and the metadata service.
	shellPath := "/usr/local/tomcat/webapps/ROOT/" + c.webshell
	ss.then(0, func(t time.Time) {
		s.rt.fileAccess(java, t, shellPath, "-rw-r-----", mayWrite)
		s.detect(st, "web shell written by the application server", []string{"T1190", "T1505.003"}, java, t, Detection{File: shellPath})
	})
	ss.then(sec(20, 90), func(t time.Time) {
		p, _ := s.rt.run(java, t, g.dur(time.Millisecond, 4*time.Millisecond), "/usr/bin/id", "")
		s.detect(st, "command run by the application server", []string{"T1033"}, p, p.start, Detection{})
	})
	credsURL := "http://" + imds + "/latest/meta-data/iam/security-credentials/"
	ss.then(sec(10, 40), func(t time.Time) {
		p := s.rt.spawn(java, t, "/usr/bin/curl", "-s "+credsURL)
		s.rt.connect(p, p.start.Add(g.dur(time.Millisecond, 4*time.Millisecond)), imds, 80)
		s.rt.exit(p, p.start.Add(g.dur(8*time.Millisecond, 30*time.Millisecond)), 0)
	})
	ss.then(sec(5, 25), func(t time.Time) {
		p := s.rt.spawn(java, t, "/usr/bin/curl", "-s "+credsURL+c.nodeRole)
		tc := p.start.Add(g.dur(time.Millisecond, 4*time.Millisecond))
		s.rt.connect(p, tc, imds, 80)
		s.rt.exit(p, p.start.Add(g.dur(8*time.Millisecond, 30*time.Millisecond)), 0)
		s.detect(st, "instance metadata credentials read from a container", []string{"T1552.005"}, p, tc,
			Detection{ArgsContains: "security-credentials/" + c.nodeRole, DestIP: imds, DestPort: 80})
		sess = s.sessionAt(n, t)
	})

	// Cloud: the stolen session, from the attacker's machine.
	as := func(t time.Time, cmd string, k call) *ctRecord {
		k.ip, k.ua = ip, attackerUA(cmd)
		return s.cl.do(t, sess, k)
	}
	ss.then(g.dur(4*time.Minute, 9*time.Minute), func(t time.Time) {
		r := as(t, "sts.get-caller-identity", call{source: "sts.amazonaws.com", name: "GetCallerIdentity", readOnly: true})
		s.detectCloud(st, "instance role credentials used outside AWS", []string{"T1078.004", "T1552.005"}, sess, r)
	})
	var disc []*ctRecord
	ss.then(sec(15, 60), func(t time.Time) {
		disc = append(disc, as(t, "s3.ls", call{source: "s3.amazonaws.com", name: "ListBuckets", readOnly: true,
			host: "s3." + c.region + ".amazonaws.com", params: map[string]any{"Host": "s3." + c.region + ".amazonaws.com"}, extra: s.cl.s3Extra(0, 1840)}))
	})
	ss.then(sec(10, 40), func(t time.Time) {
		disc = append(disc, as(t, "ec2.describe-instances", call{source: "ec2.amazonaws.com", name: "DescribeInstances", readOnly: true,
			params: map[string]any{"instancesSet": map[string]any{}, "filterSet": map[string]any{}}}))
	})
	ss.then(sec(8, 30), func(t time.Time) {
		disc = append(disc, as(t, "iam.list-users", denied(call{source: "iam.amazonaws.com", name: "ListUsers", region: "us-east-1", readOnly: true},
			sess, "arn:aws:iam::"+c.account+":user/")))
	})
	ss.then(sec(5, 20), func(t time.Time) {
		disc = append(disc, as(t, "iam.list-roles", denied(call{source: "iam.amazonaws.com", name: "ListRoles", region: "us-east-1", readOnly: true},
			sess, "arn:aws:iam::"+c.account+":role/")))
	})
	ss.then(sec(10, 40), func(t time.Time) {
		disc = append(disc, as(t, "lambda.list-functions", call{source: "lambda.amazonaws.com", name: "ListFunctions20150331", readOnly: true,
			params: map[string]any{"functionVersion": "ALL"}}))
		s.detectCloud(st, "discovery burst by a stolen session", []string{"T1087.004", "T1526", "T1580"}, sess, disc...)
	})
	ss.then(sec(20, 90), func(t time.Time) {
		host := c.tfBucket + ".s3." + c.region + ".amazonaws.com"
		l := as(t, "s3.ls", call{source: "s3.amazonaws.com", name: "ListObjects", readOnly: true, data: true, host: host,
			params:    map[string]any{"bucketName": c.tfBucket, "Host": host, "list-type": "2", "prefix": "", "delimiter": "/", "encoding-type": "url"},
			extra:     s.cl.s3Extra(0, 1320),
			resources: []ctResource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::" + c.tfBucket + "/"}, {AccountID: c.account, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + c.tfBucket}}})
		o := s.cl.getObject(t.Add(sec(6, 25)), sess, c.tfBucket, c.tfKey, g.between(150000, 260000), ip, attackerUA("s3.cp"))
		s.detectCloud(st, "Terraform state read by a stolen session", []string{"T1552.001", "T1619"}, sess, l, o)
	})

	// The admin user's keys, found in the state file.
	adm := func(t time.Time, cmd string, k call) *ctRecord {
		k.ip, k.ua = ip, attackerUA(cmd)
		return s.cl.do(t, admin, k)
	}
	ss.then(g.dur(3*time.Minute, 8*time.Minute), func(t time.Time) {
		r := adm(t, "sts.get-caller-identity", call{source: "sts.amazonaws.com", name: "GetCallerIdentity", readOnly: true})
		s.detectCloud(st, "IAM user keys used from a new address", []string{"T1078.004"}, admin, r)
	})
	var ses []*ctRecord
	for _, k := range []struct{ cmd, name string }{
		{"ses.get-send-quota", "GetSendQuota"}, {"ses.list-identities", "ListIdentities"},
		{"ses.get-send-statistics", "GetSendStatistics"}, {"ses.list-verified-email-addresses", "ListVerifiedEmailAddresses"},
		{"ses.get-account-sending-enabled", "GetAccountSendingEnabled"}, {"sesv2.get-account", "GetAccount"},
	} {
		ss.then(sec(4, 25), func(t time.Time) {
			var params any
			if k.name == "ListIdentities" {
				params = map[string]any{"maxItems": 100}
			}
			ses = append(ses, adm(t, k.cmd, call{source: "ses.amazonaws.com", name: k.name, readOnly: true, params: params}))
		})
	}
	ss.then(sec(10, 45), func(t time.Time) {
		ses = append(ses, adm(t, "secretsmanager.list-secrets", call{source: "secretsmanager.amazonaws.com", name: "ListSecrets", readOnly: true}))
		s.detectCloud(st, "SES and Secrets Manager reconnaissance", []string{"T1087.004", "T1526"}, admin, ses...)
	})
	ss.then(sec(10, 40), func(t time.Time) {
		arn := fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:prod/%s/db-%s", c.region, c.account, c.s4sWorkload, g.from(mixedAlnum, 6))
		r := adm(t, "secretsmanager.get-secret-value", denied(call{source: "secretsmanager.amazonaws.com", name: "GetSecretValue", readOnly: true,
			params: map[string]any{"secretId": arn}}, admin, arn))
		s.detectCloud(st, "secret read attempt", []string{"T1555.006"}, admin, r)
	})
	trailARN := fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", c.region, c.account, c.trailStopped)
	ss.then(sec(30, 120), func(t time.Time) {
		adm(t, "cloudtrail.describe-trails", call{source: "cloudtrail.amazonaws.com", name: "DescribeTrails", readOnly: true,
			params: map[string]any{"trailNameList": []string{}, "includeShadowTrails": true}})
	})
	ss.then(sec(10, 40), func(t time.Time) {
		r := adm(t, "cloudtrail.stop-logging", call{source: "cloudtrail.amazonaws.com", name: "StopLogging",
			params:    map[string]any{"name": trailARN},
			resources: []ctResource{{AccountID: c.account, Type: "AWS::CloudTrail::Trail", ARN: trailARN}}})
		s.detectCloud(st, "CloudTrail logging stopped", []string{"T1562.008"}, admin, r)
	})
	outsider := fmt.Sprintf("%012d", 100000000000+g.r.Int64N(899999999999))
	ss.then(sec(40, 150), func(t time.Time) {
		host := c.confBucket + ".s3." + c.region + ".amazonaws.com"
		policy := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Sid": "AllowReplicationRead", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + outsider + ":root"},
			"Action": []string{"s3:GetObject", "s3:ListBucket"}, "Resource": []string{"arn:aws:s3:::" + c.confBucket, "arn:aws:s3:::" + c.confBucket + "/*"},
		}}}
		r := adm(t, "s3api.put-bucket-policy", call{source: "s3.amazonaws.com", name: "PutBucketPolicy", host: host,
			params:    map[string]any{"bucketName": c.confBucket, "Host": host, "bucketPolicy": policy, "policy": ""},
			extra:     s.cl.s3Extra(len(fmt.Sprint(policy)), 0),
			resources: []ctResource{{AccountID: c.account, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + c.confBucket}}})
		s.detectCloud(st, "bucket policy grants access to another account", []string{"T1537"}, admin, r)
	})
	var reads []*ctRecord
	for i, key := range c.confKeys {
		ss.then(sec(5, 40), func(t time.Time) {
			r := s.cl.getObject(t, admin, c.confBucket, key, g.between(40000, 4000000), ip, attackerUA("s3.cp"))
			if i == len(c.confKeys)-2 { // a KMS-encrypted object the user cannot decrypt
				r.ErrorCode, r.ErrorMessage = "AccessDenied", "Access Denied"
				r.AdditionalEventData = s.cl.s3Extra(0, 243)
			}
			reads = append(reads, r)
			if i == len(c.confKeys)-1 {
				s.detectCloud(st, "confidential objects read", []string{"T1530"}, admin, reads...)
			}
		})
	}
	ss.runEndingAt(s.now.Add(-g.dur(2*time.Minute, 6*time.Minute)))

	addHost(st, n.name)
	st.AttackerIPs = []string{ip}
	st.Indicators = []string{shellPath, credsURL + c.nodeRole, "arn:aws:iam::" + outsider + ":root"}
	w := a.workload()
	st.Summary = fmt.Sprintf("A Spring4Shell request to %s (%s/%s, node %s, instance %s) wrote the web shell %s; through it java ran "+
		"curl against the instance metadata service and read the credentials of role %s (%s). Minutes later the session %s "+
		"used them from %s, outside AWS: GetCallerIdentity, then discovery (ListBuckets, DescribeInstances, ListUsers and "+
		"ListRoles denied, ListFunctions) and the Terraform state %s/%s. With the keys of IAM user %s found there, the "+
		"attacker ran SES and Secrets Manager reconnaissance, stopped logging on trail %s, gave account %s access to "+
		"bucket %s and read %d confidential objects.",
		c.s4sWorkload, a.pod.namespace, a.pod.name, n.name, n.instanceID, shellPath, c.nodeRole, sess.ident.AccessKeyID,
		n.instanceID, ip, c.tfBucket, c.tfKey, c.adminUser, c.trailStopped, outsider, c.confBucket, len(c.confKeys))
	st.RootCause = RootCause{
		Kind:          "exploited-service",
		Summary:       fmt.Sprintf("the Tomcat service %s is vulnerable to Spring4Shell; its web shell stole the instance role credentials of node %s", c.s4sWorkload, n.name),
		Process:       java.name(),
		Args:          java.args,
		EntryPoint:    fmt.Sprintf("HTTP POST to %s setting class.module.classLoader.resources.context.parent.pipeline.first.* (Tomcat access-log valve)", c.s4sWorkload),
		Vulnerability: "CVE-2022-22965 (Spring4Shell)",
		Workload:      &w,
		Identity:      sess.key,
		AccessKeyID:   sess.ident.AccessKeyID,
		InstanceID:    n.instanceID,
	}
	s.after = append(s.after, func() { st.RootCause.ExecID = java.execID })
	return st
}
