// Package iampolicy recommends a least-privilege IAM policy for one
// identity from the CloudTrail calls it made: each successful call becomes
// the IAM actions it needs, scoped to the resources the records name.
//
// Event names and sources are attacker-controlled (anyone who can write to
// the trail's bucket, or forge a record on the way in, chooses them), so a
// call becomes an action only when it is well formed, and a name only
// becomes part of an ARN when it cannot widen it (no wildcards).
package iampolicy

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
)

// Options bound what Recommend looks at.
type Options struct {
	// Since and Until bound the event time: Since <= time < Until; zero
	// values leave that side open. Until is exclusive so that a policy
	// recommended up to a compromise's first call leaves that call out.
	Since, Until time.Time
	// IncludeFailed counts calls that returned an error. By default they
	// are left out: an AccessDenied call is something the identity could
	// not do, and granting it would widen the policy.
	IncludeFailed bool
}

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement of a Policy.
type Statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// Window is the time the recommendation covers: the bounds asked for and
// the first and last call that went into the policy.
type Window struct {
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
}

// Recommendation is the policy recommended for one identity.
type Recommendation struct {
	Identity string `json:"identity,omitempty"`
	Policy   Policy `json:"policy"`
	// Unmapped lists the calls (source:EventName) that became no action:
	// unknown services, malformed names. Names that are not plain
	// identifiers are quoted.
	Unmapped []string `json:"unmapped,omitempty"`
	// Unverified lists the actions in the policy that are well formed but
	// not in the table of known IAM actions (new APIs, or forged names).
	Unverified []string `json:"unverified,omitempty"`
	Window     Window   `json:"window"`
	// Events counts the calls that went into the policy.
	Events int `json:"events"`
}

// PolicyVersion is the IAM policy language version.
const PolicyVersion = "2012-10-17"

// maxObjects is how many objects of one bucket an action may name before
// they are collapsed to bucket/*.
const maxObjects = 20

