package sigma_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/sigma"
)

func TestEventNameIndex(t *testing.T) {
	for _, c := range []struct {
		det, want string
	}{
		{"sel:\n    eventName: CreateUser\ncondition: sel", "[createuser]"},
		{"sel:\n    eventName:\n        - CreateUser\n        - DeleteUser\n    eventSource: iam.amazonaws.com\nfilter:\n    userAgent: x\ncondition: sel and not filter", "[createuser deleteuser]"},
		{"sel:\n    eventName: CreateUser\nkw:\n    - evil\ncondition: sel or kw", "[]"},
		{"sel:\n    eventName: CreateUser\ncondition: not sel", "[]"},
		{"sel:\n    eventName|startswith: Create\ncondition: sel", "[]"},
		{"sel:\n    eventName: Create*\ncondition: sel", "[]"},
		{"sel1:\n    eventName: [A, B]\nsel2:\n    eventName: [B, C]\nsel3:\n    userAgent: x\ncondition: sel1 and (sel2 or sel3)", "[a b]"},
		{"sel1:\n    eventName: [A, B]\nsel2:\n    eventName: [B, C]\ncondition: sel1 and sel2", "[b]"},
		{"sel_a:\n    eventName: X\nsel_b:\n    eventName: Y\ncondition: 1 of sel_*", "[x y]"},
		{"sel_a:\n    eventName: X\nsel_b:\n    userAgent: Y\ncondition: all of sel_*", "[x]"},
		{"sel:\n    - eventName: X\n      eventSource: s\n    - eventName: Y\ncondition: sel", "[x y]"},
		{"sel:\n    - eventName: X\n    - eventSource: s\ncondition: sel", "[]"},
		{"sel:\n    eventName: X\ncondition:\n    - sel\n    - sel", "[x]"},
	} {
		r := mustRule(t, lsCloud, c.det)
		if got := fmt.Sprint(r.EventNames()); got != c.want {
			t.Errorf("%s:\n EventNames = %s, want %s", strings.ReplaceAll(c.det, "\n", " "), got, c.want)
		}
	}
}

func TestEngine(t *testing.T) {
	load := func(det, ls, title string) string {
		return strings.Replace(ruleText(ls, det), "title: test rule\nid: 00000000-0000-0000-0000-000000000001", "title: "+title, 1) + "---\n"
	}
	text := load("sel:\n    eventName: CreateUser\ncondition: sel", lsCloud, "create user") +
		load("sel:\n    eventSource: iam.amazonaws.com\ncondition: sel", lsCloud, "any iam") +
		load("sel:\n    eventName: [DeleteUser, CreateUser]\n    userAgent|contains: terraform\ncondition: sel", lsCloud, "terraform user") +
		load("sel:\n    Image|endswith: /curl\ncondition: sel", lsProc, "curl") +
		load("sel:\n    Image|endswith: /curl\ncondition: sel", lsNet, "curl connects") +
		load("sel:\n    TargetFilename|endswith: /passwd\ncondition: sel", lsFile, "passwd")
	rs, err := sigma.Parse([]byte(text))
	if err != nil || len(rs.Rules) != 6 {
		t.Fatalf("%v %+v", err, rs.Skipped)
	}
	e := sigma.NewEngine(rs.Rules)
	ct := func(name, agent string) *cairn.Event {
		return ctEv(t, fmt.Sprintf(`{"eventName":%q,"eventSource":"iam.amazonaws.com","userAgent":%q}`, name, agent))
	}
	for _, c := range []struct {
		name       string
		ev         *cairn.Event
		want       string
		candidates int
	}{
		{"indexed name", ct("CreateUser", "console"), "[create user any iam]", 3},
		{"indexed name, all rules", ct("CreateUser", "terraform/1.5"), "[create user any iam terraform user]", 3},
		{"other indexed name", ct("DeleteUser", "Terraform"), "[any iam terraform user]", 2},
		{"unindexed name", ct("ListUsers", "terraform"), "[any iam]", 1},
		{"case of the name", ct("createuser", "x"), "[create user any iam]", 3},
		{"exec", execEv("/usr/bin/curl", "", "", ""), "[curl]", 1},
		{"connect", netEv("/usr/bin/curl", "connect", "10.0.0.1", 1, "10.0.0.2", 80), "[curl connects]", 1},
		{"file", fileEv("/usr/bin/curl", "/etc/passwd", "read"), "[passwd]", 1},
		{"exit", func() *cairn.Event {
			e := execEv("/usr/bin/curl", "", "", "")
			e.Kind, e.Type = cairn.KindExit, "procexit"
			return e
		}(), "[]", 0},
	} {
		var got []string
		for _, m := range e.Eval(c.ev) {
			got = append(got, m.Rule.Title)
		}
		if fmt.Sprint(got) != c.want && !(len(got) == 0 && c.want == "[]") {
			t.Errorf("%s: Eval = %v, want %s", c.name, got, c.want)
		}
		if n := e.Candidates(c.ev); n != c.candidates {
			t.Errorf("%s: Candidates = %d, want %d", c.name, n, c.candidates)
		}
	}
	if len(e.Rules()) != 6 {
		t.Error("Rules")
	}
}
