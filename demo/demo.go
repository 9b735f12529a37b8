// Package demo generates cairn's demo scenarios: four attack stories (a
// CIS benchmark that looks like credential access, log4shell, a
// cryptominer, SCARLETEEL) amid hours of benign activity, as real-format
// records — Tetragon's JSON export and CloudTrail records — that pass
// through the same decoders as live data, together with the ground truth
// of what they contain.
//
// Generation is deterministic: the same Options give byte-identical
// output. Seed 1 uses the names of the design document; other seeds vary
// names, addresses, pod suffixes, paths, counts and timings.
//
// The Tetragon records form consistent process trees. Each node's stream
// starts with the records of the agent's /proc scan (flag procFS) for the
// processes already running — systemd, containerd, the kubelet, the
// containerd shims and the containers' init processes — so every record's
// parent_exec_id names a process whose exec record came earlier on the
// same node. The one exception is each node's root, systemd (pid 1), whose
// parent (the kernel) is never reported.
package demo

import (
	"time"

	"github.com/cairn-cdr/cairn"
)

// Options control generation.
type Options struct {
	// Seed selects the variant; 1 is the canonical demo.
	Seed int64
	// Now anchors the timeline: the attacks end minutes before Now and
	// every record falls within the 12 hours before it.
	Now time.Time
}

// Scenario is a generated data set.
type Scenario struct {
	// Tetragon holds one Tetragon JSON export record per element, as
	// compact JSON (one line of the export), in time order.
	Tetragon [][]byte
	// CloudTrail holds one CloudTrail record per element, in time order.
	CloudTrail [][]byte
	Truth      Truth
}

// Window is how far before Now the records reach.
const Window = 12 * time.Hour

// scen is the state of one generation.
type scen struct {
	g        *gen
	c        *cast
	now      time.Time
	snapshot time.Time
	rt       *runtime
	cl       *cloud
	truth    Truth
	// after holds fix-ups that need exec ids and event ids, which exist
	// only once the records are rendered.
	after []func()

	ids         *identities
	shield, pay *clusterNodes
	dev         *node
	awsNode     []*app
	miners      []*app
	s4s         *app
	l4j         []*app
	// bgApps are the workloads no story touches.
	bgApps []*app
}

// Generate builds the scenario for opts. Now must be set.
func Generate(opts Options) (*Scenario, error) {
	if opts.Now.IsZero() {
		return nil, cairn.Errorf(cairn.EINVALID, "demo: Options.Now must be set")
	}
	now := opts.Now.UTC()
	g := newGen(opts.Seed)
	c := newCast(g)
	s := &scen{
		g: g, c: c, now: now,
		rt: &runtime{g: g},
		cl: &cloud{g: g, account: c.account, region: c.region},
		truth: Truth{
			Seed: opts.Seed, Now: now, Start: now.Add(-Window), End: now,
			AccountID: c.account, Region: c.region,
		},
	}
	s.fleet()
	s.cloudBase()
	s.backgroundRuntime()
	s.backgroundCloud()
	stories := []*Story{s.storyCIS(), s.storyLog4Shell(), s.storyMiner(), s.storyScarleteel()}

	tet, err := s.rt.finalize()
	if err != nil {
		return nil, err
	}
	ct, err := s.cl.finalize()
	if err != nil {
		return nil, err
	}
	for _, f := range s.after {
		f()
	}
	touched := map[string]bool{}
	for _, st := range stories {
		finishStory(st)
		s.truth.Stories = append(s.truth.Stories, *st)
		for _, h := range st.Hosts {
			touched[h] = true
		}
	}
	for _, n := range s.rt.nodes {
		if !touched[n.name] {
			s.truth.Background.Hosts = append(s.truth.Background.Hosts, n.name)
		}
	}
	for _, a := range s.bgApps {
		s.truth.Background.Workloads = append(s.truth.Background.Workloads, a.workload())
	}
	s.truth.TetragonRecords, s.truth.CloudTrailRecords = len(tet), len(ct)
	return &Scenario{Tetragon: tet, CloudTrail: ct, Truth: s.truth}, nil
}
