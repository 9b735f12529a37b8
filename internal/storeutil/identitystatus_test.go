package storeutil_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/storeutil"
)

func TestCheckIdentityStatusReadies(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	zone := time.FixedZone("UTC-3", -3*3600)
	st := cairn.IdentityStatus{Identity: "user/\xff", State: cairn.IdentityCompromised, By: "a\xfe",
		Since: now.Add(-time.Hour).In(zone), Evidence: []string{"d\xff", "d2"}, Note: "n\xff"}
	in := slices.Clone(st.Evidence)
	if err := storeutil.CheckIdentityStatus(&st, storeutil.JSONText, now); err != nil {
		t.Fatal(err)
	}
	if st.Identity != "user/\uFFFD" || st.By != "a\uFFFD" || st.Note != "n\uFFFD" || !slices.Equal(st.Evidence, []string{"d\uFFFD", "d2"}) {
		t.Errorf("text not kept as JSON holds it: %+v", st)
	}
	if !slices.Equal(in, []string{"d\xff", "d2"}) {
		t.Errorf("the caller's evidence was changed: %q", in)
	}
	if !st.At.Equal(now) || st.At.Location() != time.UTC || st.Since.Location() != time.UTC || !st.Since.Equal(now.Add(-time.Hour)) {
		t.Errorf("times %v and %v, want %v and an hour before, in UTC", st.At, st.Since, now)
	}
	empty := cairn.IdentityStatus{Identity: "i", State: cairn.IdentityCleared, By: "b", Evidence: []string{}}
	if err := storeutil.CheckIdentityStatus(&empty, storeutil.JSONText, now); err != nil || empty.Evidence != nil || !empty.Since.IsZero() {
		t.Errorf("empty evidence and no since: %+v, %v; want nil evidence and a zero since", empty, err)
	}
}

func TestCheckIdentityStatusRefuses(t *testing.T) {
	for name, st := range map[string]cairn.IdentityStatus{
		"no identity":   {State: cairn.IdentityCleared, By: "b"},
		"no by":         {Identity: "i", State: cairn.IdentityCleared},
		"no state":      {Identity: "i", By: "b"},
		"unknown state": {Identity: "i", State: "cleared ", By: "b"},
		"long note":     {Identity: "i", State: cairn.IdentityCleared, By: "b", Note: strings.Repeat("x", cairn.MaxIdentityNote+1)},
		"much evidence": {Identity: "i", State: cairn.IdentityCleared, By: "b", Evidence: make([]string, storeutil.MaxIdentityEvidence+1)},
	} {
		if err := storeutil.CheckIdentityStatus(&st, storeutil.JSONText, time.Now()); cairn.ErrorCode(err) != cairn.EINVALID {
			t.Errorf("%s: error %v, want code %s", name, err, cairn.EINVALID)
		}
	}
}

func TestIdentityStatusDetail(t *testing.T) {
	since := time.Date(2025, 3, 14, 8, 0, 0, 5, time.UTC)
	for _, c := range []struct {
		prev, s cairn.IdentityStatus
		want    string
	}{
		{cairn.IdentityStatus{}, cairn.IdentityStatus{State: cairn.IdentityCompromised, Note: `a "quoted" <note>`, Since: since},
			`{"state":{"from":"","to":"compromised"},"note":"a \"quoted\" \u003cnote\u003e","since":"2025-03-14T08:00:00.000000005Z"}`},
		{cairn.IdentityStatus{State: cairn.IdentityCompromised, Note: "old"}, cairn.IdentityStatus{State: cairn.IdentityCleared},
			`{"state":{"from":"compromised","to":"cleared"}}`},
	} {
		if got := storeutil.IdentityStatusDetail(c.prev, c.s); got != c.want {
			t.Errorf("IdentityStatusDetail(%+v, %+v) = %s, want %s", c.prev, c.s, got, c.want)
		}
	}
}

func FuzzEvidence(f *testing.F) {
	f.Add("det-1\x00det-2")
	f.Add("")
	f.Add("\xff\"]\\,\x00")
	f.Fuzz(func(t *testing.T, joined string) {
		var ids []string
		if joined != "" {
			ids = strings.Split(joined, "\x00")
		}
		text := storeutil.EvidenceJSON(ids)
		got, err := storeutil.ParseEvidence(text)
		if err != nil {
			t.Fatalf("ParseEvidence(%q): %v", text, err)
		}
		want := make([]string, len(ids))
		for i, id := range ids {
			want[i] = storeutil.JSONText(id)
		}
		if len(want) == 0 {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("evidence %q read back as %q, want %q", ids, got, want)
		}
		if _, err := storeutil.ParseEvidence(joined); err == nil && !strings.HasPrefix(strings.TrimLeft(joined, " \t\r\n"), "[") &&
			strings.TrimSpace(joined) != "null" {
			t.Errorf("ParseEvidence(%q) accepted text that is not an array", joined)
		}
	})
}
