package posture

// Internal tables for the external tests.
var (
	EscalationActions = escalationActions
	EscalationPaths   = escalationPaths
	Glob              = glob
)
