package assist

// The remediation answers: "how do I fix this?" and "give me detailed
// guidance on isolating affected resources". Both read the same findings
// from the case (pods, images, nodes, cloud identities) and turn them into
// ordered steps with ready artifacts.
//
// Every name in an artifact comes from an event, and events are
// attacker-controlled. Three rules keep an artifact from doing more than
// it says: names are checked against the grammar the target system
// accepts (a pod name that Kubernetes would refuse cannot belong to a real
// pod, so it is reported with a warning and left out); YAML and JSON are
// built by marshalling values, never by pasting text; every shell argument
// goes through shellQuote, and comment lines through remedyComment.

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/remediate"
)

// remedyMaxExtraEvents caps the further events read per cloud detection
// (beyond its first) to find every access key and session it involved.
const remedyMaxExtraEvents = 20

// The grammars of the names put into commands and manifests, as the API
// servers check them.
var (
	reDNSLabel     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	reDNSSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	reLabelName    = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	reIAMName      = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	reAccessKeyID  = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	reInstanceID   = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

// The workload kinds whose controllers kubectl can act on, with the
// resource name kubectl uses.
var remedyWorkloadResource = map[string]string{
	"Deployment":  "deployment",
	"StatefulSet": "statefulset",
	"DaemonSet":   "daemonset",
	"ReplicaSet":  "replicaset",
	"Job":         "job",
	"CronJob":     "cronjob",
}

// remedyQuarantineLabel marks the pods under investigation, so that they
// can be found (and excluded from autoscaling and load balancing by
// operators' own policies) while the case is open.
const remedyQuarantineLabel = "cairn.io/quarantine=true"

func validNamespace(s string) bool { return len(s) <= 63 && reDNSLabel.MatchString(s) }
func validDNSName(s string) bool   { return len(s) <= 253 && reDNSSubdomain.MatchString(s) }

// validLabelKey checks a label key: an optional DNS subdomain prefix and
// a slash, then a name of at most 63 characters.
func validLabelKey(k string) bool {
	name := k
	if i := strings.IndexByte(k, '/'); i >= 0 {
		prefix := k[:i]
		name = k[i+1:]
		if !validDNSName(prefix) {
			return false
		}
	}
	return len(name) <= 63 && reLabelName.MatchString(name)
}

// validLabelValue checks a label value: empty or a name of at most 63
// characters.
func validLabelValue(v string) bool {
	return v == "" || (len(v) <= 63 && reLabelName.MatchString(v))
}

// remedyVisible replaces control characters (newlines included) and
// Unicode format characters (bidirectional overrides) with visible
// escapes and caps the length, so that a value shown to the analyst looks
// like what it is and cannot start a new line of a comment or a Markdown
// block.
func remedyVisible(s string) string {
	const max = 200
	var b strings.Builder
	for n := 0; s != ""; n++ {
		if n == max {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.Is(unicode.Cf, r) || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		s = s[size:]
	}
	return b.String()
}

// remedyCode shows an attacker-controlled value as a Markdown code span:
// a fence longer than any run of backticks inside, so the value cannot
// close it.
func remedyCode(s string) string {
	s = remedyVisible(s)
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || s == "" {
		s = " " + s + " "
	}
	return fence + s + fence
}

// remedyComment makes a value safe for a shell comment line.
func remedyComment(s string) string { return remedyVisible(s) }

// remedyPod is an affected pod and what the case says about it.
type remedyPod struct {
	Cluster, Namespace, Name   string
	WorkloadKind, WorkloadName string
	Labels                     map[string]string
	Images, Nodes, Rules       []string
	Files                      []string // executables and files the detections name
	Evidence                   []string
	// Problems say why the pod's names cannot go into artifacts.
	Problems []string
}

func (p *remedyPod) ok() bool { return len(p.Problems) == 0 }

// remedyNode is a node (or host) affected pods or host processes ran on.
type remedyNode struct {
	Name, Cluster string
	// InstanceID is the node's EC2 instance when its name carries it,
	// "" when the case does not say.
	InstanceID string
	Pods       []string
	Evidence   []string
	Valid      bool
}

// remedyImage is an image that affected pods ran.
type remedyImage struct {
	Ref      string
	Pods     []string
	Evidence []string
}

// remedyIdentity is a cloud identity the detections name.
type remedyIdentity struct {
	Key, Type string
	// Name is the IAM user's or the role's name, "" when neither.
	Name       string
	Account    string
	AccessKeys []string
	Sessions   []string
	SourceIPs  []string
	Calls      []string
	Rules      []string
	Evidence   []string
	Problems   []string
}

func (id *remedyIdentity) isUser() bool { return id.Type == "IAMUser" }
func (id *remedyIdentity) isRole() bool { return id.Type == "AssumedRole" }

// remedyInstance is an EC2 instance whose role credentials the case shows
// in use (the session name of an instance-role session).
type remedyInstance struct {
	ID, Role string
	Evidence []string
}

// remedyFindings is what the remediation answers act on.
type remedyFindings struct {
	Pods       []*remedyPod
	Nodes      []*remedyNode
	Images     []*remedyImage
	Identities []*remedyIdentity
	Instances  []*remedyInstance
	// Dismissed counts the detections triaged as false positives.
	Dismissed int
	// Other are detections with nothing to act on (no pod, host or
	// identity in them or their event).
	Other []string
	// Used are the detections behind the findings, in case order.
	Used []string
}

func appendNew[T comparable](s []T, v T) []T {
	var zero T
	if v == zero || slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// remedyCollect reads the findings of c. With a store it also reads up to
// remedyMaxExtraEvents further events of each cloud detection.
func remedyCollect(ctx context.Context, st Store, c *Case) (*remedyFindings, error) {
	f := &remedyFindings{}
	pods := map[[3]string]*remedyPod{}
	nodes := map[string]*remedyNode{}
	images := map[string]*remedyImage{}
	ids := map[string]*remedyIdentity{}
	insts := map[string]*remedyInstance{}
	for i := range c.Detections {
		d := &c.Detections[i]
		if d.Status == cairn.StatusFalsePositive {
			f.Dismissed++
			continue
		}
		ev := c.Event(d)
		used := false
		e := d.Entities
		var k8s cairn.K8s
		if ev != nil && ev.K8s != nil {
			k8s = *ev.K8s
		}
		cluster, ns, pod := first(k8s.Cluster, e.Cluster), first(k8s.Namespace, e.Namespace), first(k8s.Pod, e.Pod)
		host := e.Host
		if ev != nil && ev.Host != "" {
			host = ev.Host
		}
		image := e.Image
		if ev != nil && ev.Container != nil && ev.Container.Image != "" {
			image = ev.Container.Image
		}
		if pod != "" {
			key := [3]string{cluster, ns, pod}
			p := pods[key]
			if p == nil {
				p = &remedyPod{Cluster: cluster, Namespace: ns, Name: pod}
				pods[key] = p
				f.Pods = append(f.Pods, p)
			}
			if p.WorkloadKind == "" && k8s.WorkloadKind != "" {
				p.WorkloadKind, p.WorkloadName = k8s.WorkloadKind, k8s.WorkloadName
			}
			if p.Labels == nil && k8s.Labels != nil {
				p.Labels = maps.Clone(k8s.Labels)
			}
			p.Images = appendNew(p.Images, image)
			p.Nodes = appendNew(p.Nodes, host)
			p.Rules = appendNew(p.Rules, d.Rule)
			if ev != nil {
				if ev.File != nil && len(p.Files) < 10 {
					p.Files = appendNew(p.Files, ev.File.Path)
				}
				if ev.Process != nil && ev.Process.UpperLayer != nil && *ev.Process.UpperLayer && len(p.Files) < 10 {
					p.Files = appendNew(p.Files, ev.Process.Binary)
				}
			}
			p.Evidence = appendNew(p.Evidence, d.ID)
			if image != "" {
				im := images[image]
				if im == nil {
					im = &remedyImage{Ref: image}
					images[image] = im
					f.Images = append(f.Images, im)
				}
				im.Pods = appendNew(im.Pods, ns+"/"+pod)
				im.Evidence = appendNew(im.Evidence, d.ID)
			}
			used = true
		}
		if host != "" && (pod != "" || (ev != nil && ev.Cloud == nil) || (ev == nil && e.Identity == "")) {
			n := nodes[host]
			if n == nil {
				n = &remedyNode{Name: host, Cluster: cluster, Valid: validDNSName(host)}
				n.InstanceID = instanceOfNode(host)
				nodes[host] = n
				f.Nodes = append(f.Nodes, n)
			}
			if pod != "" {
				n.Pods = appendNew(n.Pods, ns+"/"+pod)
			}
			n.Evidence = appendNew(n.Evidence, d.ID)
			used = true
		}
		evs := []*cairn.Event{}
		if ev != nil && ev.Cloud != nil {
			evs = append(evs, ev)
			if st != nil {
				for _, eid := range d.EventIDs[1:min(len(d.EventIDs), 1+remedyMaxExtraEvents)] {
					x, err := st.GetEvent(ctx, eid)
					switch {
					case err == nil:
						evs = append(evs, &x)
					case cairn.ErrorCode(err) != cairn.ENOTFOUND:
						return nil, fmt.Errorf("event %s of detection %s: %w", eid, d.ID, err)
					}
				}
			}
		}
		for _, x := range evs {
			ci := x.Cloud.Identity
			key := first(ci.Key, ci.ARN)
			if key == "" {
				continue
			}
			id := ids[key]
			if id == nil {
				id = &remedyIdentity{Key: key, Type: ci.Type, Account: ci.AccountID}
				ids[key] = id
				f.Identities = append(f.Identities, id)
			}
			if id.Type == "" {
				id.Type = ci.Type
			}
			if id.Name == "" {
				id.Name = identityName(ci)
			}
			id.AccessKeys = appendNew(id.AccessKeys, ci.AccessKeyID)
			id.Sessions = appendNew(id.Sessions, ci.SessionName)
			id.SourceIPs = appendNew(id.SourceIPs, x.Cloud.SourceIP)
			if len(id.Calls) < 30 {
				id.Calls = appendNew(id.Calls, first(x.Cloud.EventName, x.Type))
			}
			id.Rules = appendNew(id.Rules, d.Rule)
			id.Evidence = appendNew(id.Evidence, d.ID)
			if ci.Type == "AssumedRole" && reInstanceID.MatchString(ci.SessionName) {
				in := insts[ci.SessionName]
				if in == nil {
					in = &remedyInstance{ID: ci.SessionName, Role: key}
					insts[ci.SessionName] = in
					f.Instances = append(f.Instances, in)
				}
				in.Evidence = appendNew(in.Evidence, d.ID)
			}
			used = true
		}
		if !used && e.Identity != "" {
			id := ids[e.Identity]
			if id == nil {
				id = &remedyIdentity{Key: e.Identity}
				ids[e.Identity] = id
				f.Identities = append(f.Identities, id)
			}
			id.Rules = appendNew(id.Rules, d.Rule)
			id.Evidence = appendNew(id.Evidence, d.ID)
			used = true
		}
		if used {
			f.Used = append(f.Used, d.ID)
		} else {
			f.Other = append(f.Other, d.ID)
		}
	}
	for _, p := range f.Pods {
		p.check()
	}
	for _, id := range f.Identities {
		id.check()
	}
	return f, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// identityName is the IAM user's name or the role's name of a caller.
func identityName(ci cairn.Identity) string {
	switch ci.Type {
	case "IAMUser":
		if ci.UserName != "" {
			return ci.UserName
		}
		return arnName(ci.ARN, ":user/")
	case "AssumedRole":
		if n := arnName(ci.IssuerARN, ":role/"); n != "" {
			return n
		}
		return arnName(ci.Key, ":role/")
	}
	return ""
}

// arnName is the last path segment of an IAM ARN of the kind marker
// (":user/", ":role/"), "" when arn is not one.
func arnName(arn, marker string) string {
	i := strings.Index(arn, marker)
	if !strings.HasPrefix(arn, "arn:") || i < 0 {
		return ""
	}
	rest := arn[i+len(marker):]
	return rest[strings.LastIndexByte(rest, '/')+1:]
}

// instanceOfNode returns the EC2 instance id a node's name carries (EKS
// resource-name hostnames: i-0123456789abcdef0.ec2.internal), "" when the
// name is an IP-based one or anything else.
func instanceOfNode(name string) string {
	head, _, _ := strings.Cut(name, ".")
	if reInstanceID.MatchString(head) {
		return head
	}
	return ""
}

func (p *remedyPod) check() {
	if !validNamespace(p.Namespace) {
		p.Problems = append(p.Problems, "namespace "+remedyCode(p.Namespace)+" is not a valid Kubernetes namespace name")
	}
	if !validDNSName(p.Name) {
		p.Problems = append(p.Problems, "pod name "+remedyCode(p.Name)+" is not a valid Kubernetes name")
	}
	if p.WorkloadName != "" && !validDNSName(p.WorkloadName) {
		p.Problems = append(p.Problems, "workload name "+remedyCode(p.WorkloadName)+" is not a valid Kubernetes name")
	}
	for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
		if !validLabelKey(k) || !validLabelValue(p.Labels[k]) {
			p.Problems = append(p.Problems, "label "+remedyCode(k+"="+p.Labels[k])+" is not a valid Kubernetes label")
		}
	}
}

func (id *remedyIdentity) check() {
	if id.Name != "" && !reIAMName.MatchString(id.Name) {
		id.Problems = append(id.Problems, "name "+remedyCode(id.Name)+" is not a valid IAM name")
		id.Name = ""
	}
	var keys []string
	for _, k := range id.AccessKeys {
		if reAccessKeyID.MatchString(k) {
			keys = append(keys, k)
		} else {
			id.Problems = append(id.Problems, "access key id "+remedyCode(k)+" is not a valid access key id")
		}
	}
	id.AccessKeys = keys
}

// longTermKeys are the IAM user access keys (AKIA...); temporary session
// keys (ASIA...) cannot be deactivated, only their sessions revoked.
func (id *remedyIdentity) longTermKeys() []string {
	var ks []string
	for _, k := range id.AccessKeys {
		if strings.HasPrefix(k, "AKIA") {
			ks = append(ks, k)
		}
	}
	return ks
}

// iamPolicy is an IAM policy document.
type iamPolicy struct {
	Version   string         `json:"Version"`
	Statement []iamStatement `json:"Statement"`
}

type iamStatement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// compact is the policy on one line, for a command's argument.
func (p iamPolicy) compact() string {
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: the struct holds strings only
		panic(err)
	}
	return string(b)
}

func (p iamPolicy) json() string {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil { // cannot happen: the struct holds strings only
		panic(err)
	}
	return string(b)
}

// denyAllPolicy denies every action: attached inline to a compromised
// identity it stops every use of it at once, whatever keys or sessions
// exist.
func denyAllPolicy() iamPolicy {
	return iamPolicy{Version: "2012-10-17", Statement: []iamStatement{{Sid: "CairnDenyAll", Effect: "Deny", Action: "*", Resource: "*"}}}
}

// revokeSessionsPolicy is what the IAM console's "revoke active sessions"
// attaches: deny everything to credentials issued before now.
func revokeSessionsPolicy(now time.Time) iamPolicy {
	return iamPolicy{Version: "2012-10-17", Statement: []iamStatement{{Effect: "Deny", Action: "*", Resource: "*",
		Condition: map[string]map[string]string{"DateLessThan": {"aws:TokenIssueTime": now.UTC().Format(time.RFC3339)}}}}}
}

// networkPolicy is the part of a networking.k8s.io/v1 NetworkPolicy the
// isolation answer writes.
type networkPolicy struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   networkPolicyMeta `yaml:"metadata"`
	Spec       networkPolicySpec `yaml:"spec"`
}

type networkPolicyMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type networkPolicySpec struct {
	PodSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"podSelector"`
	PolicyTypes []string `yaml:"policyTypes"`
}

// denyAllNetworkPolicy selects the pods with labels and, naming both
// policy types with no rules, denies all their traffic in and out.
func denyAllNetworkPolicy(name, namespace string, labels map[string]string, note string) string {
	np := networkPolicy{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
	np.Metadata = networkPolicyMeta{Name: name, Namespace: namespace,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "cairn"}}
	if note != "" {
		np.Metadata.Annotations = map[string]string{"cairn.io/reason": note}
	}
	np.Spec.PodSelector.MatchLabels = labels
	np.Spec.PolicyTypes = []string{"Ingress", "Egress"}
	b, err := yaml.Marshal(np)
	if err != nil { // cannot happen: strings and maps of strings only
		panic(err)
	}
	return string(b)
}

// remedyPolicyGroup is the pods of one namespace sharing one label set:
// one NetworkPolicy selects them all.
type remedyPolicyGroup struct {
	Cluster, Namespace string
	Labels             map[string]string
	Pods               []*remedyPod
	Name               string
}

func remedyPolicyGroups(pods []*remedyPod) []*remedyPolicyGroup {
	var gs []*remedyPolicyGroup
	for _, p := range pods {
		if !p.ok() || len(p.Labels) == 0 {
			continue
		}
		var g *remedyPolicyGroup
		for _, x := range gs {
			if x.Cluster == p.Cluster && x.Namespace == p.Namespace && maps.Equal(x.Labels, p.Labels) {
				g = x
			}
		}
		if g == nil {
			g = &remedyPolicyGroup{Cluster: p.Cluster, Namespace: p.Namespace, Labels: p.Labels}
			gs = append(gs, g)
		}
		g.Pods = append(g.Pods, p)
	}
	for _, g := range gs {
		base := first(g.Pods[0].WorkloadName, g.Pods[0].Name)
		h := fnv.New32a()
		for _, k := range slices.Sorted(maps.Keys(g.Labels)) {
			fmt.Fprintf(h, "%s=%s\n", k, g.Labels[k])
		}
		suffix := fmt.Sprintf("-%08x", h.Sum32())
		name := "cairn-isolate-" + base
		// A DNS subdomain of at most 253 characters, not ending in a dot.
		name = strings.TrimRight(name[:min(len(name), 253-len(suffix))], ".-")
		g.Name = name + suffix
	}
	return gs
}

// remedyScript collects shell lines, each argument quoted.
type remedyScript struct{ b strings.Builder }

func (s *remedyScript) comment(format string, args ...any) {
	s.b.WriteString("# " + remedyComment(fmt.Sprintf(format, args...)) + "\n")
}

// lit is a literal part of a command line: program, subcommands, flags
// and shell syntax, all constants of this file. Every other part is an
// argument and is quoted.
type lit string

// cmd writes one command line from literal parts and arguments.
func (s *remedyScript) cmd(parts ...any) {
	for i, p := range parts {
		if i > 0 {
			s.b.WriteByte(' ')
		}
		switch p := p.(type) {
		case lit:
			s.b.WriteString(string(p))
		case string:
			s.b.WriteString(remediate.ShellQuote(p))
		default:
			panic(fmt.Sprintf("remedyScript.cmd: part of type %T", p))
		}
	}
	s.b.WriteString("\n")
}

func (s *remedyScript) raw(line string) { s.b.WriteString(line + "\n") }
func (s *remedyScript) blank()          { s.b.WriteString("\n") }
func (s *remedyScript) String() string  { return s.b.String() }
func (s *remedyScript) empty() bool     { return s.b.Len() == 0 }

// remedyEvidence gathers the detection ids behind the steps, in the order
// the steps come, each once.
type remedyEvidence []string

func (e *remedyEvidence) add(ids ...string) {
	for _, id := range ids {
		*e = appendNew(*e, id)
	}
}

func codes(vals []string) string {
	var out []string
	for _, v := range vals {
		out = append(out, remedyCode(v))
	}
	return strings.Join(out, ", ")
}

func shortIDs(ids []string) string {
	const n = 5
	var out []string
	for i, id := range ids {
		if i == n {
			out = append(out, fmt.Sprintf("and %d more", len(ids)-n))
			break
		}
		out = append(out, remedyCode(id[:min(len(id), 12)]))
	}
	return strings.Join(out, ", ")
}

// remedyNothing is the answer when the case has nothing to act on.
func remedyNothing(c *Case, f *remedyFindings, what string) Answer {
	var b strings.Builder
	if len(c.Detections) == 0 {
		fmt.Fprintf(&b, "There are no detections in %s, so there is nothing to %s.", remedyVisible(c.Scope.Label()), what)
	} else {
		fmt.Fprintf(&b, "The %d detections in %s name no pod, node or cloud identity to act on, so there is nothing to %s.",
			len(c.Detections), remedyVisible(c.Scope.Label()), what)
		if f.Dismissed > 0 {
			fmt.Fprintf(&b, " %d of them are triaged as false positives.", f.Dismissed)
		}
	}
	ev := slices.Clone(f.Other)
	if ev == nil {
		ev = []string{}
	}
	return Answer{Text: b.String(), Evidence: ev, Artifacts: []Artifact{},
		Suggestions: []string{"summarize all detections", "what can you answer?"}}
}

func remedyHeader(b *strings.Builder, c *Case, f *remedyFindings) {
	fmt.Fprintf(b, "Scope: %s — %d detections", remedyVisible(c.Scope.Label()), len(c.Detections))
	if f.Dismissed > 0 {
		fmt.Fprintf(b, " (%d triaged as false positives and left out)", f.Dismissed)
	}
	b.WriteString(".")
	if c.Truncated {
		fmt.Fprintf(b, " The scope holds more than %d detections; only the oldest %d were read, so narrow the scope to see everything.",
			MaxCaseDetections, len(c.Detections))
	}
	b.WriteString("\n")
}

func remedyWarnings(b *strings.Builder, f *remedyFindings) {
	var warn []string
	for _, p := range f.Pods {
		for _, pr := range p.Problems {
			warn = append(warn, fmt.Sprintf("Pod %s/%s left out of the artifacts: %s (detections %s). A real pod cannot have this name: the event may be forged.",
				remedyCode(p.Namespace), remedyCode(p.Name), pr, shortIDs(p.Evidence)))
		}
	}
	for _, n := range f.Nodes {
		if !n.Valid {
			warn = append(warn, fmt.Sprintf("Node %s is not a valid node name and is left out of the commands (detections %s).",
				remedyCode(n.Name), shortIDs(n.Evidence)))
		}
	}
	for _, id := range f.Identities {
		for _, pr := range id.Problems {
			warn = append(warn, fmt.Sprintf("Identity %s: %s; it is left out of the commands (detections %s).",
				remedyCode(id.Key), pr, shortIDs(id.Evidence)))
		}
	}
	if len(warn) == 0 {
		return
	}
	b.WriteString("\n**Warnings**\n\n")
	for _, w := range warn {
		b.WriteString("- ⚠ " + w + "\n")
	}
}

// identitySteps writes the identity containment steps (shared by both
// answers) and returns its commands and policies.
func identitySteps(b *strings.Builder, f *remedyFindings, now time.Time, step *int, ev *remedyEvidence) (aws *remedyScript, policies []Artifact) {
	aws = &remedyScript{}
	if len(f.Identities) == 0 {
		return aws, nil
	}
	denyUsers, revokeRoles := []string{}, []string{}
	deny := denyAllPolicy().json()
	revoke := revokeSessionsPolicy(now).json()
	for _, id := range f.Identities {
		*step++
		ev.add(id.Evidence...)
		kind := first(id.Type, "type unknown")
		fmt.Fprintf(b, "\n### %d. Contain the cloud identity %s (%s)\n\n", *step, remedyCode(id.Key), remedyVisible(kind))
		fmt.Fprintf(b, "Flagged by %s (detections %s).", codes(id.Rules), shortIDs(id.Evidence))
		if len(id.SourceIPs) > 0 {
			fmt.Fprintf(b, " Calls came from %s.", codes(id.SourceIPs))
		}
		if len(id.Calls) > 0 {
			fmt.Fprintf(b, " API calls seen: %s.", codes(id.Calls))
		}
		b.WriteString("\n\n")
		aws.comment("Identity %s (%s) — detections %s", id.Key, kind, strings.Join(id.Evidence, " "))
		switch {
		case id.isUser() && id.Name != "":
			keys := id.longTermKeys()
			n := 1
			if len(keys) > 0 {
				fmt.Fprintf(b, "%d. Deactivate the access keys it used: %s (deactivate, do not delete yet: a deleted key cannot be investigated or restored).\n", n, codes(keys))
				n++
				for _, k := range keys {
					aws.cmd(lit("aws iam update-access-key --user-name"), id.Name, lit("--access-key-id"), k, lit("--status Inactive"))
				}
			} else {
				fmt.Fprintf(b, "%d. The case names no long-term access key of this user: list its keys and deactivate every one it should not have.\n", n)
				n++
			}
			aws.cmd(lit("aws iam list-access-keys --user-name"), id.Name)
			fmt.Fprintf(b, "%d. Attach the deny-all inline policy (artifact *deny-all policy*), which stops every key and console session of the user at once.\n", n)
			n++
			aws.cmd(lit("aws iam put-user-policy --user-name"), id.Name, lit("--policy-name CairnDenyAll --policy-document"), denyAllPolicy().compact())
			fmt.Fprintf(b, "%d. Remove console access (`delete-login-profile`; it fails harmlessly when the user has no password) and check its MFA devices.\n", n)
			n++
			aws.cmd(lit("aws iam delete-login-profile --user-name"), id.Name)
			aws.cmd(lit("aws iam list-mfa-devices --user-name"), id.Name)
			fmt.Fprintf(b, "%d. Review what it did: the API calls above and everything else in CloudTrail under its name; undo what the attacker changed.\n", n)
			n++
			aws.cmd(lit("aws cloudtrail lookup-events --max-results 50 --lookup-attributes"), lookupAttr("Username", id.Name))
			for _, k := range keys {
				aws.cmd(lit("aws cloudtrail lookup-events --max-results 50 --lookup-attributes"), lookupAttr("AccessKeyId", k))
			}
			fmt.Fprintf(b, "%d. When the review is done, give the owner new keys (`aws iam create-access-key`), delete the old ones, and remove the deny-all policy — or delete the user if it should not exist.\n", n)
			denyUsers = append(denyUsers, id.Name)
		case id.isRole() && id.Name != "":
			n := 1
			fmt.Fprintf(b, "%d. Revoke the role's sessions: the inline policy `AWSRevokeOlderSessions` (artifact *revoke older sessions*) denies everything to credentials issued before %s", n, now.UTC().Format(time.RFC3339))
			if len(id.AccessKeys) > 0 {
				fmt.Fprintf(b, ", which includes the temporary keys %s", codes(id.AccessKeys))
			}
			b.WriteString(". Legitimate users get new credentials by assuming the role again.\n")
			n++
			aws.cmd(lit("aws iam put-role-policy --role-name"), id.Name, lit("--policy-name AWSRevokeOlderSessions --policy-document"), revokeSessionsPolicy(now).compact())
			revokeRoles = append(revokeRoles, id.Name)
			var instances []string
			for _, in := range f.Instances {
				if in.Role == id.Key {
					instances = append(instances, in.ID)
				}
			}
			if len(instances) > 0 {
				fmt.Fprintf(b, "%d. These are instance-role sessions of %s: the credentials were taken from the instance metadata service. Require IMDSv2 with a hop limit of 1 so containers cannot reach it, after checking that the node's own agents use IMDSv2.\n", n, codes(instances))
				n++
				for _, in := range instances {
					aws.cmd(lit("aws ec2 modify-instance-metadata-options --http-tokens required --http-put-response-hop-limit 1 --instance-id"), in)
				}
			}
			fmt.Fprintf(b, "%d. Do not attach a deny-all policy to the role unless nothing legitimate uses it: for a node role that stops the nodes. Review what the sessions did", n)
			if len(id.Sessions) > 0 {
				fmt.Fprintf(b, " (sessions %s)", codes(id.Sessions))
			}
			b.WriteString(".\n")
			for _, k := range id.AccessKeys {
				aws.cmd(lit("aws cloudtrail lookup-events --max-results 50 --lookup-attributes"), lookupAttr("AccessKeyId", k))
			}
		case id.Type == "Root":
			b.WriteString("This is the account's root user: policies cannot restrict it. Sign in as root, rotate its password, delete any root access keys, and enable MFA; then review its calls.\n")
		default:
			b.WriteString("The case does not say enough about this identity (an IAM user or role name) to write commands for it: find who or what it is in IAM and revoke its credentials there; review its calls.\n")
		}
		aws.blank()
	}
	if len(denyUsers) > 0 {
		policies = append(policies, Artifact{Kind: ArtifactIAMPolicy, Name: "deny-all policy for " + strings.Join(denyUsers, ", "), Content: deny})
	}
	if len(revokeRoles) > 0 {
		policies = append(policies, Artifact{Kind: ArtifactIAMPolicy, Name: "revoke older sessions of " + strings.Join(revokeRoles, ", "), Content: revoke})
	}
	return aws, policies
}

// lookupAttr is a CloudTrail lookup attribute in the CLI's JSON form,
// which, unlike its shorthand, no comma in a value can change.
func lookupAttr(key, value string) string {
	b, _ := json.Marshal([]map[string]string{{"AttributeKey": key, "AttributeValue": value}})
	return string(b)
}

func podRef(p *remedyPod) string {
	s := remedyCode(p.Namespace + "/" + p.Name)
	if p.WorkloadKind != "" || p.WorkloadName != "" {
		s += fmt.Sprintf(" (%s %s)", remedyVisible(first(p.WorkloadKind, "workload")), remedyCode(p.WorkloadName))
	}
	return s
}

// answerFix answers "how do I fix this?": the steps that remove what the
// detections show, naming the pods, images, nodes and identities of the
// case, with kubectl and AWS CLI commands and IAM policies.
func answerFix(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	f, err := remedyCollect(ctx, env.Store, c)
	if err != nil {
		return Answer{}, err
	}
	if len(f.Used) == 0 {
		return remedyNothing(c, f, "fix"), nil
	}
	var b strings.Builder
	var ev remedyEvidence
	b.WriteString("## How to fix this\n\n")
	remedyHeader(&b, c, f)
	remedyWarnings(&b, f)
	step := 0
	kube := &remedyScript{}

	if len(f.Pods) > 0 {
		step++
		fmt.Fprintf(&b, "\n### %d. Contain the affected pods first\n\n", step)
		b.WriteString("Isolate them before anything else (ask for *detailed guidance on isolating affected resources* for the NetworkPolicy and the forensic order), then replace them:\n\n")
		for _, p := range f.Pods {
			ev.add(p.Evidence...)
			fmt.Fprintf(&b, "- %s in cluster %s, on %s, image %s: %s (detections %s)\n", podRef(p), remedyCode(p.Cluster),
				codes(p.Nodes), codes(p.Images), codes(p.Rules), shortIDs(p.Evidence))
			if !p.ok() {
				continue
			}
			kube.comment("Pod %s/%s (%s %s) in cluster %s — detections %s", p.Namespace, p.Name, p.WorkloadKind, p.WorkloadName, p.Cluster, strings.Join(p.Evidence, " "))
			kube.cmd(lit("kubectl get pod -o yaml -n"), p.Namespace, p.Name, lit(">"), p.Namespace+"_"+p.Name+".yaml")
			kube.cmd(lit("kubectl logs --all-containers --timestamps -n"), p.Namespace, p.Name, lit(">"), p.Namespace+"_"+p.Name+".log")
			kube.cmd(lit("kubectl delete pod -n"), p.Namespace, p.Name)
			kube.blank()
		}
		var files []string
		for _, p := range f.Pods {
			for _, x := range p.Files {
				files = appendNew(files, x)
			}
		}
		b.WriteString("\nDeleting a pod removes what was written into its containers; a pod of a controller is recreated from its image, so fix the image first when the entry point was the application itself.\n")
		if len(files) > 0 {
			fmt.Fprintf(&b, "Files the detections name (hunt for them on other pods and nodes): %s.\n", codes(files))
		}
	}
	if len(f.Images) > 0 {
		step++
		fmt.Fprintf(&b, "\n### %d. Rebuild or patch the images\n\n", step)
		for _, im := range f.Images {
			ev.add(im.Evidence...)
			fmt.Fprintf(&b, "- %s, run by %s: when the application in it was the way in, rebuild it from a patched base with the vulnerable component updated, scan it, push a new tag and roll the workloads onto it; otherwise check that the registry's image matches the digest that ran and redeploy it (detections %s).\n",
				remedyCode(im.Ref), codes(im.Pods), shortIDs(im.Evidence))
		}
		b.WriteString("\nPin images by digest so that a replaced pod cannot start the old image again, and remove shells and download tools the application does not need.\n")
	}
	if len(f.Nodes) > 0 {
		step++
		fmt.Fprintf(&b, "\n### %d. Check the nodes\n\n", step)
		for _, n := range f.Nodes {
			ev.add(n.Evidence...)
			what := "host processes"
			if len(n.Pods) > 0 {
				what = "affected pods " + codes(n.Pods)
			}
			inst := "instance id not in the case"
			if n.InstanceID != "" {
				inst = "instance " + remedyCode(n.InstanceID)
			}
			fmt.Fprintf(&b, "- %s (%s) ran %s: look for other containers and host processes of the same behaviour, new files, cron entries and SSH keys; replace the node if anything reached the host (detections %s).\n",
				remedyCode(n.Name), inst, what, shortIDs(n.Evidence))
		}
	}
	aws, policies := identitySteps(&b, f, env.Now, &step, &ev)
	step++
	fmt.Fprintf(&b, "\n### %d. Close the case\n\n", step)
	b.WriteString("Confirm no new detections appear for these resources, record what was changed, and keep the captured evidence with the case.\n")
	if len(f.Other) > 0 {
		fmt.Fprintf(&b, "\n%d detections name nothing to act on (no pod, node or identity): %s.\n", len(f.Other), shortIDs(f.Other))
	}

	a := Answer{Text: b.String(), Evidence: ev, Artifacts: []Artifact{}}
	if !kube.empty() {
		a.Artifacts = append(a.Artifacts, Artifact{Kind: ArtifactKubectl, Name: "capture and replace the affected pods", Content: kube.String()})
	}
	if !aws.empty() {
		a.Artifacts = append(a.Artifacts, Artifact{Kind: ArtifactAWSCLI, Name: "contain the cloud identities", Content: aws.String()})
	}
	a.Artifacts = append(a.Artifacts, policies...)
	a.Suggestions = []string{"give me detailed guidance on isolating affected resources", "what was the root cause?", "how many workloads were impacted?"}
	if a.Evidence == nil {
		a.Evidence = []string{}
	}
	return a, nil
}

// answerIsolate answers "give me detailed guidance on isolating affected
// resources": network containment first, then evidence capture, then
// removal, for pods, nodes and cloud identities.
func answerIsolate(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error) {
	f, err := remedyCollect(ctx, env.Store, c)
	if err != nil {
		return Answer{}, err
	}
	if len(f.Used) == 0 {
		return remedyNothing(c, f, "isolate"), nil
	}
	var b strings.Builder
	var ev remedyEvidence
	var arts []Artifact
	b.WriteString("## Isolating the affected resources\n\n")
	remedyHeader(&b, c, f)
	b.WriteString("Work in this order: cut the network, capture evidence, and only then remove anything — a deleted pod takes its memory, processes and written files with it.\n")
	remedyWarnings(&b, f)
	step := 0
	groups := remedyPolicyGroups(f.Pods)
	kube := &remedyScript{}
	var okPods []*remedyPod
	for _, p := range f.Pods {
		if p.ok() {
			okPods = append(okPods, p)
		}
	}

	if len(okPods) > 0 {
		step++
		fmt.Fprintf(&b, "\n### %d. Cut the pods' network\n\n", step)
		b.WriteString("Label each affected pod for quarantine, then apply a deny-all NetworkPolicy (both policy types, no rules: no traffic in or out) that selects the pods by their own labels. Enforcement needs a network plugin that implements NetworkPolicy (on EKS: the VPC CNI's network policy agent, Calico or Cilium). Established connections may survive on some plugins: the next steps remove the pods anyway.\n\n")
		kube.comment("1. Quarantine label and deny-all NetworkPolicy")
		for _, p := range okPods {
			kube.cmd(lit("kubectl label pod --overwrite -n"), p.Namespace, p.Name, remedyQuarantineLabel)
		}
		for _, g := range groups {
			var names, ids []string
			for _, p := range g.Pods {
				names = append(names, p.Namespace+"/"+p.Name)
				ids = append(ids, p.Evidence...)
			}
			ev.add(ids...)
			y := denyAllNetworkPolicy(g.Name, g.Namespace, g.Labels, "isolates "+strings.Join(names, ", "))
			arts = append(arts, Artifact{Kind: ArtifactNetworkPolicy, Name: g.Name, Content: y})
			fmt.Fprintf(&b, "- NetworkPolicy %s in namespace %s (cluster %s) selects %s. Other pods with exactly these labels would be isolated too: same-revision replicas of the workload.\n",
				remedyCode(g.Name), remedyCode(g.Namespace), remedyCode(g.Cluster), codes(names))
			kube.comment("cluster %s: save the NetworkPolicy artifact %s as %s.yaml", g.Cluster, g.Name, g.Name)
			kube.cmd(lit("kubectl apply -f"), g.Name+".yaml")
		}
		for _, p := range okPods {
			if len(p.Labels) == 0 {
				ev.add(p.Evidence...)
				fmt.Fprintf(&b, "- %s: its events carry no labels, so no policy can select it by them; isolate it by its quarantine label instead (a policy with `matchLabels: {cairn.io/quarantine: \"true\"}`) after labelling.\n", podRef(p))
			}
		}
		kube.blank()

		nodes := nodesOf(f, okPods)
		if len(nodes) > 0 {
			step++
			fmt.Fprintf(&b, "\n### %d. Cordon the nodes\n\n", step)
			fmt.Fprintf(&b, "Stop new pods from being scheduled on %s while the investigation runs (running pods stay).\n", codes(nodes))
			kube.comment("2. Cordon the nodes")
			for _, n := range nodes {
				kube.cmd(lit("kubectl cordon"), n)
			}
			kube.blank()
		}

		step++
		fmt.Fprintf(&b, "\n### %d. Capture evidence\n\n", step)
		b.WriteString("Before removing anything: the pod spec and status, the logs of every container (and of the previous instance when one restarted), and the events. For memory and disk of a running container, use your runtime's checkpoint or a node-level capture now.\n")
		kube.comment("3. Capture evidence (before anything is deleted)")
		for _, p := range okPods {
			ev.add(p.Evidence...)
			base := p.Namespace + "_" + p.Name
			kube.cmd(lit("kubectl get pod -o yaml -n"), p.Namespace, p.Name, lit(">"), base+".yaml")
			kube.cmd(lit("kubectl describe pod -n"), p.Namespace, p.Name, lit(">"), base+".describe.txt")
			kube.cmd(lit("kubectl logs --all-containers --timestamps -n"), p.Namespace, p.Name, lit(">"), base+".log")
			kube.cmd(lit("kubectl logs --all-containers --timestamps --previous -n"), p.Namespace, p.Name, lit(">"), base+".previous.log", lit("2>/dev/null"))
			kube.cmd(lit("kubectl get events -n"), p.Namespace, lit("--field-selector"), "involvedObject.name="+p.Name, lit(">"), base+".events.txt")
		}
		kube.blank()

		step++
		fmt.Fprintf(&b, "\n### %d. Remove the pods\n\n", step)
		kube.comment("4. Remove: scale the workloads to zero, then delete the pods")
		done := map[string]bool{}
		for _, p := range okPods {
			res, ok := remedyWorkloadResource[p.WorkloadKind]
			w := p.Namespace + "/" + res + "/" + p.WorkloadName
			switch {
			case !ok || !validDNSName(p.WorkloadName):
				fmt.Fprintf(&b, "- %s: delete the pod.\n", podRef(p))
			case done[w]:
				fmt.Fprintf(&b, "- %s: delete the pod (its workload is scaled above).\n", podRef(p))
			case res == "deployment" || res == "statefulset" || res == "replicaset":
				fmt.Fprintf(&b, "- %s: scale %s to zero (this stops its unaffected replicas too; skip it and delete only the pod if the service must stay up and the image is not the entry point), then delete the pod.\n", podRef(p), remedyCode(p.WorkloadName))
				kube.cmd(lit("kubectl scale --replicas=0 -n"), p.Namespace, res+"/"+p.WorkloadName)
			case res == "cronjob":
				fmt.Fprintf(&b, "- %s: suspend the CronJob so it starts no new pods, then delete the pod.\n", podRef(p))
				kube.cmd(lit("kubectl patch -n"), p.Namespace, res+"/"+p.WorkloadName, lit("-p"), `{"spec":{"suspend":true}}`)
			case res == "daemonset":
				fmt.Fprintf(&b, "- %s: a DaemonSet cannot be scaled; the cordon does not stop it either. Delete the pod; if it comes back compromised, delete or fix the DaemonSet.\n", podRef(p))
			default:
				fmt.Fprintf(&b, "- %s: delete the pod.\n", podRef(p))
			}
			done[w] = true
		}
		for _, p := range okPods {
			kube.cmd(lit("kubectl delete pod --wait=false -n"), p.Namespace, p.Name)
		}
		kube.blank()
	}

	// EC2: the nodes and the instances whose credentials were used.
	ec2 := &remedyScript{}
	type target struct{ id, why, node string }
	var targets []target
	var unknown []*remedyNode
	for _, in := range f.Instances {
		ev.add(in.Evidence...)
		targets = append(targets, target{id: in.ID, why: "its instance-role credentials (role " + in.Role + ") were used"})
	}
	for _, n := range f.Nodes {
		if !n.Valid {
			continue
		}
		ev.add(n.Evidence...)
		if n.InstanceID == "" {
			unknown = append(unknown, n)
			continue
		}
		if !slices.ContainsFunc(targets, func(t target) bool { return t.id == n.InstanceID }) {
			targets = append(targets, target{id: n.InstanceID, why: "node " + n.Name, node: n.Name})
		}
	}
	if len(targets) > 0 || len(unknown) > 0 {
		step++
		fmt.Fprintf(&b, "\n### %d. Isolate the EC2 instances\n\n", step)
		b.WriteString("When a node itself may be compromised (host processes, a container escape, or its instance credentials used elsewhere), isolate the instance: snapshot its volumes first, then replace its security groups with a quarantine group that allows nothing (create it beforehand in the instance's VPC; set `QUARANTINE_SG` to its id). This cuts every pod on the node, so drain what you can first. `modify-instance-attribute --groups` changes the primary network interface only: EKS nodes with several interfaces need `aws ec2 modify-network-interface-attribute` on each.\n\n")
		ec2.raw(`: "${QUARANTINE_SG:?set QUARANTINE_SG to the id of a security group with no rules}"`)
		for _, t := range targets {
			fmt.Fprintf(&b, "- instance %s: %s.\n", remedyCode(t.id), remedyVisible(t.why))
			ec2.comment("Instance %s: %s", t.id, t.why)
			ec2.cmd(lit("for v in $(aws ec2 describe-volumes --query 'Volumes[].VolumeId' --output text --filters"), "Name=attachment.instance-id,Values="+t.id, lit("); do"))
			ec2.cmd(lit(`  aws ec2 create-snapshot --volume-id "$v" --description`), "cairn forensic snapshot of "+t.id)
			ec2.raw("done")
			ec2.cmd(lit(`aws ec2 modify-instance-attribute --groups "$QUARANTINE_SG" --instance-id`), t.id)
			ec2.blank()
		}
		for _, n := range unknown {
			fmt.Fprintf(&b, "- node %s: its instance id is not in the case; look it up (the commands below) and isolate it the same way.\n", remedyCode(n.Name))
			ec2.comment("Node %s: instance id unknown — look it up, then snapshot and swap its security groups as above", n.Name)
			ec2.cmd(lit("kubectl get node -o jsonpath='{.spec.providerID}'"), n.Name)
			ec2.cmd(lit("aws ec2 describe-instances --query 'Reservations[].Instances[].InstanceId' --output text --filters"), "Name=private-dns-name,Values="+n.Name)
			ec2.blank()
		}
	}

	aws, policies := identitySteps(&b, f, env.Now, &step, &ev)
	if len(f.Other) > 0 {
		fmt.Fprintf(&b, "\n%d detections name nothing to isolate (no pod, node or identity): %s.\n", len(f.Other), shortIDs(f.Other))
	}
	b.WriteString("\nWhen everything is contained, ask *how do I fix this?* for the remediation.\n")

	a := Answer{Text: b.String(), Evidence: ev, Artifacts: arts}
	if !kube.empty() {
		a.Artifacts = append(a.Artifacts, Artifact{Kind: ArtifactKubectl, Name: "quarantine, capture and remove the affected pods", Content: kube.String()})
	}
	if !ec2.empty() {
		a.Artifacts = append(a.Artifacts, Artifact{Kind: ArtifactAWSCLI, Name: "snapshot and quarantine the EC2 instances", Content: ec2.String()})
	}
	if !aws.empty() {
		a.Artifacts = append(a.Artifacts, Artifact{Kind: ArtifactAWSCLI, Name: "contain the cloud identities", Content: aws.String()})
	}
	a.Artifacts = append(a.Artifacts, policies...)
	if a.Artifacts == nil {
		a.Artifacts = []Artifact{}
	}
	if a.Evidence == nil {
		a.Evidence = []string{}
	}
	a.Suggestions = []string{"how do I fix this?", "what was the root cause?", "generate detailed investigation report"}
	return a, nil
}

// nodesOf lists the valid node names the pods ran on.
func nodesOf(f *remedyFindings, pods []*remedyPod) []string {
	var out []string
	for _, p := range pods {
		for _, n := range p.Nodes {
			if validDNSName(n) {
				out = appendNew(out, n)
			}
		}
	}
	return out
}
