package demo

import (
	"fmt"
	"path"
	"time"
)

// storyMiner: on several pods of one namespace, an interactive shell
// (kubectl exec) runs a script that drops a miner, makes it executable
// and starts it against a Stratum pool.
func (s *scen) storyMiner() *Story {
	g, c := s.g, s.c
	st := newStory(StoryMiner, "Cryptominer dropped and run on "+c.minerNS, true)
	minerArgs := fmt.Sprintf("-o stratum+tcp://%s:%d -u %s -p x -k --donate-level 1", c.poolHost, c.poolPort, c.wallet)
	minerName := path.Base(c.minerPath)
	t := s.now.Add(-100 * time.Minute).Add(g.dur(-10*time.Minute, 10*time.Minute))
	var firstScript *proc
	for i, a := range s.miners {
		if i > 0 {
			t = t.Add(g.dur(2*time.Minute, 6*time.Minute))
		}
		addWorkload(st, a)
		// kubectl exec: runc starts the shell from the pod's shim, outside
		// the container's init tree.
		bash := s.rt.spawn(a.pod.shim, t, "/bin/bash", "")
		bash.ctr, bash.cwd, bash.uid, bash.inInit = a.ctr, a.ctr.workdir, a.init.uid, false
		span(st, bash.start)

		script := s.rt.spawn(bash, bash.start.Add(g.dur(5*time.Second, 25*time.Second)), "/bin/bash", c.script)
		if firstScript == nil {
			firstScript = script
		}
		s.detect(st, "script run from an interactive shell", []string{"T1059.004"}, script, script.start,
			Detection{ArgsContains: c.script})
		tw := script.start.Add(g.dur(5*time.Millisecond, 40*time.Millisecond))
		s.rt.fileAccess(script, tw, c.minerPath, "-rw-r--r--", mayWrite)
		s.detect(st, "executable file written after the container started", []string{"T1105"}, script, tw,
			Detection{File: c.minerPath})

		chmod, end := s.rt.run(script, tw.Add(g.dur(20*time.Millisecond, 120*time.Millisecond)),
			g.dur(time.Millisecond, 3*time.Millisecond), "/bin/chmod", "+x "+c.minerPath)
		s.detect(st, "dropped file made executable", []string{"T1222.002"}, chmod, chmod.start,
			Detection{ArgsContains: "+x " + c.minerPath, File: c.minerPath})

		miner := s.rt.spawn(script, end.Add(g.dur(5*time.Millisecond, 50*time.Millisecond)), c.minerPath, minerArgs)
		s.detect(st, "malicious binary executed (crypto miner)", []string{"T1496.001"}, miner, miner.start,
			Detection{ArgsContains: fmt.Sprintf("stratum+tcp://%s:%d", c.poolHost, c.poolPort)})
		tc := miner.start.Add(g.dur(30*time.Millisecond, 400*time.Millisecond))
		s.rt.connect(miner, tc, c.poolIP, uint32(c.poolPort))
		s.detect(st, "connection to a mining pool", []string{"T1496.001"}, miner, tc,
			Detection{DestIP: c.poolIP, DestPort: c.poolPort})

		// The script backgrounds the miner and returns; the shell is left.
		s.rt.exit(script, miner.start.Add(g.dur(100*time.Millisecond, 600*time.Millisecond)), 0)
		s.rt.exit(bash, script.end.Add(g.dur(10*time.Second, 50*time.Second)), 0)
		span(st, bash.end)
	}

	var pods []string
	for _, w := range st.Workloads {
		pods = append(pods, w.Pod)
	}
	st.AttackerIPs = []string{c.poolIP}
	st.Indicators = []string{c.script, c.minerPath, fmt.Sprintf("stratum+tcp://%s:%d", c.poolHost, c.poolPort), c.poolHost, c.wallet}
	st.Summary = fmt.Sprintf("On %d pods of namespace %s in cluster %s (%v), an interactive shell opened with kubectl exec ran "+
		"`bash %s`. The script wrote %s (a file that was not in the image), made it executable and started it with "+
		"Stratum pool arguments; %s then connected to the pool %s (%s:%d).",
		len(s.miners), c.minerNS, c.shield, pods, c.script, c.minerPath, minerName, c.poolHost, c.poolIP, c.poolPort)
	first := st.Workloads[0]
	st.RootCause = RootCause{
		Kind:    "script",
		Summary: fmt.Sprintf("the script %s, run through kubectl exec on each pod, drops and starts %s", c.script, minerName),
		Process: firstScript.name(), Args: firstScript.args, Workload: &first,
	}
	s.after = append(s.after, func() { st.RootCause.ExecID = firstScript.execID })
	return st
}
