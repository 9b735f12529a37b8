package identity

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Compromise states of an identity. Potentially compromised is set
// automatically from detections (AutoStatus); compromised and cleared are
// an analyst's verdicts. They are the same words as the store's identity
// statuses.
const (
	StatePotentiallyCompromised = "potentially_compromised"
	StateCompromised            = "compromised"
	StateCleared                = "cleared"
)

// Status is an identity's compromise status.
type Status struct {
	// State is "" (nothing known), or one of the states above.
	State string `json:"state"`
	// Since is when the compromise began: the earliest event behind the
	// evidence.
	Since time.Time `json:"since,omitzero"`
	// Evidence are the ids of the detections behind the state.
	Evidence []string `json:"evidence,omitempty"`
	// By is who set the state ("cairn" when set automatically), At when,
	// Note why.
	By   string    `json:"by,omitempty"`
	Note string    `json:"note,omitempty"`
	At   time.Time `json:"at,omitzero"`
}

// AutoBy is the By of a status AutoStatus sets.
const AutoBy = "cairn"

// Severity ranks on cairn's scale (field.SeverityRank).
const (
	sevLow      = 1
	sevMedium   = 2
	sevHigh     = 3
	sevCritical = 4
)

// AutoStatus is the status cairn sets by itself: potentially compromised
// when a high or critical detection names the identity, the evidence
// being those detections, Since the earliest of their first events
// (their own time when the event is unknown) and At the latest
// detection's time. Otherwise the zero Status.
func AutoStatus(id *Identity) Status {
	var st Status
	var rules []string
	for _, d := range id.Detections {
		if d.Severity < sevHigh {
			continue
		}
		st.Evidence = append(st.Evidence, d.ID)
		if s := d.start(); st.Since.IsZero() || s.Before(st.Since) {
			st.Since = s
		}
		if d.Time.After(st.At) {
			st.At = d.Time
		}
		if !slices.Contains(rules, d.Rule) {
			rules = append(rules, d.Rule)
		}
	}
	if len(st.Evidence) == 0 {
		return Status{}
	}
	st.State = StatePotentiallyCompromised
	st.By = AutoBy
	st.Note = fmt.Sprintf("%s of high or critical severity: %s", plural(len(st.Evidence), "detection"), strings.Join(rules, "; "))
	return st
}

// Risk is an identity's risk level with the reasons behind it.
type Risk struct {
	// Level is critical, high, medium or low.
	Level   string   `json:"level"`
	Score   int      `json:"score"`
	Reasons []string `json:"reasons"`
}

// Risk levels.
const (
	RiskCritical = "critical"
	RiskHigh     = "high"
	RiskMedium   = "medium"
	RiskLow      = "low"
)

// The score of each reason, and the thresholds of the levels: a score of
// at least LevelCritical is critical, of LevelHigh high, of LevelMedium
// medium, anything less low. They are chosen so that one critical
// detection, or a confirmed compromise, is enough for high; a high
// detection with a compromise status, or a critical one with any other
// sign, makes critical; and the behavioural signs alone (no detection)
// reach medium (a new address in a new country on a new network is 45),
// or high when instance credentials left their instance or several signs
// come together (that, and a console sign-in without MFA).
const (
	// Each detection adds its severity's points, at most twice per
	// severity, so that a noisy rule cannot outweigh everything else.
	pointsCritical = 50
	pointsHigh     = 30
	pointsMedium   = 10
	pointsLow      = 2
	// Compromise status.
	pointsCompromised = 50
	pointsPotentially = 30
	// Behaviour.
	pointsNoMFA           = 15
	pointsErrorStorm      = 15
	pointsNewAddress      = 15
	pointsOutsideInstance = 50
	// Location (Options.Geo), on top of the new address's points: a new
	// country is the stronger sign (few people change country, VPN exits
	// and stolen keys do); a new ASN (network) is weaker, as a home, a
	// mobile and an office network differ.
	pointsNewCountry = 20
	pointsNewASN     = 10
	// Posture: each privilege reason, at most twice.
	pointsPrivilege = 15

	LevelCritical = 80
	LevelHigh     = 50
	LevelMedium   = 20
)

// The error storm and new address thresholds.
const (
	// An error storm is an error rate above stormRate with at least
	// stormErrors failed calls.
	stormRate   = 0.5
	stormErrors = 20
	// A new address is a public address first used after lateFraction of
	// the identity's history, for a history of at least newAddrEvents
	// events over at least newAddrSpan: a short history has no "usual".
	lateFraction  = 0.9
	newAddrEvents = 10
	newAddrSpan   = time.Hour
)

