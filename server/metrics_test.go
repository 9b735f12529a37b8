package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/metrics"
	"github.com/cairn-cdr/cairn/server"
)

// GET /metrics needs no token and answers the Prometheus text format with
// what the ingests behind POST /api/v1/ingest counted; without
// Config.Metrics it does not exist.
func TestMetrics(t *testing.T) {
	reg := metrics.NewRegistry()
	m := metrics.NewIngest(reg)
	e := newEnv(t, func(cfg *server.Config) {
		cfg.Metrics = reg
		st := cfg.Store.(ingest.Writer)
		cfg.Ingest = func(ctx context.Context, inputs []ingest.Input, f decode.Format) (*ingest.Report, error) {
			return ingest.Run(ctx, inputs, ingest.Options{Store: st, Format: f, Metrics: m})
		}
	})
	body := tetExec(900, "/bin/sh", "-c id", 50) + "\n" + `{"broken` + "\n"
	if rep := e.postIngest(t, "/api/v1/ingest?format=tetragon", strings.NewReader(body)); rep.Accepted != 1 || rep.Rejected != 1 {
		t.Fatalf("ingest: %+v", rep)
	}
	r := e.do(t, "GET", "/metrics", "", nil)
	if r.status != 200 || r.header.Get("Content-Type") != metrics.ContentType {
		t.Fatalf("GET /metrics = %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	for _, want := range []string{
		"# TYPE cairn_events_ingested_total counter\n",
		"\ncairn_events_ingested_total{source=\"tetragon\"} 1\n",
		"\ncairn_dead_letters_total 1\n",
		"\ncairn_events_duplicate_total 0\n",
		"# TYPE cairn_rule_eval_seconds histogram\n",
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("GET /metrics lacks %q:\n%s", want, r.body)
		}
	}
	if r := e.do(t, "POST", "/metrics", "", nil); r.status != 405 {
		t.Errorf("POST /metrics = %d, want 405", r.status)
	}

	off := newEnv(t, nil)
	wantError(t, "no metrics", off.do(t, "GET", "/metrics", "", nil), 404, "not_found")
}
