package sigma_test

import (
	"fmt"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/sigma"
)

// benchEvents builds about 2000 events: the Stratus CloudTrail records
// repeated to 1000, and 1000 runtime events (execs, with some file and
// network events) of everyday and suspicious command lines.
func benchEvents(tb testing.TB) []*cairn.Event {
	var out []*cairn.Event
	var cloud []*cairn.Event
	for _, evs := range stratusEvents(tb) {
		cloud = append(cloud, evs...)
	}
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
	return out
}

// BenchmarkEval evaluates every loadable corpus rule (linux and
// CloudTrail) on a mix of about 2000 events and reports the time per
// event; the sub-benchmarks split the mix by source.
func BenchmarkEval(b *testing.B) {
	needCorpus(b)
	rs := corpusRules(b)
	e := sigma.NewEngine(rs.Rules)
	mix := benchEvents(b)
	var cloud, runtime []*cairn.Event
	for _, ev := range mix {
		if ev.Cloud != nil {
			cloud = append(cloud, ev)
		} else {
			runtime = append(runtime, ev)
		}
	}
	for _, c := range []struct {
		name string
		evs  []*cairn.Event
	}{{"mix", mix}, {"cloudtrail", cloud}, {"runtime", runtime}} {
		b.Run(c.name, func(b *testing.B) {
			matches := 0
			for _, ev := range c.evs {
				matches += len(e.Eval(ev))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.Eval(c.evs[i%len(c.evs)])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
			b.ReportMetric(float64(len(rs.Rules)), "rules")
			b.ReportMetric(float64(matches)/float64(len(c.evs)), "matches/event")
		})
	}
}
