package identity

import (
	"context"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/filter"
	"github.com/cairn-cdr/cairn/iampolicy"
)

// One returns the view of the identity with the key (List narrowed to
// its calls), or ENOTFOUND when it made no stored call.
func One(ctx context.Context, st Store, ss StatusReader, pos Posture, opts Options, key string) (View, error) {
	opts.Filter = "cloud.identity = " + filter.Text(key)
	vs, err := List(ctx, st, ss, pos, opts)
	if err != nil {
		return View{}, err
	}
	for _, v := range vs {
		if v.Key == key {
			return v, nil
		}
	}
	return View{}, cairn.Errorf(cairn.ENOTFOUND, "no CloudTrail call of identity %q is stored", key)
}

// maxPolicyEvents caps the calls a recommendation reads.
const maxPolicyEvents = 200_000

// Recommend recommends v's least-privilege policy from its calls between
// since and until (oldest first). A zero until means before its
// compromise began, when it is (potentially) compromised, so that the
// attacker's calls cannot taint the policy; rec.Window says which bounds
// were used.
func Recommend(ctx context.Context, st cairn.EventReader, v View, since, until time.Time) (*iampolicy.Recommendation, error) {
	if until.IsZero() && v.Status.State != StateCleared && !v.Status.Since.IsZero() {
		until = v.Status.Since
	}
	var evs []cairn.Event
	q := cairn.EventQuery{Filter: "cloud.identity = " + filter.Text(v.Key), Since: since, Until: until, Oldest: true, Limit: 10000}
	for {
		page, err := st.QueryEvents(ctx, q)
		if err != nil {
			return nil, err
		}
		evs = append(evs, page.Events...)
		if page.Next == "" || len(evs) >= maxPolicyEvents {
			break
		}
		q.Cursor = page.Next
	}
	return iampolicy.Recommend(evs, iampolicy.Options{Since: since, Until: until})
}
