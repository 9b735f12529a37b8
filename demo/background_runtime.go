package demo

import (
	"fmt"
	"strings"
	"time"
)

// backgroundRuntime adds the fleet's usual process activity: exec
// probes, services talking to their dependencies, a developer's shell,
// cron, CI build pods and a CronJob.
func (s *scen) backgroundRuntime() {
	s.probes()
	s.minerAppTraffic()
	s.developer()
	s.hostCron()
	s.ciPods()
	s.reportCronJob()
}

func vpcPrefix(ip string) string {
	parts := strings.SplitN(ip, ".", 3)
	return parts[0] + "." + parts[1]
}

// probe runs one Kubernetes exec probe in a's container: runc starts it
// from the pod's shim, outside the init tree.
func (s *scen) probe(a *app, t time.Time, bin, args, addr string, port uint32) {
	g := s.g
	p := s.rt.spawn(a.pod.shim, t, bin, args)
	p.ctr, p.cwd, p.uid, p.inInit, p.probe = a.ctr, a.ctr.workdir, a.init.uid, false, true
	s.rt.connect(p, p.start.Add(g.dur(500*time.Microsecond, 4*time.Millisecond)), addr, port)
	s.rt.exit(p, p.start.Add(g.dur(8*time.Millisecond, 40*time.Millisecond)), 0)
}

// probes: the VPC CNI's gRPC health probe on every node, and the payments
// service's curl probe. (Probes run every few seconds; the agent's export
// is sampled here to keep the volume reasonable.)
func (s *scen) probes() {
	g := s.g
	end := s.now.Add(-30 * time.Second)
	for _, a := range s.awsNode {
		for t := s.snapshot.Add(g.dur(time.Minute, 20*time.Minute)); t.Before(end); t = t.Add(g.dur(17*time.Minute, 23*time.Minute)) {
			s.probe(a, t, "/app/grpc-health-probe", "-addr=127.0.0.1:50051 -connect-timeout=5s -rpc-timeout=5s", "127.0.0.1", 50051)
		}
	}
	for _, a := range s.l4j {
		for t := s.snapshot.Add(g.dur(time.Minute, 20*time.Minute)); t.Before(end); t = t.Add(g.dur(17*time.Minute, 23*time.Minute)) {
			s.probe(a, t, "/usr/bin/curl", fmt.Sprintf("-fsS http://localhost:%d/actuator/health", s.c.l4jPort), "127.0.0.1", uint32(s.c.l4jPort))
		}
	}
}

// minerAppTraffic: the Java services of the miner's namespace call the
// Bedrock runtime endpoint.
func (s *scen) minerAppTraffic() {
	g := s.g
	bedrock := []string{g.awsIP(s.c.region), g.awsIP(s.c.region)}
	for _, a := range s.miners {
		for t := s.snapshot.Add(g.dur(time.Minute, 40*time.Minute)); t.Before(s.now.Add(-time.Minute)); t = t.Add(g.dur(30*time.Minute, 60*time.Minute)) {
			s.rt.connect(a.init, t, any1(g, bedrock), 443)
		}
	}
}

