package falco_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/falco"
)

const baseRules = `
- required_engine_version: 0.31.0
- list: shell_binaries
  items: [bash, sh]
- list: all_shells
  items: [shell_binaries, zsh]
- macro: spawned_process
  condition: evt.type = execve
- macro: shell_procs
  condition: proc.name in (all_shells)
- rule: Shell spawned
  desc: a shell
  condition: spawned_process and shell_procs
  output: "Shell %proc.name (parent=%proc.pname cmd=%(proc.cmdline) a2=%proc.aname[2] x=%evt.arg.flags)."
  priority: WARNING
  tags: [shell, T1059]
  exceptions:
    - name: parents
      fields: [proc.pname, proc.cwd]
      comps: [=, startswith]
      values:
        - [cron, /var]
    - name: names
      fields: proc.name
      values: [zsh]
- rule: Needs flags
  desc: uses a field cairn lacks
  condition: evt.type = openat and proc.env contains LD_PRELOAD
  output: x
  priority: ERROR
- rule: Off
  desc: disabled
  condition: evt.type = execve
  output: x
  priority: INFO
  enabled: false
- rule: K8s audit
  desc: other source
  condition: ka.verb = create
  output: x
  priority: INFO
  source: k8s_audit
`

const amendRules = `
- list: shell_binaries
  items: [ash]
  append: true
- macro: shell_procs
  condition: and not proc.pname = sshd
  append: true
- rule: Shell spawned
  exceptions:
    - name: names
      values: [ash]
  override:
    exceptions: append
- rule: Shell spawned
  priority: CRITICAL
  override:
    priority: replace
- rule: Off
  enabled: true
`

func exec(name, pname, cwd string) *cairn.Event {
	return &cairn.Event{Type: "execve", Process: &cairn.Process{Name: name, Cwd: cwd}, Parent: &cairn.Process{Name: pname}}
}

