package treeview

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/cairn-cdr/cairn/internal/termsafe"
)

// timeLayout is how times are shown in text: UTC, to the millisecond.
const timeLayout = "2006-01-02 15:04:05.000"

// WriteText renders v for a terminal: the lineage root first, drawn like
// ps -ef --forest, one process a line with its pid, user, start time and
// command line, and where it runs (host, container, pod) whenever that
// changes from the line above; the event's process marked; its children
// and siblings; then the events before and after it. Every string that
// came from an event is made inert for the terminal.
func (v *View) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "event %s  %s UTC  %s  %s\n", safe(v.Event.ID), v.Event.Time.UTC().Format(timeLayout), v.Event.Kind, safe(v.Event.Summary))

	fmt.Fprintln(bw, "\nprocess tree, root first (pid  user  start UTC  command  [where it runs, when that changes]):")
	var where string
	depth := 0
	for i, n := range v.Lineage {
		depth = i
		where = writeNode(bw, n, i, where, "")
	}
	for i, c := range v.Children {
		branch := "├─ "
		if i == len(v.Children)-1 {
			branch = "└─ "
		}
		where = writeNode(bw, c, depth+1, where, branch)
	}
	if len(v.Siblings) > 0 {
		fmt.Fprintf(bw, "\nsiblings (other children of %s):\n", safe(parentName(v)))
		where = ""
		for _, s := range v.Siblings {
			where = writeNode(bw, s, 1, where, "")
		}
	}
	writeEvents(bw, "before", v.Before)
	writeEvents(bw, "after", v.After)
	return bw.Flush()
}

func parentName(v *View) string {
	if len(v.Lineage) < 2 {
		return "its parent"
	}
	p := v.Lineage[len(v.Lineage)-2]
	return fmt.Sprintf("pid %d %s", p.PID, p.Cmdline)
}

// writeNode writes one process line at depth and returns the place it
// runs, so the next line shows its place only when it changes.
func writeNode(w io.Writer, n Node, depth int, prevWhere, branch string) string {
	indent := ""
	if depth > 0 {
		indent = strings.Repeat("   ", depth-1)
		if branch == "" {
			branch = "└─ "
		}
		indent += branch
	}
	user := n.User
	if user == "" && n.UID != nil {
		user = fmt.Sprintf("%d", *n.UID)
	}
	if user == "" {
		user = "?"
	}
	start := "-"
	if !n.Start.IsZero() {
		start = n.Start.UTC().Format(timeLayout)
	}
	cmd := n.Cmdline
	if cmd == "" {
		cmd = "?"
	}
	fmt.Fprintf(w, "%s%d  %s  %s  %s", indent, n.PID, safe(user), start, safe(cmd))
	if len(n.Flags) > 0 {
		fmt.Fprintf(w, "  (%s)", strings.Join(n.Flags, ", "))
	}
	if !n.Exit.IsZero() {
		fmt.Fprintf(w, "  exited %s", n.Exit.UTC().Format(timeLayout))
	}
	if n.Flagged {
		fmt.Fprint(w, "  <== this event")
	}
	here := place(n)
	if here != prevWhere && here != "" {
		fmt.Fprintf(w, "  [%s]", safe(here))
	}
	fmt.Fprintln(w)
	return here
}

// place describes where a process runs: its host, and its container,
// image and pod when it is in one.
func place(n Node) string {
	parts := []string{}
	if n.Host != "" {
		parts = append(parts, "host "+n.Host)
	}
	if n.Container != "" {
		parts = append(parts, "container "+n.Container)
		if n.Image != "" {
			parts = append(parts, "image "+n.Image)
		}
	}
	if n.Pod != "" {
		pod := n.Namespace + "/" + n.Pod
		if n.Cluster != "" {
			pod = n.Cluster + ":" + pod
		}
		parts = append(parts, "pod "+pod)
	}
	return strings.Join(parts, ", ")
}

func writeEvents(w io.Writer, title string, evs []EventLine) {
	fmt.Fprintf(w, "\n%s:\n", title)
	if len(evs) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	for _, e := range evs {
		fmt.Fprintf(w, "  %s  %-13s  %-7d  %s\n", e.Time.UTC().Format(timeLayout), e.Kind, e.PID, safe(e.Summary))
	}
}

// safe makes attacker-controlled text inert on a terminal.
func safe(s string) string { return termsafe.String(s) }
