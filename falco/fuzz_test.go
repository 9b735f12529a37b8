package falco_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/falco"
)

// FuzzCondition checks that no condition text makes Compile or Match panic.
func FuzzCondition(f *testing.F) {
	files, _ := filepath.Glob("testdata/cond/*.txt")
	for _, file := range files {
		fh, err := os.Open(file)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "cond "); ok {
				f.Add(rest)
			}
		}
		fh.Close()
	}
	env := &falco.Env{
		Lists:  map[string][]string{"shells": {"bash", "sh"}},
		Macros: map[string]string{"spawned": "evt.type = execve", "loop": "loop", "m2": "spawned and proc.name = a"},
	}
	ev := &cairn.Event{Type: "execve", Process: &cairn.Process{Name: "bash", Args: "-c id", PID: 3}, Parent: &cairn.Process{Name: "sh"},
		File: &cairn.File{Path: "/etc/passwd"}, Raw: []byte(`{"a":{"b":1}}`)}
	f.Fuzz(func(t *testing.T, cond string) {
		c, err := falco.Compile(cond, env)
		if err != nil {
			return
		}
		c.Match(ev)
		c.Match(&cairn.Event{})
	})
}

// FuzzLoad checks that no rules file makes Load, Match or Render panic.
func FuzzLoad(f *testing.F) {
	f.Add(baseRules)
	f.Add(amendRules)
	f.Add(engineRules)
	f.Add("- rule: r\n  desc: d\n  condition: proc.name = a\n  output: '%proc.name %(proc.pid) %proc.aname[2] %x[ %('\n  priority: INFO\n")
	f.Add("- list: a\n  items: [a, b]\n- list: b\n  items: [a]\n")
	ev := &cairn.Event{Type: "execve", Process: &cairn.Process{Name: "a"}}
	f.Fuzz(func(t *testing.T, data string) {
		rs, err := falco.Load(falco.File{Name: "f.yaml", Data: []byte(data)})
		if err != nil {
			return
		}
		for _, r := range rs.Rules {
			r.Match(ev)
			r.Render(ev)
		}
	})
}
