// Command cairn is the cairn cloud detection and response platform.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exit codes scripts can trust.
const (
	exitOK      = 0
	exitFailure = 1 // an error; for ingest, an input could not be read
	exitPartial = 2 // ingest: some records were dead-lettered, the rest stored
	exitUsage   = 64
)

// command is one subcommand; run parses its own flags.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what every command reads and writes, so that tests can run the
// CLI in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// isTerminal reports whether stderr is a terminal (for progress bars).
	isTerminal bool
	getenv     func(string) string
}

func commands() []command {
	return []command{
		{"ingest", "read Tetragon, Falco, CloudTrail or cairn NDJSON records into the store", runIngest},
		{"events", "list stored events, filtered", runEvents},
		{"detections", "list detections, filtered, identical ones grouped", runDetections},
		{"tree", "show an event's process tree and what happened around it", runTree},
		{"identities", "cloud identities: status, risk, activity; show one; flag it compromised or cleared", runIdentities},
		{"policy", "recommend a least-privilege IAM policy from an identity's calls before its compromise", runPolicy},
		{"remediate", "remediation plans for a compromised identity (IAM JSON, AWS CLI); --execute performs one", runRemediate},
		{"ask", "ask about the detections in plain language: summary, report, root cause, ATT&CK, attack path, blast radius, fixes", runAsk},
		{"serve", "serve the web UI and the JSON API (events, detections, trees, triage, exceptions, ingest) with token auth", runServe},
		{"exceptions", "add an exception from a detection (with a backtest), list or remove exceptions", runExceptions},
		{"tokens", "create, list or revoke the API tokens cairn serve accepts", runTokens},
		{"audit", "list the audit log: who changed what and when", runAudit},
		{"rules", "lint Falco rules files: which rules load, which are skipped and why", runRules},
		{"fields", "list the field catalog", runFields},
		{"sensor", "print process execs and exits on this Linux host as the built-in sensor sees them", runSensor},
		{"demo", "generate the demo scenarios and load them into the store", runDemo},
		{"db", "store maintenance: stats, dead letters, backup, restore, prune", runDB},
		{"config", "check a configuration file for cairn serve (every mistake with its line)", runConfig},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		isTerminal: isTerminal(os.Stderr), getenv: os.Getenv,
	}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "cairn: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "cairn: cloud detection and response for Linux workloads and AWS accounts")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: cairn COMMAND [flags] [arguments]   (flags come before arguments)")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'cairn COMMAND -h' for a command's flags.")
}
