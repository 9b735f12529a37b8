package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cairn-cdr/cairn"
)

// File is one rules file to load; it may hold several YAML documents.
type File struct {
	Name string
	Data []byte
}

// Skipped is a rule (or correlation, or filter) that was not loaded,
// with the reason. Rule is its title, or its id when it has no title;
// Fields lists the fields cairn lacks when that is the reason.
type Skipped struct {
	File, Rule, Reason string
	Fields             []string
}

// RuleSet is the result of Load: the rules that compiled, in file order,
// the correlation rules (parsed, not evaluated here), and what was
// skipped.
type RuleSet struct {
	Rules        []*Rule
	Skipped      []Skipped
	Correlations []*CorrelationDef
	// Tests are the test cases the loaded rules and correlations carry.
	Tests []Test
}

// Options tune loading.
type Options struct {
	// Placeholders gives the values of the placeholders that the expand
	// modifier names (%Administrators% → ["admin*", "root"]), without
	// the percent signs. A rule naming a placeholder not given here is
	// skipped.
	Placeholders map[string][]string
}

// Load reads Sigma rules files with default options; see Options.Load.
func Load(files ...File) (*RuleSet, error) { return Options{}.Load(files...) }

// Parse loads the documents of one file's content.
func Parse(data []byte) (*RuleSet, error) { return Load(File{Name: "rule.yml", Data: data}) }

// Load reads Sigma rules files: detection rules, correlation rules, and
// the action: global / reset / repeat documents of Sigma's rule
// collections. A file that is not YAML is an error (EINVALID naming the
// file); a rule cairn cannot evaluate (a logsource cairn has no events
// for, a field it cannot supply, a malformed detection or condition) is
// reported in Skipped, and the other rules load.
func (o Options) Load(files ...File) (*RuleSet, error) {
	rs := &RuleSet{}
	ids := map[string]string{}
	for _, f := range files {
		docs, err := splitDocuments(f.Data)
		if err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "%s: %v", f.Name, err)
		}
		for _, doc := range docs {
			o.loadDocument(rs, f.Name, doc, ids)
		}
	}
	return rs, nil
}

// splitDocuments parses the YAML documents of a file and applies the
// collection actions: a global document is merged into the documents
// that follow until a reset; a repeat document is the previous one with
// its keys replaced.
func splitDocuments(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("yaml: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var global, prev *yaml.Node
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if len(n.Content) == 0 || isNull(n.Content[0]) {
			continue
		}
		doc := n.Content[0]
		if doc.Kind != yaml.MappingNode {
			docs = append(docs, doc)
			continue
		}
		action, rest := splitKey(doc, "action")
		switch action {
		case "global":
			global = merge(global, rest)
			continue
		case "reset":
			global = nil
			continue
		case "repeat":
			if prev == nil {
				return nil, fmt.Errorf("line %d: action: repeat with no document before it", doc.Line)
			}
			doc = merge(prev, rest)
		case "":
		default:
			return nil, fmt.Errorf("line %d: unknown action %q", doc.Line, action)
		}
		if global != nil {
			doc = merge(global, doc)
		}
		prev = doc
		docs = append(docs, doc)
	}
	return docs, nil
}

// splitKey returns a scalar key's value and the mapping without it.
func splitKey(m *yaml.Node, key string) (string, *yaml.Node) {
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: m.Line, Column: m.Column}
	val := ""
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode {
			val = m.Content[i+1].Value
			continue
		}
		rest.Content = append(rest.Content, m.Content[i], m.Content[i+1])
	}
	return val, rest
}

// merge returns base with over's keys replacing or, for maps in both,
// merged into base's.
func merge(base, over *yaml.Node) *yaml.Node {
	if base == nil {
		return over
	}
	if base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: over.Line, Column: over.Column}
	out.Content = append(out.Content, base.Content...)
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		found := false
		for j := 0; j+1 < len(out.Content); j += 2 {
			if out.Content[j].Value == k.Value {
				out.Content[j+1] = merge(out.Content[j+1], v)
				found = true
				break
			}
		}
		if !found {
			out.Content = append(out.Content, k, v)
		}
	}
	return out
}

