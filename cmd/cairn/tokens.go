package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/server"
)

// tokenCommands are the subcommands of cairn tokens; summary starts with
// their arguments.
var tokenCommands = []command{
	{"create", "--role ROLE --name NAME  a new API token for cairn serve; its secret is printed once", tokensCreate},
	{"list", "                          the tokens: name, role, created, by whom, revoked", tokensList},
	{"revoke", "NAME                     the token stops working from the next request on", tokensRevoke},
}

func runTokens(ctx context.Context, e *env, args []string) int {
	for _, c := range tokenCommands {
		if len(args) > 0 && args[0] == c.name {
			return c.run(ctx, e, args[1:])
		}
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(e.stderr, "cairn tokens: unknown subcommand %q\n\n", args[0])
	}
	fmt.Fprint(e.stderr, "usage: cairn tokens create|list|revoke [flags]\n\n")
	for _, c := range tokenCommands {
		fmt.Fprintf(e.stderr, "  %s %s\n", c.name, c.summary)
	}
	return exitUsage
}

// parseArgs parses args into fs and wants n arguments after the flags;
// it returns false with the exit code when the command should stop.
func parseArgs(e *env, fs *flag.FlagSet, args []string, n int) (int, bool) {
	if code, ok := parse(fs, args); !ok {
		return code, false
	}
	switch {
	case n == 0 && !noArguments(e, fs):
		return exitUsage, false
	case n > 0 && fs.NArg() != n:
		fs.Usage()
		return exitUsage, false
	}
	return exitOK, true
}

// withStore opens the store at dsn, runs fn on it and closes it,
// returning the command's exit code.
func withStore(ctx context.Context, e *env, dsn string, fn func(st cairn.Store) error) int {
	st, err := openStore(ctx, dsn)
	if err == nil {
		err = fn(st)
		st.Close()
	}
	if err != nil {
		return fail(e, err)
	}
	return exitOK
}

// createHelp describes tokens create.
const createHelp = `Creates an API token for cairn serve and prints its secret once: the store keeps only its SHA-256 hash.
Requests carry the secret as Authorization: Bearer SECRET. The creation is written to the audit log.`

func tokensCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "tokens create", "", createHelp)
	db := dbFlag(fs, e)
	role := fs.String("role", "", "viewer (reads), analyst (also exceptions and ingest) or admin (also the audit log)")
	name := fs.String("name", "", "the token's name, recorded as the actor of what it changes")
	if code, ok := parseArgs(e, fs, args, 0); !ok {
		return code
	}
	if !server.KnownRole(*role) || strings.TrimSpace(*name) == "" {
		fmt.Fprintln(e.stderr, "cairn tokens create: --role viewer|analyst|admin and --name NAME are required")
		return exitUsage
	}
	return withStore(ctx, e, *db, func(st cairn.Store) error {
		secret, err := createToken(ctx, st, *name, *role, actor(e))
		if err == nil {
			fmt.Fprintf(e.stdout, "created token %q (%s); its secret is shown once:\n%s\n", termsafe.String(*name), *role, secret)
		}
		return err
	})
}

// createToken stores a token of the name and role with a new random
// secret, audited as created by by, and returns the secret.
func createToken(ctx context.Context, st cairn.TokenStore, name, role, by string) (string, error) {
	secret := server.NewSecret()
	now := time.Now().UTC()
	t := cairn.APIToken{Name: name, Role: role, Hash: server.HashSecret(secret), Created: now, CreatedBy: by}
	if err := st.CreateToken(ctx, t, cairn.AuditEntry{Time: now, Actor: by, Action: cairn.ActionTokenCreate}); err != nil {
		return "", err
	}
	return secret, nil
}

func tokensList(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "tokens list", "", "Lists the API tokens, oldest first, revoked ones included. Secrets and their hashes are never shown.")
	db := dbFlag(fs, e)
	out := outputFlag(fs, "text", "json", "ndjson")
	if code, ok := parseArgs(e, fs, args, 0); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json", "ndjson") {
		return exitUsage
	}
	return withStore(ctx, e, *db, func(st cairn.Store) error {
		ts, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		return writeRecords(e.stdout, *out, ts, printTokens)
	})
}

// printTokens is the text table of tokens list.
func printTokens(w io.Writer, ts []cairn.APIToken) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED (UTC)\tBY\tREVOKED")
	for _, t := range ts {
		revoked := map[bool]string{false: "no", true: "yes"}[t.Revoked]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(t.Name, 40), cell(t.Role, 10),
			t.Created.UTC().Format("2006-01-02 15:04:05"), cell(t.CreatedBy, 20), revoked)
	}
	return tw.Flush()
}

func tokensRevoke(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "tokens revoke", "NAME",
		"Revokes an API token: cairn serve refuses it from the next request on. The token stays listed, its name\n"+
			"and secret are never reused, and the revocation is written to the audit log.")
	db := dbFlag(fs, e)
	if code, ok := parseArgs(e, fs, args, 1); !ok {
		return code
	}
	name := fs.Arg(0)
	return withStore(ctx, e, *db, func(st cairn.Store) error {
		err := st.RevokeToken(ctx, name, cairn.AuditEntry{Time: time.Now().UTC(), Actor: actor(e), Action: cairn.ActionTokenRevoke})
		if err == nil {
			fmt.Fprintf(e.stdout, "revoked token %q\n", termsafe.String(name))
		}
		return err
	})
}
