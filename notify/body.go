package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
)

// maxOutput is how many characters of a detection's output a Slack
// message keeps.
const maxOutput = 500

// encode renders the request body for a target kind.
func encode(kind string, d cairn.Detection) ([]byte, error) {
	switch kind {
	case KindWebhook:
		return json.Marshal(struct {
			Detection cairn.Detection `json:"detection"`
		}{d})
	case KindSlack:
		return json.Marshal(struct {
			Text string `json:"text"`
		}{SlackText(d)})
	}
	return nil, fmt.Errorf("unknown target kind %q", kind)
}

// SlackText is the one-line Slack summary of a detection: severity,
// rule, where it happened and its output. Every string in a detection
// can come from an attacker, so line breaks are flattened and Slack's
// control characters escaped: no mention (<!channel>), link or markup
// survives.
func SlackText(d cairn.Detection) string {
	sev := strings.ToUpper(field.SeverityName(d.Severity))
	text := fmt.Sprintf("[%s] %s", sev, slackEscape(d.Rule))
	if where := where(d.Entities); where != "" {
		text += " on " + slackEscape(where)
	}
	if out := truncate(d.Output, maxOutput); out != "" {
		text += ": " + slackEscape(out)
	}
	return text
}

// where names the place of a detection: namespace/pod, else the cloud
// identity, else the host.
func where(e cairn.Entities) string {
	switch {
	case e.Pod != "" && e.Namespace != "":
		return e.Namespace + "/" + e.Pod
	case e.Pod != "":
		return e.Pod
	case e.Identity != "":
		return e.Identity
	default:
		return e.Host
	}
}

// slackReplacer escapes Slack's control characters and flattens line
// breaks and tabs.
var slackReplacer = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"\r\n", " ", "\n", " ", "\r", " ", "\t", " ",
	"\u2028", " ", "\u2029", " ",
)

// slackEscape flattens s to one line and escapes the three characters
// Slack treats as control characters (& < >).
func slackEscape(s string) string {
	return slackReplacer.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// truncate cuts s to at most n characters, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
