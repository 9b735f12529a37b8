// Package config reads cairn's configuration file: the settings of
// `cairn serve` (store, address, sensor, rules, outputs, the assistant's
// model, posture, locations) and the retention of the store, in YAML.
// Flags given on the command line win over the file. Every mistake is
// reported with its line.
package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cairn-cdr/cairn/internal/when"
)

// MaxBytes bounds a configuration file.
const MaxBytes = 1 << 20

// Config is the file's content. Empty values leave the flag's default.
type Config struct {
	DB          string   `yaml:"db"`
	Addr        string   `yaml:"addr"`
	AllowRemote bool     `yaml:"allow_remote"`
	Sensor      string   `yaml:"sensor"`
	Rules       []string `yaml:"rules"`
	NoDefault   bool     `yaml:"no_default_rules"`
	AWSIPRanges string   `yaml:"aws_ip_ranges"`
	GeoIP       string   `yaml:"geoip"`
	Posture     []string `yaml:"posture"`
	Notify      Notify   `yaml:"notify"`
	LLM         LLM      `yaml:"llm"`
	Retention   Retention
	// Follow are export files to follow (globs allowed), Checkpoints
	// where their positions are kept.
	Follow             []string `yaml:"follow"`
	Watch              []string `yaml:"watch"`
	CloudTrailS3       string   `yaml:"cloudtrail_s3"`
	CloudTrailS3Region string   `yaml:"cloudtrail_s3_region"`
	Checkpoints        string   `yaml:"checkpoints"`
}

// Notify are the outputs of new detections.
type Notify struct {
	Webhook  string `yaml:"webhook"`
	Slack    string `yaml:"slack"`
	Severity string `yaml:"severity"`
}

// LLM is the assistant's optional model.
type LLM struct {
	URL    string `yaml:"url"`
	Model  string `yaml:"model"`
	KeyEnv string `yaml:"key_env"`
	Mask   bool   `yaml:"mask"`
}

// Retention is how long the store keeps each kind of record (0: for
// ever); the audit log is always kept.
type Retention struct {
	Events     time.Duration
	Detections time.Duration
	Batch      int
}

// Error is one mistake in a file, at a line.
type Error struct {
	Line int
	Msg  string
}

