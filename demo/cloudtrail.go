package demo

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// cloud is the simulated AWS account: its identities and the CloudTrail
// records of their calls.
type cloud struct {
	g       *gen
	account string
	region  string
	recs    []*ctRecord
}

// The types below give a CloudTrail record's shape, with keys in the
// order CloudTrail writes them.

type ctRecord struct {
	EventVersion        string       `json:"eventVersion"`
	UserIdentity        *ctIdentity  `json:"userIdentity"`
	EventTime           string       `json:"eventTime"`
	EventSource         string       `json:"eventSource"`
	EventName           string       `json:"eventName"`
	AWSRegion           string       `json:"awsRegion"`
	SourceIPAddress     string       `json:"sourceIPAddress"`
	UserAgent           string       `json:"userAgent"`
	ErrorCode           string       `json:"errorCode,omitempty"`
	ErrorMessage        string       `json:"errorMessage,omitempty"`
	RequestParameters   any          `json:"requestParameters"`
	ResponseElements    any          `json:"responseElements"`
	AdditionalEventData any          `json:"additionalEventData,omitempty"`
	RequestID           string       `json:"requestID"`
	EventID             string       `json:"eventID"`
	ReadOnly            bool         `json:"readOnly"`
	Resources           []ctResource `json:"resources,omitempty"`
	EventType           string       `json:"eventType"`
	ManagementEvent     bool         `json:"managementEvent"`
	RecipientAccountID  string       `json:"recipientAccountId"`
	SharedEventID       string       `json:"sharedEventID,omitempty"`
	EventCategory       string       `json:"eventCategory"`
	TLSDetails          *ctTLS       `json:"tlsDetails,omitempty"`

	t   time.Time
	seq int
}

type ctIdentity struct {
	Type             string            `json:"type"`
	PrincipalID      string            `json:"principalId,omitempty"`
	ARN              string            `json:"arn,omitempty"`
	AccountID        string            `json:"accountId,omitempty"`
	AccessKeyID      string            `json:"accessKeyId,omitempty"`
	UserName         string            `json:"userName,omitempty"`
	IdentityProvider string            `json:"identityProvider,omitempty"`
	SessionContext   *ctSessionContext `json:"sessionContext,omitempty"`
	InvokedBy        string            `json:"invokedBy,omitempty"`
}

type ctSessionContext struct {
	SessionIssuer       *ctIssuer    `json:"sessionIssuer,omitempty"`
	WebIDFederationData *ctWebID     `json:"webIdFederationData,omitempty"`
	Attributes          ctAttributes `json:"attributes"`
	EC2RoleDelivery     string       `json:"ec2RoleDelivery,omitempty"`
}

type ctIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

type ctWebID struct {
	FederatedProvider string          `json:"federatedProvider,omitempty"`
	Attributes        json.RawMessage `json:"attributes,omitempty"`
}

type ctAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

type ctResource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

type ctTLS struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// actor is an identity that makes calls: its userIdentity block, its
// canonical key, and where and with what it usually calls from.
type actor struct {
	ident *ctIdentity
	key   string
	ip    string
	ua    string
}

// role is an IAM role.
type role struct {
	name, arn, id string
}

func ctTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (c *cloud) userARN(name string) string { return "arn:aws:iam::" + c.account + ":user/" + name }

// user returns an IAM user with one active access key.
func (c *cloud) user(name, ip, ua string) *actor {
	arn := c.userARN(name)
	return &actor{
		ident: &ctIdentity{Type: "IAMUser", PrincipalID: c.g.uniqueID("AIDA"), ARN: arn, AccountID: c.account,
			AccessKeyID: c.g.accessKey("AKIA"), UserName: name},
		key: arn, ip: ip, ua: ua,
	}
}

func (c *cloud) role(name string) *role {
	return &role{name: name, arn: "arn:aws:iam::" + c.account + ":role/" + name, id: c.g.uniqueID("AROA")}
}

// sessionOf returns a session of r named session, with temporary
// credentials issued at created. ec2 marks an instance profile session.
func (c *cloud) sessionOf(r *role, session, accessKey string, created time.Time, ec2 bool, web *ctWebID, ip, ua string) *actor {
	sc := &ctSessionContext{
		SessionIssuer:       &ctIssuer{Type: "Role", PrincipalID: r.id, ARN: r.arn, AccountID: c.account, UserName: r.name},
		WebIDFederationData: web,
		Attributes:          ctAttributes{CreationDate: ctTime(created), MFAAuthenticated: "false"},
	}
	if web == nil {
		sc.WebIDFederationData = &ctWebID{}
	}
	if ec2 {
		sc.EC2RoleDelivery = "2.0"
	}
	return &actor{
		ident: &ctIdentity{Type: "AssumedRole", PrincipalID: r.id + ":" + session,
			ARN: "arn:aws:sts::" + c.account + ":assumed-role/" + r.name + "/" + session, AccountID: c.account,
			AccessKeyID: accessKey, SessionContext: sc},
		key: r.arn, ip: ip, ua: ua,
	}
}

// service returns an AWS service acting on the account's behalf.
func service(host string) *actor {
	return &actor{ident: &ctIdentity{Type: "AWSService", InvokedBy: host}, key: host, ip: host, ua: host}
}

// call describes one API call.
type call struct {
	source, name string
	// region overrides the account's region (IAM and other global
	// services log in us-east-1).
	region    string
	host      string // the TLS host header, when not the default
	params    any
	resp      any
	extra     any // additionalEventData
	readOnly  bool
	errCode   string
	errMsg    string
	resources []ctResource
	data      bool // a data event (S3 object access)
	eventType string
	ip, ua    string // override the actor's
}

