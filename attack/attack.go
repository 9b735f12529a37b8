// Package attack is cairn's table of MITRE ATT&CK Enterprise tactics and
// techniques: ids, names, kill-chain order and which tactics a technique
// serves. Rules tag detections with ATT&CK in several spellings (Falco's
// mitre_execution and T1059, Sigma's attack.execution and attack.t1059.004);
// this package turns all of them into the same Tactic and Technique values.
//
// The table (table_gen.go) is generated from MITRE's STIX data and holds
// facts only. MITRE ATT&CK® is a registered trademark of The MITRE
// Corporation.
package attack

//go:generate go run ./internal/gen -corpus ../../shared/corpus/attack -version 18 -out table_gen.go

import (
	"slices"
	"strings"
)

// Tactic is an ATT&CK tactic: the adversary's goal behind a technique.
type Tactic struct {
	ID        string // TA0002
	Shortname string // execution
	Name      string // Execution
	Order     int    // position in the kill chain: 1 is reconnaissance
}

// Technique is an ATT&CK technique or sub-technique.
type Technique struct {
	ID      string   // T1059 or T1059.004
	Name    string   // Unix Shell
	Tactics []string // tactic shortnames, in kill-chain order
	Parent  string   // the parent technique's ID for a sub-technique, else ""
}

// Tactics returns every Enterprise tactic in kill-chain order.
func Tactics() []Tactic {
	return slices.Clone(tacticTable[:])
}

// TacticByID returns the tactic with the given ID ("TA0002"); case is
// ignored.
func TacticByID(id string) (Tactic, bool) {
	for _, t := range tacticTable {
		if strings.EqualFold(t.ID, id) {
			return t, true
		}
	}
	return Tactic{}, false
}

// TacticByName returns the tactic named s in any of the spellings rules
// use: the shortname ("defense-evasion"), the name ("Defense Evasion"),
// underscores ("defense_evasion"), a Falco tag ("mitre_defense_evasion") or
// a Sigma tag ("attack.defense-evasion"). Case is ignored. A tactic ID
// ("TA0005") is accepted too.
func TacticByName(s string) (Tactic, bool) {
	key := normalizeTactic(s)
	if key == "" {
		return Tactic{}, false
	}
	for _, t := range tacticTable {
		if t.Shortname == key {
			return t, true
		}
	}
	return TacticByID(key)
}

// TechniqueByID returns the technique or sub-technique with the given ID
// ("T1059", "T1059.004"); case is ignored. Revoked and deprecated
// techniques are not in the table.
func TechniqueByID(id string) (Technique, bool) {
	if len(id) > len("T0000.000") {
		return Technique{}, false
	}
	id = strings.ToUpper(id)
	i, ok := slices.BinarySearchFunc(techniqueTable[:], id, func(t Technique, id string) int {
		return strings.Compare(t.ID, id)
	})
	if !ok {
		return Technique{}, false
	}
	t := techniqueTable[i]
	t.Tactics = slices.Clone(t.Tactics)
	return t, true
}

// normalizeTactic turns a tactic spelling into shortname form: lower case,
// words joined by hyphens, without a "mitre_" or "attack." prefix.
func normalizeTactic(s string) string {
	if len(s) > 64 {
		return ""
	}
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"mitre_", "mitre-", "mitre.", "attack."} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s = rest
			break
		}
	}
	s = strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' {
			return '-'
		}
		return r
	}, s)
	return s
}
