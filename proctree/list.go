package proctree

// link is a node's place in one of the table's lists.
type link struct{ prev, next int32 }

// list is a doubly linked list of slots threaded through the slab; which
// link of a node it uses is chosen by an accessor.
type list struct{ head, tail int32 }

func lruOf(n *node) *link  { return &n.lruLink }
func leafOf(n *node) *link { return &n.leafLink }

// pushBack appends s.
func (l *list) pushBack(slab []node, s int32, of func(*node) *link) {
	k := of(&slab[s])
	k.prev, k.next = l.tail, none
	if l.tail != none {
		of(&slab[l.tail]).next = s
	} else {
		l.head = s
	}
	l.tail = s
}

// remove unlinks s, which must be in l.
func (l *list) remove(slab []node, s int32, of func(*node) *link) {
	k := of(&slab[s])
	if k.prev != none {
		of(&slab[k.prev]).next = k.next
	} else {
		l.head = k.next
	}
	if k.next != none {
		of(&slab[k.next]).prev = k.prev
	} else {
		l.tail = k.prev
	}
	k.prev, k.next = none, none
}

// moveToBack moves s, which must be in l, to the end.
func (l *list) moveToBack(slab []node, s int32, of func(*node) *link) {
	if l.tail == s {
		return
	}
	l.remove(slab, s, of)
	l.pushBack(slab, s, of)
}
