package decode_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
)

// corpus is the third-party test data, read where it lies.
const corpus = "../../shared/corpus"

func corpusDir(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join(corpus, sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s", dir)
	}
	return dir
}

// corpusFiles lists the regular files under dir whose names match.
func corpusFiles(t *testing.T, dir string, match func(name string) bool) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && match(d.Name()) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestCorpusTetragon(t *testing.T) {
	dir := corpusDir(t, "tetragon")
	files := corpusFiles(t, dir, func(n string) bool { return strings.HasSuffix(n, ".json") })
	byFile := map[string]*decode.Collector{}
	total := 0
	for _, f := range files {
		c := mustDecodeFile(t, f, decode.Auto)
		noRejects(t, c)
		byFile[strings.TrimPrefix(f, dir+"/")] = c
		total += len(c.Events)
		for i, ev := range c.Events {
			if ev.Source != cairn.SourceTetragon || ev.Time.IsZero() || ev.Type == "" || ev.Host == "" || ev.Process == nil ||
				ev.Process.PID == 0 || ev.Process.Binary == "" || !strings.HasPrefix(ev.ID, "tt-") || len(ev.Raw) == 0 {
				t.Errorf("%s event %d: %s %s %s %v %q", f, i, ev.Source, ev.Kind, ev.Type, ev.Time, ev.Host)
			}
		}
	}
	if len(files) != 41 || total != 43 {
		t.Errorf("%d files, %d events; want 41 files, 43 events", len(files), total)
	}

	// The NDJSON test data: three execs, the first without a time.
	c := byFile["testdata/events.json"]
	if len(c.Events) != 3 {
		t.Fatalf("testdata/events.json: %d events", len(c.Events))
	}
	ev := c.Events[0]
	if !ev.Time.Equal(ev.Process.StartTime) || ev.Process.Name != "netserver" || ev.Container.ID != "19a02291e106" ||
		ev.Container.Runtime != "containerd" || ev.K8s.Labels["class"] != "tiefighter" || ev.Host != "my-node" {
		t.Errorf("events.json[0]: %v %+v %+v", ev.Time, ev.Container, ev.K8s)
	}

	kinds := map[string]struct {
		kind cairn.Kind
		typ  string
	}{
		"process_exec.json": {cairn.KindExec, "execve"}, "process_exit.json": {cairn.KindExit, "procexit"},
		"process_kprobe.json": {cairn.KindFile, "write"}, "process_connect.json": {cairn.KindNetwork, "connect"},
		"process_close.json": {cairn.KindNetwork, "close"}, "process_listen.json": {cairn.KindNetwork, "listen"},
	}
	for name, want := range kinds {
		c := byFile["03_chapter/00_four_golden_signals/"+name]
		if c == nil || len(c.Events) != 1 || c.Events[0].Kind != want.kind || c.Events[0].Type != want.typ {
			t.Errorf("%s: want one %s/%s event", name, want.kind, want.typ)
		}
	}
	gs := "03_chapter/00_four_golden_signals/"
	if f := byFile[gs+"process_kprobe.json"].Events[0].File; f == nil || f.Path != "/etc/passwd" || f.Op != "write" {
		t.Errorf("kprobe file %+v", f)
	}
	conn := byFile[gs+"process_connect.json"].Events[0]
	if n := conn.Net; n.DstIP != "142.250.180.196" || n.DstPort != 80 || n.SrcIP != "10.88.0.7" || n.Protocol != "tcp" ||
		conn.Container.ID != "86eb9e29a77d" || conn.K8s.Namespace != "tenant-jobs" || conn.Process.Name != "curl" || conn.Parent.Name != "bash" {
		t.Errorf("connect %+v %+v", conn.Net, conn.Container)
	}
	if n := byFile[gs+"process_listen.json"].Events[0].Net; n.SrcIP != "0.0.0.0" || n.SrcPort != 9080 {
		t.Errorf("listen %+v", n)
	}
	nsenter := byFile["03_chapter/03_security_observability_events/01_reaching_the_host_namespace/privileged-pod-nsenter.json"].Events[0]
	if nsenter.Process.Name != "nsenter" || nsenter.Process.Args != "-t 1 -m -u -n -i -p bash" || nsenter.Parent.Name != "bash" {
		t.Errorf("nsenter %+v", nsenter.Process)
	}
}

