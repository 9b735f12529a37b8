package sigmago_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
	"github.com/bradleyjkemp/sigma-go/evaluator/modifiers"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/sigma"
)

// corpus is the shared third-party data, relative to this package.
const corpus = "../../../shared/corpus"

// corpusDirs are the Sigma rule directories cairn supports, as in
// sigma/corpus_test.go.
var corpusDirs = []string{"linux/process_creation", "linux/file_event", "linux/network_connection", "cloud/aws"}

// needCorpus skips the test when the shared corpus is absent.
func needCorpus(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(corpus, "rules/sigma/rules")); err != nil {
		tb.Skipf("shared corpus not found at %s (%v): comparison skipped", corpus, err)
	}
}

// kind is the logsource a rule is written for and an event belongs to.
type kind int

// The kinds; kindNone is an event no rule applies to.
const (
	kindNone kind = iota
	kindProc
	kindFile
	kindNet
	kindCloud
	nKinds
)

// logsourceKind returns the kind a logsource selects, as cairn's loader
// decides it: a linux category with product linux or none and no
// service, or aws cloudtrail.
func logsourceKind(product, category, service string) kind {
	product, category, service = strings.ToLower(product), strings.ToLower(category), strings.ToLower(service)
	switch {
	case (product == "linux" || product == "") && service == "":
		switch category {
		case "process_creation":
			return kindProc
		case "file_event":
			return kindFile
		case "network_connection":
			return kindNet
		}
	case product == "aws" && service == "cloudtrail":
		return kindCloud
	}
	return kindNone
}

// eventKind returns the logsource an event belongs to, as cairn's engine
// decides it.
func eventKind(ev *cairn.Event) kind {
	switch {
	case ev.Cloud != nil || ev.Source == cairn.SourceCloudTrail:
		return kindCloud
	case ev.Kind == cairn.KindExec && ev.Type == "execve":
		return kindProc
	case ev.Kind == cairn.KindFile:
		return kindFile
	case ev.Kind == cairn.KindNetwork && ev.Net != nil && (ev.Net.Op == "connect" || ev.Net.Op == "accept"):
		return kindNet
	}
	return kindNone
}

// pair is one rule file as both engines loaded it.
type pair struct {
	file  string
	title string
	kind  kind
	cairn *sigma.Rule
	sg    *evaluator.RuleEvaluator
	// wild is set when a value holds * or ?: Sigma wildcards, which
	// sigma-go v0.6.6 compares as literal characters.
	wild bool
}

// suite is what the comparison runs on: the rules both engines load, the
// events, and each event as sigma-go expects it.
type suite struct {
	files int
	// cairnFailed and sgFailed count the files each side could not load,
	// bothFailed those neither could; reasons counts sigma-go's reasons.
	cairnFailed, sgFailed, bothFailed int
	sgReasons                         map[string]int

	pairs  []*pair
	engine *sigma.Engine
	// byKind holds the pairs of each logsource, in file order.
	byKind [nKinds][]*pair

	events []*cairn.Event
	kinds  []kind
	docs   []map[string]any
}

var (
	suiteOnce sync.Once
	theSuite  *suite
	suiteErr  error
)

// loadSuite builds the suite once per test binary.
func loadSuite(tb testing.TB) *suite {
	tb.Helper()
	needCorpus(tb)
	suiteOnce.Do(func() { theSuite, suiteErr = buildSuite() })
	if suiteErr != nil {
		tb.Fatal(suiteErr)
	}
	return theSuite
}