// developer: a few SSH sessions on the development host: git, ls, vim,
// go build, go test.
func (s *scen) developer() {
	g, c := s.g, s.c
	n := s.dev
	user := c.devUser
	home := "/home/" + user
	repo := home + "/src/" + c.s4sWorkload
	github := []string{"140.82.112.3", "140.82.113.3", "140.82.114.4"}
	proxy := []string{"142.250.185.81", "142.251.36.17"} // proxy.golang.org
	t := s.snapshot.Add(g.dur(time.Hour, 2*time.Hour))
	for sess := 0; sess < 3 && t.Before(s.now.Add(-20*time.Minute)); sess++ {
		priv := s.rt.spawn(n.sshd, t, "/usr/sbin/sshd", "-D -R")
		priv.auid = 1000
		sh := s.rt.spawn(priv, t.Add(g.dur(200*time.Millisecond, 900*time.Millisecond)), "/bin/bash", "")
		sh.uid, sh.auid, sh.cwd = 1000, 1000, home
		u := sh.start.Add(g.dur(2*time.Second, 8*time.Second))
		cmd := func(bin, args string, d time.Duration) *proc {
			p, end := s.rt.run(sh, u, d, bin, args)
			u = end.Add(g.dur(2*time.Second, 40*time.Second))
			return p
		}
		sh.cwd = repo
		cmd("/usr/bin/git", "status", g.dur(10*time.Millisecond, 40*time.Millisecond))
		git := cmd("/usr/bin/git", "pull --rebase", g.dur(900*time.Millisecond, 3*time.Second))
		rh, _ := s.rt.run(git, git.start.Add(g.dur(5*time.Millisecond, 30*time.Millisecond)), g.dur(300*time.Millisecond, 800*time.Millisecond),
			"/usr/lib/git-core/git-remote-https", "origin https://github.com/"+c.company+"/"+c.s4sWorkload+".git")
		s.rt.connect(rh, rh.start.Add(g.dur(2*time.Millisecond, 10*time.Millisecond)), any1(g, github), 443)
		cmd("/usr/bin/ls", "-la", g.dur(2*time.Millisecond, 5*time.Millisecond))
		vim := cmd("/usr/bin/vim", "internal/orders/handler.go", g.dur(40*time.Second, 4*time.Minute))
		s.rt.fileAccess(vim, vim.end.Add(-g.dur(10*time.Millisecond, 200*time.Millisecond)), repo+"/internal/orders/handler.go", "-rw-r--r--", mayWrite)
		build := cmd("/usr/local/go/bin/go", "build -o bin/"+c.s4sWorkload+" ./cmd/"+c.s4sWorkload, g.dur(4*time.Second, 12*time.Second))
		if sess == 0 {
			s.rt.connect(build, build.start.Add(g.dur(20*time.Millisecond, 200*time.Millisecond)), any1(g, proxy), 443)
		}
		tb := build.start.Add(g.dur(100*time.Millisecond, 400*time.Millisecond))
		for _, pkg := range []string{"orders", "storage"} {
			_, tb = s.rt.run(build, tb, g.dur(300*time.Millisecond, 2*time.Second), "/usr/local/go/pkg/tool/linux_amd64/compile",
				"-o $WORK/b00"+fmt.Sprint(g.between(2, 9))+"/_pkg_.a -trimpath $WORK/b001=> -p "+c.company+"/"+c.s4sWorkload+"/internal/"+pkg+" -lang=go1.22 -complete -pack")
		}
		link, _ := s.rt.run(build, tb.Add(g.dur(50*time.Millisecond, 300*time.Millisecond)), g.dur(500*time.Millisecond, 2*time.Second),
			"/usr/local/go/pkg/tool/linux_amd64/link", "-o $WORK/b001/exe/a.out -buildmode=exe ./cmd/"+c.s4sWorkload)
		s.rt.fileAccess(link, link.end.Add(-g.dur(time.Millisecond, 50*time.Millisecond)), repo+"/bin/"+c.s4sWorkload, "-rwxr-xr-x", mayWrite)
		cmd("/usr/local/go/bin/go", "test ./...", g.dur(6*time.Second, 20*time.Second))
		cmd("/usr/bin/git", "commit -am \"orders: handle empty carts\"", g.dur(50*time.Millisecond, 200*time.Millisecond))
		s.rt.exit(sh, u.Add(g.dur(time.Minute, 10*time.Minute)), 0)
		s.rt.exit(priv, sh.end.Add(g.dur(2*time.Millisecond, 20*time.Millisecond)), 0)
		t = priv.end.Add(g.dur(90*time.Minute, 3*time.Hour))
	}
}

// hostCron: the development host's hourly cron jobs.
func (s *scen) hostCron() {
	g := s.g
	n := s.dev
	hour := s.snapshot.Truncate(time.Hour).Add(time.Hour + 17*time.Minute)
	for ; hour.Before(s.now); hour = hour.Add(time.Hour) {
		sh := s.rt.spawn(n.cron, hour.Add(g.dur(0, 900*time.Millisecond)), "/bin/sh", `-c "cd / && run-parts --report /etc/cron.hourly"`)
		_, end := s.rt.run(sh, sh.start.Add(g.dur(time.Millisecond, 3*time.Millisecond)), g.dur(20*time.Millisecond, 200*time.Millisecond),
			"/usr/bin/run-parts", "--report /etc/cron.hourly")
		s.rt.exit(sh, end.Add(g.dur(time.Millisecond, 2*time.Millisecond)), 0)
	}
}

