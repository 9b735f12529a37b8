package main

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/falco"
	"github.com/cairn-cdr/cairn/sigma"
)

// ruleFiles reads rules files and directories (their .yml and .yaml
// files, recursively, in name order) and sorts them by format: a Falco
// rules file is a YAML list of items, a Sigma file a YAML document per
// rule.
func ruleFiles(paths []string) ([]falco.File, []sigma.File, error) {
	var fal []falco.File
	var sig []sigma.File
	add := func(name string) error {
		data, err := os.ReadFile(name)
		if err != nil {
			return cairn.Errorf(cairn.EINVALID, "read rules %s: %v", name, err)
		}
		if isFalcoRules(data) {
			fal = append(fal, falco.File{Name: name, Data: data})
		} else {
			sig = append(sig, sigma.File{Name: name, Data: data})
		}
		return nil
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, cairn.Errorf(cairn.EINVALID, "read rules %s: %v", p, err)
		}
		if !info.IsDir() {
			if err := add(p); err != nil {
				return nil, nil, err
			}
			continue
		}
		var names []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			base := filepath.Base(path)
			isTests := strings.HasSuffix(base, "_tests.yaml") || strings.HasSuffix(base, "_tests.yml")
			if ext := filepath.Ext(path); !d.IsDir() && !isTests && (ext == ".yml" || ext == ".yaml") {
				names = append(names, path)
			}
			return nil
		})
		if err != nil {
			return nil, nil, cairn.Errorf(cairn.EINVALID, "read rules %s: %v", p, err)
		}
		sort.Strings(names)
		for _, n := range names {
			if err := add(n); err != nil {
				return nil, nil, err
			}
		}
	}
	return fal, sig, nil
}

// isFalcoRules reports whether a YAML file's first item is a list entry,
// as in Falco rules files.
func isFalcoRules(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") || l == "---" {
			continue
		}
		return strings.HasPrefix(l, "- ") || l == "-"
	}
	return false
}

func filepathGlob(dir, pattern string) ([]string, error) {
	return filepath.Glob(filepath.Join(dir, pattern))
}
