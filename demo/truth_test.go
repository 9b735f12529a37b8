package demo_test

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/demo"
)

// checkTruth checks every statement of the truth against the records.
func checkTruth(t *testing.T, s *demo.Scenario) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	tt := parseTetragon(t, s)
	ct := parseCloudTrail(t, s)
	byExec := map[string][]ttRecord{}
	for _, r := range tt {
		id := r.event().Process.ExecID
		byExec[id] = append(byExec[id], r)
	}
	byEventID := map[string]ctRecord{}
	for _, r := range ct {
		if _, dup := byEventID[r.EventID]; dup {
			fail("eventID %s is used twice", r.EventID)
		}
		byEventID[r.EventID] = r
	}
	execOf := func(id string) *ttRecord {
		for _, r := range byExec[id] {
			if r.Exec != nil {
				return &r
			}
		}
		return nil
	}

	for _, st := range s.Truth.Stories {
		for _, d := range st.Detections {
			where := st.ID + ": " + d.What
			switch d.Source {
			case "tetragon":
				checkRuntimeDetection(fail, where, d, execOf(d.ExecID), byExec[d.ExecID])
			case "cloudtrail":
				checkCloudDetection(fail, where, d, byEventID)
			default:
				fail("%s: source %q", where, d.Source)
			}
		}
		if rc := st.RootCause; rc.ExecID != "" {
			r := execOf(rc.ExecID)
			if r == nil || path.Base(r.Exec.Process.Binary) != rc.Process || r.Exec.Process.Arguments != rc.Args {
				fail("%s: root cause %s %q is not the exec record %s", st.ID, rc.Process, rc.Args, rc.ExecID)
			}
		}
		for _, w := range st.Workloads {
			if !workloadSeen(tt, w) {
				fail("%s: workload %+v is in no record", st.ID, w)
			}
		}
		for _, id := range st.Identities {
			if !slices.ContainsFunc(ct, func(r ctRecord) bool { return r.UserIdentity.key() == id }) {
				fail("%s: identity %s made no call", st.ID, id)
			}
		}
		for _, k := range st.AccessKeys {
			if !slices.ContainsFunc(ct, func(r ctRecord) bool { return r.UserIdentity.AccessKeyID == k }) {
				fail("%s: access key %s made no call", st.ID, k)
			}
		}
		for _, ip := range st.AttackerIPs {
			inCT := slices.ContainsFunc(ct, func(r ctRecord) bool { return r.SourceIPAddress == ip })
			inTT := slices.ContainsFunc(tt, func(r ttRecord) bool {
				return r.Kprobe != nil && len(r.Kprobe.Args) > 0 && r.Kprobe.Args[0].SockArg != nil && r.Kprobe.Args[0].SockArg.Daddr == ip
			})
			if !inCT && !inTT {
				fail("%s: attacker address %s is in no record", st.ID, ip)
			}
		}
	}

	// The background never overlaps the stories.
	var storyIDs, storyHosts, storyCtrs []string
	for _, st := range s.Truth.Stories {
		storyIDs = append(storyIDs, st.Identities...)
		storyHosts = append(storyHosts, st.Hosts...)
		for _, w := range st.Workloads {
			storyCtrs = append(storyCtrs, w.ContainerID)
		}
	}
	bg := s.Truth.Background
	for _, id := range bg.Identities {
		if slices.Contains(storyIDs, id) {
			fail("background identity %s is also a story's", id)
		}
	}
	for _, h := range bg.Hosts {
		if slices.Contains(storyHosts, h) {
			fail("background host %s is also a story's", h)
		}
	}
	for _, w := range bg.Workloads {
		if slices.Contains(storyCtrs, w.ContainerID) {
			fail("background workload %s/%s is also a story's", w.Namespace, w.Pod)
		}
		if !workloadSeen(tt, w) {
			fail("background workload %+v is in no record", w)
		}
	}
	if len(bg.Identities) == 0 || len(bg.Hosts) == 0 || len(bg.Workloads) == 0 || len(bg.SourceIPs) == 0 {
		fail("background is incomplete: %+v", bg)
	}
	return errs
}