// ciPods: one build pod per pipeline in the payments cluster's ci
// namespace: install dependencies (npm, pip or apt-get) and run tests.
func (s *scen) ciPods() {
	g, c := s.g, s.c
	npm := []string{"104.16.1.35", "104.16.24.35", "104.16.3.35"}          // registry.npmjs.org
	pypi := []string{"151.101.0.223", "151.101.64.223", "151.101.128.223"} // pypi.org, files.pythonhosted.org
	debian := []string{"151.101.2.132", "151.101.66.132"}                  // deb.debian.org
	token := g.from("abcdefghijklmnopqrstuvwxyz0123456789", 8)
	for i, r := range s.ids.ciRuns {
		n := s.pay.nodes[i%len(s.pay.nodes)]
		kind := i % 3
		image := []string{"docker.io/library/node:20-bookworm", "docker.io/library/python:3.12-slim", "docker.io/library/debian:bookworm"}[kind]
		name := fmt.Sprintf("runner-%s-project-%d-concurrent-0-%s", token, 412+kind, g.podSuffix())
		a := s.deployment(n, "ci", name, "Pod", "build", image, "/builds/"+c.company+"/"+c.l4jWorkload, 0, r, "/bin/bash", "",
			map[string]string{"pod": "runner-" + token + "-project-" + fmt.Sprint(412+kind) + "-concurrent-0"})
		delete(a.pod.labels, "app")
		s.bgApps = append(s.bgApps, a)
		sh := a.init
		t := sh.start.Add(g.dur(2*time.Second, 6*time.Second))
		step := func(parent *proc, bin, args string, d time.Duration) *proc {
			p, end := s.rt.run(parent, t, d, bin, args)
			t = end.Add(g.dur(200*time.Millisecond, 2*time.Second))
			return p
		}
		step(sh, "/usr/bin/git", "fetch origin --prune", g.dur(time.Second, 3*time.Second))
		switch kind {
		case 0:
			p := step(sh, "/usr/local/bin/node", "/usr/local/bin/npm install --no-audit --no-fund", g.dur(20*time.Second, 60*time.Second))
			s.rt.connect(p, p.start.Add(g.dur(200*time.Millisecond, time.Second)), any1(g, npm), 443)
			s.rt.connect(p, p.start.Add(g.dur(2*time.Second, 5*time.Second)), any1(g, npm), 443)
			step(sh, "/usr/local/bin/node", "/usr/local/bin/npm test", g.dur(10*time.Second, 40*time.Second))
		case 1:
			p := step(sh, "/usr/local/bin/python3.12", "/usr/local/bin/pip install -r requirements.txt", g.dur(15*time.Second, 50*time.Second))
			s.rt.connect(p, p.start.Add(g.dur(300*time.Millisecond, time.Second)), any1(g, pypi), 443)
			s.rt.connect(p, p.start.Add(g.dur(2*time.Second, 6*time.Second)), any1(g, pypi), 443)
			step(sh, "/usr/local/bin/python3.12", "-m pytest -q", g.dur(10*time.Second, 40*time.Second))
		default:
			upd := step(sh, "/usr/bin/apt-get", "update", g.dur(3*time.Second, 9*time.Second))
			for range 2 {
				m, _ := s.rt.run(upd, upd.start.Add(g.dur(50*time.Millisecond, 300*time.Millisecond)), g.dur(time.Second, 3*time.Second), "/usr/lib/apt/methods/http", "")
				s.rt.connect(m, m.start.Add(g.dur(5*time.Millisecond, 50*time.Millisecond)), any1(g, debian), 80)
			}
			inst := step(sh, "/usr/bin/apt-get", "install -y --no-install-recommends make gcc libc6-dev", g.dur(15*time.Second, 40*time.Second))
			s.rt.run(inst, inst.start.Add(g.dur(5*time.Second, 10*time.Second)), g.dur(2*time.Second, 5*time.Second), "/usr/bin/dpkg",
				"--status-fd 23 --no-triggers --unpack --auto-deconfigure /var/cache/apt/archives/make_4.3-4.1_amd64.deb")
			mk := step(sh, "/usr/bin/make", "test", g.dur(5*time.Second, 15*time.Second))
			s.rt.run(mk, mk.start.Add(g.dur(10*time.Millisecond, 100*time.Millisecond)), g.dur(time.Second, 4*time.Second), "/usr/bin/cc", "-O2 -c -o build/ledger.o src/ledger.c")
		}
		s.rt.exit(sh, t.Add(g.dur(time.Second, 3*time.Second)), 0)
		s.rt.exit(a.pod.shim, sh.end.Add(g.dur(time.Second, 4*time.Second)), 0)
	}
}

// reportCronJob: an hourly report in the payments namespace.
func (s *scen) reportCronJob() {
	g, c := s.g, s.c
	db := fmt.Sprintf("%s.%d.%d", vpcPrefix(s.pay.nodes[0].ip), g.between(100, 120), g.between(4, 250))
	image := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/report-generator:0.%d.%d", c.account, c.region, g.between(3, 9), g.between(0, 20))
	for hour := s.snapshot.Truncate(time.Hour).Add(time.Hour); hour.Before(s.now.Add(-2 * time.Minute)); hour = hour.Add(time.Hour) {
		n := s.pay.nodes[g.intn(len(s.pay.nodes))]
		a := s.deployment(n, c.l4jNS, "report-generator", "CronJob", "report-generator", image, "/app", 1000, hour.Add(g.dur(time.Second, 4*time.Second)),
			"/usr/local/bin/python3.12", "/app/report.py --since 1h", nil)
		s.bgApps = append(s.bgApps, a)
		s.rt.connect(a.init, a.init.start.Add(g.dur(500*time.Millisecond, 2*time.Second)), db, 5432)
		s.rt.exit(a.init, a.init.start.Add(g.dur(3*time.Second, 20*time.Second)), 0)
		s.rt.exit(a.pod.shim, a.init.end.Add(g.dur(time.Second, 3*time.Second)), 0)
	}
}
