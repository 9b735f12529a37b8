// Package genmain is what the generators of cairn's fact tables share:
// their command line (-corpus DIR, -out FILE) and the reading of the
// corpus's line lists.
package genmain

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// UsageError is a generator's complaint about its flags: Run exits 2.
type UsageError string

func (e UsageError) Error() string { return string(e) }

// Run is a generator's main: it parses the flags (-corpus, named corpus
// in the help, -out with defaultOut, and any the caller defined before),
// calls generate with the corpus directory and writes what it returns to
// -out. It exits 2 without -corpus or on a UsageError, 1 on any other
// error; name prefixes its messages.
func Run(name, corpus, defaultOut string, generate func(corpus string) ([]byte, error)) {
	dir := flag.String("corpus", "", "directory holding "+corpus)
	out := flag.String("out", defaultOut, "file to write")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, name+": -corpus is required")
		os.Exit(2)
	}
	src, err := generate(*dir)
	var usage UsageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	case err == nil:
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// ReadLines returns the lines of a list file that name something: not
// empty, not comments (#) and not wildcards (support:*), each checked by
// re.
func ReadLines(path string, re *regexp.Regexp) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasSuffix(line, ":*") {
			continue
		}
		if !re.MatchString(line) {
			return nil, fmt.Errorf("%s:%d: malformed line %q", path, n, line)
		}
		out = append(out, line)
	}
	return out, sc.Err()
}
