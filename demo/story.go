package demo

import (
	"slices"
	"time"
)

func newStory(id, title string, malicious bool) *Story {
	return &Story{ID: id, Title: title, Malicious: malicious}
}

// span widens the story's time range to include t.
func span(st *Story, t time.Time) {
	if st.Start.IsZero() || t.Before(st.Start) {
		st.Start = t
	}
	if t.After(st.End) {
		st.End = t
	}
}

// detect adds a runtime detection on process p at t; d carries the
// behaviour-specific fields (arguments, file, destination). The exec id is
// filled in once pids are assigned.
func (s *scen) detect(st *Story, what string, techniques []string, p *proc, t time.Time, d Detection) {
	d.What, d.Source, d.Techniques, d.Time = what, "tetragon", techniques, t.UTC()
	d.Host, d.Cluster = p.node.name, p.node.cluster
	if c := p.ctr; c != nil {
		d.Namespace, d.Pod, d.Container, d.Image = c.pod.namespace, c.pod.name, c.name, c.image
	}
	d.Process, d.Binary = p.name(), p.binary
	if p.parent != nil {
		d.Parent = p.parent.name()
	}
	st.Detections = append(st.Detections, d)
	i := len(st.Detections) - 1
	s.after = append(s.after, func() { st.Detections[i].ExecID = p.execID })
	span(st, t)
	addHost(st, p.node.name)
}

// detectCloud adds a detection over CloudTrail records made by a.
func (s *scen) detectCloud(st *Story, what string, techniques []string, a *actor, recs ...*ctRecord) {
	d := Detection{What: what, Source: "cloudtrail", Techniques: techniques, Time: recs[0].t.UTC(),
		Identity: a.key, AccessKeyID: a.ident.AccessKeyID, SourceIP: recs[0].SourceIPAddress}
	src := recs[0].EventSource
	for _, r := range recs {
		if r.EventSource != src {
			src = ""
		}
		if !slices.Contains(d.EventNames, r.EventName) {
			d.EventNames = append(d.EventNames, r.EventName)
		}
		d.EventIDs = append(d.EventIDs, r.EventID)
		if r.ErrorCode != "" {
			d.Failed++
		}
		span(st, r.t)
	}
	d.EventSource = src
	st.Detections = append(st.Detections, d)
	if !slices.Contains(st.Identities, a.key) {
		st.Identities = append(st.Identities, a.key)
	}
	if k := a.ident.AccessKeyID; k != "" && !slices.Contains(st.AccessKeys, k) {
		st.AccessKeys = append(st.AccessKeys, k)
	}
}

func addHost(st *Story, h string) {
	if !slices.Contains(st.Hosts, h) {
		st.Hosts = append(st.Hosts, h)
	}
}

func addWorkload(st *Story, a *app) {
	w := a.workload()
	for _, x := range st.Workloads {
		if x.ContainerID == w.ContainerID {
			return
		}
	}
	st.Workloads = append(st.Workloads, w)
	addHost(st, w.Node)
}

// finishStory derives the story's technique list from its detections and
// sorts the detections by time.
func finishStory(st *Story) {
	slices.SortStableFunc(st.Detections, func(a, b Detection) int { return a.Time.Compare(b.Time) })
	for _, d := range st.Detections {
		for _, t := range d.Techniques {
			if !slices.Contains(st.Techniques, t) {
				st.Techniques = append(st.Techniques, t)
			}
		}
	}
	slices.Sort(st.Techniques)
	st.Start, st.End = st.Start.UTC(), st.End.UTC()
}

// steps runs actions separated by gaps drawn up front, so that a story
// can be anchored to end at a chosen time.
type steps struct {
	gaps []time.Duration
	acts []func(t time.Time)
}

func (ss *steps) then(gap time.Duration, act func(t time.Time)) {
	ss.gaps = append(ss.gaps, gap)
	ss.acts = append(ss.acts, act)
}

func (ss *steps) total() time.Duration {
	var d time.Duration
	for _, g := range ss.gaps {
		d += g
	}
	return d
}

// runEndingAt runs the steps so that the last one happens at end.
func (ss *steps) runEndingAt(end time.Time) {
	t := end.Add(-ss.total())
	for i, act := range ss.acts {
		t = t.Add(ss.gaps[i])
		act(t)
	}
}
