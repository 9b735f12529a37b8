package cairn

import (
	"context"
	"time"
)

// Triage statuses of a detection: every detection starts new; an analyst
// acknowledges it while looking into it and closes it as resolved (it was
// real and has been dealt with) or false_positive.
const (
	StatusNew           = "new"
	StatusAcknowledged  = "acknowledged"
	StatusResolved      = "resolved"
	StatusFalsePositive = "false_positive"
)

// Statuses lists the triage statuses in workflow order.
var Statuses = []string{StatusNew, StatusAcknowledged, StatusResolved, StatusFalsePositive}

// ValidStatus reports whether s is a triage status.
func ValidStatus(s string) bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// MaxAssignee and MaxCommentBytes bound what an analyst may write.
const (
	MaxAssignee     = 200
	MaxCommentBytes = 16 << 10
)

// TriageChange is a change to a detection's triage; a nil field is left
// as it is.
type TriageChange struct {
	Status   *string
	Assignee *string
}

// Comment is an analyst's note on a detection group.
type Comment struct {
	// ID orders a detection's comments; the store assigns it.
	ID          int64     `json:"id"`
	DetectionID string    `json:"detection_id"`
	Time        time.Time `json:"time"`
	Author      string    `json:"author"`
	Text        string    `json:"text"`
}

// DetectionFacets counts the detection groups a query selects (its
// filter and time range; cursor and limit do not apply) by severity rank
// and by triage status, and in Counts by both and by age, so that a feed
// can show every facet's counts from one scan.
type DetectionFacets struct {
	Total      int              `json:"total"`
	BySeverity map[int64]int    `json:"by_severity"`
	ByStatus   map[string]int   `json:"by_status"`
	Counts     []DetectionCount `json:"-"`
}

// DetectionCount is how many detection groups have a severity, a status
// and an age: the number of the ages given to CountDetections (newest
// first) that the group's last time is before; 0 when it is at or after
// the newest, or when no ages were given.
type DetectionCount struct {
	Severity int64
	Status   string
	Age      int
	N        int
}

// TriageStore keeps the triage of detection groups. Changes and comments
// write their audit entry in the same transaction.
type TriageStore interface {
	// SetTriage applies the change to the detection group with the id
	// (or the group of the detection with the id): ENOTFOUND when there
	// is none, EINVALID for an unknown status or an assignee longer than
	// MaxAssignee. It appends audit, whose Object the store sets to the
	// group's id, whose empty Action becomes "detection.triage" and
	// whose empty Detail becomes a JSON object of what changed
	// ({"status":{"from":"new","to":"resolved"}}). A change that changes
	// nothing writes no audit entry. It returns the detection as it now
	// is.
	SetTriage(ctx context.Context, id string, c TriageChange, audit AuditEntry) (Detection, error)
	// AddComment appends a comment to the detection group with the id
	// (ENOTFOUND when there is none; EINVALID for empty text, text over
	// MaxCommentBytes or an empty author) and the audit entry, whose
	// Object the store sets to the group's id and whose empty Action
	// becomes "detection.comment". It returns the comment with its ID,
	// DetectionID (the group's id) and Time set (c.Time when not zero).
	AddComment(ctx context.Context, id string, c Comment, audit AuditEntry) (Comment, error)
	// Comments returns the comments of the detection group, oldest first
	// (none for an unknown id).
	Comments(ctx context.Context, id string) ([]Comment, error)
	// CountDetections counts what q selects (EINVALID for a malformed
	// filter), in one pass over it. ages, newest first, bound the age
	// groups of DetectionFacets.Counts.
	CountDetections(ctx context.Context, q DetectionQuery, ages ...time.Time) (DetectionFacets, error)
}
