package attack

import (
	"slices"
	"strings"
)

// FromTags reads ATT&CK references out of rule tags in Falco's style
// ("mitre_execution", "T1059") and Sigma's ("attack.execution",
// "attack.t1059.004"), and returns the techniques and tactics they name.
// Bare tactic ids ("TA0003", as some Falco rules use) count too.
// A tactic tag needs its "mitre_" or "attack." prefix, so a bare tag such as
// "impact" or "discovery" is not taken for a tactic. Tags that name nothing
// in the table (other namespaces, unknown, revoked or deprecated ids) are
// ignored. Every tactic of a named technique is added to the tactics.
// Techniques come back sorted by ID and tactics in kill-chain order, each
// once.
func FromTags(tags []string) (techniques []Technique, tactics []Tactic) {
	seenTechnique := map[string]bool{}
	var seenTactic [len(tacticTable)]bool
	for _, tag := range tags {
		if t, ok := techniqueFromTag(tag); ok {
			if !seenTechnique[t.ID] {
				seenTechnique[t.ID] = true
				techniques = append(techniques, t)
			}
			for _, s := range t.Tactics {
				if tt, ok := TacticByName(s); ok {
					seenTactic[tt.Order-1] = true
				}
			}
			continue
		}
		if t, ok := tacticFromTag(tag); ok {
			seenTactic[t.Order-1] = true
		}
	}
	slices.SortFunc(techniques, func(a, b Technique) int { return strings.Compare(a.ID, b.ID) })
	for i, seen := range seenTactic {
		if seen {
			tactics = append(tactics, tacticTable[i])
		}
	}
	return techniques, tactics
}

// techniqueFromTag returns the technique a tag such as "T1059",
// "attack.t1059.004" or "mitre_t1059" names.
func techniqueFromTag(tag string) (Technique, bool) {
	id := strings.TrimSpace(tag)
	for _, p := range []string{"attack.", "mitre_", "mitre."} {
		if rest, ok := cutPrefixFold(id, p); ok {
			id = rest
			break
		}
	}
	if len(id) < 2 || (id[0] != 'T' && id[0] != 't') || id[1] < '0' || id[1] > '9' {
		return Technique{}, false
	}
	return TechniqueByID(id)
}

// tacticFromTag returns the tactic a tag such as "mitre_execution",
// "attack.defense_evasion", "attack.ta0005" or "TA0005" names.
func tacticFromTag(tag string) (Tactic, bool) {
	s := strings.TrimSpace(tag)
	if _, ok := cutPrefixFold(s, "TA"); ok {
		return TacticByID(s)
	}
	for _, p := range []string{"attack.", "mitre_", "mitre."} {
		if _, ok := cutPrefixFold(s, p); ok {
			return TacticByName(s)
		}
	}
	return Tactic{}, false
}

// cutPrefixFold is strings.CutPrefix with case ignored (ASCII prefixes).
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// IDs returns the ids of the techniques and tactics tags name, in
// FromTags's order, as a detection stores them.
func IDs(tags []string) (techniques, tactics []string) {
	ts, tas := FromTags(tags)
	for _, t := range ts {
		techniques = append(techniques, t.ID)
	}
	for _, t := range tas {
		tactics = append(tactics, t.ID)
	}
	return techniques, tactics
}