// textList is a list of strings that a rule may also write as one string.
type textList []string

// UnmarshalYAML accepts a string or a list of strings.
func (t *textList) UnmarshalYAML(n *yaml.Node) error {
	n = resolveAlias(n)
	switch {
	case n == nil || isNull(n):
		*t = nil
		return nil
	case n.Kind == yaml.ScalarNode:
		*t = textList{n.Value}
		return nil
	case n.Kind == yaml.SequenceNode:
		out := make(textList, 0, len(n.Content))
		for _, el := range n.Content {
			el = resolveAlias(el)
			if el == nil || el.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want a string", n.Line)
			}
			out = append(out, el.Value)
		}
		*t = out
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

// document is a Sigma document's attributes.
type document struct {
	Title          string    `yaml:"title"`
	ID             string    `yaml:"id"`
	Name           string    `yaml:"name"`
	Status         string    `yaml:"status"`
	Description    string    `yaml:"description"`
	Author         textList  `yaml:"author"`
	Date           string    `yaml:"date"`
	Modified       string    `yaml:"modified"`
	Level          string    `yaml:"level"`
	Taxonomy       string    `yaml:"taxonomy"`
	Tags           textList  `yaml:"tags"`
	References     textList  `yaml:"references"`
	Falsepositives textList  `yaml:"falsepositives"`
	Fields         textList  `yaml:"fields"`
	Logsource      Logsource `yaml:"logsource"`
	Detection      yaml.Node `yaml:"detection"`
	Correlation    yaml.Node `yaml:"correlation"`
	Filter         yaml.Node `yaml:"filter"`
	// Tests is cairn's custom attribute: test cases of the rule.
	Tests []Test `yaml:"tests"`
}

// Test is a test case a rule carries in its custom attribute tests: the
// records it sees, in any input format cairn reads, and whether the rule
// (or correlation) fires on them. Rule and File are filled in by Load.
type Test struct {
	Name    string `yaml:"name"`
	Expect  string `yaml:"expect"`
	Count   int    `yaml:"count"`
	Records []any  `yaml:"records"`
	Rule    string `yaml:"-"`
	File    string `yaml:"-"`
}

// UnmarshalYAML reads a logsource's keys.
func (l *Logsource) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Product    string `yaml:"product"`
		Category   string `yaml:"category"`
		Service    string `yaml:"service"`
		Definition string `yaml:"definition"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	*l = Logsource{Product: raw.Product, Category: raw.Category, Service: raw.Service, Definition: raw.Definition}
	return nil
}

func (d *document) label() string {
	switch {
	case d.Title != "":
		return d.Title
	case d.ID != "":
		return d.ID
	}
	return d.Name
}

// loadDocument loads one document into rs.
func (o Options) loadDocument(rs *RuleSet, file string, n *yaml.Node, ids map[string]string) {
	skip := func(label, reason string, fields []string) {
		if label == "" {
			label = fmt.Sprintf("document at line %d", n.Line)
		}
		rs.Skipped = append(rs.Skipped, Skipped{File: file, Rule: label, Reason: reason, Fields: fields})
	}
	if n.Kind != yaml.MappingNode {
		skip("", "document is not a map", nil)
		return
	}
	var d document
	if err := n.Decode(&d); err != nil {
		skip(titleOf(n), "malformed attributes: "+err.Error(), nil)
		return
	}
	if d.ID != "" {
		if prev, dup := ids[d.ID]; dup {
			skip(d.label(), fmt.Sprintf("id %s is already used by %q", d.ID, prev), nil)
			return
		}
	}
	switch {
	case d.Correlation.Kind != 0:
		c, err := parseCorrelation(&d, file)
		if err != nil {
			skip(d.label(), "correlation: "+err.Error(), nil)
			return
		}
		rs.Correlations = append(rs.Correlations, c)
	case d.Detection.Kind != 0:
		r, err := o.compileRule(&d, file)
		if err != nil {
			var fe *FieldError
			var fields []string
			if errors.As(err, &fe) {
				fields = fe.Fields
			}
			skip(d.label(), err.Error(), fields)
			return
		}
		rs.Rules = append(rs.Rules, r)
	case d.Filter.Kind != 0:
		skip(d.label(), "Sigma filters (filter:) are not supported", nil)
		return
	default:
		skip(d.label(), "not a Sigma rule: no detection or correlation", nil)
		return
	}
	if d.ID != "" {
		ids[d.ID] = d.label()
	}
	for _, t := range d.Tests {
		t.Rule, t.File = d.label(), file
		rs.Tests = append(rs.Tests, t)
	}
}

// titleOf returns a document's title or id when they are strings, for
// naming a document whose other attributes are malformed.
func titleOf(n *yaml.Node) string {
	for _, key := range []string{"title", "id"} {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
				return n.Content[i+1].Value
			}
		}
	}
	return ""
}

// compileRule compiles a detection rule.
func (o Options) compileRule(d *document, file string) (*Rule, error) {
	if t := strings.ToLower(d.Taxonomy); t != "" && t != "sigma" {
		return nil, fmt.Errorf("taxonomy %s not supported: cairn maps Sigma's default taxonomy", d.Taxonomy)
	}
	src, err := sourceOf(d.Logsource)
	if err != nil {
		return nil, err
	}
	det := resolveAlias(&d.Detection)
	if det.Kind != yaml.MappingNode {
		return nil, errors.New("detection must be a map")
	}
	c := &compiler{res: resolver{src: src}, opts: &o}
	var ids []*ident
	var conds []string
	for i := 0; i+1 < len(det.Content); i += 2 {
		k, v := det.Content[i], resolveAlias(det.Content[i+1])
		switch k.Value {
		case "condition":
			cs, err := conditionTexts(v)
			if err != nil {
				return nil, err
			}
			conds = append(conds, cs...)
			continue
		case "timeframe":
			continue // the deprecated aggregation window; aggregations fail below
		}
		id, err := c.compileIdent(k.Value, v)
		if errors.Is(err, errMissing) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if c.missing != nil {
		return nil, c.missing
	}
	if len(conds) == 0 {
		return nil, errors.New("detection has no condition")
	}
	var compiled []compiledCond
	for _, text := range conds {
		pc, err := parseCondition(text)
		if err != nil {
			return nil, err
		}
		cc, err := compileCond(pc, ids)
		if err != nil {
			return nil, err
		}
		compiled = append(compiled, cc)
	}
	whole := joinOr(compiled)
	r := &Rule{
		ID: d.ID, Name: d.Name, Title: d.Title, File: file, Status: d.Status, Level: d.Level,
		Description: strings.TrimSpace(d.Description), Author: strings.Join(d.Author, ", "),
		Date: d.Date, Modified: d.Modified, Tags: d.Tags, Logsource: d.Logsource,
		Falsepositives: d.Falsepositives, References: d.References, DisplayFields: d.Fields,
		Condition: conds, src: src, res: c.res, detect: whole.match, used: c.used,
	}
	if src == srcCloudTrail && whole.named {
		r.names = whole.names
	}
	detect := whole.match
	r.Match = func(ev *cairn.Event) bool { return eventSource(ev) == src && detect(newCtx(ev)) }
	return r, nil
}

// conditionTexts returns a condition: one string or a list of them.
func conditionTexts(v *yaml.Node) ([]string, error) {
	switch {
	case v.Kind == yaml.ScalarNode && !isNull(v):
		return []string{v.Value}, nil
	case v.Kind == yaml.SequenceNode && len(v.Content) > 0:
		var out []string
		for _, el := range v.Content {
			el = resolveAlias(el)
			if el == nil || el.Kind != yaml.ScalarNode || isNull(el) {
				return nil, errors.New("condition must be a string or a list of strings")
			}
			out = append(out, el.Value)
		}
		return out, nil
	}
	return nil, errors.New("condition must be a string or a list of strings")
}
