package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/field"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/sensor"
)

func runSensor(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "sensor", "",
		"Runs the built-in Linux host sensor and prints process execs and exits as they happen, until Ctrl-C.\n"+
			"Needs root or CAP_NET_ADMIN. -o ndjson prints cairn native events, which 'cairn ingest --format native' reads.")
	out := outputFlag(fs, "text", "ndjson")
	existing := fs.Bool("existing", false, "also print the processes already running when the sensor starts")
	procRoot := fs.String("proc", "/proc", "where the host's /proc is mounted")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "ndjson") {
		return exitUsage
	}
	if !noArguments(e, fs) {
		return exitUsage
	}
	if err := sensor.Available(); err != nil {
		return fail(e, err)
	}
	s, err := sensor.New(sensor.Options{
		ProcRoot: *procRoot,
		Logger:   slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fail(e, err)
	}
	var write func(ev *cairn.Event) error
	if *out == "ndjson" {
		enc := json.NewEncoder(e.stdout)
		write = func(ev *cairn.Event) error { return enc.Encode(ev) }
	} else {
		write = textEventWriter(e.stdout)
	}
	var werr error
	err = s.Run(ctx, func(ev cairn.Event) {
		if werr != nil || (!*existing && ev.Process != nil && ev.Process.Flags == "procFS") {
			return
		}
		werr = write(&ev)
	})
	if err != nil {
		return fail(e, err)
	}
	if werr != nil {
		return fail(e, werr)
	}
	return exitOK
}

// textEventWriter prints one line an event: time, kind, pid, ppid, user
// and command line, attacker-controlled text escaped.
func textEventWriter(w io.Writer) func(ev *cairn.Event) error {
	user, _ := field.Lookup("user.name")
	return func(ev *cairn.Event) error {
		p := ev.Process
		if p == nil {
			return nil
		}
		name := ""
		if v, ok := user.Get(ev); ok {
			name, _ = v.(string)
		}
		what := "exec"
		switch {
		case ev.Kind == cairn.KindExit && p.Signal != "":
			what = "exit " + p.Signal
		case ev.Kind == cairn.KindExit && p.ExitCode != nil:
			what = fmt.Sprintf("exit %d", *p.ExitCode)
		case ev.Kind == cairn.KindExit:
			what = "exit"
		case p.Flags == "procFS":
			what = "running"
		}
		if name == "" {
			name = "-"
		}
		_, err := fmt.Fprintf(w, "%s %-8s %7d %7d %-10s %s\n",
			ev.Time.Local().Format("15:04:05.000"), what, p.PID, p.PPID,
			termsafe.String(name), termsafe.String(p.Cmdline()))
		return err
	}
}
