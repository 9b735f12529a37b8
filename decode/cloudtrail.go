package decode

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-cdr/cairn"
)

// ctRecord is what cairn lifts from a CloudTrail event record (see
// parseCloudTrail); the rest (requestParameters, responseElements, ...)
// is read from the record's parsed document.
type ctRecord struct {
	EventVersion       string
	UserIdentity       *ctIdentity
	EventTime          string
	EventSource        string
	EventName          string
	AWSRegion          string
	SourceIPAddress    string
	UserAgent          string
	ErrorCode          string
	ErrorMessage       string
	RequestID          string
	EventID            string
	EventType          string
	EventCategory      string
	ReadOnly           flexBool
	ManagementEvent    flexBool
	RecipientAccountID string
}

// ctIdentity is the userIdentity element.
type ctIdentity struct {
	Type             string
	PrincipalID      string
	ARN              string
	AccountID        string
	AccessKeyID      string
	UserName         string
	InvokedBy        string
	IdentityProvider string
	SourceIdentity   string
	SessionContext   *ctSessionContext
	OnBehalfOf       *ctOnBehalfOf
}

type ctSessionContext struct {
	SessionIssuer       *ctSessionIssuer
	Attributes          *ctAttributes
	SourceIdentity      string
	WebIDFederationData *ctWebIDFederation
}

type ctSessionIssuer struct{ Type, ARN string }

type ctAttributes struct{ MFAAuthenticated flexBool }

type ctWebIDFederation struct{ FederatedProvider string }

type ctOnBehalfOf struct{ UserID, IdentityStoreARN string }

// flexBool is a boolean that may be unset: see flexBoolOf, which also
// takes the strings "true" and "false" (CloudTrail writes
// mfaAuthenticated as a string).
type flexBool struct {
	set, v bool
}

func (b flexBool) ptr() *bool {
	if !b.set {
		return nil
	}
	v := b.v
	return &v
}

// decodeCloudTrail decodes one CloudTrail event record. It needs an
// RFC 3339 eventTime, an eventName and an eventSource; a record with no
// userIdentity, or an Unknown one, is valid.
func decodeCloudTrail(d *decoder, data []byte, compact bool) (cairn.Event, error) {
	doc, rec, err := parseCloudTrail(data)
	if err != nil {
		return cairn.Event{}, err
	}
	switch {
	case rec.EventTime == "":
		return cairn.Event{}, errors.New("record has no eventTime")
	case rec.EventName == "":
		return cairn.Event{}, errors.New("record has no eventName")
	case rec.EventSource == "":
		return cairn.Event{}, errors.New("record has no eventSource")
	}
	t, err := parseTime(rec.EventTime)
	if err != nil {
		return cairn.Event{}, fmt.Errorf("eventTime: %v", err)
	}
	if t.IsZero() {
		return cairn.Event{}, fmt.Errorf("eventTime %q is the zero time", clip(rec.EventTime))
	}
	ev := cairn.Event{
		Source: cairn.SourceCloudTrail,
		Kind:   cairn.KindCloud,
		Time:   t,
		Type:   rec.EventName,
		Cloud: &cairn.CloudCall{
			EventID:          rec.EventID,
			EventName:        rec.EventName,
			EventSource:      rec.EventSource,
			EventType:        rec.EventType,
			EventCategory:    rec.EventCategory,
			EventVersion:     rec.EventVersion,
			Region:           rec.AWSRegion,
			SourceIP:         rec.SourceIPAddress,
			UserAgent:        rec.UserAgent,
			ErrorCode:        rec.ErrorCode,
			ErrorMessage:     rec.ErrorMessage,
			ReadOnly:         rec.ReadOnly.ptr(),
			ManagementEvent:  rec.ManagementEvent.ptr(),
			RecipientAccount: rec.RecipientAccountID,
			RequestID:        rec.RequestID,
			Identity:         ctIdentityOf(rec.UserIdentity),
		},
	}
	ev.SetDoc(doc)
	if idPart(rec.EventID) && (rec.RecipientAccountID == "" || idPart(rec.RecipientAccountID)) {
		ev.ID = "ct-" + rec.EventID
		if rec.RecipientAccountID != "" {
			ev.ID += "-" + rec.RecipientAccountID
		}
	} else {
		ev.ID = d.hashID("ct-", data, compact)
	}
	return ev, nil
}

// idPart reports whether s can be part of an event id: short, printable
// ASCII, no spaces. Other eventIDs are hashed instead.
func idPart(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// ctIdentityOf maps the userIdentity element. The identity provider of a
// SAMLUser or WebIdentityUser, and the identity store of an
// IdentityCenterUser, are kept as the issuer (IssuerARN), and the
// Identity Center user id as the principal id, so that CanonicalIdentity
// can key them from the Identity alone.
func ctIdentityOf(ui *ctIdentity) cairn.Identity {
	if ui == nil {
		return cairn.Identity{}
	}
	id := cairn.Identity{
		Type:           ui.Type,
		ARN:            ui.ARN,
		AccountID:      ui.AccountID,
		PrincipalID:    ui.PrincipalID,
		AccessKeyID:    ui.AccessKeyID,
		UserName:       ui.UserName,
		InvokedBy:      ui.InvokedBy,
		SourceIdentity: ui.SourceIdentity,
	}
	if sc := ui.SessionContext; sc != nil {
		if si := sc.SessionIssuer; si != nil {
			id.IssuerARN, id.IssuerType = si.ARN, si.Type
		}
		if sc.Attributes != nil {
			id.MFA = sc.Attributes.MFAAuthenticated.ptr()
		}
		if id.SourceIdentity == "" {
			id.SourceIdentity = sc.SourceIdentity
		}
		if w := sc.WebIDFederationData; w != nil && id.IssuerARN == "" && w.FederatedProvider != "" {
			id.IssuerARN, id.IssuerType = w.FederatedProvider, "WebIdentityProvider"
		}
	}
	switch ui.Type {
	case "AssumedRole":
		id.SessionName = sessionName(ui.ARN, ui.PrincipalID)
	case "SAMLUser", "WebIdentityUser":
		if id.IssuerARN == "" && ui.IdentityProvider != "" {
			id.IssuerARN, id.IssuerType = ui.IdentityProvider, "IdentityProvider"
		}
	case "IdentityCenterUser":
		if ob := ui.OnBehalfOf; ob != nil {
			id.IssuerARN, id.IssuerType = ob.IdentityStoreARN, "IdentityStore"
			if ob.UserID != "" {
				id.PrincipalID = ob.UserID
			}
		}
	}
	id.Key = CanonicalIdentity(id)
	return id
}

// sessionName returns the role session name of an assumed-role session:
// the last part of arn:aws:sts::<acct>:assumed-role/<role>/<session>,
// else what follows the colon of the principal id (AROA...:<session>).
func sessionName(arn, principalID string) string {
	if _, res, ok := arnResource(arn); ok && strings.HasPrefix(res, "assumed-role/") {
		if i := strings.LastIndexByte(res, '/'); i > len("assumed-role/") {
			return res[i+1:]
		}
	}
	if _, s, ok := strings.Cut(principalID, ":"); ok {
		return s
	}
	return ""
}
