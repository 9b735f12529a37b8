package proctree

import "github.com/cairn-cdr/cairn"

// missCache remembers the last keys Options.Lookup did not find, so that
// a parent the store does not hold either is not asked for on every event.
type missCache struct {
	ring []string
	next int
	at   map[string]int // key -> its position in ring
}

func (c *missCache) init(size int) {
	c.ring = make([]string, 0, max(size, 1))
	c.at = map[string]int{}
}

func (c *missCache) has(key string) bool {
	_, ok := c.at[key]
	return ok
}

// add remembers key, forgetting the oldest key when full.
func (c *missCache) add(key string) {
	if len(c.ring) < cap(c.ring) {
		c.at[key] = len(c.ring)
		c.ring = append(c.ring, key)
		return
	}
	old := c.ring[c.next]
	if i, ok := c.at[old]; ok && i == c.next {
		delete(c.at, old)
	}
	c.ring[c.next] = key
	c.at[key] = c.next
	c.next = (c.next + 1) % len(c.ring)
}

// forget drops key, which the table now holds (and the store may hold
// once the caller has written it).
func (c *missCache) forget(key string) {
	if len(c.at) != 0 {
		delete(c.at, key)
	}
}

// load asks Options.Lookup for key and holds what it finds.
func (t *Table) load(key string) (int32, bool) {
	if t.lookup == nil || key == "" || t.misses.has(key) {
		return none, false
	}
	pn, ok := t.lookup(key)
	if !ok {
		t.misses.add(key)
		return none, false
	}
	s := t.alloc(key, pn.Host)
	n := &t.slab[s]
	pn.Key = key
	if pn.ParentKey == key {
		pn.ParentKey = "" // a stored self-parent is cut here too
	}
	n.pn = pn
	n.execDesc = pn.EventID != "" && !pn.Flags.Has(cairn.FlagPartial) && !pn.Flags.Has(cairn.FlagUnknown)
	if !pn.ExitTime.IsZero() {
		t.markExited(s, pn.ExitTime)
	} else {
		t.indexPID(s)
	}
	return s, true
}
