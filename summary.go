package cairn

import (
	"strconv"
	"strings"
)

// Summary returns a one-line description of what the event shows, for
// lists and feeds. It contains attacker-controlled text: escape it for the
// medium it is shown in.
func (e *Event) Summary() string {
	switch {
	case e.Alert != nil:
		return e.Alert.Priority + " " + e.Alert.Rule
	case e.Cloud != nil:
		c := e.Cloud
		who := c.Identity.Key
		if who == "" {
			who = c.Identity.Type
		}
		s := strings.TrimSuffix(c.EventSource, ".amazonaws.com") + ":" + c.EventName + " by " + who
		if c.SourceIP != "" {
			s += " from " + c.SourceIP
		}
		if c.ErrorCode != "" {
			s += " (" + c.ErrorCode + ")"
		}
		return s
	}
	proc := ""
	if e.Process != nil {
		proc = strings.TrimSpace(e.Process.Cmdline())
	}
	switch e.Kind {
	case KindExec:
		return "exec " + proc
	case KindExit:
		return "exit " + proc
	case KindFile:
		if e.File != nil {
			op := e.File.Op
			if op == "" {
				op = "file"
			}
			return op + " " + e.File.Path + " by " + proc
		}
	case KindNetwork:
		if n := e.Net; n != nil {
			return n.Op + " " + endpoint(n.SrcIP, n.SrcPort) + "->" + endpoint(n.DstIP, n.DstPort) + " by " + proc
		}
	}
	if e.Type != "" {
		return e.Type + " " + proc
	}
	return string(e.Kind) + " " + proc
}

func endpoint(ip string, port int64) string {
	if port == 0 {
		return ip
	}
	return ip + ":" + strconv.FormatInt(port, 10)
}

// Where returns where the event happened: the pod (namespace/pod), the
// container, the host, or the cloud account and region.
func (e *Event) Where() string {
	switch {
	case e.K8s != nil && e.K8s.Pod != "":
		s := e.K8s.Namespace + "/" + e.K8s.Pod
		if e.K8s.Cluster != "" {
			s = e.K8s.Cluster + ":" + s
		}
		return s
	case e.Container != nil && e.Container.Name != "":
		return e.Host + "/" + e.Container.Name
	case e.Cloud != nil:
		return e.Cloud.RecipientAccount + "/" + e.Cloud.Region
	}
	return e.Host
}
