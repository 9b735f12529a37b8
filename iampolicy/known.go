package iampolicy

import (
	"maps"
	"slices"
)

// Services returns the IAM service prefixes of the known-action table,
// sorted, so that callers outside the package can expand wildcards
// without holding a copy of the table.
func Services() []string {
	return slices.Sorted(maps.Keys(knownActions))
}

// KnownActions returns the known actions of the service prefix as
// prefix:Name, sorted; nil when the prefix is not in the table. The
// prefix is matched exactly: IAM prefixes are lower case. The slice is
// new on every call, so the table cannot be changed through it.
func KnownActions(prefix string) []string {
	names := knownActions[prefix]
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + ":" + n
	}
	return out
}
