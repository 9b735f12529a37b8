package sqlite_test

import (
	"context"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/sqlite"
)

// FuzzQueryEvents runs arbitrary filters and cursors against a small
// store: the answer is a page or EINVALID, never an internal error (which
// would mean SQL the database rejects) nor a panic.
func FuzzQueryEvents(f *testing.F) {
	s := mustOpen(f, sqlite.Memory)
	storetest.MustWrite(f, s, storetest.Mixed(20, storetest.Base)...)
	next := storetest.MustQuery(f, s, cairn.EventQuery{Limit: 3}).Next
	for _, seed := range []struct {
		filter, cursor string
		oldest         bool
	}{
		{"", "", false},
		{"", next, false},
		{"", next, true},
		{"ct.name=StopLogging", "", false},
		{"k8s.ns.name in (default, payments)", next, false},
		{`ct.user.identitytype=AssumedRole and ct.srcip startswith "34."`, "", true},
		{"not k8s.ns.name exists or proc.pid > 40003", "", false},
		{"json.value[/userIdentity/type] = IAMUser", "", false},
		{"k8s.pod.label[app] = checkout", "AQ", false},
		{"evt.time >= 2025-03-14T09:26:53Z", "", false},
		{"proc.aname[2] = bash", "", false},
		{"ct.name contains \"'\\\"%_\"", "", false},
	} {
		f.Add(seed.filter, seed.cursor, seed.oldest)
	}
	f.Fuzz(func(t *testing.T, filter, cursor string, oldest bool) {
		page, err := s.QueryEvents(context.Background(), cairn.EventQuery{Filter: filter, Cursor: cursor, Oldest: oldest, Limit: 7})
		if err != nil {
			if cairn.ErrorCode(err) != cairn.EINVALID {
				t.Fatalf("filter %q cursor %q: %v", filter, cursor, err)
			}
			return
		}
		if len(page.Events) > 7 {
			t.Fatalf("%d events on a page of 7", len(page.Events))
		}
		for i := 1; i < len(page.Events); i++ {
			a, b := page.Events[i-1].Time, page.Events[i].Time
			if (oldest && a.After(b)) || (!oldest && a.Before(b)) {
				t.Fatalf("events out of order: %v then %v", a, b)
			}
		}
	})
}
