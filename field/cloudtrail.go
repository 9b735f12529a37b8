package field

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/cairn-cdr/cairn"
)

// The CloudTrail fields are those of Falco's cloudtrail plugin (ct.*, s3.*,
// ec2.*, ecr.*, iam.*), with the plugin's types and derivations so that
// upstream rules compare the same: ct.readonly is the text "true" or
// "false", s3 byte counts are integers, and objects (ct.request,
// ct.response, ...) are compact JSON text. Fields the decoder lifts into
// Event.Cloud are read from there, and an empty value counts as missing;
// the others are read from the raw record (Event.Doc). Every one of them
// is missing on events that are not CloudTrail records (Event.Cloud nil).
//
// Objects are written by encoding/json: keys sorted, no HTML escaping. The
// key order of the original record cannot be kept, as the parsed record is
// a map.
//
// Where the plugin reads a key that real records never carry, cairn also
// reads the one they do, so that the field is useful: ec2.imageid falls
// back to responseElements.instancesSet.items[0].imageId, and
// ct.sessioncredentialfromconsole accepts the text "true"/"false" that
// CloudTrail writes as well as a JSON bool.

func init() {
	register(ctFields()...)
	register(ctRequestFields()...)
	register(ctS3Fields()...)
	register(ctServiceFields()...)
	register(ctCloudFields()...)
	register(&Field{Name: "json.value", Type: String, Arg: PointerArg, Get: jsonValue,
		Desc: "Value at a JSON pointer (RFC 6901) in the raw record: strings as is, numbers as written, objects and arrays as compact JSON with sorted keys; null is missing."})
}

// ctCall wraps a getter of a CloudTrail event's CloudCall.
func ctCall(get func(c *cairn.CloudCall) (any, bool)) Getter {
	return func(ev *cairn.Event, _ string) (any, bool) {
		if ev.Cloud == nil {
			return nil, false
		}
		return get(ev.Cloud)
	}
}

// ctText wraps a getter of a CloudCall string that is missing when empty.
func ctText(get func(c *cairn.CloudCall) string) Getter {
	return ctCall(func(c *cairn.CloudCall) (any, bool) { return ctNonEmpty(get(c)) })
}

func ctNonEmpty(s string) (any, bool) {
	if s == "" {
		return nil, false
	}
	return s, true
}

// ctRecord wraps a getter of a CloudTrail event's raw record. The record is
// nil when Raw is not a JSON object; lookups in it then find nothing.
func ctRecord(get func(ev *cairn.Event, rec map[string]any) (any, bool)) Getter {
	return func(ev *cairn.Event, _ string) (any, bool) {
		if ev.Cloud == nil {
			return nil, false
		}
		rec, _ := ev.Doc().(map[string]any)
		return get(ev, rec)
	}
}

// ctString returns a getter of the string at path in the raw record; a
// value of another JSON type is missing.
func ctString(path ...string) Getter {
	return ctRecord(func(_ *cairn.Event, rec map[string]any) (any, bool) {
		if s, ok := ctStr(rec, path...); ok {
			return s, true
		}
		return nil, false
	})
}

// ctValue returns a getter of the value at path in the raw record: a
// string as is, anything else (null included) as compact JSON.
func ctValue(path ...string) Getter {
	return ctRecord(func(_ *cairn.Event, rec map[string]any) (any, bool) {
		v, ok := ctAt(rec, path...)
		if !ok {
			return nil, false
		}
		if s, isStr := v.(string); isStr {
			return s, true
		}
		return ctCompact(v)
	})
}

// ctAt walks object keys from rec.
func ctAt(rec map[string]any, path ...string) (any, bool) {
	var v any = rec
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func ctStr(rec map[string]any, path ...string) (string, bool) {
	v, _ := ctAt(rec, path...)
	s, ok := v.(string)
	return s, ok
}

// ctCompact writes v as compact JSON with sorted keys and without the HTML
// escaping of json.Marshal, which would change what analysts read.
func ctCompact(v any) (any, bool) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return strings.TrimSuffix(b.String(), "\n"), true
}

