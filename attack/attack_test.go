package attack_test

import (
	"regexp"
	"slices"
	"testing"

	"github.com/cairn-cdr/cairn/attack"
)

func TestTactics(t *testing.T) {
	tactics := attack.Tactics()
	if len(tactics) != 14 {
		t.Fatalf("got %d tactics, want 14", len(tactics))
	}
	want := []string{
		"reconnaissance", "resource-development", "initial-access", "execution",
		"persistence", "privilege-escalation", "defense-evasion", "credential-access",
		"discovery", "lateral-movement", "collection", "command-and-control",
		"exfiltration", "impact",
	}
	idRe := regexp.MustCompile(`^TA[0-9]{4}$`)
	for i, tc := range tactics {
		if tc.Shortname != want[i] || tc.Order != i+1 || !idRe.MatchString(tc.ID) || tc.Name == "" {
			t.Errorf("tactic %d = %+v, want shortname %q order %d", i, tc, want[i], i+1)
		}
	}
	tactics[0].Name = "changed"
	if attack.Tactics()[0].Name != "Reconnaissance" {
		t.Error("Tactics returned the table itself, not a copy")
	}
}

func TestTechniqueTable(t *testing.T) {
	idRe := regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	n, subs := 0, 0
	// Walk every possible parent id; the table is small enough.
	for p := 1000; p < 2000; p++ {
		for s := 0; s < 30; s++ {
			id := "T" + itoa(p, 4)
			if s > 0 {
				id += "." + itoa(s, 3)
			}
			tech, ok := attack.TechniqueByID(id)
			if !ok {
				continue
			}
			n++
			if tech.ID != id || !idRe.MatchString(tech.ID) || tech.Name == "" || len(tech.Tactics) == 0 {
				t.Errorf("bad entry %+v", tech)
			}
			for _, tc := range tech.Tactics {
				if _, ok := attack.TacticByName(tc); !ok {
					t.Errorf("%s: unknown tactic %q", id, tc)
				}
			}
			if s > 0 {
				subs++
				if tech.Parent != id[:5] {
					t.Errorf("%s: parent %q, want %q", id, tech.Parent, id[:5])
				}
				if _, ok := attack.TechniqueByID(tech.Parent); !ok {
					t.Errorf("%s: parent %s not in the table", id, tech.Parent)
				}
			} else if tech.Parent != "" {
				t.Errorf("%s: technique has parent %q", id, tech.Parent)
			}
		}
	}
	if n <= 600 || subs <= 300 || subs >= n {
		t.Errorf("table has %d techniques (%d sub-techniques); want > 600 with both kinds", n, subs)
	}
}

func itoa(v, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b)
}

func TestTechniqueByID(t *testing.T) {
	tests := []struct {
		id      string
		want    attack.Technique
		missing bool
	}{
		{id: "T1059.004", want: attack.Technique{ID: "T1059.004", Name: "Unix Shell", Tactics: []string{"execution"}, Parent: "T1059"}},
		{id: "t1059.004", want: attack.Technique{ID: "T1059.004", Name: "Unix Shell", Tactics: []string{"execution"}, Parent: "T1059"}},
		{id: "T1059", want: attack.Technique{ID: "T1059", Name: "Command and Scripting Interpreter", Tactics: []string{"execution"}}},
		{id: "T1562.008", want: attack.Technique{ID: "T1562.008", Name: "Disable or Modify Cloud Logs", Tactics: []string{"defense-evasion"}, Parent: "T1562"}},
		{id: "T1496", want: attack.Technique{ID: "T1496", Name: "Resource Hijacking", Tactics: []string{"impact"}}},
		{id: "T1552.005", want: attack.Technique{ID: "T1552.005", Name: "Cloud Instance Metadata API", Tactics: []string{"credential-access"}, Parent: "T1552"}},
		// Several tactics, in kill-chain order.
		{id: "T1078", want: attack.Technique{ID: "T1078", Name: "Valid Accounts", Tactics: []string{"initial-access", "persistence", "privilege-escalation", "defense-evasion"}}},
		{id: "T1086", missing: true},      // PowerShell, revoked by T1059.001
		{id: "T1059.999", missing: true},  // never existed
		{id: "TA0002", missing: true},     // a tactic
		{id: "", missing: true},           // empty
		{id: "T1059.0040", missing: true}, // too long
	}
	for _, tc := range tests {
		got, ok := attack.TechniqueByID(tc.id)
		if ok == tc.missing {
			t.Errorf("TechniqueByID(%q) found = %v, want %v", tc.id, ok, !tc.missing)
			continue
		}
		if !tc.missing && (got.ID != tc.want.ID || got.Name != tc.want.Name || got.Parent != tc.want.Parent || !slices.Equal(got.Tactics, tc.want.Tactics)) {
			t.Errorf("TechniqueByID(%q) = %+v, want %+v", tc.id, got, tc.want)
		}
	}
	got, _ := attack.TechniqueByID("T1059.004")
	got.Tactics[0] = "changed"
	if again, _ := attack.TechniqueByID("T1059.004"); again.Tactics[0] != "execution" {
		t.Error("TechniqueByID shares its Tactics slice with the table")
	}
}

func TestTacticLookups(t *testing.T) {
	tests := []struct {
		in     string
		byName string // shortname TacticByName must find, "" for none
		byID   string // shortname TacticByID must find, "" for none
	}{
		{"TA0002", "execution", "execution"},
		{"ta0005", "defense-evasion", "defense-evasion"},
		{"execution", "execution", ""},
		{"Execution", "execution", ""},
		{"mitre_execution", "execution", ""},
		{"Defense Evasion", "defense-evasion", ""},
		{"defense_evasion", "defense-evasion", ""},
		{"mitre_defense_evasion", "defense-evasion", ""},
		{"attack.defense-evasion", "defense-evasion", ""},
		{"attack.command_and_control", "command-and-control", ""},
		{"Command and Control", "command-and-control", ""},
		{"attack.ta0043", "reconnaissance", ""},
		{"stealth", "", ""}, // a tactic newer than the table
		{"mitre_", "", ""},
		{"", "", ""},
		{"TA9999", "", ""},
	}
	for _, tc := range tests {
		got, ok := attack.TacticByName(tc.in)
		if ok != (tc.byName != "") || got.Shortname != tc.byName {
			t.Errorf("TacticByName(%q) = %+v, %v; want %q", tc.in, got, ok, tc.byName)
		}
		got, ok = attack.TacticByID(tc.in)
		if ok != (tc.byID != "") || got.Shortname != tc.byID {
			t.Errorf("TacticByID(%q) = %+v, %v; want %q", tc.in, got, ok, tc.byID)
		}
	}
	if tc, _ := attack.TacticByID("TA0002"); tc != (attack.Tactic{ID: "TA0002", Shortname: "execution", Name: "Execution", Order: 4}) {
		t.Errorf("TacticByID(TA0002) = %+v", tc)
	}
}
