package posture

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/cairn-cdr/cairn/iampolicy"
)

// canonical maps every known IAM action, lower-cased, to its spelling in
// the table: IAM matches actions case-insensitively, and a policy may
// write IAM:getuser for iam:GetUser.
var canonical = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, p := range iampolicy.Services() {
		for _, a := range iampolicy.KnownActions(p) {
			m[strings.ToLower(a)] = a
		}
	}
	return m
})

// Allowed returns the actions the user or role arn (an ARN or identity
// key, as for Privileges) may currently do, sorted: the actions its Allow
// statements name, with wildcards such as iam:* or s3:Get* expanded
// against iampolicy's table of known actions, less those a Deny covers
// exactly (as Findings weighs them). Resources and conditions are not
// weighed.
//
// unbounded lists, as written and sorted, the wildcard patterns that still
// grant something: they allow the actions AWS adds later too, so the list
// of actions understates them. Patterns with a wildcard in the service
// part ("*", "*:*", "*:Get*") are not expanded at all, since they would
// list every action AWS has; an Allow with NotAction appears as
// "* except" its NotAction list. ok is false when the account holds no
// such principal.
func (a *Account) Allowed(arn string) (actions []string, unbounded []string, ok bool) {
	p := a.principal(arn)
	if p == nil {
		return nil, nil, false
	}
	acts := map[string]bool{}
	wild := map[string]bool{}
	for _, s := range p.Statements {
		if !s.Allow {
			continue
		}
		if s.NotAction != nil {
			if !p.deniedPattern("*") {
				wild["* except "+strings.Join(s.NotAction, ", ")] = true
			}
			continue
		}
		for _, pat := range s.Action {
			for _, act := range p.expand(pat) {
				acts[act] = true
			}
			if strings.ContainsAny(pat, "*?") && !p.deniedPattern(pat) {
				wild[pat] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(acts)), slices.Sorted(maps.Keys(wild)), true
}

// expand returns the actions pattern names that p may do: the known
// actions of its service that it matches, or the action itself when it
// has no wildcard (in the table's spelling when the table knows it).
// A pattern with a wildcard in its service part yields nothing.
func (p *Principal) expand(pattern string) []string {
	prefix, name, ok := strings.Cut(pattern, ":")
	if !ok || prefix == "" || name == "" || strings.ContainsAny(prefix, "*?") {
		return nil
	}
	if !strings.ContainsAny(name, "*?") {
		act := pattern
		if c, ok := canonical()[strings.ToLower(pattern)]; ok {
			act = c
		}
		if p.allowedBy(act) == "" {
			return nil
		}
		return []string{act}
	}
	var out []string
	for _, act := range iampolicy.KnownActions(strings.ToLower(prefix)) {
		if glob(pattern, act) && p.allowedBy(act) != "" {
			out = append(out, act)
		}
	}
	return out
}

// deniedPattern reports whether a Deny of p covers every action pattern
// may name: it applies everywhere without conditions and one of its
// Action patterns matches pattern read as a plain string. That is sound
// for Deny patterns without "?" (a "?" could match a "*" of pattern and
// nothing more); a NotAction Deny is not weighed, which can list a
// pattern as still granting, never hide one.
func (p *Principal) deniedPattern(pattern string) bool {
	for _, s := range p.Statements {
		if s.Allow || !s.everywhere() || s.NotAction != nil {
			continue
		}
		for _, q := range s.Action {
			if !strings.Contains(q, "?") && glob(q, pattern) {
				return true
			}
		}
	}
	return false
}

// Reduction is what a least-privilege recommendation removes from an
// identity's current permissions. Current actions are the Kept and the
// Removed ones; a recommendation names no wildcards, so every Unbounded
// pattern goes too, with whatever it grants beyond the listed actions.
type Reduction struct {
	// Kept are the recommended actions the identity may do now; Removed
	// the actions it may do now that the recommendation leaves out. Both
	// are sorted.
	Kept, Removed []string
	// RemovedServices are the service prefixes of Removed, sorted; Summary
	// says how much of each goes.
	RemovedServices []string
	// Unbounded are the current wildcard patterns (see Allowed).
	Unbounded []string
	// Added are recommended actions the current policies do not allow:
	// applying the recommendation would grant them, so they deserve a look
	// (the policies changed since the calls, or a call was forged).
	Added []string
	// CurrentCount is len(Kept)+len(Removed); KeptCount is len(Kept).
	CurrentCount, KeptCount int
}

// Reduce compares the current permissions of the user or role arn with
// rec, matching actions case-insensitively. Resources are not compared:
// a kept action may still lose resources. It returns false when the
// account holds no such principal, rec is nil, or rec is of another
// identity of the account (comparing them would mean nothing).
func (a *Account) Reduce(arn string, rec *iampolicy.Recommendation) (Reduction, bool) {
	p := a.principal(arn)
	if p == nil || rec == nil {
		return Reduction{}, false
	}
	if rec.Identity != "" && rec.Identity != arn && a.principal(rec.Identity) != p {
		return Reduction{}, false
	}
	current, unbounded, _ := a.Allowed(arn)
	wanted := map[string]string{} // lower-cased → as recommended
	for _, s := range rec.Policy.Statement {
		if !strings.EqualFold(s.Effect, "Allow") {
			continue
		}
		for _, act := range s.Action {
			wanted[strings.ToLower(act)] = act
		}
	}
	r := Reduction{Unbounded: unbounded}
	kept := map[string]bool{}
	for _, act := range current {
		if _, ok := wanted[strings.ToLower(act)]; ok {
			kept[act] = true
		} else {
			r.Removed = append(r.Removed, act)
		}
	}
	// A recommended action may be allowed without being listed: by "*",
	// or as an action the table does not know behind a wildcard.
	for low, act := range wanted {
		if c, ok := canonical()[low]; ok {
			act = c
		}
		switch {
		case kept[act]:
		case p.allowedBy(act) != "":
			kept[act] = true
		default:
			r.Added = append(r.Added, act)
		}
	}
	r.Kept = slices.Sorted(maps.Keys(kept))
	slices.Sort(r.Added)
	services := map[string]bool{}
	for _, act := range r.Removed {
		prefix, _, _ := strings.Cut(act, ":")
		services[strings.ToLower(prefix)] = true
	}
	r.RemovedServices = slices.Sorted(maps.Keys(services))
	r.KeptCount = len(r.Kept)
	r.CurrentCount = len(r.Kept) + len(r.Removed)
	return r, true
}

// Summary returns one line per service of RemovedServices, e.g. "s3: 120
// of 121 actions removed", then one per Unbounded pattern, for a person
// to read before applying the recommendation.
func (r Reduction) Summary() []string {
	removed, kept := map[string]int{}, map[string]int{}
	for _, act := range r.Removed {
		prefix, _, _ := strings.Cut(act, ":")
		removed[strings.ToLower(prefix)]++
	}
	for _, act := range r.Kept {
		prefix, _, _ := strings.Cut(act, ":")
		kept[strings.ToLower(prefix)]++
	}
	var out []string
	for _, s := range r.RemovedServices {
		n, total := removed[s], removed[s]+kept[s]
		if n == total {
			out = append(out, fmt.Sprintf("%s: all %d actions removed", s, n))
		} else {
			out = append(out, fmt.Sprintf("%s: %d of %d actions removed", s, n, total))
		}
	}
	for _, pat := range r.Unbounded {
		out = append(out, fmt.Sprintf("wildcard %q removed", pat))
	}
	return out
}
