package demo

import (
	"fmt"
	"time"
)

// storyCIS is legitimate activity that looks like credential access: the
// CIS benchmark (kube-bench), run by a CronJob, checks node files and
// stats /etc/shadow. The analyst is expected to add an exception.
func (s *scen) storyCIS() *Story {
	g, c := s.g, s.c
	st := newStory(StoryCIS, "CIS benchmark reads /etc/shadow", false)
	n := s.shield.nodes[0]
	at := s.now.Add(-6 * time.Hour).Add(g.dur(-40*time.Minute, 40*time.Minute)).Truncate(time.Minute)
	a := s.deployment(n, c.benchNS, c.benchJob, "CronJob", c.benchContainer, c.benchImage, "/opt/kube-bench", 0, at,
		"/usr/local/bin/"+c.benchRunner, "--targets node --benchmark eks-1.5.0", map[string]string{"job-name": c.benchJob})
	a.pod.workload, a.pod.kind = c.benchJob, "CronJob"
	delete(a.pod.labels, "app")
	a.pod.labels["batch.kubernetes.io/job-name"] = a.pod.name[:len(a.pod.name)-6]
	a.pod.labels["job-name"] = a.pod.labels["batch.kubernetes.io/job-name"]
	span(st, a.pod.shim.start)
	addWorkload(st, a)

	// The benchmark runner (the container's entry point) runs each audit
	// command itself.
	t := a.init.start.Add(g.dur(800*time.Millisecond, 2*time.Second))
	audit := func(bin, args string) *proc {
		p, end := s.rt.run(a.init, t, g.dur(time.Millisecond, 6*time.Millisecond), bin, args)
		t = end.Add(g.dur(20*time.Millisecond, 300*time.Millisecond))
		return p
	}
	audit("/bin/ps", "-fC kubelet")
	audit("/bin/stat", "-c permissions=%a /etc/kubernetes/kubelet/kubelet-config.json")
	audit("/bin/stat", "-c %U:%G /etc/kubernetes/kubelet/kubelet-config.json")
	audit("/bin/cat", "/etc/kubernetes/kubelet/kubelet-config.json")
	audit("/bin/stat", "-c permissions=%a /var/lib/kubelet/kubeconfig")
	stat := audit("/bin/stat", c.benchArgs)
	s.detect(st, "sensitive file access", []string{"T1003.008"}, stat, stat.start,
		Detection{ArgsContains: "/etc/shadow", File: "/etc/shadow"})
	audit("/bin/stat", "-c %U:%G /etc/systemd/system/kubelet.service.d/10-kubelet-args.conf")
	audit("/bin/ps", "-fC kube-proxy")

	s.rt.exit(a.init, t.Add(g.dur(200*time.Millisecond, time.Second)), 0)
	s.rt.exit(a.pod.shim, a.init.end.Add(g.dur(time.Second, 3*time.Second)), 0)
	span(st, a.pod.shim.end)

	st.Summary = fmt.Sprintf("The CronJob %s/%s runs the CIS Kubernetes benchmark (%s) in container %s on node %s. "+
		"Among its file checks it runs `stat %s`, which a sensitive-file rule flags. This is the benchmark doing its job: "+
		"add an exception for this image and command.", c.benchNS, c.benchJob, c.benchImage, c.benchContainer, n.name, c.benchArgs)
	w := a.workload()
	st.RootCause = RootCause{
		Kind:    "scheduled-job",
		Summary: fmt.Sprintf("%s (kube-bench), started by the CronJob %s/%s, audits node files as part of the CIS benchmark", c.benchRunner, c.benchNS, c.benchJob),
		Process: a.init.name(), Args: a.init.args, Workload: &w,
	}
	s.after = append(s.after, func() { st.RootCause.ExecID = a.init.execID })
	return st
}
