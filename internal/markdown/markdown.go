// Package markdown renders the assistant's Markdown answers and reports
// as HTML, safely: raw HTML in the source is dropped, not passed through,
// and links with dangerous schemes (javascript:, data:, ...) are not
// made, so that attacker-controlled values quoted in an answer stay text.
// It uses goldmark, a CommonMark renderer whose defaults are exactly
// that (no WithUnsafe).
package markdown

import (
	"bytes"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

var md = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

// HTML returns the HTML of src.
func HTML(src string) template.HTML {
	var b bytes.Buffer
	if err := md.Convert([]byte(src), &b); err != nil {
		// goldmark fails only when writing fails, which a buffer does not;
		// show the source as text rather than nothing.
		return template.HTML("<pre>" + template.HTMLEscapeString(src) + "</pre>")
	}
	return template.HTML(b.String()) // goldmark escapes text and drops raw HTML
}