func (e Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Errors are all the mistakes of a file.
type Errors []Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// keys are the top-level keys and those of each section.
var keys = map[string][]string{
	"":          {"db", "addr", "allow_remote", "sensor", "rules", "no_default_rules", "aws_ip_ranges", "geoip", "posture", "notify", "llm", "retention", "follow", "watch", "checkpoints", "cloudtrail_s3", "cloudtrail_s3_region"},
	"notify":    {"webhook", "slack", "severity"},
	"llm":       {"url", "model", "key_env", "mask"},
	"retention": {"events", "detections", "batch"},
}

// Load reads and checks a configuration file. It returns every mistake
// it finds (as Errors), not only the first.
func Load(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, Errors{{Msg: fmt.Sprintf("the file is larger than %d bytes", MaxBytes)}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{{Line: yamlLine(err), Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	c := &Config{}
	var errs Errors
	if len(root.Content) == 0 {
		return c, nil // an empty file sets nothing
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, Errors{{Line: doc.Line, Msg: "the file must be a mapping of settings (key: value)"}}
	}
	walk(doc, "", c, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// walk reads the mapping m of section into c.
func walk(m *yaml.Node, section string, c *Config, errs *Errors) {
	bad := func(n *yaml.Node, format string, a ...any) {
		*errs = append(*errs, Error{Line: n.Line, Msg: fmt.Sprintf(format, a...)})
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := k.Value
		name := key
		if section != "" {
			name = section + "." + key
		}
		if !slices.Contains(keys[section], key) {
			bad(k, "unknown setting %q (known here: %s)", name, strings.Join(keys[section], ", "))
			continue
		}
		if seen[key] {
			bad(k, "%q is set twice", name)
			continue
		}
		seen[key] = true
		str := func() string {
			if v.Kind != yaml.ScalarNode {
				bad(v, "%s must be a single value", name)
				return ""
			}
			return v.Value
		}
		boolean := func() bool {
			var b bool
			if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
				bad(v, "%s must be true or false", name)
			}
			return b
		}
		list := func() []string {
			var out []string
			switch v.Kind {
			case yaml.ScalarNode:
				out = []string{v.Value}
			case yaml.SequenceNode:
				for _, it := range v.Content {
					if it.Kind != yaml.ScalarNode {
						bad(it, "%s must be a list of values", name)
						continue
					}
					out = append(out, it.Value)
				}
			default:
				bad(v, "%s must be a value or a list", name)
			}
			return out
		}
		age := func() time.Duration {
			s := str()
			if s == "" || s == "0" || s == "forever" {
				return 0
			}
			now := time.Unix(1<<31, 0)
			t, err := when.Ago(s, now)
			if err != nil || !t.Before(now) {
				bad(v, "%s must be a duration such as 30d or 12h (or forever), got %q", name, s)
				return 0
			}
			return now.Sub(t)
		}
		httpURL := func() string {
			s := str()
			if s == "" {
				return ""
			}
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(v, "%s must be an http(s) URL, got %q", name, s)
			}
			return s
		}
		switch name {
		case "db":
			c.DB = str()
		case "addr":
			c.Addr = str()
		case "allow_remote":
			c.AllowRemote = boolean()
		case "sensor":
			c.Sensor = str()
			if !slices.Contains([]string{"on", "off", "auto"}, c.Sensor) {
				bad(v, "sensor must be on, off or auto, got %q", c.Sensor)
			}
		case "rules":
			c.Rules = list()
		case "no_default_rules":
			c.NoDefault = boolean()
		case "aws_ip_ranges":
			c.AWSIPRanges = str()
		case "geoip":
			c.GeoIP = str()
		case "posture":
			c.Posture = list()
		case "follow":
			c.Follow = list()
		case "watch":
			c.Watch = list()
		case "cloudtrail_s3":
			c.CloudTrailS3 = str()
			if c.CloudTrailS3 != "" && !strings.HasPrefix(c.CloudTrailS3, "s3://") {
				bad(v, "cloudtrail_s3 must be s3://bucket/prefix, got %q", c.CloudTrailS3)
			}
		case "cloudtrail_s3_region":
			c.CloudTrailS3Region = str()
		case "checkpoints":
			c.Checkpoints = str()
		case "notify", "llm", "retention":
			if v.Kind != yaml.MappingNode {
				bad(v, "%s must be a mapping of settings", name)
				continue
			}
			walk(v, key, c, errs)
		case "notify.webhook":
			c.Notify.Webhook = httpURL()
		case "notify.slack":
			c.Notify.Slack = httpURL()
		case "notify.severity":
			c.Notify.Severity = str()
			if !slices.Contains([]string{"info", "low", "medium", "high", "critical"}, c.Notify.Severity) {
				bad(v, "notify.severity must be info, low, medium, high or critical, got %q", c.Notify.Severity)
			}
		case "llm.url":
			c.LLM.URL = httpURL()
		case "llm.model":
			c.LLM.Model = str()
		case "llm.key_env":
			c.LLM.KeyEnv = str()
		case "llm.mask":
			c.LLM.Mask = boolean()
		case "retention.events":
			c.Retention.Events = age()
		case "retention.detections":
			c.Retention.Detections = age()
		case "retention.batch":
			var n int
			if v.Kind != yaml.ScalarNode || v.Decode(&n) != nil || n < 1 || n > 100000 {
				bad(v, "retention.batch must be a whole number from 1 to 100000")
			}
			c.Retention.Batch = n
		}
	}
}

// yamlLine finds the line of a YAML syntax error ("yaml: line 3: ...").
func yamlLine(err error) int {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return 0
	}
	var n int
	if _, scanErr := fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: "), "line %d:", &n); scanErr == nil {
		return n
	}
	return 0
}

// Flags returns the file's settings as `cairn serve` flag values, so that
// the command can apply those the command line did not set: each name
// with its values (several for repeatable flags).
func (c *Config) Flags() map[string][]string {
	f := map[string][]string{}
	set := func(name, v string) {
		if v != "" {
			f[name] = []string{v}
		}
	}
	set("db", c.DB)
	set("addr", c.Addr)
	if c.AllowRemote {
		set("allow-remote", "true")
	}
	set("sensor", c.Sensor)
	if len(c.Rules) > 0 {
		f["rules"] = c.Rules
	}
	if c.NoDefault {
		set("no-default-rules", "true")
	}
	set("aws-ip-ranges", c.AWSIPRanges)
	set("geoip", c.GeoIP)
	if len(c.Posture) > 0 {
		f["posture"] = c.Posture
	}
	if len(c.Follow) > 0 {
		f["follow"] = c.Follow
	}
	if len(c.Watch) > 0 {
		f["watch"] = c.Watch
	}
	set("checkpoints", c.Checkpoints)
	set("cloudtrail-s3", c.CloudTrailS3)
	set("cloudtrail-s3-region", c.CloudTrailS3Region)
	set("notify-webhook", c.Notify.Webhook)
	set("notify-slack", c.Notify.Slack)
	set("notify-severity", c.Notify.Severity)
	set("llm-url", c.LLM.URL)
	set("llm-model", c.LLM.Model)
	set("llm-key-env", c.LLM.KeyEnv)
	if c.LLM.Mask {
		set("llm-mask", "true")
	}
	return f
}
