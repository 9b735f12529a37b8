package server_test

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/cairn-cdr/cairn/geo"
	"github.com/cairn-cdr/cairn/server"
)

// TestIdentityMap: with a location database, the identity page places the
// seed's address (34.1.2.3) on the map and names its city.
func TestIdentityMap(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "cairn-test", RecordSize: 24, IPVersion: 6})
	if err != nil {
		t.Fatal(err)
	}
	_, n, _ := net.ParseCIDR("34.1.2.0/24")
	rec := mmdbtype.Map{
		"country":  mmdbtype.Map{"iso_code": mmdbtype.String("FR"), "names": mmdbtype.Map{"en": mmdbtype.String("France")}},
		"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Paris")}},
		"location": mmdbtype.Map{"latitude": mmdbtype.Float64(48.8566), "longitude": mmdbtype.Float64(2.3522)},
	}
	if err := tree.Insert(n, rec); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "t.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e := newEnv(t, func(c *server.Config) { c.GeoIP, c.GeoIPCredit = db, "Test locations" })
	b := e.login(t, server.RoleViewer)
	body := wantPage(t, "identity", b.get(t, "/identities/"+url.PathEscape(alice)))
	for _, want := range []string{"Paris", `<circle class="place public"`, "Test locations", `class="worldmap"`} {
		if !strings.Contains(body, want) {
			t.Errorf("identity page lacks %q", want)
		}
	}
	// Without a database the address is listed, unplaced.
	e2 := newEnv(t, nil)
	body = wantPage(t, "identity", e2.login(t, server.RoleViewer).get(t, "/identities/"+url.PathEscape(alice)))
	if strings.Contains(body, "<circle") || !strings.Contains(body, "--geoip") {
		t.Error("without a database: a point was drawn, or the page does not say how to add one")
	}
}
