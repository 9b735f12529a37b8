package demo_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/demo"
)

var ctPathRE = regexp.MustCompile(`^AWSLogs/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]{16})\.json\.gz$`)

// readTree returns every file under dir by its slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestExportLayout(t *testing.T) {
	s := mustGenerate(t, 2) // a region other than us-east-1, so IAM calls land in a second region
	dir := t.TempDir()
	if err := s.Export(dir); err != nil {
		t.Fatal(err)
	}
	files := readTree(t, dir)

	// Tetragon: one record per line, as generated.
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(files[demo.TetragonFile]))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if !slices.EqualFunc(lines, s.Tetragon, bytes.Equal) {
		t.Errorf("%s holds %d lines that are not the %d records", demo.TetragonFile, len(lines), len(s.Tetragon))
	}

	// CloudTrail: gzipped {"Records":[...]} per account, region and
	// five-minute window, named after the window's end.
	var got [][]byte
	regions := map[string]bool{}
	perDay := map[string]int{}
	for name, data := range files {
		if name == demo.TetragonFile || name == demo.TruthFile {
			continue
		}
		m := ctPathRE.FindStringSubmatch(name)
		if m == nil {
			t.Errorf("unexpected file %s", name)
			continue
		}
		if m[1] != s.Truth.AccountID || m[6] != m[1] || m[2] != m[7] {
			t.Errorf("%s: account or region differ within the name", name)
		}
		end, err := time.Parse("20060102T1504Z", m[8])
		if err != nil || end.Format("2006/01/02") != m[3]+"/"+m[4]+"/"+m[5] || end.Minute()%5 != 0 {
			t.Errorf("%s: file time %s does not match its folder or a five-minute boundary", name, m[8])
		}
		regions[m[2]] = true
		perDay[m[3]+m[4]+m[5]]++
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var doc struct {
			Records []json.RawMessage `json:"Records"`
		}
		if err := json.Unmarshal(body, &doc); err != nil || len(doc.Records) == 0 {
			t.Fatalf("%s: not {\"Records\":[...]}: %v", name, err)
		}
		for _, raw := range doc.Records {
			var r ctRecord
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			if r.AWSRegion != m[2] || r.EventTime.Before(end.Add(-5*time.Minute)) || !r.EventTime.Before(end) {
				t.Errorf("%s holds a record of %s at %v", name, r.AWSRegion, r.EventTime)
			}
			got = append(got, raw)
		}
	}
	if len(got) != len(s.CloudTrail) {
		t.Errorf("the files hold %d records, want %d", len(got), len(s.CloudTrail))
	}
	for _, raw := range s.CloudTrail {
		if !slices.ContainsFunc(got, func(g []byte) bool { return bytes.Equal(g, raw) }) {
			t.Errorf("record missing from the files: %.120s", raw)
			break
		}
	}
	if len(regions) < 2 {
		t.Errorf("files in regions %v, want the account's and us-east-1", regions)
	}
	for day, n := range perDay {
		if n < 10 {
			t.Errorf("only %d files on %s", n, day)
		}
	}

	// truth.json is the truth.
	var truth demo.Truth
	if err := json.Unmarshal(files[demo.TruthFile], &truth); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(s.Truth)
	have, _ := json.Marshal(truth)
	if !bytes.Equal(want, have) {
		t.Error("truth.json differs from Scenario.Truth")
	}
}

func TestExportIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if err := mustGenerate(t, 1).Export(a); err != nil {
		t.Fatal(err)
	}
	if err := mustGenerate(t, 1).Export(b); err != nil {
		t.Fatal(err)
	}
	fa, fb := readTree(t, a), readTree(t, b)
	if len(fa) != len(fb) {
		t.Fatalf("%d files, then %d", len(fa), len(fb))
	}
	for name, data := range fa {
		if !bytes.Equal(data, fb[name]) {
			t.Errorf("%s differs between two exports", name)
		}
	}
}

func TestExportRejectsBadRecords(t *testing.T) {
	s := &demo.Scenario{CloudTrail: [][]byte{[]byte(`{"eventName":"x"}`)}}
	if err := s.Export(t.TempDir()); err == nil {
		t.Error("Export accepted a CloudTrail record without time, region or account")
	}
	s.CloudTrail = [][]byte{[]byte(`not json`)}
	if err := s.Export(t.TempDir()); err == nil {
		t.Error("Export accepted a CloudTrail record that is not JSON")
	}
}