func workloadSeen(tt []ttRecord, w demo.Workload) bool {
	return slices.ContainsFunc(tt, func(r ttRecord) bool {
		p := r.event().Process
		return p.Pod != nil && p.Pod.Container.ID == "containerd://"+w.ContainerID && p.Pod.Name == w.Pod &&
			p.Pod.Namespace == w.Namespace && p.Pod.Container.Name == w.Container && p.Pod.Container.Image.Name == w.Image &&
			p.Pod.Workload == w.Workload && p.Pod.WorkloadKind == w.WorkloadKind && r.NodeName == w.Node && r.ClusterName == w.Cluster
	})
}

func checkRuntimeDetection(fail func(string, ...any), where string, d demo.Detection, exec *ttRecord, recs []ttRecord) {
	if exec == nil {
		fail("%s: no exec record %q", where, d.ExecID)
		return
	}
	p := exec.Exec.Process
	if p.Binary != d.Binary || path.Base(p.Binary) != d.Process || exec.NodeName != d.Host || exec.ClusterName != d.Cluster {
		fail("%s: process %s on %s/%s, truth says %s on %s/%s", where, p.Binary, exec.ClusterName, exec.NodeName, d.Binary, d.Cluster, d.Host)
	}
	if exec.Exec.Parent == nil || path.Base(exec.Exec.Parent.Binary) != d.Parent {
		fail("%s: parent is not %s", where, d.Parent)
	}
	if d.Pod != "" && (p.Pod == nil || p.Pod.Name != d.Pod || p.Pod.Namespace != d.Namespace || p.Pod.Container.Name != d.Container || p.Pod.Container.Image.Name != d.Image) {
		fail("%s: pod of the process differs from %s/%s %s %s", where, d.Namespace, d.Pod, d.Container, d.Image)
	}
	if !strings.Contains(p.Arguments, d.ArgsContains) {
		fail("%s: arguments %q lack %q", where, p.Arguments, d.ArgsContains)
	}
	at := false
	file := d.File == "" || strings.Contains(p.Arguments, d.File)
	dest := d.DestIP == ""
	for _, r := range recs {
		if tm, _ := time.Parse(time.RFC3339Nano, r.Time); tm.Equal(d.Time) {
			at = true
		}
		if r.Kprobe == nil {
			continue
		}
		for _, a := range r.Kprobe.Args {
			if a.FileArg != nil && a.FileArg.Path == d.File {
				file = true
			}
			if a.SockArg != nil && a.SockArg.Daddr == d.DestIP && a.SockArg.Dport == d.DestPort && r.Kprobe.FunctionName == "tcp_connect" {
				dest = true
			}
		}
	}
	if !at {
		fail("%s: no record of the process at %v", where, d.Time)
	}
	if !file {
		fail("%s: no access to %s", where, d.File)
	}
	if !dest {
		fail("%s: no connection to %s:%d", where, d.DestIP, d.DestPort)
	}
}

func checkCloudDetection(fail func(string, ...any), where string, d demo.Detection, byID map[string]ctRecord) {
	if len(d.EventIDs) == 0 {
		fail("%s: no event ids", where)
		return
	}
	var names []string
	failed := 0
	for i, id := range d.EventIDs {
		r, ok := byID[id]
		if !ok {
			fail("%s: no record %s", where, id)
			continue
		}
		if r.UserIdentity.key() != d.Identity || r.UserIdentity.AccessKeyID != d.AccessKeyID {
			fail("%s: record %s is by %s (%s), truth says %s (%s)", where, id, r.UserIdentity.key(), r.UserIdentity.AccessKeyID, d.Identity, d.AccessKeyID)
		}
		if i == 0 && (r.SourceIPAddress != d.SourceIP || !r.EventTime.Equal(d.Time)) {
			fail("%s: first record from %s at %v, truth says %s at %v", where, r.SourceIPAddress, r.EventTime, d.SourceIP, d.Time)
		}
		if d.EventSource != "" && r.EventSource != d.EventSource {
			fail("%s: record %s is from %s", where, id, r.EventSource)
		}
		if !slices.Contains(names, r.EventName) {
			names = append(names, r.EventName)
		}
		if r.ErrorCode != "" {
			failed++
			if r.ErrorMessage == "" {
				fail("%s: record %s has an error code but no message", where, id)
			}
		}
	}
	if !slices.Equal(names, d.EventNames) || failed != d.Failed {
		fail("%s: records name %v with %d failures, truth says %v with %d", where, names, failed, d.EventNames, d.Failed)
	}
}

