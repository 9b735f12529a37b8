package assist_test

import (
	"testing"

	"github.com/cairn-cdr/cairn/assist"
)

// TestParseMore covers questions a new user asks that the first tables
// did not: who did it, what was taken, and severities.
func TestParseMore(t *testing.T) {
	for _, c := range []struct {
		q      string
		intent assist.Intent
		sev    string
	}{
		{"who is the attacker?", assist.IntentRootCause, ""},
		{"who did this?", assist.IntentRootCause, ""},
		{"who is responsible", assist.IntentRootCause, ""},
		{"was any data exfiltrated?", assist.IntentBlast, ""},
		{"what data was stolen", assist.IntentBlast, ""},
		{"show me critical detections", assist.IntentSummary, "critical"},
		{"summarize high or critical alerts", assist.IntentSummary, "high"},
		{"what were the medium severity detections", assist.IntentSummary, "medium"},
		{"list low priority findings", assist.IntentSummary, "low"},
		{"is the cpu usage high?", assist.IntentHelp, ""},
	} {
		p := assist.Parse(c.q, nil)
		if p.Intent != c.intent || p.MinSeverity != c.sev {
			t.Errorf("Parse(%q) = intent %s severity %q, want %s %q", c.q, p.Intent, p.MinSeverity, c.intent, c.sev)
		}
	}
}
