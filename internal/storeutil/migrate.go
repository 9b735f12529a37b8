package storeutil

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema change: a file migrations/NNNN_description.sql
// of a store's embedded files.
type Migration struct {
	Version int    // NNNN
	Name    string // the file's base name
	SQL     string
}

// Migrations returns the files migrations/*.sql of fsys in version order.
// A name that does not start with a positive version and _, or two files
// of one version, is an error.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version and _", base)
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(text)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// LatestVersion returns the version of the newest of ms (in version
// order), 0 when there is none.
func LatestVersion(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// SchemaVersion returns the schema version the migrations of fsys bring
// a database to: the version of the newest, 0 when they cannot be read.
func SchemaVersion(fsys fs.FS) int {
	ms, err := Migrations(fsys)
	if err != nil {
		return 0
	}
	return LatestVersion(ms)
}
