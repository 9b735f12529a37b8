package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// parseCloudTrail parses a record once into generic values (numbers as
// json.Number, as cairn.Event.Doc gives them) and lifts the fields cairn
// keeps in its own types. The generic document is handed to the event so
// that the catalog's ct.* fields do not parse the record again.
func parseCloudTrail(data []byte) (map[string]any, ctRecord, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		return nil, ctRecord{}, jsonReason(err)
	}
	if doc == nil {
		return nil, ctRecord{}, fmt.Errorf("record is null")
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, ctRecord{}, fmt.Errorf("malformed record: data after the record's object")
	}
	g := getter{obj: doc}
	rec := ctRecord{
		EventVersion:       g.str("eventVersion"),
		EventTime:          g.str("eventTime"),
		EventSource:        g.str("eventSource"),
		EventName:          g.str("eventName"),
		AWSRegion:          g.str("awsRegion"),
		SourceIPAddress:    g.str("sourceIPAddress"),
		UserAgent:          g.str("userAgent"),
		ErrorCode:          g.str("errorCode"),
		ErrorMessage:       g.str("errorMessage"),
		RequestID:          g.str("requestID"),
		EventID:            g.str("eventID"),
		EventType:          g.str("eventType"),
		EventCategory:      g.str("eventCategory"),
		ReadOnly:           flexBoolOf(doc["readOnly"]),
		ManagementEvent:    flexBoolOf(doc["managementEvent"]),
		RecipientAccountID: g.str("recipientAccountId"),
	}
	if ui, ok := g.object("userIdentity"); ok {
		rec.UserIdentity = identityOf(ui)
	}
	return doc, rec, g.err
}

func identityOf(u getter) *ctIdentity {
	id := &ctIdentity{
		Type:             u.str("type"),
		PrincipalID:      u.str("principalId"),
		ARN:              u.str("arn"),
		AccountID:        u.str("accountId"),
		AccessKeyID:      u.str("accessKeyId"),
		UserName:         u.str("userName"),
		InvokedBy:        u.str("invokedBy"),
		IdentityProvider: u.str("identityProvider"),
		SourceIdentity:   u.str("sourceIdentity"),
	}
	if sc, ok := u.object("sessionContext"); ok {
		ctx := &ctSessionContext{SourceIdentity: sc.str("sourceIdentity")}
		if si, ok := sc.object("sessionIssuer"); ok {
			ctx.SessionIssuer = &ctSessionIssuer{Type: si.str("type"), ARN: si.str("arn")}
		}
		if at, ok := sc.object("attributes"); ok {
			ctx.Attributes = &ctAttributes{MFAAuthenticated: flexBoolOf(at.obj["mfaAuthenticated"])}
		}
		if w, ok := sc.object("webIdFederationData"); ok {
			ctx.WebIDFederationData = &ctWebIDFederation{FederatedProvider: w.str("federatedProvider")}
		}
		id.SessionContext = ctx
		sc.report(&u)
	}
	if ob, ok := u.object("onBehalfOf"); ok {
		id.OnBehalfOf = &ctOnBehalfOf{UserID: ob.str("userId"), IdentityStoreARN: ob.str("identityStoreArn")}
		ob.report(&u)
	}
	return id
}

// getter reads members of a generic JSON object, remembering the first
// member of the wrong type as the record's error, the way decoding into a
// struct would.
type getter struct {
	obj  map[string]any
	path string
	err  error
}

func (g *getter) str(key string) string {
	switch v := g.obj[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		g.fail(key, v, "string")
		return ""
	}
}

func (g *getter) object(key string) (getter, bool) {
	switch v := g.obj[key].(type) {
	case nil:
		return getter{}, false
	case map[string]any:
		return getter{obj: v, path: g.path + key + "."}, true
	default:
		g.fail(key, v, "object")
		return getter{}, false
	}
}

func (g *getter) fail(key string, v any, want string) {
	if g.err != nil {
		return
	}
	got := "a value"
	switch v.(type) {
	case json.Number:
		got = "number"
	case bool:
		got = "bool"
	case []any:
		got = "array"
	case map[string]any:
		got = "object"
	case string:
		got = "string"
	}
	g.err = fmt.Errorf("field %s%s: JSON %s where %s is expected", g.path, key, got, want)
}

// report passes a nested object's error up to its parent.
func (g *getter) report(parent *getter) {
	if g.err != nil && parent.err == nil {
		parent.err = g.err
	}
}

// flexBoolOf reads a JSON boolean or the strings "true" and "false".
func flexBoolOf(v any) flexBool {
	switch v {
	case true, "true":
		return flexBool{set: true, v: true}
	case false, "false":
		return flexBool{set: true, v: false}
	}
	return flexBool{}
}
