package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/config"
	"github.com/cairn-cdr/cairn/internal/termsafe"
)

func runConfig(_ context.Context, e *env, args []string) int {
	if len(args) < 1 || args[0] != "check" {
		fmt.Fprintln(e.stderr, "usage: cairn config check FILE   (checks a configuration file; every mistake with its line)")
		return exitUsage
	}
	if len(args) != 2 {
		fmt.Fprintln(e.stderr, "cairn config check: name one file")
		return exitUsage
	}
	c, err := readConfig(args[1])
	if err != nil {
		var es config.Errors
		if errors.As(err, &es) {
			for _, x := range es {
				fmt.Fprintf(e.stderr, "%s:%s\n", termsafe.String(args[1]), termsafe.String(x.Error()))
			}
			return exitUsage
		}
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "%s: ok (%d settings for cairn serve", termsafe.String(args[1]), len(c.Flags()))
	if c.Retention.Events > 0 || c.Retention.Detections > 0 {
		fmt.Fprintf(e.stdout, "; retention: events %s, detections %s", ageText(c.Retention.Events), ageText(c.Retention.Detections))
	}
	fmt.Fprintln(e.stdout, ")")
	return exitOK
}

func ageText(d time.Duration) string {
	if d == 0 {
		return "kept"
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func readConfig(path string) (*config.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return config.Load(f)
}

// applyConfig sets the flags of fs that the command line left unset from
// the configuration file (flags win).
func applyConfig(fs *flag.FlagSet, c *config.Config) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, vals := range c.Flags() {
		if given[name] || fs.Lookup(name) == nil {
			continue
		}
		for _, v := range vals {
			if err := fs.Set(name, v); err != nil {
				return cairn.Errorf(cairn.EINVALID, "config %s: %v", name, err)
			}
		}
	}
	return nil
}

// retain prunes the store as the configuration says, every interval, in
// small batches, until ctx ends; failures are logged, not fatal.
func retain(ctx context.Context, st cairn.Store, r config.Retention, interval time.Duration, log *slog.Logger) {
	p, ok := st.(cairn.Pruner)
	if !ok || (r.Events == 0 && r.Detections == 0) {
		return
	}
	batch := r.Batch
	if batch == 0 {
		batch = 1000
	}
	run := func() {
		now := time.Now()
		for kind, age := range map[string]time.Duration{cairn.PruneEvents: r.Events, cairn.PruneDetections: r.Detections} {
			if age == 0 {
				continue
			}
			n, err := p.Prune(ctx, kind, now.Add(-age), batch)
			if err != nil && ctx.Err() == nil {
				log.Error("retention", "kind", kind, "err", err)
			} else if n > 0 {
				log.Info("retention", "kind", kind, "deleted", n)
			}
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		run()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
