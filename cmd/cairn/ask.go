package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/assist"
	"github.com/cairn-cdr/cairn/internal/markdown"
	"github.com/cairn-cdr/cairn/internal/termsafe"
)

func runAsk(ctx context.Context, e *env, args []string) int {
	flags := newFlags(e, "ask", "QUESTION",
		"Answers a question about the stored detections in plain language, offline, from the store alone: summarize,\n"+
			"generate detailed investigation report, root cause, MITRE ATT&CK tactics and techniques, attack path,\n"+
			"how many workloads were impacted, how do I fix this, isolating affected resources, explain a rule.\n"+
			"Every answer names the detections and events it rests on and the feed filter of its scope.\n"+
			"With --session ID, follow-up questions (\"how do I fix this?\") refer to the earlier answers of that session.")
	db := dbFlag(flags, e)
	session := flags.String("session", "", "keep the conversation's context under this name (letters, digits, - and _)")
	outFile := flags.String("out", "", "also write the answer (a report) to FILE: HTML when it ends in .html, else Markdown")
	out := outputFlag(flags, "text", "json")
	llm := addLLMFlags(flags)
	if code, ok := parse(flags, args); !ok {
		return code
	}
	llmConfig, err := llm.config(e)
	if err != nil {
		fmt.Fprintf(e.stderr, "cairn ask: %v\n", err)
		return exitUsage
	}
	if !checkOutput(e, *out, "text", "json") {
		return exitUsage
	}
	question := strings.TrimSpace(strings.Join(flags.Args(), " "))
	if question == "" {
		fmt.Fprintln(e.stderr, `cairn ask: ask a question, e.g. cairn ask "summarize events for this cluster" (cairn ask help lists what it answers)`)
		return exitUsage
	}
	if *session != "" && !sessionName.MatchString(*session) {
		fmt.Fprintln(e.stderr, "cairn ask: --session takes letters, digits, - and _ (at most 64)")
		return exitUsage
	}
	st, err := openStore(ctx, *db)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	rs, err := loadRuleSets(e, nil, false, "")
	if err != nil {
		return fail(e, err)
	}
	eng := assist.New(st, assist.Options{Describe: assist.Descriptions(rs.falco, rs.sigma), LLM: llmConfig})
	var sess *assist.Session
	var path string
	if *session != "" {
		if path, err = sessionPath(*session); err != nil {
			return fail(e, err)
		}
		saved, err := readSession(path)
		if err != nil {
			return fail(e, err)
		}
		saved.ID = *session
		sess = eng.Resume(saved)
	}
	a, err := eng.Ask(ctx, sess, question, "")
	if err != nil {
		return fail(e, err)
	}
	if path != "" {
		if err := writeSession(path, sess); err != nil {
			return fail(e, err)
		}
	}
	if *outFile != "" {
		content := a.Text
		if strings.HasSuffix(strings.ToLower(*outFile), ".html") {
			content = reportHTML(a)
		}
		if err := os.WriteFile(*outFile, []byte(content), 0o600); err != nil {
			return fail(e, err)
		}
	}
	if *out == "json" {
		if err := writeJSON(e.stdout, a); err != nil {
			return fail(e, err)
		}
		return exitOK
	}
	fmt.Fprintln(e.stdout, termsafe.Text(a.Text))
	fmt.Fprintf(e.stdout, "\nscope: %s\n", termsafe.String(a.Scope))
	if a.Filter != "" {
		fmt.Fprintf(e.stdout, "feed filter: %s\n", termsafe.String(a.Filter))
	}
	if len(a.Evidence) > 0 {
		fmt.Fprintf(e.stdout, "evidence (%d): %s\n", len(a.Evidence), termsafe.String(strings.Join(a.Evidence, " ")))
	}
	for _, art := range a.Artifacts {
		if art.Kind == assist.ArtifactMarkdown || art.Kind == assist.ArtifactHTML {
			continue // the answer itself; --out writes it to a file
		}
		fmt.Fprintf(e.stdout, "\n--- %s: %s\n%s\n", art.Kind, termsafe.String(art.Name), termsafe.Text(art.Content))
	}
	if *outFile != "" {
		fmt.Fprintf(e.stdout, "\nwritten to %s\n", termsafe.String(*outFile))
	}
	return exitOK
}

var sessionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// sessionPath is where a CLI session's context is kept between runs.
func sessionPath(name string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", cairn.Errorf(cairn.EINVALID, "no cache directory for --session: %v", err)
	}
	return filepath.Join(dir, "cairn", "ask", name+".json"), nil
}

func readSession(path string) (assist.Session, error) {
	var s assist.Session
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return assist.Session{}, nil // a damaged session starts afresh
	}
	return s, nil
}

func writeSession(path string, s *assist.Session) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// reportHTML is an answer as a standalone HTML page.
func reportHTML(a assist.Answer) string {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cairn investigation report</title>\n")
	b.WriteString("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
	b.WriteString("<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}" +
		"table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}" +
		"code,pre{font-family:ui-monospace,monospace}pre{background:#f4f4f4;padding:.5rem;overflow:auto}</style>\n</head><body>\n")
	b.WriteString(string(markdown.HTML(a.Text)))
	for _, art := range a.Artifacts {
		b.WriteString("<h2>")
		b.WriteString(html.EscapeString(art.Name))
		b.WriteString("</h2>\n<pre>")
		b.WriteString(html.EscapeString(art.Content))
		b.WriteString("</pre>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