func buildSuite() (*suite, error) {
	files, err := ruleFiles()
	if err != nil {
		return nil, err
	}
	rs, err := sigma.Load(files...)
	if err != nil {
		return nil, err
	}
	byFile := map[string][]*sigma.Rule{}
	for _, r := range rs.Rules {
		byFile[r.File] = append(byFile[r.File], r)
	}
	s := &suite{files: len(files), sgReasons: map[string]int{}}
	var parsed []sigmago.Rule
	for _, f := range files {
		crs := byFile[f.Name]
		cairnOK := len(crs) == 1
		sr, why := parseSigmaGo(f.Data)
		switch sgOK := why == ""; {
		case !cairnOK && !sgOK:
			s.bothFailed++
		case !cairnOK:
			s.cairnFailed++
		case !sgOK:
			s.sgFailed++
		}
		if why != "" {
			s.sgReasons[why]++
		}
		if !cairnOK || why != "" {
			continue
		}
		c := crs[0]
		k := logsourceKind(sr.Logsource.Product, sr.Logsource.Category, sr.Logsource.Service)
		if k == kindNone || k != logsourceKind(c.Logsource.Product, c.Logsource.Category, c.Logsource.Service) {
			return nil, fmt.Errorf("%s: logsources differ: cairn %s, sigma-go %+v", f.Name, c.Logsource, sr.Logsource)
		}
		s.pairs = append(s.pairs, &pair{file: filepath.Base(f.Name), title: c.Title, kind: k, cairn: c, wild: hasWildcard(sr)})
		parsed = append(parsed, sr)
	}
	cfg := cloudConfig(parsed)
	var rules []*sigma.Rule
	for i, p := range s.pairs {
		if p.kind == kindCloud {
			p.sg = evaluator.ForRule(parsed[i], evaluator.WithConfig(cfg))
		} else {
			p.sg = evaluator.ForRule(parsed[i])
		}
		rules = append(rules, p.cairn)
		s.byKind[p.kind] = append(s.byKind[p.kind], p)
	}
	s.engine = sigma.NewEngine(rules)
	if s.events, err = benchEvents(); err != nil {
		return nil, err
	}
	for _, ev := range s.events {
		k := eventKind(ev)
		doc, err := eventDoc(ev, k)
		if err != nil {
			return nil, err
		}
		s.kinds = append(s.kinds, k)
		s.docs = append(s.docs, doc)
	}
	return s, nil
}

