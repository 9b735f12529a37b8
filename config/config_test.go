package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/config"
)

const example = `# cairn serve's settings; flags on the command line win.
db: /var/lib/cairn/cairn.db
addr: 127.0.0.1:8080
sensor: auto
rules:
  - /etc/cairn/rules/
  - /etc/cairn/extra.yaml
geoip: /var/lib/cairn/geoip
posture: [/etc/cairn/authz.json, /etc/cairn/credential-report.csv]
notify:
  webhook: https://hooks.example.com/cairn
  severity: high
llm:
  url: http://localhost:11434/v1
  model: llama3.1
  mask: true
follow: [/var/log/tetragon/tetragon.log]
checkpoints: /var/lib/cairn/follow.json
retention:
  events: 30d
  detections: 180d
  batch: 1000
`

func TestLoad(t *testing.T) {
	c, err := config.Load(strings.NewReader(example))
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != "/var/lib/cairn/cairn.db" || len(c.Rules) != 2 || len(c.Posture) != 2 || c.Notify.Severity != "high" ||
		!c.LLM.Mask || c.Retention.Events != 30*24*time.Hour || c.Retention.Detections != 180*24*time.Hour || c.Retention.Batch != 1000 {
		t.Errorf("Load = %+v", c)
	}
	f := c.Flags()
	if len(f["follow"]) != 1 || f["checkpoints"][0] != "/var/lib/cairn/follow.json" {
		t.Errorf("follow: %v", f)
	}
	if got := f["rules"]; len(got) != 2 || f["llm-mask"][0] != "true" || f["notify-webhook"][0] != "https://hooks.example.com/cairn" {
		t.Errorf("Flags = %v", f)
	}
	if c, err := config.Load(strings.NewReader("")); err != nil || c.DB != "" {
		t.Errorf("empty file: %+v %v", c, err)
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct {
		src  string
		line int
		want string
	}{
		{"db: x\nsensr: on\n", 2, `unknown setting "sensr"`},
		{"sensor: maybe\n", 1, "on, off or auto"},
		{"notify:\n  webhook: ftp://x\n", 2, "http(s) URL"},
		{"retention:\n  events: soon\n", 2, "duration"},
		{"retention:\n  batch: -1\n", 2, "whole number"},
		{"db: a\ndb: b\n", 2, "set twice"},
		{"rules:\n  - a\n  - {x: 1}\n", 3, "list of values"},
		{"llm: [1]\n", 1, "mapping"},
		{"db: [unclosed\n", 0, ""},
		{"- a\n- b\n", 1, "mapping of settings"},
	} {
		_, err := config.Load(strings.NewReader(c.src))
		var es config.Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Errorf("%q: error %v, want Errors", c.src, err)
			continue
		}
		if c.line > 0 && es[0].Line != c.line || !strings.Contains(es[0].Msg, c.want) {
			t.Errorf("%q: %v, want line %d with %q", c.src, es, c.line, c.want)
		}
	}
	// Every mistake, not only the first.
	_, err := config.Load(strings.NewReader("a: 1\nb: 2\nsensor: x\n"))
	if es, _ := err.(config.Errors); len(es) != 3 {
		t.Errorf("three mistakes: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(example)
	f.Add("notify: {severity: high}\n")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := config.Load(strings.NewReader(src))
		if err == nil && c == nil {
			t.Fatal("nil config without an error")
		}
	})
}
