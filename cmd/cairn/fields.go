package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cairn-cdr/cairn/field"
)

type fieldInfo struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Arg     string   `json:"arg,omitempty"`
	Aliases []string `json:"aliases,omitempty"`
	Desc    string   `json:"description"`
}

func runFields(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "fields", "[PREFIX]", "Lists the field catalog: every field rules, filters and the assistant can use.")
	out := outputFlag(fs, "text", "json", "ndjson")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if !checkOutput(e, *out, "text", "json", "ndjson") {
		return exitUsage
	}
	prefix := fs.Arg(0)
	var infos []fieldInfo
	for _, f := range field.All() {
		if prefix != "" && !strings.HasPrefix(f.Name, prefix) {
			continue
		}
		fi := fieldInfo{Name: f.Name, Type: f.Type.String(), Aliases: f.Aliases, Desc: f.Desc}
		switch f.Arg {
		case field.IndexArg:
			fi.Arg = "[N]"
		case field.KeyArg:
			fi.Arg = "[key]"
		case field.PointerArg:
			fi.Arg = "[/json/pointer]"
		}
		if f.ArgOptional && fi.Arg != "" {
			fi.Arg += " optional"
		}
		infos = append(infos, fi)
	}
	err := writeRecords(e.stdout, *out, infos, func(w io.Writer, infos []fieldInfo) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FIELD\tTYPE\tDESCRIPTION")
		for _, fi := range infos {
			name := fi.Name
			if fi.Arg != "" {
				name += strings.TrimSuffix(fi.Arg, " optional")
			}
			desc := fi.Desc
			if len(fi.Aliases) > 0 {
				desc += " (also: " + strings.Join(fi.Aliases, ", ") + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", name, fi.Type, desc)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "%d fields\n", len(infos))
		return err
	})
	if err != nil {
		return fail(e, err)
	}
	return exitOK
}
