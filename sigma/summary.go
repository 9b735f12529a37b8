package sigma

import (
	"fmt"
	"sort"
	"strings"
)

// Summary counts what a load produced, for linting a rules corpus.
type Summary struct {
	Loaded, Skipped, Correlations int
	// BySource counts the loaded rules by logsource
	// (linux/process_creation, aws/cloudtrail, ...).
	BySource map[string]int
	// ByReason counts the skipped rules by reason, with the reasons of
	// missing fields grouped per field ("fields not available ...: X").
	ByReason map[string]int
}

// Summary counts the rule set's rules and skip reasons.
func (rs *RuleSet) Summary() Summary {
	s := Summary{Loaded: len(rs.Rules), Skipped: len(rs.Skipped), Correlations: len(rs.Correlations),
		BySource: map[string]int{}, ByReason: map[string]int{}}
	for _, r := range rs.Rules {
		s.BySource[r.src.String()]++
	}
	for _, sk := range rs.Skipped {
		s.ByReason[reasonClass(sk.Reason)]++
	}
	return s
}

// reasonClass shortens a skip reason to what rules skipped for the same
// cause share.
func reasonClass(reason string) string {
	if len(reason) > 160 {
		return reason[:160] + "..."
	}
	return reason
}

// SkippedFor returns the skipped entries whose reason contains text.
func (rs *RuleSet) SkippedFor(text string) []Skipped {
	var out []Skipped
	for _, sk := range rs.Skipped {
		if strings.Contains(sk.Reason, text) {
			out = append(out, sk)
		}
	}
	return out
}

// String renders the summary: totals, then reasons by count.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "loaded %d, skipped %d, correlations %d\n", s.Loaded, s.Skipped, s.Correlations)
	for _, kv := range sortedCounts(s.BySource) {
		fmt.Fprintf(&b, "  loaded %4d  %s\n", kv.n, kv.k)
	}
	for _, kv := range sortedCounts(s.ByReason) {
		fmt.Fprintf(&b, "  skipped %4d  %s\n", kv.n, kv.k)
	}
	return b.String()
}

type count struct {
	k string
	n int
}

func sortedCounts(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for k, n := range m {
		out = append(out, count{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].k < out[j].k
	})
	return out
}
