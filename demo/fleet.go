package demo

import (
	"fmt"
	"strings"
	"time"
)

// app is a running container of a pod with its init process.
type app struct {
	pod  *pod
	ctr  *container
	init *proc
}

// workload returns a as the ground truth names it.
func (a *app) workload() Workload {
	return Workload{
		Cluster: a.pod.node.cluster, Namespace: a.pod.namespace, Pod: a.pod.name, Container: a.ctr.name,
		ContainerID: a.ctr.id, Image: a.ctr.image, Workload: a.pod.workload, WorkloadKind: a.pod.kind,
		Node: a.pod.node.name,
	}
}

// clusterNodes is one EKS cluster: its nodes, their instances and the
// NAT gateway address each node reaches AWS through.
type clusterNodes struct {
	name  string
	nodes []*node
	nat   []string
	role  *role
	// sessions are the nodes' instance role sessions, by node index.
	sessions []*actor
	keys     []string
}

// Java command lines of the services.
const (
	javaBin      = "/opt/java/openjdk/bin/java"
	tomcatArgs   = "-Djava.util.logging.config.file=/usr/local/tomcat/conf/logging.properties -Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager -Djdk.tls.ephemeralDHKeySize=2048 -Djava.protocol.handler.pkgs=org.apache.catalina.webresources -Dorg.apache.catalina.security.SecurityListener.UMASK=0027 -classpath /usr/local/tomcat/bin/bootstrap.jar:/usr/local/tomcat/bin/tomcat-juli.jar -Dcatalina.base=/usr/local/tomcat -Dcatalina.home=/usr/local/tomcat -Djava.io.tmpdir=/usr/local/tomcat/temp org.apache.catalina.startup.Bootstrap start"
	awsNodeImage = "602401143452.dkr.ecr.%s.amazonaws.com/amazon-k8s-cni:v1.18.3-eksbuild.1"
)

// nodeName returns an EKS node name for a private address.
func nodeName(region, ip string) string {
	dashed := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return dashed + ".ec2.internal"
	}
	return dashed + "." + region + ".compute.internal"
}

// newCluster adds n nodes of an EKS cluster whose agents start around
// snapshot.
func (s *scen) newCluster(name string, n int, vpcOctet int, snapshot time.Time) *clusterNodes {
	g := s.g
	cl := &clusterNodes{name: name, role: s.cl.role(name + "-node-role")}
	if name == s.c.shield {
		cl.role = s.cl.role(s.c.nodeRole)
	}
	for i := range n {
		ip := fmt.Sprintf("10.%d.%d.%d", vpcOctet, 16*i+g.between(1, 15), g.between(4, 250))
		boot := s.now.Add(-time.Duration(g.between(3*24, 20*24)) * time.Hour).Add(-g.dur(0, time.Hour))
		nd := s.rt.newNode(nodeName(s.c.region, ip), name, ip, g.instanceID(), boot, snapshot.Add(g.dur(0, 40*time.Second)))
		cl.nodes = append(cl.nodes, nd)
		cl.nat = append(cl.nat, g.awsIP(s.c.region))
	}
	s.truth.Clusters = append(s.truth.Clusters, ClusterRef{Name: name, NodeRole: cl.role.arn})
	ref := &s.truth.Clusters[len(s.truth.Clusters)-1]
	for _, nd := range cl.nodes {
		ref.Nodes = append(ref.Nodes, nd.name)
		ref.InstanceIDs = append(ref.InstanceIDs, nd.instanceID)
	}
	return cl
}

// podIP returns a pod address in the node's subnet.
func (s *scen) podIP(n *node) string {
	parts := strings.Split(n.ip, ".")
	return fmt.Sprintf("%s.%s.%s.%d", parts[0], parts[1], parts[2], s.g.between(2, 254))
}

// deployment starts a pod of a Deployment (or DaemonSet, StatefulSet) on
// n at `at` with one container.
func (s *scen) deployment(n *node, ns, wl, kind, ctrName, image, workdir string, uid uint32, at time.Time, bin, args string, labels map[string]string) *app {
	g := s.g
	// A pod cannot start before its node booted (some seeds draw a long
	// uptime for the workload and a short one for the node).
	if earliest := n.boot.Add(10 * time.Minute); at.Before(earliest) {
		at = earliest
	}
	var name string
	switch kind {
	case "Deployment":
		name = wl + "-" + g.rsHash() + "-" + g.podSuffix()
	case "Pod":
		name = wl
	case "DaemonSet", "Job":
		name = wl + "-" + g.podSuffix()
	case "CronJob":
		// CronJob pods are named after the Job, whose suffix is the
		// scheduled time in minutes since the epoch.
		name = fmt.Sprintf("%s-%d-%s", wl, at.Unix()/60, g.podSuffix())
	default:
		name = wl + "-0"
	}
	lab := map[string]string{"app": wl}
	if kind == "Deployment" {
		lab["pod-template-hash"] = name[len(wl)+1 : strings.LastIndexByte(name, '-')]
	}
	for k, v := range labels {
		lab[k] = v
	}
	pd := s.rt.newPod(n, ns, name, wl, kind, lab, s.podIP(n), at)
	if at.After(n.snapshot) {
		s.kubeletMounts(pd, at, image)
	}
	c, p := s.rt.startContainer(pd, ctrName, image, workdir, uid, at.Add(g.dur(2*time.Second, 9*time.Second)), bin, args)
	return &app{pod: pd, ctr: c, init: p}
}