func ctFields() []*Field {
	return []*Field{
		{Name: "ct.id", Type: String, Desc: "Unique id of the CloudTrail event (eventID).",
			Get: ctText(func(c *cairn.CloudCall) string { return c.EventID })},
		{Name: "ct.error", Type: String, Desc: "Error code of a failed call (errorCode); missing when the call succeeded.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.ErrorCode })},
		{Name: "ct.errormessage", Type: String, Desc: "Error message of a failed call (errorMessage).",
			Get: ctText(func(c *cairn.CloudCall) string { return c.ErrorMessage })},
		{Name: "ct.time", Type: String, Desc: "Time of the event as written in the record (eventTime).",
			Get: ctString("eventTime")},
		{Name: "ct.src", Type: String, Desc: "Service that received the call (eventSource), e.g. s3.amazonaws.com.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.EventSource })},
		{Name: "ct.shortsrc", Type: String, Desc: "Service that received the call without the .amazonaws.com suffix, e.g. s3.",
			Get: ctText(func(c *cairn.CloudCall) string { return ctShortSource(c.EventSource) })},
		{Name: "ct.name", Type: String, Desc: "Name of the API call (eventName), e.g. GetObject.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.EventName })},
		{Name: "ct.user", Type: String, Desc: "Who made the call: the user name of an IAM user or root, the role name of an assumed role, the service that invoked it, or the identity type.",
			Get: ctRecord(ctUser)},
		{Name: "ct.originaluser", Type: String, Desc: "User name as CloudTrail shows it: the session name for an assumed role, userIdentity.userName otherwise.",
			Get: ctRecord(ctOriginalUser)},
		{Name: "ct.user.accountid", Type: String, Desc: "Account id of the caller, or of the receiving account when the record has none.",
			Get: ctText(func(c *cairn.CloudCall) string {
				if c.Identity.AccountID != "" {
					return c.Identity.AccountID
				}
				return c.RecipientAccount
			})},
		{Name: "ct.user.identitytype", Type: String, Desc: "Kind of identity that made the call: Root, IAMUser, AssumedRole, AWSService, ...",
			Get: ctText(func(c *cairn.CloudCall) string { return c.Identity.Type })},
		{Name: "ct.user.principalid", Type: String, Desc: "Unique id of the principal that made the call.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.Identity.PrincipalID })},
		{Name: "ct.user.arn", Type: String, Desc: "ARN of the principal that made the call.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.Identity.ARN })},
		{Name: "ct.region", Type: String, Desc: "AWS region of the call (awsRegion).",
			Get: ctText(func(c *cairn.CloudCall) string { return c.Region })},
		{Name: "ct.srcip", Type: String, Desc: "Address the call came from (sourceIPAddress): an IP address or an AWS service name.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.SourceIP })},
		{Name: "ct.useragent", Type: String, Desc: "User agent of the caller (userAgent).",
			Get: ctText(func(c *cairn.CloudCall) string { return c.UserAgent })},
		{Name: "ct.info", Type: String, Desc: "One-line summary: who, from where, read (←) or write (→), ! on error, the call, and its S3 object or host.",
			Get: ctRecord(func(ev *cairn.Event, rec map[string]any) (any, bool) { return ctInfo(ev.Cloud, rec), true })},
		{Name: "ct.managementevent", Type: String, Desc: "\"true\" for a management (control-plane) event, \"false\" for a data event.",
			Get: ctCall(func(c *cairn.CloudCall) (any, bool) {
				if c.ManagementEvent == nil {
					return nil, false
				}
				return strconv.FormatBool(*c.ManagementEvent), true
			})},
		{Name: "ct.readonly", Type: String, Desc: "\"true\" when the call only reads, \"false\" when it changes state; guessed from the call's name when the record does not say.",
			Get: ctCall(func(c *cairn.CloudCall) (any, bool) {
				if c.ReadOnly != nil {
					return strconv.FormatBool(*c.ReadOnly), true
				}
				return strconv.FormatBool(!ctWriteName(c.EventName)), true
			})},
		{Name: "ct.requestid", Type: String, Desc: "Id of the request given by the service (requestID).",
			Get: ctText(func(c *cairn.CloudCall) string { return c.RequestID })},
		{Name: "ct.eventtype", Type: String, Desc: "Type of the record: AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, ...",
			Get: ctText(func(c *cairn.CloudCall) string { return c.EventType })},
		{Name: "ct.apiversion", Type: String, Desc: "API version of the call (apiVersion), when the record gives one.",
			Get: ctString("apiVersion")},
		{Name: "ct.resources", Type: String, Unstored: true, Desc: "Resources the call touched: each entry of resources as compact JSON, comma separated.",
			Get: ctRecord(ctResources)},
		{Name: "ct.recipientaccountid", Type: String, Desc: "Account that received the event (recipientAccountId).",
			Get: ctText(func(c *cairn.CloudCall) string { return c.RecipientAccount })},
		{Name: "ct.serviceeventdetails", Type: String, Unstored: true, Desc: "Details of a service event (serviceEventDetails) as compact JSON.",
			Get: ctValue("serviceEventDetails")},
		{Name: "ct.sharedeventid", Type: String, Desc: "Id shared by the copies of an event delivered to several accounts (sharedEventID).",
			Get: ctString("sharedEventID")},
		{Name: "ct.vpcendpointid", Type: String, Desc: "VPC endpoint the call went through (vpcEndpointId).",
			Get: ctString("vpcEndpointId")},
		{Name: "ct.eventcategory", Type: String, Desc: "Category of the event: Management, Data, Insight, NetworkActivity.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.EventCategory })},
		{Name: "ct.addendum.reason", Type: String, Desc: "Why the event was delivered late or changed (addendum.reason).",
			Get: ctString("addendum", "reason")},
		{Name: "ct.addendum.updatedfields", Type: String, Desc: "Record fields the addendum changed.",
			Get: ctString("addendum", "updatedFields")},
		{Name: "ct.addendum.originalrequestid", Type: String, Desc: "Request id of the original event the addendum updates.",
			Get: ctString("addendum", "originalRequestID")},
		{Name: "ct.addendum.originaleventid", Type: String, Desc: "Event id of the original event the addendum updates.",
			Get: ctString("addendum", "originalEventID")},
		{Name: "ct.sessioncredentialfromconsole", Type: String, Desc: "\"true\" when the call used credentials of an AWS console session.",
			Get: ctRecord(ctFromConsole)},
		{Name: "ct.edgedevicedetails", Type: String, Unstored: true, Desc: "Edge devices the request targets (edgeDeviceDetails) as compact JSON.",
			Get: ctValue("edgeDeviceDetails")},
		{Name: "ct.tlsdetails.tlsversion", Type: String, Desc: "TLS version of the request, e.g. TLSv1.3.",
			Get: ctString("tlsDetails", "tlsVersion")},
		{Name: "ct.tlsdetails.ciphersuite", Type: String, Desc: "TLS cipher suite of the request.",
			Get: ctString("tlsDetails", "cipherSuite")},
		{Name: "ct.tlsdetails.clientprovidedhostheader", Type: String, Desc: "Host name the client sent with the request.",
			Get: ctString("tlsDetails", "clientProvidedHostHeader")},
		{Name: "ct.additionaleventdata", Type: String, Unstored: true, Desc: "Extra data of the event (additionalEventData) as compact JSON.",
			Get: ctValue("additionalEventData")},
	}
}

// ctRequestFields are the plugin's named request and response parameters.
func ctRequestFields() []*Field {
	req := func(name, key, what string) *Field {
		return &Field{Name: name, Type: String, Desc: what + " in the request (requestParameters." + key + ").",
			Get: ctString("requestParameters", key)}
	}
	return []*Field{
		req("ct.request.availabilityzone", "availabilityZone", "Availability zone"),
		req("ct.request.cluster", "cluster", "Cluster"),
		req("ct.request.documentname", "documentName", "Document name"),
		req("ct.request.functionname", "functionName", "Function name"),
		req("ct.request.groupname", "groupName", "Group name"),
		req("ct.request.host", "Host", "Host"),
		req("ct.request.name", "name", "Name of the acted-on resource"),
		req("ct.request.policy", "policy", "Policy text"),
		req("ct.request.reason", "reason", "Reason"),
		req("ct.request.serialnumber", "serialNumber", "Serial number (e.g. of an MFA device)"),
		req("ct.request.servicename", "serviceName", "Service name"),
		req("ct.request.subnetid", "subnetId", "Subnet id"),
		req("ct.request.target", "target", "Target"),
		req("ct.request.taskdefinition", "taskDefinition", "Task definition"),
		req("ct.request.username", "userName", "User name"),
		{Name: "ct.request", Type: String, Unstored: true, Desc: "All request parameters (requestParameters) as compact JSON.",
			Get: ctValue("requestParameters")},
		{Name: "ct.response.subnetid", Type: String, Desc: "Subnet id in the response (responseElements.subnetId).",
			Get: ctString("responseElements", "subnetId")},
		{Name: "ct.response.reservationid", Type: String, Desc: "Reservation id in the response (responseElements.reservationId).",
			Get: ctString("responseElements", "reservationId")},
		{Name: "ct.response", Type: String, Unstored: true, Desc: "All response elements (responseElements) as compact JSON; \"null\" when the record has null.",
			Get: ctValue("responseElements")},
	}
}

func ctS3Fields() []*Field {
	return []*Field{
		{Name: "s3.uri", Type: String, Desc: "S3 object URI, s3://bucket/key.",
			Get: ctRecord(func(_ *cairn.Event, rec map[string]any) (any, bool) {
				bucket, okB := ctStr(rec, "requestParameters", "bucketName")
				key, okK := ctStr(rec, "requestParameters", "key")
				if !okB || !okK {
					return nil, false
				}
				return "s3://" + bucket + "/" + key, true
			})},
		{Name: "s3.bucket", Type: String, Desc: "S3 bucket name in the request.",
			Get: ctString("requestParameters", "bucketName")},
		{Name: "s3.key", Type: String, Desc: "S3 object key in the request.",
			Get: ctString("requestParameters", "key")},
		{Name: "s3.bytes", Type: Int, Desc: "Bytes uploaded plus bytes downloaded by an S3 call.",
			Get: ctRecord(func(_ *cairn.Event, rec map[string]any) (any, bool) {
				in, okIn := ctBytes(rec, "bytesTransferredIn")
				out, okOut := ctBytes(rec, "bytesTransferredOut")
				if !okIn && !okOut {
					return nil, false
				}
				return ctSaturatingAdd(in, out), true
			})},
		{Name: "s3.bytes.in", Type: Int, Desc: "Bytes uploaded by an S3 call.",
			Get: ctRecord(func(_ *cairn.Event, rec map[string]any) (any, bool) { return ctBytesField(rec, "bytesTransferredIn") })},
		{Name: "s3.bytes.out", Type: Int, Desc: "Bytes downloaded by an S3 call.",
			Get: ctRecord(func(_ *cairn.Event, rec map[string]any) (any, bool) { return ctBytesField(rec, "bytesTransferredOut") })},
		{Name: "s3.cnt.get", Type: Int, Desc: "1 for a GetObject call; missing otherwise.",
			Get: ctCall(func(c *cairn.CloudCall) (any, bool) { return ctOne(c.EventName == "GetObject") })},
		{Name: "s3.cnt.put", Type: Int, Desc: "1 for a PutObject call; missing otherwise.",
			Get: ctCall(func(c *cairn.CloudCall) (any, bool) { return ctOne(c.EventName == "PutObject") })},
		{Name: "s3.cnt.other", Type: Int, Desc: "1 for any call but GetObject and PutObject; missing for those two.",
			Get: ctCall(func(c *cairn.CloudCall) (any, bool) {
				return ctOne(c.EventName != "GetObject" && c.EventName != "PutObject")
			})},
	}
}

func ctServiceFields() []*Field {
	return []*Field{
		{Name: "ec2.name", Type: String, Desc: "Name tag requested for a new EC2 instance.",
			Get: ctRecord(ctInstanceName)},
		{Name: "ec2.imageid", Type: String, Desc: "Image (AMI) id of the EC2 instance in the response.",
			Get: ctRecord(ctImageID)},
		{Name: "ecr.repository", Type: String, Desc: "ECR repository name in the request.",
			Get: ctString("requestParameters", "repositoryName")},
		{Name: "ecr.imagetag", Type: String, Desc: "Image tag in the request.",
			Get: ctString("requestParameters", "imageTag")},
		{Name: "iam.role", Type: String, Desc: "IAM role name in the request.",
			Get: ctString("requestParameters", "roleName")},
		{Name: "iam.policy", Type: String, Desc: "IAM policy name in the request.",
			Get: ctString("requestParameters", "policyName")},
	}
}

// ctCloudFields are cairn's own fields about the identity behind a cloud
// call; cloud.identity is the key every identity capability uses.
func ctCloudFields() []*Field {
	return []*Field{
		{Name: "cloud.provider", Type: String, Desc: "Cloud of the call: aws.",
			Get: ctCall(func(*cairn.CloudCall) (any, bool) { return "aws", true })},
		{Name: "cloud.identity", Type: String, Desc: "Canonical identity of the caller: the user's or role's ARN, the root ARN, the federated principal or the AWS service.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.Identity.Key })},
		{Name: "cloud.identity.type", Type: String, Desc: "Kind of identity of the caller: IAMUser, AssumedRole, Root, AWSService, ...",
			Get: ctText(func(c *cairn.CloudCall) string { return c.Identity.Type })},
		{Name: "cloud.session.name", Type: String, Desc: "Role session name of an assumed-role caller (the instance id for EC2 instance roles).",
			Get: ctText(func(c *cairn.CloudCall) string { return c.Identity.SessionName })},
		{Name: "cloud.accesskey.id", Type: String, Desc: "Access key id the caller signed the request with.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.Identity.AccessKeyID })},
		{Name: "cloud.account.id", Type: String, Desc: "Account id of the caller.",
			Get: ctText(func(c *cairn.CloudCall) string { return c.Identity.AccountID })},
	}
}

const ctServiceSuffix = ".amazonaws.com"

// ctShortSource drops the .amazonaws.com suffix, unless nothing would be
// left.
func ctShortSource(src string) string {
	if len(src) > len(ctServiceSuffix) {
		return strings.TrimSuffix(src, ctServiceSuffix)
	}
	return src
}

// ctUser is the plugin's ct.user: the name depends on the identity type,
// "<NA>" when the record lacks it, and unknown types have none.
func ctUser(ev *cairn.Event, rec map[string]any) (any, bool) {
	name, ok := ctUserName(ev.Cloud, rec)
	if !ok {
		return nil, false
	}
	return name, true
}

func ctUserName(c *cairn.CloudCall, rec map[string]any) (string, bool) {
	var name string
	var ok bool
	switch t := c.Identity.Type; t {
	case "Root", "IAMUser":
		name, ok = ctStr(rec, "userIdentity", "userName")
	case "AWSService":
		name, ok = c.Identity.InvokedBy, c.Identity.InvokedBy != ""
	case "AssumedRole":
		if name, ok = ctStr(rec, "userIdentity", "sessionContext", "sessionIssuer", "userName"); !ok {
			return t, true
		}
	case "AWSAccount", "FederatedUser":
		return t, true
	default:
		return "", false
	}
	if !ok {
		return "<NA>", true
	}
	return name, true
}

// ctOriginalUser is the session name of an assumed role (the last part of
// its ARN, or what follows the colon of its principal id), and
// userIdentity.userName for the other identities.
func ctOriginalUser(ev *cairn.Event, rec map[string]any) (any, bool) {
	id := ev.Cloud.Identity
	if id.Type == "AssumedRole" {
		if parts := strings.Split(id.ARN, "/"); len(parts) == 3 {
			return parts[2], true
		}
		if parts := strings.Split(id.PrincipalID, ":"); len(parts) == 2 {
			return parts[1], true
		}
		return nil, false
	}
	if s, ok := ctStr(rec, "userIdentity", "userName"); ok {
		return s, true
	}
	return nil, false
}

// ctWritePrefixes start the names of calls that change state; the plugin
// uses them when a record has no readOnly.
var ctWritePrefixes = []string{
	"Activate", "Add", "Admin", "Assign", "Associate", "Attach", "Cancel",
	"Close", "Create", "Delete", "Deregister", "Destroy", "Detach", "Disable",
	"Disassociate", "Enable", "Initialize", "Modify", "Open", "Purchase", "Put",
	"Reboot", "Register", "Remove", "Run", "Set", "Start", "Stop", "Suspend",
	"Terminate", "Unassign", "Unlink", "Update", "Upgrade", "Wipe",
}

func ctWriteName(name string) bool {
	for _, p := range ctWritePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// ctInfo is the plugin's summary line. Unlike ct.user, an event without an
// identity type shows an empty user and an unknown type shows "<NA>"; the
// arrow is → only when the record says readOnly is false.
func ctInfo(c *cairn.CloudCall, rec map[string]any) string {
	if c.EventName == "" {
		return "<invalid cloudtrail event: eventName field missing>"
	}
	user, ok := ctUserName(c, rec)
	if !ok && c.Identity.Type != "" {
		user = "<NA>"
	}
	mark := ""
	if c.ErrorCode != "" {
		mark = "!"
	}
	arrow := "←"
	if c.ReadOnly != nil && !*c.ReadOnly {
		arrow = "→"
	}
	var b strings.Builder
	b.WriteString(user)
	if user != c.SourceIP {
		b.WriteString(" via " + c.SourceIP)
	}
	b.WriteString(" " + mark + arrow + " " + c.EventName)
	in, _ := ctBytes(rec, "bytesTransferredIn")
	out, _ := ctBytes(rec, "bytesTransferredOut")
	if size := ctSaturatingAdd(in, out); size > 0 {
		b.WriteString(" Size=" + strconv.FormatInt(size, 10))
	}
	bucket, okB := ctStr(rec, "requestParameters", "bucketName")
	key, okK := ctStr(rec, "requestParameters", "key")
	host, okH := ctStr(rec, "requestParameters", "Host")
	switch {
	case okB && okK:
		b.WriteString(" URI=s3://" + bucket + "/" + key)
	case okB:
		b.WriteString(" Bucket=" + bucket)
	case okK:
		b.WriteString(" Key=" + key)
	case okH:
		b.WriteString(" Host=" + host)
	}
	return b.String()
}

// ctResources writes each entry of resources as compact JSON, comma
// separated; an empty list is missing.
func ctResources(_ *cairn.Event, rec map[string]any) (any, bool) {
	list, ok := rec["resources"].([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	parts := make([]string, 0, len(list))
	for _, r := range list {
		s, ok := ctCompact(r)
		if !ok {
			return nil, false
		}
		parts = append(parts, s.(string))
	}
	return strings.Join(parts, ","), true
}

func ctFromConsole(_ *cairn.Event, rec map[string]any) (any, bool) {
	switch v := rec["sessionCredentialFromConsole"].(type) {
	case bool:
		return strconv.FormatBool(v), true
	case string:
		if v == "true" || v == "false" {
			return v, true
		}
	}
	return nil, false
}

// ctBytes reads additionalEventData.<key> as a byte count the way the
// plugin does: integers as they are, other numbers truncated, negative
// ones as 0, and too large ones capped (at the int64 maximum, cairn's
// Int). A value that is not a number is missing.
func ctBytes(rec map[string]any, key string) (int64, bool) {
	v, _ := ctAt(rec, "additionalEventData", key)
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return int64(min(u, math.MaxInt64)), true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0, true
	case f >= math.MaxInt64:
		return math.MaxInt64, true
	}
	return int64(f), true
}

func ctBytesField(rec map[string]any, key string) (any, bool) {
	if n, ok := ctBytes(rec, key); ok {
		return n, true
	}
	return nil, false
}

func ctSaturatingAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func ctOne(yes bool) (any, bool) {
	if yes {
		return int64(1), true
	}
	return nil, false
}

// ctInstanceName is the first non-empty Name tag requested for an
// instance in requestParameters.tagSpecificationSet.
func ctInstanceName(_ *cairn.Event, rec map[string]any) (any, bool) {
	items, _ := ctAt(rec, "requestParameters", "tagSpecificationSet", "items")
	list, _ := items.([]any)
	for _, it := range list {
		item, _ := it.(map[string]any)
		if rt, _ := item["resourceType"].(string); rt != "instance" {
			continue
		}
		tags, _ := item["tags"].([]any)
		for _, t := range tags {
			tag, _ := t.(map[string]any)
			if k, _ := tag["key"].(string); k != "Name" {
				continue
			}
			if v, _ := tag["value"].(string); v != "" {
				return v, true
			}
		}
	}
	return nil, false
}

// ctImageID reads imageId from the first item of
// responseElements.tagSpecificationSet, where the plugin looks, then from
// the first launched instance, where RunInstances records carry it.
func ctImageID(_ *cairn.Event, rec map[string]any) (any, bool) {
	for _, set := range []string{"tagSpecificationSet", "instancesSet"} {
		items, _ := ctAt(rec, "responseElements", set, "items")
		if list, _ := items.([]any); len(list) > 0 {
			item, _ := list[0].(map[string]any)
			if id, _ := item["imageId"].(string); id != "" {
				return id, true
			}
		}
	}
	return nil, false
}

// jsonValue reads json.value[pointer] from any event whose raw record is
// JSON: strings as is, numbers as written, booleans as true/false, objects
// and arrays as compact JSON with sorted keys; null and absent values are
// missing.
func jsonValue(ev *cairn.Event, pointer string) (any, bool) {
	doc := ev.Doc()
	if doc == nil {
		return nil, false
	}
	v, ok := ctPointer(doc, pointer)
	if !ok {
		return nil, false
	}
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	default:
		return ctCompact(x)
	}
}

// ctPointer resolves an RFC 6901 JSON pointer in doc. The empty pointer is
// the whole document; a malformed pointer finds nothing.
func ctPointer(doc any, pointer string) (any, bool) {
	if pointer == "" {
		return doc, true
	}
	if pointer[0] != '/' {
		return nil, false
	}
	v := doc
	for _, tok := range strings.Split(pointer[1:], "/") {
		key, ok := ctUnescape(tok)
		if !ok {
			return nil, false
		}
		switch x := v.(type) {
		case map[string]any:
			if v, ok = x[key]; !ok {
				return nil, false
			}
		case []any:
			i, ok := ctIndex(key)
			if !ok || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// ctUnescape decodes ~1 as / and ~0 as ~ in one pointer token; any other
// use of ~ is an error.
func ctUnescape(tok string) (string, bool) {
	if !strings.Contains(tok, "~") {
		return tok, true
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] != '~' {
			b.WriteByte(tok[i])
			continue
		}
		if i+1 == len(tok) {
			return "", false
		}
		i++
		switch tok[i] {
		case '0':
			b.WriteByte('~')
		case '1':
			b.WriteByte('/')
		default:
			return "", false
		}
	}
	return b.String(), true
}

// ctIndex parses an array index token: 0, or digits without a leading
// zero. "-" (past the end) and anything else find nothing.
func ctIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 9 || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	n := 0
	for _, c := range []byte(tok) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
