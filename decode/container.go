package decode

import (
	"strings"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn"
)

// containerFromID parses a container id as Kubernetes reports it,
// runtime://id (containerd://, docker://, cri-o://), into the runtime,
// the full id and the short 12-character id Falco uses.
func containerFromID(id string) *cairn.Container {
	c := &cairn.Container{}
	if i := strings.Index(id, "://"); i >= 0 {
		c.Runtime, id = id[:i], id[i+3:]
	}
	c.FullID = id
	c.ID = shortID(id)
	return c
}

// shortID returns the first 12 characters of a container id.
func shortID(id string) string {
	if len(id) <= 12 {
		return id
	}
	n := 12
	for n > 0 && !utf8.RuneStart(id[n]) {
		n--
	}
	return id[:n]
}