// Assess scores an identity's risk from its detections, its status, its
// behaviour (console sign-ins without MFA, error storms, new public
// addresses, countries and networks late in its history, instance
// credentials used away from the instance) and its posture (Identity.Privileges). A cleared identity's
// detections up to the clearing are not counted: the analyst has looked
// at them.
func Assess(id *Identity, st Status) Risk {
	var r Risk
	add := func(points int, format string, args ...any) {
		r.Score += points
		r.Reasons = append(r.Reasons, fmt.Sprintf(format, args...))
	}

	type sev struct {
		rank   int64
		name   string
		points int
	}
	var ignored int
	for _, s := range []sev{{sevCritical, "critical", pointsCritical}, {sevHigh, "high", pointsHigh}, {sevMedium, "medium", pointsMedium}, {sevLow, "low", pointsLow}} {
		var rules []string
		n := 0
		for _, d := range id.Detections {
			if d.Severity != s.rank {
				continue
			}
			if st.State == StateCleared && !d.Time.After(st.At) {
				ignored++
				continue
			}
			n++
			if !slices.Contains(rules, d.Rule) {
				rules = append(rules, d.Rule)
			}
		}
		if n > 0 {
			add(s.points*min(n, 2), "%s of %s severity: %s", plural(n, "detection"), s.name, strings.Join(rules, "; "))
		}
	}

	switch st.State {
	case StateCompromised:
		add(pointsCompromised, "confirmed compromised by %s at %s", orUnknown(st.By), st.At.UTC().Format(time.RFC3339))
	case StatePotentiallyCompromised:
		add(pointsPotentially, "potentially compromised since %s (%s)", st.Since.UTC().Format(time.RFC3339), plural(len(st.Evidence), "detection"))
	case StateCleared:
		if ignored > 0 {
			r.Reasons = append(r.Reasons, fmt.Sprintf("cleared by %s at %s: %s before that not counted", orUnknown(st.By), st.At.UTC().Format(time.RFC3339), plural(ignored, "detection")))
		}
	}

	if id.ConsoleNoMFA > 0 {
		add(pointsNoMFA, "%s without MFA", plural(id.ConsoleNoMFA, "console sign-in"))
	}
	if id.ErrorRate > stormRate && id.Errors >= stormErrors {
		add(pointsErrorStorm, "error storm: %d of %d calls failed", id.Errors, id.Events)
	}
	if ips := NewAddresses(id); len(ips) > 0 {
		add(pointsNewAddress, "new source %s late in its history: %s", pluralWord(len(ips), "address", "addresses"), strings.Join(ips, ", "))
	}
	if cs, before := NewCountries(id); len(cs) > 0 {
		add(pointsNewCountry, "new %s late in its history: %s (before: %s)", pluralWord(len(cs), "country", "countries"), strings.Join(cs, ", "), strings.Join(before, ", "))
	}
	if as, before := NewASNs(id); len(as) > 0 {
		add(pointsNewASN, "new %s late in its history: %s (before: %s)", pluralWord(len(as), "ASN", "ASNs"), strings.Join(asNames(as), ", "), strings.Join(asNames(before), ", "))
	}
	if len(id.OutsideInstance) > 0 {
		var ips []string
		for _, u := range id.OutsideInstance {
			ips = append(ips, u.IP)
		}
		add(pointsOutsideInstance, "instance credentials used from %s that %s not the instance's: %s", pluralWord(len(ips), "a public address", "public addresses"), pluralWord(len(ips), "is", "are"), strings.Join(ips, ", "))
	}
	for i, p := range id.Privileges {
		if i < 2 {
			r.Score += pointsPrivilege
		}
		r.Reasons = append(r.Reasons, "privileges: "+p)
	}

	switch {
	case r.Score >= LevelCritical:
		r.Level = RiskCritical
	case r.Score >= LevelHigh:
		r.Level = RiskHigh
	case r.Score >= LevelMedium:
		r.Level = RiskMedium
	default:
		r.Level = RiskLow
	}
	if r.Reasons == nil {
		r.Reasons = []string{}
	}
	return r
}

// NewAddresses are the public addresses an identity first used after
// 90% of its history had passed, for a history long enough to have
// usual addresses.
func NewAddresses(id *Identity) []string {
	span := id.Last.Sub(id.First)
	if id.Events < newAddrEvents || span < newAddrSpan {
		return nil
	}
	late := id.First.Add(time.Duration(float64(span) * lateFraction))
	var out []string
	for _, u := range id.SourceIPs {
		if u.Kind == AddrPublic && u.First.After(late) {
			out = append(out, u.IP)
		}
	}
	slices.Sort(out)
	return out
}

// NewCountries are the countries of public addresses first seen after
// 90% of an identity's history, when the addresses used before then are
// located in other countries, for a history long enough (as
// NewAddresses); before are those earlier countries. Both are sorted.
func NewCountries(id *Identity) (late, before []string) {
	return lateValues(id, func(u IPUse) (string, bool) { return u.Country, u.Country != "" })
}

// NewASNs are the autonomous systems (networks) first seen after 90% of
// an identity's history, as NewCountries.
func NewASNs(id *Identity) (late, before []uint) {
	return lateValues(id, func(u IPUse) (uint, bool) { return u.ASN, u.ASN != 0 })
}

// lateValues splits the values key gives the identity's public addresses
// into those first seen after lateFraction of its history, and those
// seen earlier; the first are empty when the second are, since an
// identity without earlier located addresses has nothing to compare to.
func lateValues[T cmp.Ordered](id *Identity, key func(IPUse) (T, bool)) (late, before []T) {
	span := id.Last.Sub(id.First)
	if id.Events < newAddrEvents || span < newAddrSpan {
		return nil, nil
	}
	cut := id.First.Add(time.Duration(float64(span) * lateFraction))
	first := map[T]time.Time{}
	for _, u := range id.SourceIPs {
		v, ok := key(u)
		if u.Kind != AddrPublic || !ok {
			continue
		}
		if t, seen := first[v]; !seen || u.First.Before(t) {
			first[v] = u.First
		}
	}
	for v, t := range first {
		if t.After(cut) {
			late = append(late, v)
		} else {
			before = append(before, v)
		}
	}
	if len(before) == 0 {
		return nil, nil
	}
	slices.Sort(late)
	slices.Sort(before)
	return late, before
}

func asNames(as []uint) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = fmt.Sprintf("AS%d", a)
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
