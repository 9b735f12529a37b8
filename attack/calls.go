package attack

import (
	"cmp"
	"slices"
	"strings"
)

// Call is what TrailDiscover's catalog says about one CloudTrail API call:
// the ATT&CK tactics and techniques an attacker making it may be after.
// The mapping is a catalog's judgement about the call in general, not a
// detection: a call maps the same way whoever makes it.
type Call struct {
	Source     string   // the eventSource: s3.amazonaws.com
	Name       string   // the eventName: GetObject
	Tactics    []string // tactic ids (TA0009), in the catalog's order
	Techniques []string // technique and sub-technique ids (T1530, T1562.008), sorted
}

//go:generate go run ./internal/gencalls -corpus ../../shared/corpus/cloudtrail/traildiscover -out calls_gen.go

// CallTechniques returns the catalog's entry for a CloudTrail call, by its
// eventSource ("s3.amazonaws.com") and eventName ("GetObject"), both
// matched exactly as CloudTrail writes them. It reports false for a call
// the catalog does not hold.
func CallTechniques(eventSource, eventName string) (Call, bool) {
	i, ok := slices.BinarySearchFunc(callTable[:], [2]string{eventSource, eventName}, func(c Call, k [2]string) int {
		return cmp.Or(strings.Compare(c.Source, k[0]), strings.Compare(c.Name, k[1]))
	})
	if !ok {
		return Call{}, false
	}
	c := callTable[i]
	c.Tactics = slices.Clone(c.Tactics)
	c.Techniques = slices.Clone(c.Techniques)
	return c, true
}
