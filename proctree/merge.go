package proctree

import (
	"time"

	"github.com/cairn-cdr/cairn"
)

// conflicts reports whether a and b cannot describe the same execution:
// both give a pid and the pids differ, or both give a binary and the
// binaries differ.
func conflicts(a, b *cairn.Process) bool {
	return pidConflict(a, b) || (a.Binary != "" && b.Binary != "" && a.Binary != b.Binary)
}

func pidConflict(a, b *cairn.Process) bool {
	return a.PID != 0 && b.PID != 0 && a.PID != b.PID
}

// fillProcess copies into dst the values src knows and dst does not, and
// reports whether it copied any.
func fillProcess(dst, src *cairn.Process) bool {
	changed := [...]bool{
		fill(&dst.ExecID, src.ExecID),
		fill(&dst.ParentExecID, src.ParentExecID),
		fill(&dst.PID, src.PID),
		fill(&dst.PPID, src.PPID),
		fill(&dst.Name, src.Name),
		fill(&dst.Binary, src.Binary),
		fill(&dst.Args, src.Args),
		fill(&dst.Cwd, src.Cwd),
		fillPtr(&dst.UID, src.UID),
		fillPtr(&dst.GID, src.GID),
		fill(&dst.User, src.User),
		fillPtr(&dst.LoginUID, src.LoginUID),
		fillTime(&dst.StartTime, src.StartTime),
		fill(&dst.Flags, src.Flags),
		fillPtr(&dst.TTY, src.TTY),
		fillPtr(&dst.SID, src.SID),
		fillPtr(&dst.ExitCode, src.ExitCode),
		fill(&dst.Signal, src.Signal),
		fillPtr(&dst.UpperLayer, src.UpperLayer),
	}
	for _, c := range changed {
		if c {
			return true
		}
	}
	return false
}

func fill[T string | int64](dst *T, src T) bool {
	var zero T
	if *dst == zero && src != zero {
		*dst = src
		return true
	}
	return false
}

func fillPtr[T any](dst **T, src *T) bool {
	if *dst == nil && src != nil {
		*dst = src
		return true
	}
	return false
}

func fillTime(dst *time.Time, src time.Time) bool {
	if dst.IsZero() && !src.IsZero() {
		*dst = src
		return true
	}
	return false
}

// isPod reports whether k names a workload rather than only the cluster a
// host belongs to; host nodes keep no Kubernetes context.
func isPod(k *cairn.K8s) bool {
	return k != nil && (k.Pod != "" || k.Namespace != "")
}

// informative reports whether p says anything an ancestor field can show.
func informative(p *cairn.Process) bool {
	return p.PID != 0 || p.Name != "" || p.Binary != ""
}
