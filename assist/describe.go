package assist

import (
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/sigma"
)

// Descriptions returns the describer of the loaded rules: a detection's
// rule name is a Falco rule's name, a Sigma rule's or correlation's title
// (its id when untitled). Either set may be nil.
func Descriptions(f *falco.RuleSet, s *sigma.RuleSet) Describer {
	m := map[string]string{}
	if f != nil {
		for _, r := range f.Rules {
			m[r.Name] = r.Desc
		}
	}
	if s != nil {
		for _, r := range s.Rules {
			name := r.Title
			if name == "" {
				name = r.ID
			}
			m[name] = r.Description
		}
		for _, c := range s.Correlations {
			name := c.Title
			if name == "" {
				name = c.ID
			}
			m[name] = c.Description
		}
	}
	return func(rule string) (string, bool) {
		d, ok := m[rule]
		return d, ok && d != ""
	}
}
