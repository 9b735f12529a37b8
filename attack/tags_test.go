package attack_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/attack"
)

const corpus = "../../shared/corpus"

// ids returns the IDs and tactic shortnames of FromTags' results, for
// comparison.
func ids(techs []attack.Technique, tactics []attack.Tactic) (techIDs, shortnames []string) {
	techIDs, shortnames = []string{}, []string{}
	for _, t := range techs {
		techIDs = append(techIDs, t.ID)
	}
	for _, t := range tactics {
		shortnames = append(shortnames, t.Shortname)
	}
	return techIDs, shortnames
}

func TestFromTags(t *testing.T) {
	tests := []struct {
		name       string
		tags       []string
		techniques []string
		tactics    []string
	}{
		{"falco", []string{"maturity_stable", "host", "container", "process", "mitre_execution", "T1059"},
			[]string{"T1059"}, []string{"execution"}},
		{"falco tactic id", []string{"maturity_stable", "mitre_persistence", "TA0003", "PCI_DSS_11.5.1"},
			nil, []string{"persistence"}},
		{"sigma", []string{"attack.t1059.004", "attack.execution"},
			[]string{"T1059.004"}, []string{"execution"}},
		{"sigma underscores", []string{"attack.privilege_escalation", "attack.T1611"},
			[]string{"T1611"}, []string{"privilege-escalation"}},
		{"technique adds its tactics, kill-chain order", []string{"mitre_impact", "T1078", "mitre_discovery"},
			[]string{"T1078"}, []string{"initial-access", "persistence", "privilege-escalation", "defense-evasion", "discovery", "impact"}},
		{"sorted and unique", []string{"T1552.005", "T1059", "t1059", "attack.t1059", "T1552.005", "mitre_execution", "mitre_execution"},
			[]string{"T1059", "T1552.005"}, []string{"execution", "credential-access"}},
		{"unknown ignored", []string{"T1086", "T9999", "attack.g0016", "attack.s0002", "attack.stealth", "cve.2021-44228", "mitre_nothing", "impact", "", "T", "attack.", "mitre_"},
			nil, nil},
		{"bare tactic words are not tactics", []string{"discovery", "Execution", "persistence"},
			nil, nil},
		{"nil", nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			techs, tactics := attack.FromTags(tc.tags)
			gotTechs, gotTactics := ids(techs, tactics)
			if !slices.Equal(gotTechs, orEmpty(tc.techniques)) || !slices.Equal(gotTactics, orEmpty(tc.tactics)) {
				t.Errorf("FromTags(%q) = %q, %q; want %q, %q", tc.tags, gotTechs, gotTactics, tc.techniques, tc.tactics)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// falcoTags reads the tags of every rule in a Falco rules file, by rule name.
// It reads the flow-style "tags: [a, b]" lines the Falco rule files use,
// which is all this test needs.
func falcoTags(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("corpus not found at %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	rule := ""
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		if name, ok := strings.CutPrefix(line, "- rule: "); ok {
			rule = strings.TrimSpace(name)
			continue
		}
		if list, ok := strings.CutPrefix(line, "  tags: ["); ok && rule != "" {
			list = strings.TrimSuffix(strings.TrimSpace(list), "]")
			var tags []string
			for _, tag := range strings.Split(list, ",") {
				tags = append(tags, strings.TrimSpace(tag))
			}
			out[rule] = tags
		}
	}
	if len(out) < 20 {
		t.Fatalf("read tags of only %d rules from %s", len(out), path)
	}
	return out
}

func TestFromTagsFalcoRules(t *testing.T) {
	rules := falcoTags(t, filepath.Join(corpus, "rules/falco/falco_rules.yaml"))
	tests := []struct {
		rule       string
		techniques []string
		tactics    []string
	}{
		{"Run shell untrusted", []string{"T1059.004"}, []string{"execution"}},
		{"Terminal shell in container", []string{"T1059"}, []string{"execution"}},
		{"Find AWS Credentials", []string{"T1552"}, []string{"credential-access"}},
		{"Linux Kernel Module Injection Detected", []string{}, []string{"persistence"}},
		// The rule's T1565 (Data Manipulation) brings in its own tactic, impact.
		{"Contact K8S API Server From Container", []string{"T1565"}, []string{"discovery", "impact"}},
	}
	for _, tc := range tests {
		tags, ok := rules[tc.rule]
		if !ok {
			t.Errorf("rule %q not found in falco_rules.yaml", tc.rule)
			continue
		}
		gotTechs, gotTactics := ids(attack.FromTags(tags))
		if !slices.Equal(gotTechs, tc.techniques) || !slices.Equal(gotTactics, tc.tactics) {
			t.Errorf("rule %q tags %q: got %q, %q; want %q, %q", tc.rule, tags, gotTechs, gotTactics, tc.techniques, tc.tactics)
		}
	}

	// Every ATT&CK-looking tag in the file names something in the table.
	techRe := regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	for rule, tags := range rules {
		for _, tag := range tags {
			if !techRe.MatchString(tag) && !strings.HasPrefix(tag, "mitre_") && !strings.HasPrefix(tag, "TA") {
				continue
			}
			if techs, tactics := attack.FromTags([]string{tag}); len(techs)+len(tactics) == 0 {
				t.Errorf("rule %q: tag %q names nothing", rule, tag)
			}
		}
	}
}

func TestFromTagsSigmaRule(t *testing.T) {
	path := filepath.Join(corpus, "rules/sigma/rules/linux/process_creation/proc_creation_lnx_susp_script_interpretor_spawn_credential_scanner.yml")
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("corpus not found at %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Read the block-style "tags:" list.
	var tags []string
	in := false
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "tags:":
			in = true
		case in && strings.HasPrefix(strings.TrimSpace(line), "- "):
			tags = append(tags, strings.TrimPrefix(strings.TrimSpace(line), "- "))
		default:
			in = false
		}
	}
	gotTechs, gotTactics := ids(attack.FromTags(tags))
	wantTechs := []string{"T1005", "T1059.004", "T1552"}
	wantTactics := []string{"execution", "credential-access", "collection"}
	if !slices.Equal(gotTechs, wantTechs) || !slices.Equal(gotTactics, wantTactics) {
		t.Errorf("tags %q: got %q, %q; want %q, %q", tags, gotTechs, gotTactics, wantTechs, wantTactics)
	}
}

func FuzzFromTags(f *testing.F) {
	for _, s := range []string{
		"mitre_execution", "T1059", "attack.t1059.004", "attack.execution", "TA0003",
		"attack.defense_evasion", "Defense Evasion", "t1562.008", "attack.ta0043", "mitre_", "",
	} {
		f.Add(s, "T1078")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		techs, tactics := attack.FromTags([]string{a, b})
		if len(techs) > 2 {
			t.Fatalf("two tags gave %d techniques", len(techs))
		}
		for i, tech := range techs {
			if i > 0 && techs[i-1].ID >= tech.ID {
				t.Fatalf("techniques not sorted and unique: %v", techs)
			}
			if _, ok := attack.TechniqueByID(tech.ID); !ok {
				t.Fatalf("technique %s not in the table", tech.ID)
			}
		}
		for i, tc := range tactics {
			if i > 0 && tactics[i-1].Order >= tc.Order {
				t.Fatalf("tactics not in kill-chain order: %v", tactics)
			}
		}
		// The lookups take the same untrusted strings.
		attack.TacticByName(a)
		attack.TacticByID(a)
		attack.TechniqueByID(a)
	})
}
