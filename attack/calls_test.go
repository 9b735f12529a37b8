package attack

import (
	"cmp"
	"slices"
	"strings"
	"testing"
)

func TestCallTechniques(t *testing.T) {
	tests := []struct {
		source, name string
		tactics      []string
		techniques   []string
	}{
		{"s3.amazonaws.com", "GetObject", []string{"TA0010"}, []string{"T1048"}},
		{"s3.amazonaws.com", "ListBuckets", []string{"TA0007"}, []string{"T1526"}},
		{"s3.amazonaws.com", "ListObjects", []string{"TA0007"}, []string{"T1619"}},
		{"cloudtrail.amazonaws.com", "StopLogging", []string{"TA0005"}, []string{"T1562", "T1562.001", "T1562.008"}},
		{"sts.amazonaws.com", "GetCallerIdentity", []string{"TA0007"}, []string{"T1087", "T1087.004"}},
		// Listed twice in the catalog: merged into one entry.
		{"ec2.amazonaws.com", "GetLaunchTemplateData", []string{"TA0007"}, []string{"T1580"}},
		// The catalog gives only T1089, a revoked technique: dropped.
		{"ec2.amazonaws.com", "DeleteFlowLogs", []string{"TA0005"}, []string{}},
	}
	for _, tt := range tests {
		c, ok := CallTechniques(tt.source, tt.name)
		if !ok {
			t.Errorf("CallTechniques(%q, %q): not found", tt.source, tt.name)
			continue
		}
		if c.Source != tt.source || c.Name != tt.name || !slices.Equal(c.Tactics, tt.tactics) || !slices.Equal(c.Techniques, tt.techniques) {
			t.Errorf("CallTechniques(%q, %q) = %+v, want tactics %v techniques %v", tt.source, tt.name, c, tt.tactics, tt.techniques)
		}
	}
	for _, k := range [][2]string{
		{"s3.amazonaws.com", "getobject"},     // names are matched exactly
		{"S3.amazonaws.com", "GetObject"},     // sources too
		{"s3.amazonaws.com", "NoSuchCall"},    // not in the catalog
		{"nosuch.amazonaws.com", "GetObject"}, // no such service
		{"", ""},
	} {
		if c, ok := CallTechniques(k[0], k[1]); ok {
			t.Errorf("CallTechniques(%q, %q) = %+v, want not found", k[0], k[1], c)
		}
	}
	// The caller gets its own copy.
	c, _ := CallTechniques("s3.amazonaws.com", "ListObjects")
	c.Techniques[0] = "T0000"
	if c, _ := CallTechniques("s3.amazonaws.com", "ListObjects"); c.Techniques[0] != "T1619" {
		t.Errorf("the table was changed through a returned Call: %v", c.Techniques)
	}
}

// TestCallTableIDs checks every id of the table resolves in the ATT&CK
// table and that every entry can be found (it is sorted, without
// duplicates).
func TestCallTableIDs(t *testing.T) {
	calls := callTable[:]
	if len(calls) < 300 {
		t.Fatalf("only %d calls in the table", len(calls))
	}
	if !slices.IsSortedFunc(calls, func(a, b Call) int {
		return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.Name, b.Name))
	}) {
		t.Error("the table is not sorted by source then name")
	}
	for i, c := range calls {
		if i > 0 && calls[i-1].Source == c.Source && calls[i-1].Name == c.Name {
			t.Errorf("%s %s listed twice", c.Source, c.Name)
		}
		if got, ok := CallTechniques(c.Source, c.Name); !ok || got.Name != c.Name {
			t.Errorf("%s %s not found", c.Source, c.Name)
		}
		if len(c.Tactics) == 0 {
			t.Errorf("%s %s has no tactic", c.Source, c.Name)
		}
		for _, id := range c.Tactics {
			if _, ok := TacticByID(id); !ok {
				t.Errorf("%s %s: unknown tactic %s", c.Source, c.Name, id)
			}
		}
		for _, id := range c.Techniques {
			if _, ok := TechniqueByID(id); !ok {
				t.Errorf("%s %s: unknown technique %s", c.Source, c.Name, id)
			}
		}
	}
}
