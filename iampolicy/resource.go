package iampolicy

import (
	"regexp"
	"strings"

	"github.com/cairn-cdr/cairn"
)

var (
	// arnRe accepts ARNs without the characters that would widen a
	// policy: the wildcards * and ?, and $ of policy variables.
	arnRe  = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12}|aws)?:[!-#%-)+->@-~ ]+$`)
	safeRe = regexp.MustCompile(`^[!-#%-)+->@-~ ]+$`)
	// bucketRe allows the legacy bucket names (capitals, underscores) too.
	bucketRe  = regexp.MustCompile(`^[A-Za-z0-9._-]{3,255}$`)
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	// queueURLRe is an SQS queue URL: https://sqs.REGION.amazonaws.com/ACCOUNT/NAME.
	queueURLRe = regexp.MustCompile(`^https://(sqs\.)?([a-z0-9-]+)\.(queue\.)?amazonaws\.com/([0-9]{12})/([A-Za-z0-9_-]{1,80}(\.fifo)?)$`)
)

// requestParameters returns the record's requestParameters object, nil
// when it has none.
func requestParameters(ev *cairn.Event) map[string]any {
	doc, _ := ev.Doc().(map[string]any)
	p, _ := doc["requestParameters"].(map[string]any)
	return p
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// scope is where a call ran, to build ARNs from names.
type scope struct{ partition, region, account string }

func scopeOf(ev *cairn.Event, c *cairn.CloudCall) scope {
	s := scope{partition: "aws", region: c.Region, account: c.RecipientAccount}
	if s.account == "" {
		s.account = c.Identity.AccountID
	}
	switch {
	case strings.HasPrefix(s.region, "cn-"):
		s.partition = "aws-cn"
	case strings.HasPrefix(s.region, "us-gov-"):
		s.partition = "aws-us-gov"
	}
	if !regionRe.MatchString(s.region) {
		s.region = ""
	}
	if !accountRe.MatchString(s.account) {
		s.account = ""
	}
	return s
}

// arn builds an ARN of a regional, account-bound service, "" when the
// name or the scope is unusable.
func (s scope) arn(service, resource, name string) string {
	if s.region == "" || s.account == "" || !safeRe.MatchString(name) || len(name) > 1024 {
		return ""
	}
	return checked("arn:" + s.partition + ":" + service + ":" + s.region + ":" + s.account + ":" + resource + name)
}

// global builds an ARN of a global service (IAM).
func (s scope) global(service, resource, name string) string {
	if s.account == "" || !safeRe.MatchString(name) || len(name) > 1024 {
		return ""
	}
	return checked("arn:" + s.partition + ":" + service + "::" + s.account + ":" + resource + name)
}

func checked(arn string) string {
	if len(arn) <= 2048 && arnRe.MatchString(arn) {
		return arn
	}
	return ""
}

// orARN returns name when it is already a usable ARN, else build(name).
func orARN(name string, build func(string) string) string {
	if strings.HasPrefix(name, "arn:") {
		return checked(name)
	}
	return build(name)
}

// resourcesOf returns the ARNs the call used action on, nil when the
// record names none (the action then needs "*").
func resourcesOf(ev *cairn.Event, c *cairn.CloudCall, action string, params map[string]any) []string {
	prefix, name, _ := strings.Cut(action, ":")
	sc := scopeOf(ev, c)
	if own, _, _ := callKey(c.EventSource, c.EventName); own != prefix {
		// An action of another service the call also needs
		// (iam:PassRole for lambda:CreateFunction): the record does not
		// say which of its resources it applies to.
		return nil
	}
	switch prefix {
	case "s3":
		return s3Resources(sc, name, params)
	case "lambda":
		fn := str(params, "functionName")
		return one(orARN(fn, func(n string) string { return sc.arn("lambda", "function:", n) }))
	case "dynamodb":
		t := str(params, "tableName")
		return one(orARN(t, func(n string) string { return sc.arn("dynamodb", "table/", n) }))
	case "iam":
		for _, k := range []struct{ param, kind string }{
			{"roleName", "role/"}, {"userName", "user/"}, {"groupName", "group/"}, {"instanceProfileName", "instance-profile/"},
		} {
			if n := str(params, k.param); n != "" {
				return one(sc.global("iam", k.kind, n))
			}
		}
		return one(orARN(str(params, "policyArn"), func(string) string { return "" }))
	case "secretsmanager":
		// A secret's ARN ends in a random six-character suffix the
		// request does not carry; AWS documents name-?????? for it.
		id := str(params, "secretId")
		if strings.HasPrefix(id, "arn:") {
			return one(checked(id))
		}
		if a := sc.arn("secretsmanager", "secret:", id); a != "" {
			return []string{a + "-??????"}
		}
		return nil
	case "sns":
		for _, k := range []string{"topicArn", "targetArn"} {
			if a := str(params, k); a != "" {
				return one(orARN(a, func(string) string { return "" }))
			}
		}
	case "sqs":
		if m := queueURLRe.FindStringSubmatch(str(params, "queueUrl")); m != nil {
			return one(checked("arn:" + sc.partition + ":sqs:" + m[2] + ":" + m[4] + ":" + m[5]))
		}
	case "kms":
		return one(orARN(str(params, "keyId"), func(string) string { return "" }))
	case "ssm":
		if n := str(params, "name"); n != "" {
			return one(orARN(n, func(n string) string { return sc.arn("ssm", "parameter/", strings.TrimPrefix(n, "/")) }))
		}
	case "sts":
		return one(orARN(str(params, "roleArn"), func(string) string { return "" }))
	}
	return recordResources(ev)
}

// recordResources returns the ARNs of the record's resources array, nil
// when it has none or one is unusable.
func recordResources(ev *cairn.Event) []string {
	doc, _ := ev.Doc().(map[string]any)
	list, _ := doc["resources"].([]any)
	var out []string
	for _, r := range list {
		m, _ := r.(map[string]any)
		a := checked(str(m, "ARN"))
		if a == "" {
			return nil
		}
		out = append(out, a)
	}
	return out
}

// s3Resources returns the bucket or object ARN an S3 action was used on.
func s3Resources(sc scope, action string, params map[string]any) []string {
	if action == "ListAllMyBuckets" || strings.Contains(action, "Account") || action == "CreateJob" {
		return nil
	}
	bucket := str(params, "bucketName")
	if !bucketRe.MatchString(bucket) {
		return nil
	}
	arn := "arn:" + sc.partition + ":s3:::" + bucket
	objectLevel := strings.Contains(action, "Object") && !strings.Contains(action, "Bucket") ||
		action == "AbortMultipartUpload" || action == "ListMultipartUploadParts"
	if !objectLevel {
		return []string{arn}
	}
	key := str(params, "key")
	if key == "" || !safeRe.MatchString(key) {
		// DeleteObjects names its keys in the body; a key that cannot
		// appear in a policy stands for the whole bucket.
		return []string{arn + "/*"}
	}
	return one(checked(arn + "/" + key))
}

func one(arn string) []string {
	if arn == "" {
		return nil
	}
	return []string{arn}
}
