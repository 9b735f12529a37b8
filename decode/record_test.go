package decode_test

import (
	"reflect"
	"testing"

	"github.com/cairn-cdr/cairn/decode"
)

// TestRecordMatchesDecode checks that rebuilding a stored record gives
// the event the stream decoder gave at ingest, for every format.
func TestRecordMatchesDecode(t *testing.T) {
	records := []string{
		`{"process_exec":{"process":{"exec_id":"eA==","pid":7,"binary":"/bin/sh","arguments":"-c id","start_time":"2026-11-25T10:00:00Z"}},"node_name":"n","time":"2026-11-25T10:00:00Z"}`,
		"{\n  \"eventVersion\": \"1.08\", \"eventTime\": \"2026-11-25T10:00:00Z\", \"eventSource\": \"s3.amazonaws.com\",\n  \"eventName\": \"ListBuckets\", \"eventID\": \"e-1\", \"userIdentity\": {\"type\": \"Root\", \"accountId\": \"1\"}\n}",
		`{"output":"x","priority":"Notice","rule":"r","time":"2026-11-25T10:00:00Z","output_fields":{"proc.name":"bash","proc.pid":3}}`,
		`{"source":"sensor","kind":"process_exec","time":"2026-11-25T10:00:00Z","process":{"pid":9}}`,
	}
	for _, r := range records {
		c := mustDecode(t, r, decode.Auto)
		got, err := decode.Record([]byte(r))
		if err != nil {
			t.Fatalf("Record(%s): %v", r, err)
		}
		want := c.Events[0]
		got.Doc()
		want.Doc()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Record differs from Decode:\n got %+v\nwant %+v", got, want)
		}
	}
	if _, err := decode.Record([]byte(`{"Records":[]}`)); err == nil {
		t.Error("a file with no record was accepted as one record")
	}
	if _, err := decode.Record([]byte("not json")); err == nil {
		t.Error("garbage accepted")
	}
}
