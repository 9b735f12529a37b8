package ruletest_test

import (
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/ruletest"
)

// namer raises a detection named after each exec's binary.
type namer struct{ flushed bool }

func (n *namer) Detect(ev *cairn.Event) []cairn.Detection {
	if ev.Process == nil {
		return nil
	}
	return []cairn.Detection{{Rule: ev.Process.Binary}}
}

func (n *namer) Flush() []cairn.Detection {
	n.flushed = true
	return []cairn.Detection{{Rule: "flushed"}}
}

const cases = `
- name: ls fires
  rule: /bin/ls
  expect: fire
  count: 2
  records:
    - {source: tetragon, kind: process_exec, type: execve, time: "2026-11-25T12:00:00Z", id: a, process: {pid: 3, binary: /bin/ls}}
    - {source: tetragon, kind: process_exec, type: execve, time: "2026-11-25T12:00:01Z", id: b, process: {pid: 4, binary: /bin/ls}}
- name: cat is silent for ls
  rule: /bin/ls
  expect: silent
  records:
    - {source: tetragon, kind: process_exec, type: execve, time: "2026-11-25T12:00:00Z", id: c, process: {pid: 3, binary: /bin/cat}}
- name: flush counts
  rule: flushed
  expect: fire
  records:
    - {eventVersion: "1.08", eventTime: "2026-11-25T12:00:00Z", eventSource: sts.amazonaws.com, eventName: GetCallerIdentity, eventID: e1, awsRegion: us-east-1, sourceIPAddress: 1.2.3.4, userIdentity: {type: IAMUser, arn: "arn:aws:iam::1:user/a"}}
- name: wrong count fails
  rule: /bin/ls
  expect: fire
  count: 3
  records:
    - {source: tetragon, kind: process_exec, type: execve, time: "2026-11-25T12:00:00Z", id: d, process: {pid: 3, binary: /bin/ls}}
`

func TestRun(t *testing.T) {
	cs, err := ruletest.Parse("t_tests.yaml", []byte(cases))
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, true, false}
	var rs []ruletest.Result
	for i, c := range cs {
		n := &namer{}
		r := ruletest.Run(c, n)
		if r.Pass != want[i] || !n.flushed || r.Error != "" {
			t.Errorf("case %q: pass %v (want %v), flushed %v, error %q, fired %d", c.Name, r.Pass, want[i], n.flushed, r.Error, r.Fired)
		}
		rs = append(rs, r)
	}
	text, ok := ruletest.Summary(rs)
	if ok || !strings.Contains(text, "FAIL t_tests.yaml: wrong count fails") || !strings.Contains(text, "3 of 4") {
		t.Errorf("summary %v:\n%s", ok, text)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		`- {name: x, expect: fire, records: [{a: 1}]}`,           // no rule
		`- {name: x, rule: r, expect: maybe, records: [{a: 1}]}`, // bad expect
		`- {name: x, rule: r, expect: fire}`,                     // no records
		`{name: x}`,                                              // not a list
	} {
		if _, err := ruletest.Parse("t", []byte(in)); err == nil {
			t.Errorf("Parse(%s) succeeded", in)
		}
	}
	// A record no decoder reads is the case's error, not a panic.
	cs, err := ruletest.Parse("t", []byte(`- {name: x, rule: r, expect: fire, records: [{what: 1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := ruletest.Run(cs[0], &namer{}); r.Pass || r.Error == "" {
		t.Errorf("undecodable record: %+v", r)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(cases)
	f.Add(`- {name: x, rule: r, expect: silent, records: [[1, 2], "s", {k: {1: 2}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ruletest.Parse("f", []byte(s))
		if err != nil {
			return
		}
		for _, c := range cs {
			ruletest.Run(c, &namer{})
		}
	})
}