// kubeletMounts adds what the kubelet runs on the host when a pod starts:
// the ECR credential provider for images from ECR, and the mount of the
// service account token volume.
func (s *scen) kubeletMounts(pd *pod, at time.Time, image string) {
	n := pd.node
	t := at.Add(-s.g.dur(3*time.Second, 6*time.Second))
	if strings.Contains(image, ".dkr.ecr.") {
		_, t = s.rt.run(n.kubelet, t, s.g.dur(150*time.Millisecond, 600*time.Millisecond),
			"/etc/eks/image-credential-provider/ecr-credential-provider", "")
	}
	vol := "/var/lib/kubelet/pods/" + pd.uid + "/volumes/kubernetes.io~projected/kube-api-access-" + s.g.podSuffix()
	s.rt.run(n.kubelet, t.Add(s.g.dur(100*time.Millisecond, time.Second)), s.g.dur(2*time.Millisecond, 9*time.Millisecond),
		"/usr/bin/mount", "-t tmpfs -o size=4194304 tmpfs "+vol)
}

// fleet builds the clusters, the development host and the long-running
// workloads that were up before the agents started.
func (s *scen) fleet() {
	g, c := s.g, s.c
	snapshot := s.now.Add(-11*time.Hour - 30*time.Minute).Add(g.dur(-10*time.Minute, 10*time.Minute))
	s.snapshot = snapshot
	s.shield = s.newCluster(c.shield, 3, g.between(0, 9), snapshot)
	s.pay = s.newCluster(c.payments, 2, g.between(10, 19), snapshot)
	devIP := fmt.Sprintf("10.%d.%d.%d", g.between(20, 29), g.between(0, 9), g.between(4, 250))
	s.dev = s.rt.newNode(c.devHost, "", devIP, g.instanceID(), s.now.Add(-time.Duration(g.between(24, 200))*time.Hour), snapshot.Add(g.dur(0, 40*time.Second)))

	// The VPC CNI on every node, with its gRPC exec probe.
	for _, cl := range []*clusterNodes{s.shield, s.pay} {
		for _, n := range cl.nodes {
			a := s.deployment(n, "kube-system", "aws-node", "DaemonSet", "aws-node", fmt.Sprintf(awsNodeImage, c.region), "/app", 0,
				n.boot.Add(g.dur(40*time.Second, 90*time.Second)), "/app/aws-k8s-agent", "", map[string]string{"k8s-app": "aws-node"})
			a.pod.labels = map[string]string{"k8s-app": "aws-node", "controller-revision-hash": g.from(k8sSuffix, 10), "pod-template-generation": "4"}
			s.awsNode = append(s.awsNode, a)
			s.bgApps = append(s.bgApps, a)
		}
	}

	// The cryptominer's namespace: pods of several Java workloads.
	roles := []string{"api", "worker", "gateway", "embedder", "scheduler"}
	for i := range c.minerPods {
		wl := c.minerStem + "-" + roles[i%3]
		n := s.shield.nodes[i%len(s.shield.nodes)]
		image := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s:%d.%d.%d", c.account, c.region, wl, g.between(1, 3), g.between(0, 20), g.between(0, 9))
		if i >= 3 { // a second replica of an earlier workload
			image = s.miners[i-3].ctr.image
		}
		at := snapshot.Add(-time.Duration(g.between(2, 72)) * time.Hour)
		a := s.deployment(n, c.minerNS, wl, "Deployment", wl, image, "/app", 0, at, javaBin,
			"-XX:MaxRAMPercentage=75.0 -jar /app/"+wl+".jar", map[string]string{"app.kubernetes.io/part-of": c.minerStem})
		s.miners = append(s.miners, a)
	}

	// The Tomcat service that SCARLETEEL exploits.
	s.s4s = s.deployment(s.shield.nodes[1], c.s4sNS, c.s4sWorkload, "Deployment", c.s4sWorkload, c.s4sImage, "/usr/local/tomcat", 0,
		snapshot.Add(-time.Duration(g.between(5, 100))*time.Hour), javaBin, tomcatArgs, map[string]string{"tier": "backend"})

	// The log4shell service, two replicas.
	for i := range 2 {
		at := snapshot.Add(-time.Duration(g.between(3, 60)) * time.Hour)
		a := s.deployment(s.pay.nodes[i], c.l4jNS, c.l4jWorkload, "Deployment", c.l4jWorkload, c.l4jImage, "/app", 0, at,
			javaBin, "-jar "+c.l4jJar, map[string]string{"tier": "backend"})
		if i == 1 { // replicas share the ReplicaSet hash
			a.pod.name = c.l4jWorkload + "-" + s.l4j[0].pod.labels["pod-template-hash"] + "-" + g.podSuffix()
			a.pod.labels = s.l4j[0].pod.labels
		}
		s.l4j = append(s.l4j, a)
		if i > 0 {
			s.bgApps = append(s.bgApps, a)
		}
	}
}