var (
	actionRe = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*]+$`)
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)
	sourceRe = regexp.MustCompile(`^([a-z0-9-]+(\.[a-z0-9-]+)*)\.amazonaws\.com$`)
	plainRe  = regexp.MustCompile(`^[A-Za-z0-9.:_-]{1,200}$`)
	// lambdaVersionRe and cloudFrontVersionRe match the API version
	// Lambda (GetFunction20150331v2) and CloudFront
	// (GetDistribution2020_05_31) append to their event names.
	lambdaVersionRe     = regexp.MustCompile(`^([A-Za-z]+)20[0-9]{6}(v[0-9]+)?$`)
	cloudFrontVersionRe = regexp.MustCompile(`^([A-Za-z]+)20[0-9]{2}_[0-9]{2}_[0-9]{2}$`)
)

// ValidAction reports whether a is a well-formed IAM action name.
func ValidAction(a string) bool { return actionRe.MatchString(a) }

// Known reports whether a is in the table of known IAM actions.
func Known(a string) bool {
	p, name, ok := strings.Cut(a, ":")
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(knownActions[p], name)
	return found
}

// Actions returns the IAM actions a CloudTrail call needs, sorted, and
// false when the call cannot be mapped (unknown source, malformed name).
func Actions(eventSource, eventName string) ([]string, bool) {
	prefix, name, ok := callKey(eventSource, eventName)
	if !ok {
		return nil, false
	}
	key := prefix + ":" + name
	acts, ok := callActions[key]
	if !ok {
		acts = []string{key}
	}
	var out []string
	for _, a := range acts {
		if ValidAction(a) {
			out = append(out, a)
		}
	}
	return out, len(out) > 0
}

// callKey returns the IAM prefix of a call's service and its name without
// an API version suffix, false when either is unknown or malformed.
func callKey(eventSource, eventName string) (prefix, name string, ok bool) {
	m := sourceRe.FindStringSubmatch(eventSource)
	if m == nil {
		return "", "", false
	}
	src := m[1]
	prefix, ok = sourcePrefixes[src]
	if !ok {
		_, known := knownActions[src]
		_, listed := slices.BinarySearch(cloudTrailSources, src)
		if !known && !listed || strings.Contains(src, ".") {
			return "", "", false
		}
		prefix = src
	}
	name = eventName
	switch prefix {
	case "lambda":
		if v := lambdaVersionRe.FindStringSubmatch(name); v != nil {
			name = v[1]
		}
	case "cloudfront":
		if v := cloudFrontVersionRe.FindStringSubmatch(name); v != nil {
			name = v[1]
		}
	}
	if !nameRe.MatchString(name) {
		return "", "", false
	}
	return prefix, name, true
}

// Recommend returns the least-privilege policy for the identity that made
// events: every successful call in the window becomes its actions, scoped
// to the resources the record names, or to "*" where it names none. Events
// other than CloudTrail calls are ignored; events of more than one identity
// are an EINVALID error, since their union is nobody's policy.
func Recommend(events []cairn.Event, opts Options) (*Recommendation, error) {
	rec := &Recommendation{Window: Window{Since: opts.Since, Until: opts.Until}}
	// resources[action] holds the ARNs the action was used on; "*" when
	// one call named none.
	resources := map[string]map[string]bool{}
	unmapped := map[string]bool{}
	for i := range events {
		ev := &events[i]
		c := ev.Cloud
		if c == nil {
			continue
		}
		if !opts.Since.IsZero() && ev.Time.Before(opts.Since) || !opts.Until.IsZero() && !ev.Time.Before(opts.Until) {
			continue
		}
		if c.ErrorCode != "" && !opts.IncludeFailed {
			continue
		}
		if rec.Identity == "" {
			rec.Identity = c.Identity.Key
		} else if c.Identity.Key != rec.Identity {
			return nil, cairn.Errorf(cairn.EINVALID, "events of more than one identity (%q and %q)", rec.Identity, c.Identity.Key)
		}
		acts, ok := Actions(c.EventSource, c.EventName)
		if !ok {
			unmapped[label(c.EventSource, c.EventName)] = true
			continue
		}
		rec.Events++
		if rec.Window.First.IsZero() || ev.Time.Before(rec.Window.First) {
			rec.Window.First = ev.Time
		}
		if ev.Time.After(rec.Window.Last) {
			rec.Window.Last = ev.Time
		}
		params := requestParameters(ev)
		for _, a := range acts {
			arns := resourcesOf(ev, c, a, params)
			if resources[a] == nil {
				resources[a] = map[string]bool{}
			}
			if len(arns) == 0 {
				resources[a]["*"] = true
			}
			for _, arn := range arns {
				resources[a][arn] = true
			}
		}
	}
	rec.Unmapped = slices.Sorted(maps.Keys(unmapped))
	rec.Policy = build(resources)
	for _, a := range slices.Sorted(maps.Keys(resources)) {
		if !Known(a) {
			rec.Unverified = append(rec.Unverified, a)
		}
	}
	return rec, nil
}

// label names an unmapped call for a person: source:EventName, quoted
// when it holds anything but plain identifier characters.
func label(source, name string) string {
	s := strings.TrimSuffix(source, ".amazonaws.com") + ":" + name
	if len(s) > 200 {
		s = s[:200]
	}
	if plainRe.MatchString(s) {
		return s
	}
	return strconv.QuoteToASCII(s)
}

// build groups actions into statements: per service, actions used on the
// same resources share a statement.
func build(resources map[string]map[string]bool) Policy {
	pol := Policy{Version: PolicyVersion, Statement: []Statement{}}
	type group struct {
		actions   []string
		resources []string
	}
	byService := map[string][]*group{}
	for _, a := range slices.Sorted(maps.Keys(resources)) {
		res := collapse(resources[a])
		p, _, _ := strings.Cut(a, ":")
		var g *group
		for _, h := range byService[p] {
			if slices.Equal(h.resources, res) {
				g = h
			}
		}
		if g == nil {
			g = &group{resources: res}
			byService[p] = append(byService[p], g)
		}
		g.actions = append(g.actions, a)
	}
	for _, p := range slices.Sorted(maps.Keys(byService)) {
		groups := byService[p]
		// Groups are ordered by their first action, which is sorted.
		for i, g := range groups {
			sid := sidOf(p)
			if len(groups) > 1 {
				sid += strconv.Itoa(i + 1)
			}
			pol.Statement = append(pol.Statement, Statement{Sid: sid, Effect: "Allow", Action: g.actions, Resource: g.resources})
		}
	}
	return pol
}

// collapse returns the resources sorted: "*" alone when any call named no
// resource, and objects of a bucket as bucket/* when there are more than
// maxObjects of them.
func collapse(set map[string]bool) []string {
	if set["*"] {
		return []string{"*"}
	}
	perBucket := map[string]int{}
	for arn := range set {
		if b, ok := s3Bucket(arn); ok {
			perBucket[b]++
		}
	}
	out := map[string]bool{}
	for arn := range set {
		if b, ok := s3Bucket(arn); ok && perBucket[b] > maxObjects {
			out[b+"/*"] = true
			continue
		}
		out[arn] = true
	}
	return slices.Sorted(maps.Keys(out))
}

// s3Bucket returns the bucket ARN of an S3 object ARN.
func s3Bucket(arn string) (string, bool) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", false
	}
	part, rest, _ := strings.Cut(rest, ":")
	rest, ok = strings.CutPrefix(rest, "s3:::")
	if !ok {
		return "", false
	}
	bucket, _, ok := strings.Cut(rest, "/")
	if !ok {
		return "", false
	}
	return "arn:" + part + ":s3:::" + bucket, true
}

// sidOf makes a statement id from a service prefix: acm-pca → AcmPca.
func sidOf(prefix string) string {
	var b strings.Builder
	up := true
	for _, r := range prefix {
		switch {
		case r == '-':
			up = true
		case up && r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
			up = false
		default:
			b.WriteRune(r)
			up = false
		}
	}
	return b.String()
}

// JSON returns the policy document, indented, as IAM accepts it.
func (r *Recommendation) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r.Policy, "", "  ")
	if err != nil {
		return nil, cairn.Errorf(cairn.EINTERNAL, "encode policy: %v", err)
	}
	return b, nil
}
