package falco_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/falco"
)

// TestConditionScripts runs testdata/cond/*.txt. Each file holds lines:
//
//	list NAME a, b, c     defines a list for the conditions that follow
//	macro NAME TEXT       defines a macro
//	cond TEXT             compiles a condition
//	match JSON            the condition matches the event (cairn.Event JSON)
//	nomatch JSON          it does not
//	error TEXT            compiling the condition failed with TEXT in the message
//	missing FIELD         compiling failed with a *FieldError naming FIELD
//	types A B ...         the condition's EvtTypes ("any" for nil)
func TestConditionScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/cond/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

func runScript(t *testing.T, file string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := &falco.Env{Lists: map[string][]string{}, Macros: map[string]string{}}
	var (
		cond    *falco.Condition
		condErr error
		text    string
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		verb, rest, _ := strings.Cut(l, " ")
		where := file + ":" + itoa(line)
		switch verb {
		case "list":
			name, items, _ := strings.Cut(rest, " ")
			var vs []string
			for _, it := range strings.Split(items, ",") {
				if it = strings.TrimSpace(it); it != "" {
					vs = append(vs, it)
				}
			}
			env.Lists[name] = vs
		case "macro":
			name, body, _ := strings.Cut(rest, " ")
			env.Macros[name] = body
		case "cond":
			text = rest
			cond, condErr = falco.Compile(rest, env)
		case "match", "nomatch":
			if condErr != nil {
				t.Errorf("%s: %q: %v", where, text, condErr)
				continue
			}
			var ev cairn.Event
			if err := json.Unmarshal([]byte(rest), &ev); err != nil {
				t.Fatalf("%s: bad event: %v", where, err)
			}
			if got := cond.Match(&ev); got != (verb == "match") {
				t.Errorf("%s: %q on %s: got %v", where, text, rest, got)
			}
		case "error":
			if condErr == nil || !strings.Contains(condErr.Error(), rest) {
				t.Errorf("%s: %q: error %v, want one containing %q", where, text, condErr, rest)
			}
		case "missing":
			var fe *falco.FieldError
			if !errors.As(condErr, &fe) || !contains(fe.Fields, rest) {
				t.Errorf("%s: %q: error %v, want a FieldError naming %s", where, text, condErr, rest)
			}
		case "types":
			if condErr != nil {
				t.Errorf("%s: %q: %v", where, text, condErr)
				continue
			}
			got := "any"
			if cond.EvtTypes != nil {
				got = strings.Join(cond.EvtTypes, " ")
			}
			if got != rest {
				t.Errorf("%s: %q: types %q, want %q", where, text, got, rest)
			}
		default:
			t.Fatalf("%s: unknown verb %q", where, verb)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