// ruleFiles reads the .yml files of the supported corpus directories.
func ruleFiles() ([]sigma.File, error) {
	var files []sigma.File
	for _, dir := range corpusDirs {
		err := filepath.WalkDir(filepath.Join(corpus, "rules/sigma/rules", dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(p) != ".yml" {
				return err
			}
			data, err := os.ReadFile(p)
			files = append(files, sigma.File{Name: p, Data: data})
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// parseSigmaGo parses a rule with sigma-go and checks that its evaluator
// can run it: sigma-go parses keywords, modifiers it lacks, null values
// and placeholders, but its Matches then fails on them. why is empty when
// the rule is usable.
func parseSigmaGo(data []byte) (r sigmago.Rule, why string) {
	r, err := sigmago.ParseRule(data)
	if err != nil {
		return r, "parse error"
	}
	if len(r.Detection.Conditions) == 0 {
		return r, "no condition"
	}
	for _, c := range r.Detection.Conditions {
		if c.Aggregation != nil {
			return r, "aggregation"
		}
	}
	for _, s := range r.Detection.Searches {
		if len(s.Keywords) > 0 {
			return r, "keywords"
		}
		for _, em := range s.EventMatchers {
			for _, fm := range em {
				mods := fm.Modifiers
				if n := len(mods); n > 0 && mods[n-1] == "all" {
					mods = mods[:n-1]
				}
				if _, err := modifiers.GetComparator(fm.Field, modifiers.Comparators, mods...); err != nil {
					return r, err.Error()
				}
				for _, v := range fm.Values {
					switch v := v.(type) {
					case string:
						if strings.HasPrefix(v, "%") && strings.HasSuffix(v, "%") {
							return r, "placeholder"
						}
					case int, float32, float64, bool:
					default:
						return r, fmt.Sprintf("value of type %T", v)
					}
				}
			}
		}
	}
	return r, ""
}

// hasWildcard reports whether a rule has a value, other than a regular
// expression, holding a Sigma wildcard.
func hasWildcard(r sigmago.Rule) bool {
	for _, s := range r.Detection.Searches {
		for _, em := range s.EventMatchers {
			for _, fm := range em {
				if hasModifier(fm.Modifiers, "re") {
					continue
				}
				for _, v := range fm.Values {
					if s, ok := v.(string); ok && strings.ContainsAny(s, "*?") {
						return true
					}
				}
			}
		}
	}
	return false
}

func hasModifier(mods []string, m string) bool {
	for _, x := range mods {
		if x == m {
			return true
		}
	}
	return false
}

// cloudConfig maps every dotted field the CloudTrail rules read to its
// JSONPath in the parsed record; plain names are top-level keys already.
func cloudConfig(rules []sigmago.Rule) sigmago.Config {
	cfg := sigmago.Config{Title: "cairn comparison: CloudTrail", FieldMappings: map[string]sigmago.FieldMapping{}}
	for _, r := range rules {
		if logsourceKind(r.Logsource.Product, r.Logsource.Category, r.Logsource.Service) != kindCloud {
			continue
		}
		for _, s := range r.Detection.Searches {
			for _, em := range s.EventMatchers {
				for _, fm := range em {
					if strings.Contains(fm.Field, ".") {
						cfg.FieldMappings[fm.Field] = sigmago.FieldMapping{TargetNames: []string{"$." + fm.Field}}
					}
				}
			}
		}
	}
	return cfg
}

// linuxKey is one key of the flat map sigma-go gets for a runtime event:
// the Sigma field, the cairn catalog field that supplies it, and the
// kinds of event that have it. A string field the event lacks is empty,
// as in a Sysmon record; a number it lacks is left out.
type linuxKey struct {
	sigma, catalog string
	kinds          []kind
}

var (
	procKinds = []kind{kindProc, kindFile, kindNet}
	linuxKeys = []linuxKey{
		{"Image", "proc.exepath", procKinds},
		{"ParentImage", "proc.pexepath", procKinds},
		{"CurrentDirectory", "proc.cwd", procKinds},
		{"User", "user.name", procKinds},
		{"LogonId", "user.loginuid", procKinds},
		{"TargetFilename", "fd.name", []kind{kindFile}},
		{"DestinationIp", "fd.sip", []kind{kindNet}},
		{"DestinationPort", "fd.sport", []kind{kindNet}},
		{"SourceIp", "fd.cip", []kind{kindNet}},
		{"SourcePort", "fd.cport", []kind{kindNet}},
	}
)

// eventDoc returns an event as sigma-go expects it: a CloudTrail record
// parsed into nested maps, a runtime event as a flat map of Sigma keys.
func eventDoc(ev *cairn.Event, k kind) (map[string]any, error) {
	switch k {
	case kindCloud:
		var m map[string]any
		if err := json.Unmarshal(ev.Raw, &m); err != nil {
			return nil, fmt.Errorf("event %s: %v", ev.ID, err)
		}
		return m, nil
	case kindNone:
		return nil, nil
	}
	m := map[string]any{
		"CommandLine":       commandLine(ev.Process),
		"ParentCommandLine": commandLine(ev.Parent),
	}
	for _, lk := range linuxKeys {
		if !hasKind(lk.kinds, k) {
			continue
		}
		ref, err := field.Lookup(lk.catalog)
		if err != nil {
			return nil, err
		}
		v, ok := ref.Get(ev)
		switch {
		case ok:
			m[lk.sigma] = v
		case ref.Field.Type == field.String || ref.Field.Type == field.IP:
			m[lk.sigma] = ""
		}
	}
	if k == kindNet {
		m["Initiated"] = ev.Net.Op == "connect"
	}
	return m, nil
}

// commandLine is a process's executable path and arguments: the one
// spelling sigma-go sees (cairn also tries the process name in place of
// the path).
func commandLine(p *cairn.Process) string {
	switch {
	case p == nil:
		return ""
	case p.Args == "":
		return p.Binary
	}
	return p.Binary + " " + p.Args
}

func hasKind(ks []kind, k kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// matchCounts evaluates every event with both engines and returns, per
// pair, how many events each matched; sigma-go errors are returned too.
func (s *suite) matchCounts(ctx context.Context) (cairnN, sgN []int, err error) {
	index := map[*sigma.Rule]int{}
	for i, p := range s.pairs {
		index[p.cairn] = i
	}
	cairnN, sgN = make([]int, len(s.pairs)), make([]int, len(s.pairs))
	for i, ev := range s.events {
		for _, m := range s.engine.Eval(ev) {
			cairnN[index[m.Rule]]++
		}
		for _, p := range s.byKind[s.kinds[i]] {
			res, err := p.sg.Matches(ctx, s.docs[i])
			if err != nil {
				return nil, nil, fmt.Errorf("sigma-go: %s on event %d: %v", p.file, i, err)
			}
			if res.Match {
				sgN[index[p.cairn]]++
			}
		}
	}
	return cairnN, sgN, nil
}

// Events, as sigma/bench_test.go builds them.

var t0 = time.Date(2024, 5, 1, 22, 30, 0, 0, time.UTC)

func i64(v int64) *int64 { return &v }

// execEv builds an execve event: binary, arguments (after argv[0]) and
// the parent's binary and arguments.
func execEv(bin, args, pbin, pargs string) *cairn.Event {
	ev := &cairn.Event{ID: "exec-" + bin, Source: cairn.SourceTetragon, Kind: cairn.KindExec, Type: "execve", Time: t0, Host: "node-1",
		Process: &cairn.Process{PID: 4242, PPID: 4000, Binary: bin, Args: args, Cwd: "/root", UID: i64(0), LoginUID: i64(1000), ExecID: "ZXhlYy0x"}}
	if pbin != "" {
		ev.Parent = &cairn.Process{PID: 4000, Binary: pbin, Args: pargs}
	}
	return ev
}

// fileEv builds a file event of a process.
func fileEv(bin, path, op string) *cairn.Event {
	ev := execEv(bin, "", "", "")
	ev.Kind, ev.Type, ev.File = cairn.KindFile, "openat", &cairn.File{Path: path, Op: op}
	return ev
}

// netEv builds a connection: op connect or accept, client and server.
func netEv(bin, op, srcIP string, srcPort int64, dstIP string, dstPort int64) *cairn.Event {
	ev := execEv(bin, "", "", "")
	ev.Kind, ev.Type = cairn.KindNetwork, op
	ev.Net = &cairn.Conn{Op: op, Protocol: "tcp", SrcIP: srcIP, SrcPort: srcPort, DstIP: dstIP, DstPort: dstPort}
	return ev
}

// eventSink collects decoded events.
type eventSink struct{ events []*cairn.Event }

func (s *eventSink) Event(ev cairn.Event) error { s.events = append(s.events, &ev); return nil }

func (s *eventSink) Reject(cairn.DeadLetter) error { return nil }

// benchEvents builds the mix of sigma/bench_test.go: the Stratus
// CloudTrail records (in file order, so that runs are alike) repeated to
// 1000, and 1000 runtime events of everyday and suspicious command lines.
func benchEvents() ([]*cairn.Event, error) {
	paths, err := filepath.Glob(filepath.Join(corpus, "cloudtrail/stratus/*.json"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no Stratus CloudTrail records in the corpus (%v)", err)
	}
	sort.Strings(paths)
	var cloud []*cairn.Event
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var s eventSink
		if err := decode.Decode(context.Background(), bytes.NewReader(data), p, decode.CloudTrail, &s); err != nil {
			return nil, err
		}
		cloud = append(cloud, s.events...)
	}
	var out []*cairn.Event
	for i := 0; len(out) < 1000; i++ {
		out = append(out, cloud[i%len(cloud)])
	}
	cmds := [][2]string{
		{"/usr/bin/ls", "-la /var/log"},
		{"/bin/bash", "-c /usr/local/bin/healthcheck.sh --timeout 5"},
		{"/usr/bin/python3", "/opt/app/manage.py runserver 0.0.0.0:8000"},
		{"/usr/bin/curl", "-sSfL https://example.com/install.sh -o /tmp/install.sh"},
		{"/usr/bin/git", "fetch --prune origin"},
		{"/usr/bin/systemctl", "status nginx.service"},
		{"/bin/sh", "-c echo aWQ7dW5hbWUgLWE= | base64 -d | bash"},
		{"/usr/bin/chmod", "+x /tmp/.x/payload"},
		{"/usr/bin/find", "/ -perm -4000 -type f"},
		{"/usr/sbin/iptables", "-F"},
		{"/usr/bin/grep", "-r password /etc"},
		{"/usr/bin/kubectl", "get pods -A -o wide"},
	}
	for i := 0; len(out) < 2000; i++ {
		c := cmds[i%len(cmds)]
		switch i % 10 {
		case 8:
			out = append(out, fileEv(c[0], fmt.Sprintf("/etc/cron.d/job%d", i), "write"))
		case 9:
			out = append(out, netEv(c[0], "connect", "10.0.0.5", 40000+int64(i), "203.0.113.7", []int64{443, 4444, 80}[i%3]))
		default:
			out = append(out, execEv(c[0], c[1], "/bin/bash", "-c run"))
		}
	}
	return out, nil
}
