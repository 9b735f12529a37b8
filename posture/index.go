package posture

import (
	"time"

	"github.com/cairn-cdr/cairn/iampolicy"
)

// Index gives each identity its posture findings as reasons, from the
// account's policies and, when given, the credential report (console
// access without MFA, old access keys): what the identity insights weigh
// in an identity's risk.
type Index struct {
	acct  *Account
	creds map[string][]string // credential-report reasons by user ARN
}

// NewIndex indexes a (nil: no policies) and creds (nil: no report) at now.
func NewIndex(a *Account, creds []Credential, now time.Time) *Index {
	x := &Index{acct: a, creds: map[string][]string{}}
	if len(creds) > 0 {
		// The report's findings need no policies: a principal-less
		// account reads them alone.
		for _, f := range (&Account{}).Findings(creds, now) {
			x.creds[f.Principal] = append(x.creds[f.Principal], f.Reason())
		}
	}
	return x
}

// Privileges returns the reasons of the identity with key arn.
func (x *Index) Privileges(arn string) []string {
	if x == nil {
		return nil
	}
	var out []string
	if x.acct != nil {
		out = append(out, x.acct.Privileges(arn)...)
	}
	return append(out, x.creds[arn]...)
}

// Reduce says what rec removes from the identity's current permissions
// (Account.Reduce); false when the index has no policies or does not know
// the identity.
func (x *Index) Reduce(arn string, rec *iampolicy.Recommendation) (Reduction, bool) {
	if x == nil || x.acct == nil {
		return Reduction{}, false
	}
	return x.acct.Reduce(arn, rec)
}
