// Package assist is cairn's investigation assistant: it answers questions
// in plain language (summarize, report, root cause, ATT&CK, attack path,
// blast radius, how do I fix this) from the stored detections, events and
// process trees, every claim with the ids of the evidence behind it. It
// works offline: questions are parsed by rules (an intent and the
// entities named, recognised against the values in the store), and every
// number and name in an answer comes from a query.
package assist

import (
	"context"
	"time"

	"github.com/cairn-cdr/cairn"
)

// Intent is what a question asks for.
type Intent string

// The intents the assistant answers.
const (
	IntentSummary   Intent = "summary"      // detections in a scope grouped by rule and severity, with the workloads involved
	IntentReport    Intent = "report"       // a detailed investigation report (Markdown and HTML)
	IntentRootCause Intent = "root_cause"   // where it started: the script, the exploited service, the stolen credential
	IntentAttack    Intent = "attack"       // ATT&CK tactics and techniques, along the kill chain
	IntentPath      Intent = "attack_path"  // detections in time and kill-chain order, with the process lineage
	IntentBlast     Intent = "blast_radius" // which and how many workloads, hosts, identities, resources were touched
	IntentFix       Intent = "remediation"  // how do I fix this: steps and ready artifacts
	IntentIsolate   Intent = "isolation"    // detailed guidance on isolating the affected resources
	IntentExplain   Intent = "explain"      // what a rule or detection means
	IntentHelp      Intent = "help"         // what the assistant can answer (also the answer to what it does not understand)
)

// Intents lists every intent, in the order help presents them.
var Intents = []Intent{IntentSummary, IntentReport, IntentRootCause, IntentAttack, IntentPath, IntentBlast, IntentFix, IntentIsolate, IntentExplain, IntentHelp}

// EntityKind is the kind of thing a question names.
type EntityKind string

// The kinds of entity recognised in questions, each with the filter
// field that selects it.
const (
	KindCluster   EntityKind = "cluster"   // k8s.cluster.name
	KindNamespace EntityKind = "namespace" // k8s.ns.name
	KindWorkload  EntityKind = "workload"  // k8s.workload.name
	KindPod       EntityKind = "pod"       // k8s.pod.name
	KindImage     EntityKind = "image"     // container.image.repository
	KindHost      EntityKind = "host"      // evt.hostname
	KindIdentity  EntityKind = "identity"  // cloud.identity
	KindRule      EntityKind = "rule"      // rule.name
	KindProcess   EntityKind = "process"   // proc.name
	KindIP        EntityKind = "ip"        // fd.rip or ct.srcip
)

// Entity is one thing a question or an answer names: a value as the store
// holds it.
type Entity struct {
	Kind  EntityKind `json:"kind"`
	Value string     `json:"value"`
}

// Parsed is what a question asks.
type Parsed struct {
	Intent Intent `json:"intent"`
	// Understood is false when no intent was recognised; Intent is then
	// IntentHelp.
	Understood bool `json:"understood"`
	// Entities are the store's values the question names, exactly as the
	// store holds them (recognised case-insensitively, by part of the
	// name and despite small typos).
	Entities []Entity `json:"entities,omitempty"`
	// FollowUp is true when the question refers back ("this", "it",
	// "those pods", "the attack") or names no scope, so the session's
	// scope applies.
	FollowUp bool `json:"follow_up"`
	// All is true when the question asks about everything ("all
	// detections", "across the whole environment"): the session's scope
	// is dropped.
	All bool `json:"all"`
	// Since is a time range the question gives ("in the last 24 hours"),
	// 0 when none.
	Since time.Duration `json:"since,omitempty"`
	// MinSeverity is the least severity the question asks about
	// ("critical detections", "high or critical alerts"), "" for any.
	MinSeverity string `json:"min_severity,omitempty"`
}

// Answer is the assistant's reply.
type Answer struct {
	// Text is the answer in Markdown.
	Text   string `json:"answer"`
	Intent Intent `json:"intent"`
	// Filter is the feed filter the answer's scope stands for ("" for
	// everything): the UI applies it to the feed.
	Filter string `json:"filter"`
	// Scope describes the scope in words ("namespace payments").
	Scope string `json:"scope"`
	// Evidence are the ids of the detections and events the answer rests
	// on, detections first.
	Evidence  []string   `json:"evidence"`
	Artifacts []Artifact `json:"artifacts"`
	// Suggestions are questions to ask next.
	Suggestions []string `json:"suggestions,omitempty"`
}

// Artifact is something ready to use that an answer produces.
type Artifact struct {
	// Kind is one of the Artifact* kinds.
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Content string `json:"content"`
}

// Artifact kinds.
const (
	ArtifactNetworkPolicy = "kubernetes-networkpolicy" // YAML
	ArtifactKubectl       = "kubectl"                  // shell commands
	ArtifactAWSCLI        = "aws-cli"                  // shell commands
	ArtifactIAMPolicy     = "iam-policy"               // IAM policy JSON
	ArtifactMarkdown      = "markdown"                 // a report
	ArtifactHTML          = "html"                     // a report
)

// Store is what the assistant reads.
type Store interface {
	cairn.EventReader
	cairn.ProcessReader
	cairn.ContextReader
	QueryDetections(ctx context.Context, q cairn.DetectionQuery) (cairn.DetectionPage, error)
	GetDetection(ctx context.Context, id string) (cairn.Detection, error)
}

// Describer gives a rule's description, for explanations; nil when the
// rule is unknown.
type Describer func(rule string) (desc string, ok bool)

// Env is what an answer may read beyond its case.
type Env struct {
	Store    Store
	Describe Describer // nil: no rule descriptions
	Now      time.Time
}

// answerFunc builds the answer of one intent from the case of the
// question's scope. It sets Text, Evidence, Artifacts and Suggestions;
// the engine sets Intent, Filter and Scope.
type answerFunc func(ctx context.Context, env Env, c *Case, p Parsed) (Answer, error)
