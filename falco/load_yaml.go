package falco

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// item is one entry of a rules file, as YAML gives it.
type item struct {
	Rule                   *string           `yaml:"rule"`
	Macro                  *string           `yaml:"macro"`
	List                   *string           `yaml:"list"`
	RequiredEngineVersion  any               `yaml:"required_engine_version"`
	RequiredPluginVersions any               `yaml:"required_plugin_versions"`
	Desc                   *string           `yaml:"desc"`
	Condition              *string           `yaml:"condition"`
	Output                 *string           `yaml:"output"`
	Priority               *string           `yaml:"priority"`
	Tags                   []string          `yaml:"tags"`
	Enabled                *bool             `yaml:"enabled"`
	Source                 *string           `yaml:"source"`
	Exceptions             []exception       `yaml:"exceptions"`
	Items                  []any             `yaml:"items"`
	Append                 bool              `yaml:"append"`
	Override               map[string]string `yaml:"override"`

	line int
}

// exception is a rule's exception: fields compared with each of values.
// Fields and Comps are either one string or a list.
type exception struct {
	Name   string `yaml:"name"`
	Fields any    `yaml:"fields"`
	Comps  any    `yaml:"comps"`
	Values []any  `yaml:"values"`
}

// parseFile decodes a rules file: a YAML sequence of items (or no document).
func parseFile(data []byte) ([]item, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: a rules file is a list of rules, macros and lists", root.Line)
	}
	out := make([]item, 0, len(root.Content))
	for _, n := range root.Content {
		var it item
		if err := n.Decode(&it); err != nil {
			return nil, fmt.Errorf("line %d: %v", n.Line, err)
		}
		it.line = n.Line
		out = append(out, it)
	}
	return out, nil
}

// strs returns a YAML value that is a string or a list of scalars as strings.
func strs(v any) ([]string, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return []string{x}, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := scalar(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// scalar renders a YAML scalar (string, number, bool) as text.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int, int64, float64, bool:
		return fmt.Sprint(x), true
	}
	return "", false
}
