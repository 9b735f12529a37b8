package sigma_test

import (
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/sigma"
)

// matchCase is one rule and the events it must and must not match.
type matchCase struct {
	name string
	ls   string // logsource
	det  string // detection section
	yes  []*cairn.Event
	no   []*cairn.Event
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := mustRule(t, c.ls, c.det)
			for i, ev := range c.yes {
				if !r.Match(ev) {
					t.Errorf("positive event %d did not match", i)
				}
			}
			for i, ev := range c.no {
				if r.Match(ev) {
					t.Errorf("negative event %d matched", i)
				}
			}
			if len(c.yes) == 0 || len(c.no) == 0 {
				t.Fatal("a case needs positive and negative events")
			}
		})
	}
}

func TestValueMatching(t *testing.T) {
	curl := execEv("/usr/bin/curl", "-s http://x/a.sh -o /tmp/a.sh", "/bin/bash", "-c run")
	wget := execEv("/usr/bin/wget", "http://x/a.sh", "/bin/bash", "")
	runMatchCases(t, []matchCase{
		{name: "plain value is case-insensitive", ls: lsProc, det: "sel:\n    Image: '/USR/BIN/Curl'\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{wget}},
		{name: "plain value is the whole value", ls: lsProc, det: "sel:\n    Image: 'bin/curl'\ncondition: sel",
			yes: []*cairn.Event{execEv("bin/curl", "", "", "")}, no: []*cairn.Event{curl}},
		{name: "star wildcard", ls: lsProc, det: "sel:\n    Image: '/usr/*/curl'\ncondition: sel",
			yes: []*cairn.Event{curl, execEv("/usr/local/bin/curl", "", "", "")}, no: []*cairn.Event{wget, execEv("/usr/bin/curl2", "", "", "")}},
		{name: "question mark is one character", ls: lsProc, det: "sel:\n    Image: '/usr/bin/cur?'\ncondition: sel",
			yes: []*cairn.Event{curl, execEv("/usr/bin/curé", "", "", "")}, no: []*cairn.Event{execEv("/usr/bin/cur", "", "", ""), execEv("/usr/bin/curll", "", "", "")}},
		{name: "several wildcards", ls: lsProc, det: "sel:\n    CommandLine: '*-s*x/?.sh*/tmp/*'\ncondition: sel",
			yes: []*cairn.Event{curl, execEv("/bin/x", "-s x/a.sh /tmp/", "", "")},
			no:  []*cairn.Event{wget, execEv("/bin/x", "-s x/ab.sh /tmp/", "", ""), execEv("/bin/x", "-s x/a.sh /tmp", "", "")}},
		{name: "escaped question mark", ls: lsProc, det: "sel:\n    CommandLine|endswith: 'really\\?'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/echo", "really?", "", "")}, no: []*cairn.Event{execEv("/bin/echo", "reallyx", "", "")}},
		{name: "escaped star is literal", ls: lsProc, det: "sel:\n    CommandLine: 'echo \\*'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/echo", "*", "", "")}, no: []*cairn.Event{execEv("/bin/echo", "x", "", "")}},
		{name: "escaped backslash before a wildcard", ls: lsProc, det: "sel:\n    CommandLine: 'echo a\\\\*'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/echo", `a\bcd`, "", "")}, no: []*cairn.Event{execEv("/bin/echo", "abcd", "", "")}},
		{name: "plain backslash", ls: lsProc, det: "sel:\n    CommandLine|endswith: 'C:\\Windows\\x'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/echo", `C:\Windows\x`, "", "")}, no: []*cairn.Event{execEv("/bin/echo", `C:Windowsx`, "", "")}},
		{name: "list of values is OR", ls: lsProc, det: "sel:\n    Image|endswith:\n        - '/curl'\n        - '/wget'\ncondition: sel",
			yes: []*cairn.Event{curl, wget}, no: []*cairn.Event{execEv("/bin/ls", "", "", "")}},
		{name: "map is AND", ls: lsProc, det: "sel:\n    Image|endswith: '/curl'\n    CommandLine|contains: '/tmp/'\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{execEv("/usr/bin/curl", "http://x", "", ""), execEv("/usr/bin/wget", "-O /tmp/x", "", "")}},
		{name: "list of maps is OR", ls: lsProc, det: "sel:\n    - Image|endswith: '/wget'\n    - CommandLine|contains: '-o /tmp'\ncondition: sel",
			yes: []*cairn.Event{curl, wget}, no: []*cairn.Event{execEv("/usr/bin/curl", "http://x", "", "")}},
		{name: "contains", ls: lsProc, det: "sel:\n    CommandLine|contains: 'A.SH'\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{execEv("/bin/ls", "-la", "", "")}},
		{name: "startswith sees the program name", ls: lsProc, det: "sel:\n    CommandLine|startswith: 'curl -s '\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{wget}},
		{name: "command line also in its path spelling", ls: lsProc, det: "sel:\n    CommandLine|contains: '/usr/bin/curl -s'\n    ParentCommandLine: '/bin/bash -c run'\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{wget, execEv("/usr/bin/curl", "-s", "/bin/bash", "-c other")}},
		{name: "endswith", ls: lsProc, det: "sel:\n    Image|endswith: '/curl'\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{execEv("/usr/bin/curl.bak", "", "", "")}},
		{name: "contains all", ls: lsProc, det: "sel:\n    CommandLine|contains|all:\n        - '-s'\n        - '/tmp/'\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{execEv("/usr/bin/curl", "-s http://x", "", "")}},
		{name: "cased", ls: lsProc, det: "sel:\n    CommandLine|cased|contains: '-O'\ncondition: sel",
			yes: []*cairn.Event{execEv("/usr/bin/wget", "-O x", "", "")}, no: []*cairn.Event{execEv("/usr/bin/wget", "-o x", "", "")}},
		{name: "non-ASCII text folds", ls: lsProc, det: "sel:\n    CommandLine|contains: 'ÉTÉ'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/echo", "un été chaud", "", "")}, no: []*cairn.Event{execEv("/bin/echo", "un ete chaud", "", "")}},
		{name: "re is case-sensitive", ls: lsProc, det: "sel:\n    CommandLine|re: '\\s-O\\s'\ncondition: sel",
			yes: []*cairn.Event{execEv("/usr/bin/wget", "x -O y", "", "")}, no: []*cairn.Event{execEv("/usr/bin/wget", "x -o y", "", "")}},
		{name: "re with i", ls: lsProc, det: "sel:\n    CommandLine|re|i: '\\s-O\\s'\ncondition: sel",
			yes: []*cairn.Event{execEv("/usr/bin/wget", "x -o y", "", "")}, no: []*cairn.Event{execEv("/usr/bin/wget", "x -p y", "", "")}},
		{name: "re with m", ls: lsProc, det: "sel:\n    CommandLine|re|m: '^b$'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/echo", "a\nb\nc", "", "")}, no: []*cairn.Event{execEv("/bin/echo", "a b c", "", "")}},
		{name: "re with s", ls: lsProc, det: "sel:\n    CommandLine|re|s: 'a.b'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/echo", "a\nb", "", "")}, no: []*cairn.Event{execEv("/bin/echo", "a\n\nb", "", "")}},
		{name: "re without s does not cross lines", ls: lsProc, det: "sel:\n    CommandLine|re: 'a.b'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/echo", "axb", "", "")}, no: []*cairn.Event{execEv("/bin/echo", "a\nb", "", "")}},
		{name: "base64", ls: lsProc, det: "sel:\n    CommandLine|base64|contains: 'id;'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/sh", "-c echo aWQ7 | base64 -d", "", "")}, no: []*cairn.Event{execEv("/bin/sh", "-c echo AWQ7", "", "")}},
		{name: "base64offset finds every alignment", ls: lsProc, det: "sel:\n    CommandLine|base64offset|contains: '/bin/bash'\ncondition: sel",
			yes: []*cairn.Event{
				execEv("/bin/sh", "-c echo L2Jpbi9iYXNoIC1p | base64 -d", "", ""),     // echo /bin/bash -i
				execEv("/bin/sh", "-c echo eC9iaW4vYmFzaCAtaQ== | base64 -d", "", ""), // echo x/bin/bash -i
				execEv("/bin/sh", "-c echo eHgvYmluL2Jhc2ggLWk= | base64 -d", "", ""), // echo xx/bin/bash -i
			}, no: []*cairn.Event{execEv("/bin/sh", "-c echo L2Jpbi9zaA==", "", "")}},
		{name: "utf16le then base64offset", ls: lsProc, det: "sel:\n    CommandLine|wide|base64offset|contains: 'cmd'\ncondition: sel",
			yes: []*cairn.Event{execEv("/usr/bin/pwsh", "-enc YwBtAGQA", "", "")}, no: []*cairn.Event{execEv("/usr/bin/pwsh", "-enc Y21k", "", "")}},
		{name: "utf16be and utf16 with a byte order mark", ls: lsProc, det: "sel:\n    - CommandLine|utf16be|base64|contains: 'cmd'\n    - CommandLine|utf16|base64|contains: 'ab'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/x", "AGMAbQBk", "", ""), execEv("/bin/x", "//5hAGIA", "", "")}, no: []*cairn.Event{execEv("/bin/x", "YwBtAGQA", "", "")}},
		{name: "windash", ls: lsProc, det: "sel:\n    CommandLine|windash|contains: ' -exec '\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/x", "a -exec b", "", ""), execEv("/bin/x", "a /exec b", "", ""), execEv("/bin/x", "a –exec b", "", ""), execEv("/bin/x", "a ―exec b", "", "")},
			no:  []*cairn.Event{execEv("/bin/x", "a +exec b", "", ""), execEv("/bin/x", "a exec b", "", "")}},
		{name: "windash leaves inner dashes", ls: lsProc, det: "sel:\n    CommandLine|contains|windash: 'a-b'\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/x", "a-b", "", "")}, no: []*cairn.Event{execEv("/bin/x", "a/b", "", "")}},
		{name: "exists true", ls: lsProc, det: "sel:\n    ParentImage|exists: true\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{execEv("/usr/bin/curl", "", "", "")}},
		{name: "exists false", ls: lsProc, det: "sel:\n    ParentImage|exists: false\ncondition: sel",
			yes: []*cairn.Event{execEv("/usr/bin/curl", "", "", "")}, no: []*cairn.Event{curl}},
		{name: "null is an absent field", ls: lsProc, det: "sel:\n    Image|endswith: '/curl'\nfilter:\n    ParentImage: null\ncondition: sel and not filter",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{execEv("/usr/bin/curl", "", "", "")}},
		{name: "empty value", ls: lsProc, det: "sel:\n    Image|endswith: '/curl'\n    CommandLine|endswith: 'curl'\n    ParentCommandLine: ''\ncondition: sel",
			yes: []*cairn.Event{execEv("/usr/bin/curl", "", "", "")}, no: []*cairn.Event{execEv("/usr/bin/curl", "", "/bin/sh", "-c x")}},
		{name: "neq", ls: lsProc, det: "sel:\n    Image|endswith: '/curl'\n    User|neq: root\ncondition: sel",
			yes: []*cairn.Event{func() *cairn.Event {
				e := execEv("/usr/bin/curl", "", "", "")
				e.Process.UID = i64(1000)
				e.Process.User = "alice"
				return e
			}()},
			no: []*cairn.Event{curl}},
		{name: "neq with a list is none of them", ls: lsProc, det: "sel:\n    Image|neq:\n        - /usr/bin/curl\n        - /usr/bin/wget\ncondition: sel",
			yes: []*cairn.Event{execEv("/bin/ls", "", "", "")}, no: []*cairn.Event{curl, wget}},
		{name: "lt lte gt gte", ls: lsProc, det: "sel:\n    ProcessId|gt: 4000\n    ProcessId|lte: 4242\n    ParentProcessId|gte: 4000\n    ParentProcessId|lt: 4001\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{func() *cairn.Event { e := execEv("/usr/bin/curl", "", "", ""); e.Process.PID = 4243; return e }()}},
		{name: "number equals number", ls: lsProc, det: "sel:\n    LogonId: 1000\n    ProcessId: '4242'\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{func() *cairn.Event { e := execEv("/usr/bin/curl", "", "", ""); e.Process.LoginUID = i64(0); return e }()}},
		{name: "time modifiers", ls: lsProc, det: "sel:\n    UtcTime|hour|gte: 22\n    UtcTime|minute: 30\n    UtcTime|day: 1\n    UtcTime|month: 5\n    UtcTime|year: 2024\n    UtcTime|week: 18\ncondition: sel",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{func() *cairn.Event { e := execEv("/usr/bin/curl", "", "", ""); e.Time = t0.Add(-3 * 3600e9); return e }()}},
		{name: "keywords search the command line and paths", ls: lsProc, det: "keywords:\n    - '-O /TMP'\n    - 'evil'\ncondition: keywords",
			yes: []*cairn.Event{curl, execEv("/tmp/evil/x", "", "", "")}, no: []*cairn.Event{wget}},
		{name: "keywords with all", ls: lsProc, det: "keywords:\n    '|all':\n        - 'curl'\n        - '/tmp/'\ncondition: keywords",
			yes: []*cairn.Event{curl}, no: []*cairn.Event{execEv("/usr/bin/curl", "http://x", "", "")}},
	})
}

