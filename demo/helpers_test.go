package demo_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cairn-cdr/cairn/demo"
)

// testNow is an anchor with a fractional second, so that nothing relies on
// a round time.
var testNow = time.Date(2026, 11, 25, 12, 0, 7, 250_000_000, time.UTC)

func mustGenerate(tb testing.TB, seed int64) *demo.Scenario {
	tb.Helper()
	s, err := demo.Generate(demo.Options{Seed: seed, Now: testNow})
	if err != nil {
		tb.Fatalf("Generate(seed %d): %v", seed, err)
	}
	return s
}

// The types below read back the parts of the records the tests check.

type ttImage struct {
	Name string `json:"name"`
}

type ttContainer struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Image ttImage `json:"image"`
	PID   *uint32 `json:"pid"`
}

type ttPod struct {
	Namespace    string      `json:"namespace"`
	Name         string      `json:"name"`
	Container    ttContainer `json:"container"`
	Workload     string      `json:"workload"`
	WorkloadKind string      `json:"workload_kind"`
}

type ttProc struct {
	ExecID       string  `json:"exec_id"`
	PID          *uint32 `json:"pid"`
	UID          *uint32 `json:"uid"`
	Cwd          string  `json:"cwd"`
	Binary       string  `json:"binary"`
	Arguments    string  `json:"arguments"`
	Flags        string  `json:"flags"`
	StartTime    string  `json:"start_time"`
	AUID         *uint32 `json:"auid"`
	Pod          *ttPod  `json:"pod"`
	Docker       string  `json:"docker"`
	ParentExecID string  `json:"parent_exec_id"`
}

type ttArg struct {
	FileArg *struct {
		Path string `json:"path"`
	} `json:"file_arg"`
	SockArg *struct {
		Saddr string `json:"saddr"`
		Daddr string `json:"daddr"`
		Dport int    `json:"dport"`
	} `json:"sock_arg"`
	IntArg *int `json:"int_arg"`
}

type ttEvent struct {
	Process      *ttProc   `json:"process"`
	Parent       *ttProc   `json:"parent"`
	Ancestors    []*ttProc `json:"ancestors"`
	FunctionName string    `json:"function_name"`
	Args         []ttArg   `json:"args"`
}

type ttRecord struct {
	Exec        *ttEvent `json:"process_exec"`
	Exit        *ttEvent `json:"process_exit"`
	Kprobe      *ttEvent `json:"process_kprobe"`
	NodeName    string   `json:"node_name"`
	Time        string   `json:"time"`
	ClusterName string   `json:"cluster_name"`
}

func (r *ttRecord) event() *ttEvent {
	switch {
	case r.Exec != nil:
		return r.Exec
	case r.Exit != nil:
		return r.Exit
	}
	return r.Kprobe
}

func parseTetragon(tb testing.TB, s *demo.Scenario) []ttRecord {
	tb.Helper()
	out := make([]ttRecord, len(s.Tetragon))
	for i, raw := range s.Tetragon {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			tb.Fatalf("Tetragon record %d: %v: %s", i, err, raw)
		}
	}
	return out
}

type ctIdentity struct {
	Type           string `json:"type"`
	ARN            string `json:"arn"`
	AccessKeyID    string `json:"accessKeyId"`
	SessionContext *struct {
		SessionIssuer *struct {
			Type string `json:"type"`
			ARN  string `json:"arn"`
		} `json:"sessionIssuer"`
	} `json:"sessionContext"`
}

// key returns the canonical identity: the role's ARN for a session, the
// ARN otherwise.
func (id ctIdentity) key() string {
	if id.Type == "AssumedRole" && id.SessionContext != nil && id.SessionContext.SessionIssuer != nil {
		return id.SessionContext.SessionIssuer.ARN
	}
	return id.ARN
}

type ctRecord struct {
	UserIdentity    ctIdentity `json:"userIdentity"`
	EventTime       time.Time  `json:"eventTime"`
	EventSource     string     `json:"eventSource"`
	EventName       string     `json:"eventName"`
	AWSRegion       string     `json:"awsRegion"`
	SourceIPAddress string     `json:"sourceIPAddress"`
	UserAgent       string     `json:"userAgent"`
	ErrorCode       string     `json:"errorCode"`
	ErrorMessage    string     `json:"errorMessage"`
	EventID         string     `json:"eventID"`
	EventCategory   string     `json:"eventCategory"`
	ManagementEvent *bool      `json:"managementEvent"`
	Resources       []struct {
		Type string `json:"type"`
		ARN  string `json:"ARN"`
	} `json:"resources"`
	RequestParameters map[string]any `json:"requestParameters"`
}

func parseCloudTrail(tb testing.TB, s *demo.Scenario) []ctRecord {
	tb.Helper()
	out := make([]ctRecord, len(s.CloudTrail))
	for i, raw := range s.CloudTrail {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			tb.Fatalf("CloudTrail record %d: %v: %s", i, err, raw)
		}
	}
	return out
}

func story(tb testing.TB, s *demo.Scenario, id string) demo.Story {
	tb.Helper()
	for _, st := range s.Truth.Stories {
		if st.ID == id {
			return st
		}
	}
	tb.Fatalf("no story %q in the truth", id)
	return demo.Story{}
}
