package demo

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cairn-cdr/cairn"
)

// Paths Export writes, relative to its directory.
const (
	TetragonFile = "tetragon/events.json"
	TruthFile    = "truth.json"
	// CloudTrailDir is the root of the S3 layout the CloudTrail files are
	// written in: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/.
	CloudTrailDir = "AWSLogs"
)

// deliveryWindow is how much activity CloudTrail gathers into one file.
const deliveryWindow = 5 * time.Minute

// Export writes the scenario into dir, creating it if needed:
// tetragon/events.json (one record per line, as Tetragon's JSON export
// writes them); the CloudTrail records as gzipped {"Records":[...]} files
// in CloudTrail's S3 layout, one file per account, region and five-minute
// window, named <account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz
// after the window's end; and truth.json. The output depends only on the
// scenario, so exporting the same scenario twice writes the same bytes.
func (s *Scenario) Export(dir string) error {
	if err := writeFile(filepath.Join(dir, TetragonFile), ndjson(s.Tetragon)); err != nil {
		return err
	}
	files, err := cloudTrailFiles(s.CloudTrail)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f.path)), f.data); err != nil {
			return err
		}
	}
	truth, err := json.MarshalIndent(s.Truth, "", "  ")
	if err != nil {
		return fmt.Errorf("demo: encode truth: %w", err)
	}
	return writeFile(filepath.Join(dir, TruthFile), append(truth, '\n'))
}

func ndjson(recs [][]byte) []byte {
	var b bytes.Buffer
	for _, r := range recs {
		b.Write(r)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("demo: export: %w", err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		return fmt.Errorf("demo: export: %w", err)
	}
	return nil
}

type ctFile struct {
	path string
	data []byte
}

// CloudTrailFile wraps records in one file as CloudTrail delivers them,
// {"Records":[...]}, uncompressed.
func CloudTrailFile(records [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i, r := range records {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// cloudTrailFiles groups records by account, region and delivery window
// and encodes each group as CloudTrail writes a log file.
func cloudTrailFiles(recs [][]byte) ([]ctFile, error) {
	type key struct {
		account, region string
		end             int64
	}
	groups := map[key][]json.RawMessage{}
	var keys []key
	for i, raw := range recs {
		var h struct {
			EventTime          time.Time `json:"eventTime"`
			AWSRegion          string    `json:"awsRegion"`
			RecipientAccountID string    `json:"recipientAccountId"`
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "demo: CloudTrail record %d: %v", i, err)
		}
		if h.AWSRegion == "" || h.RecipientAccountID == "" || h.EventTime.IsZero() {
			return nil, cairn.Errorf(cairn.EINVALID, "demo: CloudTrail record %d lacks eventTime, awsRegion or recipientAccountId", i)
		}
		k := key{h.RecipientAccountID, h.AWSRegion, h.EventTime.UTC().Truncate(deliveryWindow).Add(deliveryWindow).Unix()}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], raw)
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.end != b.end:
			return int(a.end - b.end)
		case a.account != b.account:
			if a.account < b.account {
				return -1
			}
			return 1
		case a.region < b.region:
			return -1
		case a.region > b.region:
			return 1
		}
		return 0
	})
	files := make([]ctFile, 0, len(keys))
	for _, k := range keys {
		body, err := marshal(struct {
			Records []json.RawMessage `json:"Records"`
		}{groups[k]})
		if err != nil {
			return nil, fmt.Errorf("demo: encode CloudTrail file: %w", err)
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z) // no name and a zero time: the bytes depend only on the content
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("demo: compress CloudTrail file: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("demo: compress CloudTrail file: %w", err)
		}
		end := time.Unix(k.end, 0).UTC()
		sum := sha256.Sum256(body)
		name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", k.account, k.region, end.Format("20060102T1504Z"), fileID(sum[:]))
		files = append(files, ctFile{
			path: fmt.Sprintf("%s/%s/CloudTrail/%s/%s/%s", CloudTrailDir, k.account, k.region, end.Format("2006/01/02"), name),
			data: z.Bytes(),
		})
	}
	return files, nil
}

// fileID turns a digest into the 16 letters and digits that end a
// CloudTrail file name.
func fileID(sum []byte) string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = mixedAlnum[int(sum[i])%len(mixedAlnum)]
	}
	return string(b)
}