// eventVersions are the record versions the services write today.
var eventVersions = map[string]string{
	"s3.amazonaws.com":         "1.10",
	"cloudtrail.amazonaws.com": "1.10",
	"iam.amazonaws.com":        "1.09",
	"signin.amazonaws.com":     "1.09",
}

// iamAction returns the IAM action a call needs, as written in an
// AccessDenied message.
func iamAction(source, name string) string {
	svc := strings.TrimSuffix(source, ".amazonaws.com")
	switch name {
	case "ListFunctions20150331":
		name = "ListFunctions"
	}
	return svc + ":" + name
}

func defaultHost(source, region string) string {
	svc := strings.TrimSuffix(source, ".amazonaws.com")
	switch svc {
	case "iam":
		return "iam.amazonaws.com"
	case "ses":
		return "email." + region + ".amazonaws.com"
	}
	return svc + "." + region + ".amazonaws.com"
}

// denied fills a call's error as AWS reports a missing permission.
func denied(k call, a *actor, resource string) call {
	k.errCode = "AccessDenied"
	if k.source == "s3.amazonaws.com" {
		k.errMsg = "Access Denied"
		return k
	}
	act := iamAction(k.source, k.name)
	k.errMsg = "User: " + a.ident.ARN + " is not authorized to perform: " + act + " on resource: " + resource +
		" because no identity-based policy allows the " + act + " action"
	return k
}

// do records a call by a at t.
func (c *cloud) do(t time.Time, a *actor, k call) *ctRecord {
	region := cmp.Or(k.region, c.region)
	r := &ctRecord{
		EventVersion: cmp.Or(eventVersions[k.source], "1.08"),
		UserIdentity: a.ident,
		EventTime:    ctTime(t),
		EventSource:  k.source, EventName: k.name, AWSRegion: region,
		SourceIPAddress: cmp.Or(k.ip, a.ip), UserAgent: cmp.Or(k.ua, a.ua),
		ErrorCode: k.errCode, ErrorMessage: k.errMsg,
		RequestParameters: k.params, ResponseElements: k.resp, AdditionalEventData: k.extra,
		ReadOnly: k.readOnly, Resources: k.resources,
		EventType: cmp.Or(k.eventType, "AwsApiCall"), ManagementEvent: !k.data,
		RecipientAccountID: c.account, EventCategory: "Management",
		t: t.Truncate(time.Second), seq: len(c.recs),
	}
	if k.data {
		r.EventCategory = "Data"
	}
	if k.source == "s3.amazonaws.com" {
		r.RequestID = c.g.s3RequestID()
	} else {
		r.RequestID = c.g.uuid()
	}
	r.EventID = c.g.uuid()
	if a.ident.Type != "AWSService" {
		r.TLSDetails = &ctTLS{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256",
			ClientProvidedHostHeader: cmp.Or(k.host, defaultHost(k.source, region))}
	}
	c.recs = append(c.recs, r)
	return r
}

// s3Extra is the additionalEventData of an S3 call.
func (c *cloud) s3Extra(in, out int) map[string]any {
	return map[string]any{
		"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
		"bytesTransferredIn": in, "bytesTransferredOut": out,
		"AuthenticationMethod": "AuthHeader", "x-amz-id-2": c.g.s3HostID(),
	}
}

// getObject is an S3 GetObject data event.
func (c *cloud) getObject(t time.Time, a *actor, bucket, key string, size int, ip, ua string) *ctRecord {
	host := bucket + ".s3." + c.region + ".amazonaws.com"
	return c.do(t, a, call{
		source: "s3.amazonaws.com", name: "GetObject", host: host, readOnly: true, data: true, ip: ip, ua: ua,
		params: map[string]any{"bucketName": bucket, "Host": host, "key": key},
		extra:  c.s3Extra(0, size),
		resources: []ctResource{
			{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::" + bucket + "/" + key},
			{AccountID: c.account, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + bucket},
		},
	})
}

// assumeRoleByEC2 records EC2 fetching an instance profile's credentials,
// the call that starts an instance role session named after the
// instance.
func (c *cloud) assumeRoleByEC2(t time.Time, r *role, instanceID, accessKey string) *ctRecord {
	exp := t.Add(6 * time.Hour).UTC().Format("Jan 2, 2006, 3:04:05 PM")
	rec := c.do(t, service("ec2.amazonaws.com"), call{
		source: "sts.amazonaws.com", name: "AssumeRole", readOnly: true,
		params: map[string]any{"roleArn": r.arn, "roleSessionName": instanceID},
		resp: map[string]any{"credentials": map[string]any{
			"accessKeyId": accessKey, "sessionToken": c.g.token(96), "expiration": exp,
		}},
		resources: []ctResource{{AccountID: c.account, Type: "AWS::IAM::Role", ARN: r.arn}},
	})
	rec.SharedEventID = c.g.uuid()
	return rec
}

// finalize orders the records by time and encodes them.
func (c *cloud) finalize() ([][]byte, error) {
	slices.SortStableFunc(c.recs, func(a, b *ctRecord) int {
		if x := a.t.Compare(b.t); x != 0 {
			return x
		}
		return cmp.Compare(a.seq, b.seq)
	})
	out := make([][]byte, 0, len(c.recs))
	for _, r := range c.recs {
		b, err := marshal(r)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
