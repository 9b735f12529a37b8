package server_test

import (
	"strings"
	"testing"

	"github.com/cairn-cdr/cairn/health"
	"github.com/cairn-cdr/cairn/internal/storetest"
	"github.com/cairn-cdr/cairn/server"
)

func TestSources(t *testing.T) {
	hm := health.New(health.Options{})
	for i := range 3 {
		ev := storetest.Tetragon(i, storetest.Base)
		hm.Observe(&ev)
	}
	e := newEnv(t, func(c *server.Config) { c.Health = hm })
	var out struct {
		Sources []struct {
			Source string `json:"source"`
			Origin string `json:"origin"`
			Count  int    `json:"count"`
			Silent bool   `json:"silent"`
		} `json:"sources"`
	}
	e.getJSON(t, "/api/v1/sources", server.RoleViewer, &out)
	total := 0
	for _, s := range out.Sources {
		if s.Source != "tetragon" || s.Origin == "" {
			t.Errorf("stream %+v", s)
		}
		total += s.Count
	}
	if total != 3 {
		t.Errorf("%d records in %+v, want 3", total, out.Sources)
	}
	page := wantPage(t, "sources", e.login(t, server.RoleViewer).get(t, "/sources"))
	if !strings.Contains(page, `id="sources"`) || !strings.Contains(page, "flowing") {
		t.Errorf("sources page:\n%.1500s", page)
	}
	// Without a monitor: an empty list, and the page says so.
	off := newEnv(t, nil)
	off.getJSON(t, "/api/v1/sources", server.RoleViewer, &out)
	if len(out.Sources) != 0 {
		t.Errorf("no monitor: %+v", out.Sources)
	}
}