func TestLoad(t *testing.T) {
	rs, err := falco.Load(falco.File{Name: "base.yaml", Data: []byte(baseRules)}, falco.File{Name: "local.yaml", Data: []byte(amendRules)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Files) != 2 || rs.Files[0].Rules != 4 || rs.Files[0].Lists != 2 || rs.Files[0].Macros != 2 || rs.Files[1].Rules != 3 {
		t.Errorf("file stats %+v", rs.Files)
	}
	var names []string
	rules := map[string]*falco.Rule{}
	for _, r := range rs.Rules {
		names = append(names, r.Name)
		rules[r.Name] = r
	}
	if strings.Join(names, ",") != "Shell spawned,Off" {
		t.Fatalf("rules %v", names)
	}
	if len(rs.Skipped) != 2 || rs.Skipped[0].Rule != "Needs flags" || strings.Join(rs.Skipped[0].Fields, ",") != "proc.env" ||
		!strings.Contains(rs.Skipped[1].Reason, "k8s_audit") {
		t.Errorf("skipped %+v", rs.Skipped)
	}
	r := rules["Shell spawned"]
	if r.Priority != "CRITICAL" || r.Source != "syscall" || strings.Join(r.EvtTypes, ",") != "execve" || len(r.Tags) != 2 {
		t.Errorf("rule %+v", r)
	}
	tests := []struct {
		ev   *cairn.Event
		want bool
	}{
		{exec("bash", "init", "/"), true},
		{exec("ash", "init", "/"), false},         // excepted by the appended value
		{exec("zsh", "init", "/"), false},         // excepted by names
		{exec("sh", "cron", "/var/spool"), false}, // excepted by parents
		{exec("sh", "cron", "/home"), true},
		{exec("sh", "sshd", "/"), false}, // appended macro
		{exec("python", "init", "/"), false},
		{&cairn.Event{Type: "openat", Process: &cairn.Process{Name: "bash"}}, false},
	}
	for _, tt := range tests {
		if got := r.Match(tt.ev); got != tt.want {
			t.Errorf("%s/%+v/%s: got %v", tt.ev.Process.Name, tt.ev.Parent, tt.ev.Process.Cwd, got)
		}
	}
	out := r.Render(exec("bash", "init", "/"))
	if want := "Shell bash (parent=init cmd=bash a2=<NA> x=<NA>)."; out != want {
		t.Errorf("render %q, want %q", out, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"not a list", "rule: x", "is a list"},
		{"bad yaml", "- rule: [", "bad.yaml"},
		{"unknown item", "- foo: bar", "not a rule"},
		{"append to nothing", "- list: x\n  items: [a]\n  append: true", "not defined"},
		{"override undefined rule", "- rule: x\n  condition: a\n  override: {condition: append}", "not defined"},
		{"bad override", "- macro: m\n  condition: a\n- macro: m\n  condition: b\n  override: {condition: merge}", "append or replace"},
		{"rule incomplete", "- rule: x\n  condition: evt.type = execve", "needs condition"},
		{"macro without condition", "- macro: m", "no condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := falco.Load(falco.File{Name: "bad.yaml", Data: []byte(tt.yaml)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadMacroCycle(t *testing.T) {
	rs, err := falco.Load(falco.File{Name: "c.yaml", Data: []byte(`
- macro: a
  condition: b
- macro: b
  condition: a
- rule: r
  desc: d
  condition: a
  output: o
  priority: INFO
`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 0 || len(rs.Skipped) != 1 || !strings.Contains(rs.Skipped[0].Reason, "refers to itself") {
		t.Errorf("got %+v", rs.Skipped)
	}
}

// upstream returns the upstream Falco rules files, or skips.
func upstream(t testing.TB) []falco.File {
	dir := filepath.Join("..", "..", "shared", "corpus", "rules", "falco")
	var files []falco.File
	for _, n := range []string{"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml", "aws_cloudtrail_rules.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Skipf("corpus not found at %s: %v", dir, err)
		}
		files = append(files, falco.File{Name: n, Data: data})
	}
	return files
}

func TestLoadUpstream(t *testing.T) {
	files := upstream(t)
	rs, err := falco.Load(files...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rs.Files {
		t.Logf("%s: %d rules, %d macros, %d lists", f.Name, f.Rules, f.Macros, f.Lists)
	}
	missing := map[string]int{}
	for _, s := range rs.Skipped {
		t.Logf("skipped %q: %v %s", s.Rule, s.Fields, map[bool]string{true: "", false: s.Reason}[len(s.Fields) > 0])
		for _, f := range s.Fields {
			missing[f]++
		}
		if len(s.Fields) == 0 && !strings.Contains(s.Reason, "source") {
			t.Errorf("rule %q skipped for a reason other than fields: %s", s.Rule, s.Reason)
		}
	}
	var names []string
	for f := range missing {
		names = append(names, f)
	}
	sort.Slice(names, func(i, j int) bool {
		return missing[names[i]] > missing[names[j]] || missing[names[i]] == missing[names[j]] && names[i] < names[j]
	})
	for _, f := range names {
		t.Logf("missing field %s: %d rules", f, missing[f])
	}
	t.Logf("loaded %d rules, skipped %d, disabled %d", len(rs.Rules), len(rs.Skipped), len(rs.Disabled))
	if len(rs.Rules) == 0 {
		t.Error("no upstream rule loaded")
	}
	cloud := 0
	for _, r := range rs.Rules {
		if r.Source == "aws_cloudtrail" {
			cloud++
		}
	}
	if cloud == 0 {
		t.Error("no CloudTrail rule loaded")
	}
}

func TestLoadBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString("- list: l0\n  items: [a, b]\n- macro: m0\n  condition: proc.name = a\n")
	for i := 1; i <= 40; i++ {
		b.WriteString("- list: l" + itoa(i) + "\n  items: [l" + itoa(i-1) + ", l" + itoa(i-1) + "]\n")
		b.WriteString("- macro: m" + itoa(i) + "\n  condition: m" + itoa(i-1) + " and m" + itoa(i-1) + "\n")
	}
	b.WriteString("- rule: r\n  desc: d\n  condition: m40\n  output: o\n  priority: INFO\n")
	rs, err := falco.Load(falco.File{Name: "big.yaml", Data: []byte(b.String())})
	if err == nil || !strings.Contains(err.Error(), "items once expanded") {
		t.Errorf("exponential lists: %v", err)
	}
	rs, err = falco.Load(falco.File{Name: "big.yaml", Data: []byte(strings.ReplaceAll(b.String(), "[l", "[x"))})
	if err != nil || len(rs.Skipped) != 1 || !strings.Contains(rs.Skipped[0].Reason, "checks once macros") {
		t.Errorf("exponential macros: %v %+v", err, rs)
	}
	rs, err = falco.Load(falco.File{Name: "cycle.yaml", Data: []byte(`
- list: a
  items: [b, x]
- list: b
  items: [a, y]
- rule: r
  desc: d
  condition: proc.name in (a)
  output: o
  priority: INFO
`)})
	if err != nil || len(rs.Rules) != 1 || !rs.Rules[0].Match(&cairn.Event{Process: &cairn.Process{Name: "y"}}) {
		t.Errorf("list cycle: %v %+v", err, rs)
	}
}