func TestNetworkAndFileMatching(t *testing.T) {
	out := netEv("/bin/bash", "connect", "10.0.0.5", 40000, "203.0.113.7", 4444)
	in := netEv("/usr/sbin/sshd", "accept", "198.51.100.9", 50000, "10.0.0.5", 22)
	v6 := netEv("/bin/bash", "connect", "fd00::5", 40000, "2001:db8::7", 4444)
	runMatchCases(t, []matchCase{
		{name: "initiated and destination port", ls: lsNet, det: "sel:\n    Initiated: 'true'\n    DestinationPort:\n        - 4444\n        - 888\ncondition: sel",
			yes: []*cairn.Event{out}, no: []*cairn.Event{in, netEv("/bin/bash", "connect", "10.0.0.5", 1, "203.0.113.7", 443)}},
		{name: "initiated false for accept", ls: lsNet, det: "sel:\n    Initiated: 'false'\n    DestinationPort: 22\ncondition: sel",
			yes: []*cairn.Event{in}, no: []*cairn.Event{out}},
		{name: "cidr v4", ls: lsNet, det: "sel:\n    Initiated: 'true'\nfilter:\n    DestinationIp|cidr:\n        - '127.0.0.0/8'\n        - '10.0.0.0/8'\ncondition: sel and not filter",
			yes: []*cairn.Event{out}, no: []*cairn.Event{netEv("/bin/bash", "connect", "10.0.0.5", 1, "10.1.2.3", 443)}},
		{name: "cidr v6", ls: lsNet, det: "sel:\n    DestinationIp|cidr: '2001:db8::/32'\ncondition: sel",
			yes: []*cairn.Event{v6}, no: []*cairn.Event{out}},
		{name: "source fields", ls: lsNet, det: "sel:\n    SourceIp: 198.51.100.9\n    SourcePort|gt: 1024\n    Protocol: tcp\ncondition: sel",
			yes: []*cairn.Event{in}, no: []*cairn.Event{out}},
		{name: "network rules see only connections", ls: lsNet, det: "sel:\n    Image|endswith: '/bash'\ncondition: sel",
			yes: []*cairn.Event{out}, no: []*cairn.Event{execEv("/bin/bash", "", "", ""), netEv("/bin/bash", "listen", "", 0, "0.0.0.0", 80)}},
		{name: "target filename", ls: lsFile, det: "sel:\n    TargetFilename|startswith: '/etc/cron.d/'\ncondition: sel",
			yes: []*cairn.Event{fileEv("/usr/bin/cp", "/etc/cron.d/job", "write")}, no: []*cairn.Event{fileEv("/usr/bin/cp", "/etc/passwd", "write"), execEv("/etc/cron.d/job", "", "", "")}},
		{name: "process rules see only execve", ls: lsProc, det: "sel:\n    Image|endswith: '/cp'\ncondition: sel",
			yes: []*cairn.Event{execEv("/usr/bin/cp", "", "", "")},
			no: []*cairn.Event{fileEv("/usr/bin/cp", "/etc/passwd", "write"),
				func() *cairn.Event { e := execEv("/usr/bin/cp", "", "", ""); e.Type = "procfs"; return e }()}},
	})
}

