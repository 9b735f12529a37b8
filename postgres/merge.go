package postgres

import (
	"reflect"

	"github.com/cairn-cdr/cairn"
)

// Description levels of a node: how much of the process it describes.
const (
	levelUnknown = iota // a placeholder named by a child
	levelPartial        // a parent or ancestor element, or a late read
	levelFull           // the process's own event
)

// level returns the description level flags f give.
func level(f cairn.NodeFlags) int {
	switch {
	case f&cairn.FlagUnknown != 0:
		return levelUnknown
	case f&cairn.FlagPartial != 0:
		return levelPartial
	}
	return levelFull
}

// levelFlags returns the flags that mark level l.
func levelFlags(l int) cairn.NodeFlags {
	switch l {
	case levelUnknown:
		return cairn.FlagUnknown
	case levelPartial:
		return cairn.FlagPartial
	}
	return 0
}

// mergeNode merges b, written later, into a, both with the same key, as
// cairn.ProcessWriter documents and as the SQLite store merges:
//
//   - The better description is kept (full over partial over placeholder;
//     a, the first, between equals), and its unknown (zero) values are
//     filled from the other: a placeholder is filled in and loses
//     FlagUnknown, a partial node loses FlagPartial when a full one
//     arrives.
//   - b conflicts with a when both give a pid and the pids differ, or
//     both give a binary and the binaries differ. The node then gets
//     FlagConflict and keeps a as it is, unless a is a placeholder, which
//     describes nothing of its own: then b replaces it.
//   - Other flags accumulate; LastSeen and ExitTime take the latest.
func mergeNode(a, b cairn.ProcessNode) cairn.ProcessNode {
	conflict := a.Process.PID != 0 && b.Process.PID != 0 && a.Process.PID != b.Process.PID ||
		a.Process.Binary != "" && b.Process.Binary != "" && a.Process.Binary != b.Process.Binary
	la, lb := level(a.Flags), level(b.Flags)
	var out cairn.ProcessNode
	switch {
	case conflict && la > levelUnknown:
		out = a
	case lb > la:
		out = fillNode(b, &a)
	default:
		out = fillNode(a, &b)
	}
	const levels = cairn.FlagUnknown | cairn.FlagPartial
	out.Flags = (a.Flags|b.Flags)&^levels | levelFlags(level(out.Flags))
	if conflict {
		out.Flags |= cairn.FlagConflict
	}
	if b.LastSeen.After(out.LastSeen) {
		out.LastSeen = b.LastSeen
	}
	if a.LastSeen.After(out.LastSeen) {
		out.LastSeen = a.LastSeen
	}
	if b.ExitTime.After(out.ExitTime) {
		out.ExitTime = b.ExitTime
	}
	if a.ExitTime.After(out.ExitTime) {
		out.ExitTime = a.ExitTime
	}
	return out
}

// fillNode returns n with its unknown values taken from o. Container and
// K8s are copied before they are filled: they may be shared with the
// caller's nodes.
func fillNode(n cairn.ProcessNode, o *cairn.ProcessNode) cairn.ProcessNode {
	if n.ParentKey == "" {
		n.ParentKey = o.ParentKey
	}
	if n.Host == "" {
		n.Host = o.Host
	}
	if n.EventID == "" {
		n.EventID = o.EventID
	}
	fillZero(&n.Process, &o.Process)
	switch {
	case n.Container == nil:
		n.Container = o.Container
	case o.Container != nil:
		c := *n.Container
		fillZero(&c, o.Container)
		n.Container = &c
	}
	switch {
	case n.K8s == nil:
		n.K8s = o.K8s
	case o.K8s != nil:
		k := *n.K8s
		fillZero(&k, o.K8s)
		n.K8s = &k
	}
	return n
}

// fillZero sets each zero exported field of the struct dst to the same
// field of src. It works field by field through reflection so that a
// field added to Process, Container or K8s merges without a change here.
func fillZero[T any](dst, src *T) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := range d.NumField() {
		if f := d.Field(i); f.CanSet() && f.IsZero() {
			f.Set(s.Field(i))
		}
	}
}
