package storeutil

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

// MergeNode merges b, written later, into a, both with the same key, as
// cairn.ProcessWriter documents:
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
func MergeNode(a, b cairn.ProcessNode) cairn.ProcessNode {
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

// NormalNode returns n with its key, parent key and host as the stores
// keep them (see JSONText), so that a key matches the exec_id of its
// events.
func NormalNode(n cairn.ProcessNode) cairn.ProcessNode {
	n.Key, n.ParentKey, n.Host = JSONText(n.Key), JSONText(n.ParentKey), JSONText(n.Host)
	return n
}

// BatchKeys checks that every node has a key (EINVALID otherwise) and
// lists the batch's normal keys (see NormalNode) in the order they first
// appear, which is the order new rows get and so breaks ties between
// children, with the index of each in the list.
func BatchKeys(nodes []cairn.ProcessNode) (keys []string, index map[string]int, err error) {
	for i := range nodes {
		if nodes[i].Key == "" {
			return nil, nil, cairn.Errorf(cairn.EINVALID, "process node %d of %d has no key", i+1, len(nodes))
		}
	}
	index = make(map[string]int, len(nodes))
	keys = make([]string, 0, len(nodes))
	for i := range nodes {
		k := JSONText(nodes[i].Key)
		if _, ok := index[k]; !ok {
			index[k] = len(keys)
			keys = append(keys, k)
		}
	}
	return keys, index, nil
}

// MergeBatch returns the node to store for each of keys (from BatchKeys
// with index): the stored node, when stored returns one for the key, with
// the batch's nodes of that key merged into it in the order written (see
// MergeNode).
func MergeBatch(keys []string, index map[string]int, stored func(key string) (cairn.ProcessNode, bool),
	nodes []cairn.ProcessNode) []cairn.ProcessNode {
	merged := make([]cairn.ProcessNode, len(keys))
	have := make([]bool, len(keys))
	for j, k := range keys {
		merged[j], have[j] = stored(k)
	}
	for i := range nodes {
		n := NormalNode(nodes[i])
		j := index[n.Key]
		if have[j] {
			merged[j] = MergeNode(merged[j], n)
		} else {
			merged[j], have[j] = n, true
		}
	}
	return merged
}
