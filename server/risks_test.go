package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/server"
)

func TestRisks(t *testing.T) {
	e := newEnv(t, nil)
	var out struct {
		Risks []struct {
			Title      string   `json:"title"`
			Score      float64  `json:"score"`
			Severity   string   `json:"severity"`
			Filter     string   `json:"filter"`
			Detections []string `json:"detections"`
			Identities []string `json:"identities"`
		} `json:"risks"`
	}
	e.getJSON(t, "/api/v1/risks", server.RoleViewer, &out)
	// The seed: shells on one host (no namespace) and alice stopping the
	// trail: two incidents, the critical one first.
	if len(out.Risks) != 2 {
		t.Fatalf("%d risks, want 2: %+v", len(out.Risks), out.Risks)
	}
	if out.Risks[0].Severity != "critical" || len(out.Risks[0].Identities) != 1 || out.Risks[0].Score <= out.Risks[1].Score {
		t.Errorf("first risk %+v", out.Risks[0])
	}
	for _, r := range out.Risks {
		var list struct {
			Detections []cairn.Detection `json:"detections"`
		}
		e.getJSON(t, "/api/v1/detections?limit=1000&filter="+url.QueryEscape(r.Filter), server.RoleViewer, &list)
		if len(list.Detections) != len(r.Detections) {
			t.Errorf("%q selects %d detections, the incident has %d", r.Filter, len(list.Detections), len(r.Detections))
		}
	}
	wantError(t, "bad filter", e.do(t, "GET", "/api/v1/risks?filter=proc.name%3D%3D", server.RoleViewer, nil), http.StatusBadRequest, cairn.EINVALID)
	wantError(t, "no token", e.do(t, "GET", "/api/v1/risks", "", nil), http.StatusUnauthorized, "unauthorized")

	b := e.login(t, server.RoleViewer)
	page := b.get(t, "/risks")
	body := wantPage(t, "risks", page)
	wantUIHeaders(t, "risks", page)
	if !strings.Contains(body, `id="risks"`) || !strings.Contains(body, "Trail stopped") || !strings.Contains(body, "/graph?q=") {
		t.Errorf("risks page lacks the incidents:\n%.2000s", body)
	}
}
