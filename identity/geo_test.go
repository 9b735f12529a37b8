package identity_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/geo"
	"github.com/cairn-cdr/cairn/identity"
)

// Test networks (documentation ranges): where each is, and its network.
var geoNets = []struct {
	cidr, country string
	asn           uint32
}{
	{"198.51.100.0/24", "US", 64500},
	{"203.0.113.0/24", "FR", 64501},
	{"192.0.2.0/24", "US", 64502},
}

// testGeo writes a tiny city-and-ASN database of geoNets and opens it.
func testGeo(t *testing.T) *geo.DB {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "cairn-test", Description: map[string]string{"en": "identity test"},
		RecordSize: 24, IPVersion: 6, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range geoNets {
		_, ipnet, err := net.ParseCIDR(n.cidr)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{
			"country":                  mmdbtype.Map{"iso_code": mmdbtype.String(n.country)},
			"autonomous_system_number": mmdbtype.Uint32(n.asn),
		}
		if err := tree.Insert(ipnet, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestBuildGeo: Build locates public addresses, and only those, when it
// has a database.
func TestBuildGeo(t *testing.T) {
	user := "arn:aws:iam::111122223333:user/alice"
	who := cairn.Identity{Key: user, Type: "IAMUser", AccountID: "111122223333", AccessKeyID: "AKIAEXAMPLEALICE0001"}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var evs []cairn.Event
	for i, ip := range []string{"198.51.100.7", "198.51.100.7", "203.0.113.9", "10.1.2.3", "192.0.2.1", "100.64.0.1", "8.8.8.8"} {
		evs = append(evs, cloudEvent(t, fmt.Sprint("e", i), t0.Add(time.Duration(i)*time.Minute), who, "s3.amazonaws.com", "ListBuckets", ip, nil, nil))
	}
	st := &memStore{events: evs}
	db := testGeo(t)
	want := map[string][2]any{"198.51.100.7": {"US", uint(64500)}, "203.0.113.9": {"FR", uint(64501)}, "192.0.2.1": {"US", uint(64502)},
		"10.1.2.3": {"", uint(0)}, "100.64.0.1": {"", uint(0)}, "8.8.8.8": {"", uint(0)}}
	for _, g := range []*geo.DB{db, nil} {
		u := buildOne(t, st, user, identity.Options{Geo: g})
		if len(u.SourceIPs) != len(want) {
			t.Fatalf("source IPs %+v, want %d", u.SourceIPs, len(want))
		}
		for _, ip := range u.SourceIPs {
			w := want[ip.IP]
			if g == nil {
				w = [2]any{"", uint(0)}
			}
			if ip.Country != w[0] || ip.ASN != w[1] {
				t.Errorf("geo %v: %s in %q AS%d, want %q AS%d", g != nil, ip.IP, ip.Country, ip.ASN, w[0], w[1])
			}
		}
	}
}

// TestAssessGeo checks the new country and new ASN reasons on crafted
// identities.
func TestAssessGeo(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	pub := func(ip, country string, asn uint, first time.Duration) identity.IPUse {
		return identity.IPUse{IP: ip, N: 3, First: t0.Add(first), Last: t0.Add(48 * time.Hour), Kind: identity.AddrPublic, Country: country, ASN: asn}
	}
	base := func(ips ...identity.IPUse) identity.Identity {
		return identity.Identity{Key: "u", Events: 100, First: t0, Last: t0.Add(48 * time.Hour),
			SourceIPs: append([]identity.IPUse{pub("198.51.100.7", "US", 64500, 0)}, ips...)}
	}
	cases := []struct {
		name    string
		id      identity.Identity
		score   int
		level   string
		reasons []string
	}{
		{name: "usual", id: base(pub("198.51.100.8", "US", 64500, time.Hour)), score: 0, level: identity.RiskLow},
		{name: "new country and ASN", id: base(pub("203.0.113.9", "FR", 64501, 47*time.Hour)), score: 45, level: identity.RiskMedium,
			reasons: []string{"new source address late in its history: 203.0.113.9", "new country late in its history: FR (before: US)",
				"new ASN late in its history: AS64501 (before: AS64500)"}},
		{name: "new ASN in the usual country", id: base(pub("192.0.2.1", "US", 64502, 47*time.Hour)), score: 25, level: identity.RiskMedium,
			reasons: []string{"new source address late in its history: 192.0.2.1", "new ASN late in its history: AS64502 (before: AS64500)"}},
		{name: "country seen before from another address", id: base(pub("203.0.113.1", "FR", 64501, 2*time.Hour), pub("203.0.113.9", "FR", 64501, 47*time.Hour)),
			score: 15, level: identity.RiskLow, reasons: []string{"new source address late in its history: 203.0.113.9"}},
		{name: "nothing located before", id: identity.Identity{Key: "u", Events: 100, First: t0, Last: t0.Add(48 * time.Hour), SourceIPs: []identity.IPUse{
			{IP: "198.51.100.7", N: 90, First: t0, Last: t0.Add(48 * time.Hour), Kind: identity.AddrPublic},
			{IP: "10.0.0.1", N: 5, First: t0, Last: t0.Add(48 * time.Hour), Kind: identity.AddrPrivate, Country: "US", ASN: 1},
			pub("203.0.113.9", "FR", 64501, 47*time.Hour)}},
			score: 15, level: identity.RiskLow, reasons: []string{"new source address late in its history: 203.0.113.9"}},
		{name: "two new countries", id: base(pub("203.0.113.9", "FR", 64500, 47*time.Hour), pub("192.0.2.9", "DE", 64500, 46*time.Hour)),
			score: 35, level: identity.RiskMedium,
			reasons: []string{"new source addresses late in its history: 192.0.2.9, 203.0.113.9", "new countries late in its history: DE, FR (before: US)"}},
		{name: "short history", id: with(base(pub("203.0.113.9", "FR", 64501, 30*time.Minute)), func(id *identity.Identity) {
			id.Last = t0.Add(40 * time.Minute)
		}), score: 0, level: identity.RiskLow},
		{name: "new country with no MFA", id: with(base(pub("203.0.113.9", "FR", 64501, 47*time.Hour)), func(id *identity.Identity) { id.ConsoleNoMFA = 1 }),
			score: 60, level: identity.RiskHigh},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := identity.Assess(&c.id, identity.Status{})
			if r.Score != c.score || r.Level != c.level {
				t.Errorf("risk %+v, want %s %d", r, c.level, c.score)
			}
			if c.reasons == nil {
				return
			}
			if len(r.Reasons) != len(c.reasons) {
				t.Fatalf("reasons %q, want %q", r.Reasons, c.reasons)
			}
			for i, w := range c.reasons {
				if !strings.Contains(r.Reasons[i], w) {
					t.Errorf("reason %d = %q, want %q", i, r.Reasons[i], w)
				}
			}
		})
	}
	late, before := identity.NewCountries(&cases[1].id)
	if fmt.Sprint(late, before) != "[FR] [US]" {
		t.Errorf("NewCountries = %v %v", late, before)
	}
	asns, before2 := identity.NewASNs(&cases[1].id)
	if fmt.Sprint(asns, before2) != "[64501] [64500]" {
		t.Errorf("NewASNs = %v %v", asns, before2)
	}
}
