package posture

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cairn-cdr/cairn"
)

// MaxCredentialReportSize bounds the credential report
// LoadCredentialReport reads.
const MaxCredentialReportSize = 64 << 20

// RootUser is the user column of the root account's row.
const RootUser = "<root_account>"

// Credential is one row of the IAM credential report. Times are zero when
// the report says N/A, no_information or not_supported.
type Credential struct {
	User             string
	ARN              string
	Created          time.Time
	PasswordEnabled  bool
	PasswordLastUsed time.Time
	MFAActive        bool
	Keys             [2]AccessKey
}

// AccessKey is one of a user's two access key slots.
type AccessKey struct {
	Active      bool
	LastRotated time.Time
	LastUsed    time.Time
}

// reportColumns are the columns LoadCredentialReport needs; the report
// has more (certificates, regions, services), which it ignores.
var reportColumns = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
}

// errTooLarge marks a report over MaxCredentialReportSize.
var errTooLarge = errors.New("too large")

type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// LoadCredentialReport parses the IAM credential report (the CSV that aws
// iam get-credential-report returns base64-decoded). Columns are found by
// name. It returns EINVALID errors that say what is wrong for a malformed
// report or one larger than MaxCredentialReportSize.
func LoadCredentialReport(r io.Reader) ([]Credential, error) {
	cr := csv.NewReader(&limitedReader{r, MaxCredentialReportSize})
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, reportErr(err, "header")
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, c := range reportColumns {
		if _, ok := col[c]; !ok {
			return nil, cairn.Errorf(cairn.EINVALID, "credential report: no %s column", c)
		}
	}
	var out []Credential
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, reportErr(err, fmt.Sprintf("line %d", line))
		}
		var bad error
		get := func(c string) string { return rec[col[c]] }
		flag := func(c string) bool {
			switch v := get(c); v {
			case "true":
				return true
			case "false", "not_supported", "N/A", "":
				return false
			default:
				bad = fmt.Errorf("%s is %q, not true or false", c, v)
				return false
			}
		}
		date := func(c string) time.Time {
			switch v := get(c); v {
			case "N/A", "no_information", "not_supported", "":
				return time.Time{}
			default:
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					bad = fmt.Errorf("%s is %q, not a date", c, v)
				}
				return t.UTC()
			}
		}
		c := Credential{
			User: get("user"), ARN: get("arn"),
			Created:          date("user_creation_time"),
			PasswordEnabled:  flag("password_enabled"),
			PasswordLastUsed: date("password_last_used"),
			MFAActive:        flag("mfa_active"),
		}
		for i := range c.Keys {
			p := fmt.Sprintf("access_key_%d_", i+1)
			c.Keys[i] = AccessKey{Active: flag(p + "active"), LastRotated: date(p + "last_rotated"), LastUsed: date(p + "last_used_date")}
		}
		if c.User == "" || !strings.HasPrefix(c.ARN, "arn:") {
			bad = fmt.Errorf("want a user and an ARN, got %q and %q", c.User, c.ARN)
		}
		if bad != nil {
			return nil, cairn.Errorf(cairn.EINVALID, "credential report: line %d: %v", line, bad)
		}
		out = append(out, c)
	}
}

func reportErr(err error, where string) error {
	if errors.Is(err, errTooLarge) {
		return cairn.Errorf(cairn.EINVALID, "credential report larger than %d bytes", MaxCredentialReportSize)
	}
	if err == io.EOF {
		return cairn.Errorf(cairn.EINVALID, "credential report is empty")
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return cairn.Errorf(cairn.EINVALID, "credential report: %s: %v", where, pe.Err)
	}
	return fmt.Errorf("read credential report: %w", err)
}