func TestTruthMatchesRecords(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 77} {
		for _, e := range checkTruth(t, mustGenerate(t, seed)) {
			t.Errorf("seed %d: %s", seed, e)
		}
	}
}

// TestTruthCheckCatchesDrift makes sure checkTruth can fail: a truth
// that names other arguments, another event or another identity than the
// records is reported.
func TestTruthCheckCatchesDrift(t *testing.T) {
	cases := map[string]func(st *demo.Story){
		"arguments": func(st *demo.Story) {
			for i := range st.Detections {
				if st.Detections[i].ArgsContains != "" {
					st.Detections[i].ArgsContains += "x"
					return
				}
			}
		},
		"event id": func(st *demo.Story) {
			for i := range st.Detections {
				if len(st.Detections[i].EventIDs) > 0 {
					st.Detections[i].EventIDs[0] = "00000000-0000-4000-8000-000000000000"
					return
				}
			}
		},
		"identity": func(st *demo.Story) {
			for i := range st.Detections {
				if st.Detections[i].Identity != "" {
					st.Detections[i].Identity += "x"
					return
				}
			}
		},
		"workload": func(st *demo.Story) { st.Workloads[0].Pod += "x" },
	}
	for name, mutate := range cases {
		s := mustGenerate(t, 1)
		mutate(&s.Truth.Stories[3])
		if len(checkTruth(t, s)) == 0 {
			t.Errorf("%s: checkTruth found nothing wrong", name)
		}
	}
}

// TestScarleteelCredentialTheft checks the beats of the cloud part: the
// stolen key was the instance's own, used from AWS with an SDK before the
// theft and from outside after it; the session is named after the
// instance; the admin user's usual address is not the attacker's; a few
// calls fail.
func TestScarleteelCredentialTheft(t *testing.T) {
	for _, seed := range []int64{1, 5} {
		s := mustGenerate(t, seed)
		st := story(t, s, demo.StoryScarleteel)
		rc := st.RootCause
		if !strings.HasPrefix(rc.AccessKeyID, "ASIA") || !strings.HasPrefix(rc.InstanceID, "i-0") {
			t.Fatalf("seed %d: root cause key %q instance %q", seed, rc.AccessKeyID, rc.InstanceID)
		}
		var theft time.Time
		for _, d := range st.Detections {
			if d.Source == "tetragon" && d.DestIP == "169.254.169.254" {
				theft = d.Time
			}
		}
		var attacker string
		if len(st.AttackerIPs) > 0 {
			attacker = st.AttackerIPs[0]
		}
		var before, after, adminUsual, denied int
		for _, r := range parseCloudTrail(t, s) {
			if r.UserIdentity.AccessKeyID == rc.AccessKeyID {
				if !strings.HasSuffix(r.UserIdentity.ARN, "/"+rc.InstanceID) || r.UserIdentity.key() != rc.Identity {
					t.Errorf("seed %d: stolen key used as %s", seed, r.UserIdentity.ARN)
				}
				switch {
				case r.EventTime.Before(theft) && slices.Contains(s.Truth.Background.SourceIPs, r.SourceIPAddress) && strings.Contains(r.UserAgent, "aws-sdk"):
					before++
				case r.EventTime.After(theft) && r.SourceIPAddress == attacker:
					after++
				}
			}
			if strings.HasSuffix(r.UserIdentity.ARN, ":user/"+strings.TrimPrefix(st.Identities[len(st.Identities)-1], "arn:aws:iam::"+s.Truth.AccountID+":user/")) &&
				r.SourceIPAddress != attacker && r.EventTime.Before(theft) {
				adminUsual++
			}
			if r.SourceIPAddress == attacker && r.ErrorCode == "AccessDenied" {
				denied++
			}
		}
		if before == 0 || after == 0 {
			t.Errorf("seed %d: stolen key used %d times legitimately before the theft and %d times by the attacker", seed, before, after)
		}
		if adminUsual == 0 {
			t.Errorf("seed %d: the admin user has no usual activity before the attack", seed)
		}
		if denied < 2 {
			t.Errorf("seed %d: %d AccessDenied calls by the attacker, want a few", seed, denied)
		}
	}
}