func TestCloudTrailMatching(t *testing.T) {
	login := `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/bob","sessionContext":{"sessionIssuer":{"type":"Role"}}},"errorCode":null}`
	failed := `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","additionalEventData":{"MFAUsed":"Yes"},"responseElements":{"ConsoleLogin":"Failure"},"userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"},"errorMessage":"Failed authentication"}`
	policy := `{"eventName":"PutUserPolicy","eventSource":"iam.amazonaws.com","requestParameters":{"userName":"bob","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\"}]}"},"userIdentity":{"arn":"bob"}}`
	profile := `{"eventName":"UpdateLoginProfile","eventSource":"iam.amazonaws.com","requestParameters":{"userName":"alice"},"userIdentity":{"arn":"arn:aws:iam::1:user/bob"}}`
	self := `{"eventName":"UpdateLoginProfile","eventSource":"iam.amazonaws.com","requestParameters":{"userName":"ARN:aws:iam::1:user/bob"},"userIdentity":{"arn":"arn:aws:iam::1:user/bob"}}`
	layers := `{"eventName":"UpdateFunctionConfiguration","eventSource":"lambda.amazonaws.com","requestParameters":{"layers":["arn:aws:lambda:us-east-1:1:layer:evil:1","arn:aws:lambda:us-east-1:1:layer:ok:2"],"filters":[{"key":"a","values":["x","y"]},{"key":"b","values":["z"]}],"count":3}}`
	runMatchCases(t, []matchCase{
		{name: "nested keys", ls: lsCloud, det: "sel:\n    eventName: consolelogin\n    additionalEventData.MFAUsed: 'NO'\n    responseElements.ConsoleLogin: 'Success'\n    userIdentity.sessionContext.sessionIssuer.type: Role\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, login)}, no: []*cairn.Event{ctEv(t, failed)}},
		{name: "json null is null", ls: lsCloud, det: "sel:\n    eventName: ConsoleLogin\n    errorCode: null\n    errorMessage: null\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, login)}, no: []*cairn.Event{ctEv(t, failed)}},
		{name: "contains star needs the key", ls: lsCloud, det: "sel:\n    eventName: ConsoleLogin\nfilter:\n    errorMessage|contains: '*'\ncondition: sel and not filter",
			yes: []*cairn.Event{ctEv(t, login)}, no: []*cairn.Event{ctEv(t, failed)}},
		{name: "object text", ls: lsCloud, det: "sel:\n    requestParameters|contains|all:\n        - '\"s3:GetObject\"'\n        - '\"Allow\"'\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, policy)}, no: []*cairn.Event{ctEv(t, profile)}},
		{name: "fieldref", ls: lsCloud, det: "sel:\n    eventName: UpdateLoginProfile\nfilter:\n    userIdentity.arn|fieldref: requestParameters.userName\ncondition: sel and not filter",
			yes: []*cairn.Event{ctEv(t, profile)}, no: []*cairn.Event{ctEv(t, self)}},
		{name: "fieldref neq", ls: lsCloud, det: "sel:\n    userIdentity.arn|fieldref|neq: requestParameters.userName\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, profile)}, no: []*cairn.Event{ctEv(t, self)}},
		{name: "array elements", ls: lsCloud, det: "sel:\n    requestParameters.layers|contains: ':layer:evil:'\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, layers)}, no: []*cairn.Event{ctEv(t, policy)}},
		{name: "keys inside arrays of objects", ls: lsCloud, det: "sel:\n    requestParameters.filters.values: z\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, layers)}, no: []*cairn.Event{ctEv(t, policy)}},
		{name: "json numbers", ls: lsCloud, det: "sel:\n    requestParameters.count|gte: 3\n    requestParameters.count: 3\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, layers)}, no: []*cairn.Event{ctEv(t, policy)}},
		{name: "time modifiers on eventTime", ls: lsCloud, det: "sel:\n    eventTime|hour|lt: 6\n    eventTime|year: 2024\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, `{"eventName":"X","eventTime":"2024-05-01T03:59:00Z"}`)},
			no:  []*cairn.Event{ctEv(t, `{"eventName":"X","eventTime":"2024-05-01T06:00:00Z"}`), ctEv(t, `{"eventName":"X","eventTime":"2023-05-01T03:00:00Z"}`), ctEv(t, login)}},
		{name: "re on an arn", ls: lsCloud, det: "sel:\n    userIdentity.arn|re: '.+:user/b.b$'\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, login)}, no: []*cairn.Event{ctEv(t, failed)}},
		{name: "keywords search the raw record", ls: lsCloud, det: "keywords:\n    - 'FAILED AUTH'\ncondition: keywords",
			yes: []*cairn.Event{ctEv(t, failed)}, no: []*cairn.Event{ctEv(t, login)}},
		{name: "cloud rules see only CloudTrail", ls: lsCloud, det: "sel:\n    eventName|contains: 'e'\ncondition: sel",
			yes: []*cairn.Event{ctEv(t, login)}, no: []*cairn.Event{execEv("/bin/eventName", "", "", "")}},
	})
}

func TestPlaceholders(t *testing.T) {
	det := "sel:\n    User|expand: '%Admins%'\ncondition: sel"
	if r := skipReason(t, sigma.Options{}, lsProc, det); !contains(r, "placeholder %Admins% has no value") {
		t.Errorf("reason = %q", r)
	}
	rs, err := sigma.Options{Placeholders: map[string][]string{"Admins": {"adm_*", "root"}}}.Load(sigma.File{Name: "r.yml", Data: []byte(ruleText(lsProc, det))})
	if err != nil || len(rs.Rules) != 1 {
		t.Fatalf("load: %v %+v", err, rs)
	}
	r := rs.Rules[0]
	for user, want := range map[string]bool{"adm_joe": true, "root": true, "joe": false} {
		ev := execEv("/bin/ls", "", "", "")
		ev.Process.User = user
		if got := r.Match(ev); got != want {
			t.Errorf("user %s: match = %v, want %v", user, got, want)
		}
	}
}
