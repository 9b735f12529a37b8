package storeutil

import (
	"encoding/json"
	"strings"

	"github.com/cairn-cdr/cairn"
)

// CheckTriage returns EINVALID for a change SetTriage refuses, and
// otherwise makes its assignee text as the store keeps it (keep).
func CheckTriage(c *cairn.TriageChange, keep func(string) string) error {
	if c.Status != nil && !cairn.ValidStatus(*c.Status) {
		return cairn.Errorf(cairn.EINVALID, "unknown triage status %q: want one of %s",
			Truncate(*c.Status, 40), strings.Join(cairn.Statuses, ", "))
	}
	if c.Assignee != nil {
		if len(*c.Assignee) > cairn.MaxAssignee {
			return cairn.Errorf(cairn.EINVALID, "assignee is %d bytes long, more than %d", len(*c.Assignee), cairn.MaxAssignee)
		}
		a := keep(*c.Assignee)
		c.Assignee = &a
	}
	return nil
}

// triageChange is the audit detail of a triage change: each field that
// changed, from and to.
type triageChange struct {
	Status   *fromTo `json:"status,omitempty"`
	Assignee *fromTo `json:"assignee,omitempty"`
}

type fromTo struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// TriageDetail returns the audit detail of applying c to d, and whether
// it changes anything.
func TriageDetail(d cairn.Detection, c cairn.TriageChange) (string, bool) {
	var ch triageChange
	if c.Status != nil && *c.Status != d.Status {
		ch.Status = &fromTo{From: d.Status, To: *c.Status}
	}
	if c.Assignee != nil && *c.Assignee != d.Assignee {
		ch.Assignee = &fromTo{From: d.Assignee, To: *c.Assignee}
	}
	if ch.Status == nil && ch.Assignee == nil {
		return "", false
	}
	b, _ := json.Marshal(ch) // strings never fail
	return string(b), true
}

// CheckComment returns EINVALID for a comment AddComment refuses.
func CheckComment(c cairn.Comment) error {
	switch {
	case strings.TrimSpace(c.Author) == "":
		return cairn.Errorf(cairn.EINVALID, "comment has no author")
	case strings.TrimSpace(c.Text) == "":
		return cairn.Errorf(cairn.EINVALID, "comment has no text")
	case len(c.Text) > cairn.MaxCommentBytes:
		return cairn.Errorf(cairn.EINVALID, "comment is %d bytes long, more than %d", len(c.Text), cairn.MaxCommentBytes)
	}
	return nil
}
