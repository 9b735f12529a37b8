package identity

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/cairn-cdr/cairn"
)

// maxResources bounds the resources taken from one record, so that a
// call naming thousands of objects does not swamp the tally.
const maxResources = 32

// Resources returns what a CloudTrail call named, each once: the ARNs of
// the record's resources and, from its requestParameters, S3 bucket and
// object ARNs, secret ids, instance ids, role, user and policy ARNs (role
// and user names made into ARNs of the caller's account), and the names
// of trails, clusters, repositories, functions and log groups.
func Resources(ev *cairn.Event) []string {
	doc, _ := ev.Doc().(map[string]any)
	if doc == nil {
		return nil
	}
	var out []string
	add := func(s string) {
		if s != "" && len(out) < maxResources && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if rs, ok := doc["resources"].([]any); ok {
		for _, r := range rs {
			add(str(r, "ARN"))
		}
	}
	p, _ := doc["requestParameters"].(map[string]any)
	if p == nil {
		return out
	}
	if b := str(p, "bucketName"); b != "" {
		if k := str(p, "key"); k != "" {
			add("arn:aws:s3:::" + b + "/" + k)
		} else {
			add("arn:aws:s3:::" + b)
		}
	}
	add(str(p, "secretId"))
	add(str(p, "instanceId"))
	if items, ok := get(p, "instancesSet", "items").([]any); ok {
		for _, it := range items {
			add(str(it, "instanceId"))
		}
	}
	for _, k := range []string{"roleArn", "policyArn", "functionName", "repositoryName", "logGroupName"} {
		add(str(p, k))
	}
	account := ""
	if ev.Cloud != nil {
		account = ev.Cloud.Identity.AccountID
	}
	if account != "" {
		if r := str(p, "roleName"); r != "" {
			add("arn:aws:iam::" + account + ":role/" + r)
		}
		if u := str(p, "userName"); u != "" {
			add("arn:aws:iam::" + account + ":user/" + u)
		}
	}
	// name is a trail for CloudTrail calls, a cluster for EKS, a
	// parameter for SSM: kept only where its service is clear.
	if ev.Cloud != nil {
		switch ev.Cloud.EventSource {
		case "cloudtrail.amazonaws.com", "eks.amazonaws.com", "ssm.amazonaws.com":
			add(str(p, "name"))
		}
	}
	return out
}

// get walks a parsed JSON document by object keys; nil when a step is
// missing or not an object.
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// str is the string (or number, as written) at path in a parsed JSON
// document, "" when there is none.
func str(v any, path ...string) string {
	switch x := get(v, path...).(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	}
	return ""
}
