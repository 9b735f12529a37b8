package identity

import (
	"cmp"
	"context"
	"slices"

	"github.com/cairn-cdr/cairn"
)

// View is an identity with its status (an analyst's verdict, or cairn's
// own) and its risk.
type View struct {
	Identity
	Status Status `json:"status"`
	Risk   Risk   `json:"risk"`
}

// StatusReader reads analysts' verdicts.
type StatusReader interface {
	IdentityStatuses(ctx context.Context) ([]cairn.IdentityStatus, error)
}

// Posture gives an identity's IAM posture findings, one reason each
// (posture.Account.Privileges); nil when cairn has none.
type Posture interface {
	Privileges(arn string) []string
}

// List builds the identities (Build) and joins each with its posture
// findings (pos, nil for none), status and risk: compromised first, then
// potentially compromised, then by risk score, then the most recently
// active.
func List(ctx context.Context, st Store, ss StatusReader, pos Posture, opts Options) ([]View, error) {
	ids, err := Build(ctx, st, opts)
	if err != nil {
		return nil, err
	}
	if pos != nil {
		for i := range ids {
			ids[i].Privileges = pos.Privileges(ids[i].Key)
		}
	}
	verdicts := map[string]cairn.IdentityStatus{}
	if ss != nil {
		vs, err := ss.IdentityStatuses(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			verdicts[v.Identity] = v
		}
	}
	out := make([]View, 0, len(ids))
	for i := range ids {
		v := View{Identity: ids[i]}
		var stored *cairn.IdentityStatus
		if s, ok := verdicts[v.Key]; ok {
			stored = &s
		}
		v.Status = Merge(AutoStatus(&v.Identity), stored)
		v.Risk = Assess(&v.Identity, v.Status)
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b View) int {
		return cmp.Or(cmp.Compare(stateRank(b.Status.State), stateRank(a.Status.State)),
			cmp.Compare(b.Risk.Score, a.Risk.Score), b.Last.Compare(a.Last), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

// stateRank orders states for the list: compromised, then potentially
// compromised, then nothing known, then cleared.
func stateRank(s string) int {
	switch s {
	case StateCompromised:
		return 3
	case StatePotentiallyCompromised:
		return 2
	case StateCleared:
		return 0
	}
	return 1
}

// Merge decides an identity's status from cairn's own (auto) and an
// analyst's verdict (stored, nil when none): the verdict stands, but a
// cleared identity that high or critical detections name again after it
// was cleared is potentially compromised again. A verdict without a
// compromise start takes cairn's.
func Merge(auto Status, stored *cairn.IdentityStatus) Status {
	if stored == nil {
		return auto
	}
	v := Status{State: stored.State, Since: stored.Since, Evidence: stored.Evidence, By: stored.By, Note: stored.Note, At: stored.At}
	if v.State == StateCleared && auto.State == StatePotentiallyCompromised && auto.At.After(stored.At) {
		return auto
	}
	if v.State != StateCleared && v.Since.IsZero() {
		v.Since = auto.Since
	}
	if len(v.Evidence) == 0 {
		v.Evidence = auto.Evidence
	}
	return v
}