// TestCorpusTetragonDocs decodes the ```json blocks of Tetragon's events
// page that hold Tetragon events.
func TestCorpusTetragonDocs(t *testing.T) {
	dir := corpusDir(t, "tetragon")
	md := mustRead(t, filepath.Join(dir, "events.md"))
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(md, -1)
	n := 0
	for _, b := range blocks {
		if f, err := decode.Detect([]byte(b[1])); err != nil || f != decode.Tetragon {
			continue
		}
		c := mustDecode(t, b[1], decode.Tetragon)
		noRejects(t, c)
		n += len(c.Events)
		for _, ev := range c.Events {
			if ev.Kind != cairn.KindExec || ev.Process.Name != "curl" || ev.K8s.WorkloadName != "xwing" || ev.Time.IsZero() {
				t.Errorf("docs event %s %+v", ev.Kind, ev.Process)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d events from the docs, want 1", n)
	}
}

func TestCorpusCloudTrail(t *testing.T) {
	tests := []struct {
		sub    string
		files  int
		events int
	}{
		{"cloudtrail/stratus", 18, 142},
		{"cloudtrail/traildiscover/logExamples", 292, 281},
	}
	for _, tt := range tests {
		t.Run(tt.sub, func(t *testing.T) {
			dir := corpusDir(t, tt.sub)
			files := corpusFiles(t, dir, func(string) bool { return true })
			total := 0
			for _, f := range files {
				c := mustDecodeFile(t, f, decode.Auto)
				noRejects(t, c)
				total += len(c.Events)
				for i, ev := range c.Events {
					cl := ev.Cloud
					if ev.Kind != cairn.KindCloud || ev.Source != cairn.SourceCloudTrail || ev.Time.IsZero() || cl == nil ||
						ev.Type != cl.EventName || cl.EventSource == "" || ev.Host != "" || !strings.HasPrefix(ev.ID, "ct-"+cl.EventID+"-") {
						t.Errorf("%s event %d: %s %s %v", f, i, ev.Kind, ev.Type, ev.Time)
						continue
					}
					switch id := cl.Identity; id.Type {
					case "IAMUser":
						if id.Key != id.ARN || !strings.Contains(id.Key, ":user/") {
							t.Errorf("%s event %d: IAM user key %q", f, i, id.Key)
						}
					case "AssumedRole":
						if !strings.Contains(id.Key, ":iam::") || !strings.Contains(id.Key, ":role/") || id.SessionName == "" {
							t.Errorf("%s event %d: assumed role key %q session %q", f, i, id.Key, id.SessionName)
						}
					case "Unknown", "":
						if id.Key != "" {
							t.Errorf("%s event %d: %q identity keyed %q", f, i, id.Type, id.Key)
						}
					default:
						t.Errorf("%s event %d: unexpected identity type %q", f, i, id.Type)
					}
				}
			}
			if len(files) != tt.files || total != tt.events {
				t.Errorf("%d files, %d events; want %d files, %d events", len(files), total, tt.files, tt.events)
			}
		})
	}
}

func TestCorpusCloudTrailValues(t *testing.T) {
	dir := corpusDir(t, "cloudtrail")
	c := mustDecodeFile(t, filepath.Join(dir, "stratus/aws.defense-evasion.cloudtrail-event-selectors.json"), decode.Auto)
	noRejects(t, c)
	if len(c.Events) != 1 {
		t.Fatalf("%d events", len(c.Events))
	}
	ev := c.Events[0]
	if ev.ID != "ct-c2a89408-340a-42f0-8ace-75d9f5769393-958312252124" || ev.Type != "PutEventSelectors" ||
		!ev.Time.Equal(mustTime(t, "2024-07-31T12:50:02Z")) || ev.Cloud.Identity.Key != "arn:aws:iam::958312252124:user/christophe" ||
		ev.Cloud.Region != "cn-northsouth-2r" || ev.Cloud.SourceIP != "221.254.191.250" || *ev.Cloud.ReadOnly {
		t.Errorf("event %s %s %+v", ev.ID, ev.Type, ev.Cloud)
	}
	c = mustDecodeFile(t, filepath.Join(dir, "stratus/aws.execution.ec2-launch-unusual-instances.json"), decode.Auto)
	id := c.Events[0].Cloud.Identity
	if id.Key != "arn:aws:iam::900138736586:role/stratus-red-team-ec2lui-role-idtzskbvtd" || id.SessionName != "aws-go-sdk-1722511821294449000" {
		t.Errorf("assumed role %+v", id)
	}
	c = mustDecodeFile(t, filepath.Join(dir, "traildiscover/logExamples/SendEmail.json.cloudtrail"), decode.Auto)
	if len(c.Events) != 1 || c.Events[0].Cloud.Identity != (cairn.Identity{}) {
		t.Errorf("no identity: %+v", c.Events)
	}
}
