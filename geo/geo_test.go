package geo_test

import (
	"math"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/geo"
)

// network is one entry of a test database.
type network struct {
	cidr string
	rec  mmdbtype.Map
}

// MustWriteDB writes a MaxMind DB with the given networks and description
// into a temporary directory and returns its path.
func MustWriteDB(tb testing.TB, description string, nets []network) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "test.mmdb")
	MustWriteDBAt(tb, path, 6, description, nets)
	return path
}

// MustWriteDBAt writes a MaxMind DB for ipVersion (4 or 6) at path.
func MustWriteDBAt(tb testing.TB, path string, ipVersion int, description string, nets []network) {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: "cairn-test",
		Description:  map[string]string{"en": description},
		RecordSize:   24,
		IPVersion:    ipVersion,
		// The test networks are documentation and private ranges, which
		// the writer would otherwise refuse.
		IncludeReservedNetworks: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range nets {
		_, ipnet, err := net.ParseCIDR(n.cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tree.Insert(ipnet, n.rec); err != nil {
			tb.Fatalf("insert %s: %v", n.cidr, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// MustOpen opens path and closes it when the test ends.
func MustOpen(tb testing.TB, path string) *geo.DB {
	tb.Helper()
	db, err := geo.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// nestedDB has the GeoLite2 / DB-IP city shape, plus networks in private
// ranges that must never be reported (some databases do place them).
func nestedDB(tb testing.TB) *geo.DB {
	return MustOpen(tb, MustWriteDB(tb, "Test City DB", []network{
		{"203.0.113.0/24", mmdbtype.Map{
			"country": mmdbtype.Map{
				"iso_code": mmdbtype.String("FR"),
				"names":    mmdbtype.Map{"en": mmdbtype.String("France"), "de": mmdbtype.String("Frankreich")},
			},
			"city":                           mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Paris")}},
			"location":                       mmdbtype.Map{"latitude": mmdbtype.Float64(48.8566), "longitude": mmdbtype.Float64(2.3522)},
			"autonomous_system_number":       mmdbtype.Uint32(64500),
			"autonomous_system_organization": mmdbtype.String("Example Transit"),
		}},
		{"198.51.100.0/24", mmdbtype.Map{
			"country": mmdbtype.Map{
				"iso_code": mmdbtype.String("US"),
				"names":    mmdbtype.Map{"en": mmdbtype.String("United States")},
			},
			"traits": mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64501)},
		}},
		{"10.0.0.0/8", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("CN")}}},
		{"100.64.0.0/10", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("CN")}}},
		{"192.168.0.0/16", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("CN")}}},
	}))
}

func TestLookupNested(t *testing.T) {
	db := nestedDB(t)
	if got := db.Source(); got != "Test City DB" {
		t.Fatalf("Source() = %q", got)
	}
	tests := []struct {
		addr string
		want geo.Location
	}{
		{"203.0.113.7", geo.Location{Kind: "public", Country: "FR", CountryName: "France", City: "Paris",
			Lat: 48.8566, Lon: 2.3522, ASN: 64500, Org: "Example Transit", Source: "Test City DB"}},
		{" 203.0.113.255 ", geo.Location{Kind: "public", Country: "FR", CountryName: "France", City: "Paris",
			Lat: 48.8566, Lon: 2.3522, ASN: 64500, Org: "Example Transit", Source: "Test City DB"}},
		{"::ffff:203.0.113.1", geo.Location{Kind: "public", Country: "FR", CountryName: "France", City: "Paris",
			Lat: 48.8566, Lon: 2.3522, ASN: 64500, Org: "Example Transit", Source: "Test City DB"}},
		{"198.51.100.20", geo.Location{Kind: "public", Country: "US", CountryName: "United States",
			ASN: 64501, Source: "Test City DB"}},
		// Public but not in the database: known to be public, place unknown.
		{"192.0.2.1", geo.Location{Kind: "public"}},
		{"2001:db8::1", geo.Location{Kind: "public"}},
		// Private ranges are labelled, not looked up, even though this
		// database (wrongly) places them in CN.
		{"10.0.0.1", geo.Location{Kind: "private"}},
		{"192.168.1.1", geo.Location{Kind: "private"}},
		{"100.64.0.1", geo.Location{Kind: "private"}},
		{"100.127.255.254", geo.Location{Kind: "private"}},
		{"172.16.5.4", geo.Location{Kind: "private"}},
		{"127.0.0.1", geo.Location{Kind: "private"}},
		{"169.254.169.254", geo.Location{Kind: "private"}},
		{"::ffff:10.1.2.3", geo.Location{Kind: "private"}},
		{"::1", geo.Location{Kind: "private"}},
		{"fe80::1", geo.Location{Kind: "private"}},
		{"fe80::1%eth0", geo.Location{Kind: "private"}},
		{"fd00::5", geo.Location{Kind: "private"}},
		{"0.0.0.0", geo.Location{Kind: "private"}},
		{"ec2.amazonaws.com", geo.Location{Kind: "aws-service"}},
		{"lambda.amazonaws.com", geo.Location{Kind: "aws-service"}},
		{"AWS Internal", geo.Location{Kind: "aws-service"}},
		{"s3.cn-north-1.amazonaws.com.cn", geo.Location{Kind: "aws-service"}},
		{"not an ip", geo.Location{Kind: "invalid"}},
		{"", geo.Location{Kind: "invalid"}},
		{"203.0.113.300", geo.Location{Kind: "invalid"}},
		{"203.0.113.0/24", geo.Location{Kind: "invalid"}},
		{"evil.com", geo.Location{Kind: "invalid"}},
		{".amazonaws.com", geo.Location{Kind: "invalid"}},
		{"<script>.amazonaws.com", geo.Location{Kind: "invalid"}},
	}
	for _, tt := range tests {
		if got := db.Lookup(tt.addr); got != tt.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.addr, got, tt.want)
		}
	}
}

// TestLookupFlat covers the flat record shapes of the @ip-location-db
// packages: city databases and ASN databases.
func TestLookupFlat(t *testing.T) {
	db := MustOpen(t, MustWriteDB(t, "Flat DB", []network{
		{"203.0.113.0/24", mmdbtype.Map{
			"country_code": mmdbtype.String("FR"),
			"city":         mmdbtype.String("Paris"),
			"latitude":     mmdbtype.Float32(48.8566),
			"longitude":    mmdbtype.Float32(2.25),
		}},
		{"198.51.100.0/24", mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(13335),
			"autonomous_system_organization": mmdbtype.String("Example ASN Org"),
		}},
		// Coordinates out of range are dropped, not passed to the map.
		{"192.0.2.0/24", mmdbtype.Map{
			"country_code": mmdbtype.String("US"),
			"latitude":     mmdbtype.Float64(123),
			"longitude":    mmdbtype.Float64(10),
		}},
	}))
	tests := []struct {
		addr string
		want geo.Location
	}{
		{"203.0.113.9", geo.Location{Kind: "public", Country: "FR", City: "Paris", Lat: 48.8566, Lon: 2.25, Source: "Flat DB"}},
		{"198.51.100.1", geo.Location{Kind: "public", ASN: 13335, Org: "Example ASN Org", Source: "Flat DB"}},
		{"192.0.2.1", geo.Location{Kind: "public", Country: "US", Source: "Flat DB"}},
	}
	for _, tt := range tests {
		if got := db.Lookup(tt.addr); got != tt.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.addr, got, tt.want)
		}
	}
}

// TestOpenDir covers the layout `make geoip` leaves: separate IPv4 and
// IPv6 files, here with an ASN database beside them, read as one.
func TestOpenDir(t *testing.T) {
	dir := t.TempDir()
	MustWriteDBAt(t, filepath.Join(dir, "a-city-ipv4.mmdb"), 4, "City v4", []network{
		{"203.0.113.0/24", mmdbtype.Map{"country_code": mmdbtype.String("FR"), "city": mmdbtype.String("Paris")}},
	})
	MustWriteDBAt(t, filepath.Join(dir, "b-city-ipv6.mmdb"), 6, "City v6", []network{
		{"2001:db8::/32", mmdbtype.Map{"country_code": mmdbtype.String("DE"), "city": mmdbtype.String("Berlin")}},
	})
	MustWriteDBAt(t, filepath.Join(dir, "c-asn.mmdb"), 6, "ASN", []network{
		{"203.0.113.0/24", mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(64500),
			"autonomous_system_organization": mmdbtype.String("Example Transit"),
		}},
		// A later database does not override what an earlier one said.
		{"2001:db8::/32", mmdbtype.Map{"country_code": mmdbtype.String("US")}},
	})
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := MustOpen(t, dir)
	if got := db.Source(); got != "City v4; City v6; ASN" {
		t.Errorf("Source() = %q", got)
	}
	tests := []struct {
		addr string
		want geo.Location
	}{
		{"203.0.113.7", geo.Location{Kind: "public", Country: "FR", City: "Paris", ASN: 64500, Org: "Example Transit", Source: "City v4"}},
		{"2001:db8::1", geo.Location{Kind: "public", Country: "DE", City: "Berlin", Source: "City v6"}},
		{"198.51.100.1", geo.Location{Kind: "public"}},
	}
	for _, tt := range tests {
		if got := db.Lookup(tt.addr); got != tt.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.addr, got, tt.want)
		}
	}
	if _, err := geo.Open(t.TempDir()); cairn.ErrorCode(err) != cairn.ENOTFOUND {
		t.Errorf("empty dir: err = %v, code %q", err, cairn.ErrorCode(err))
	}
}

func TestNilDB(t *testing.T) {
	var db *geo.DB
	if got := db.Lookup("203.0.113.7"); got != (geo.Location{Kind: "public"}) {
		t.Errorf("nil Lookup(public) = %+v", got)
	}
	if got := db.Lookup("10.0.0.1"); got != (geo.Location{Kind: "private"}) {
		t.Errorf("nil Lookup(private) = %+v", got)
	}
	if got := db.Lookup("ec2.amazonaws.com"); got.Kind != "aws-service" {
		t.Errorf("nil Lookup(aws) = %+v", got)
	}
	if got := db.Lookup("junk"); got.Kind != "invalid" {
		t.Errorf("nil Lookup(junk) = %+v", got)
	}
	if db.Source() != "" {
		t.Errorf("nil Source() = %q", db.Source())
	}
	if err := db.Close(); err != nil {
		t.Errorf("nil Close() = %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := geo.Open(filepath.Join(dir, "missing.mmdb")); cairn.ErrorCode(err) != cairn.ENOTFOUND {
		t.Errorf("missing file: err = %v, code %q", err, cairn.ErrorCode(err))
	}
	junk := filepath.Join(dir, "junk.mmdb")
	if err := os.WriteFile(junk, []byte("this is not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := geo.Open(junk); cairn.ErrorCode(err) != cairn.EINVALID {
		t.Errorf("junk file: err = %v, code %q", err, cairn.ErrorCode(err))
	}
}

func TestLocationString(t *testing.T) {
	db := nestedDB(t)
	tests := map[string]string{
		"203.0.113.7":       "Paris, FR (AS64500 Example Transit)",
		"198.51.100.1":      "US (AS64501)",
		"192.0.2.1":         "unknown",
		"10.0.0.1":          "private",
		"ec2.amazonaws.com": "aws-service",
		"nope":              "invalid",
	}
	for addr, want := range tests {
		if got := db.Lookup(addr).String(); got != want {
			t.Errorf("Lookup(%q).String() = %q, want %q", addr, got, want)
		}
	}
}

func TestProject(t *testing.T) {
	const w, h = 360, 180
	tests := []struct {
		lat, lon float64
		x, y     float64
	}{
		{0, 0, 180, 90},
		{90, -180, 0, 0},
		{-90, 180, 360, 180},
		{48.8566, 2.3522, 182.3522, 41.1434},
		{-33.87, 151.21, 331.21, 123.87},
		// Out of range and NaN stay on the map.
		{200, -500, 0, 0},
		{-100, 999, 360, 180},
		{math.NaN(), math.NaN(), 180, 90},
	}
	for _, tt := range tests {
		x, y := geo.Project(tt.lat, tt.lon, w, h)
		if math.Abs(x-tt.x) > 1e-9 || math.Abs(y-tt.y) > 1e-9 {
			t.Errorf("Project(%v, %v) = %v, %v; want %v, %v", tt.lat, tt.lon, x, y, tt.x, tt.y)
		}
	}
	// A non-square map scales each axis on its own.
	if x, y := geo.Project(45, 90, 800, 400); x != 600 || y != 100 {
		t.Errorf("Project(45, 90, 800, 400) = %v, %v; want 600, 100", x, y)
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{
		"203.0.113.7", "198.51.100.20", "10.0.0.1", "::1", "fe80::1%eth0",
		"::ffff:203.0.113.1", "ec2.amazonaws.com", "AWS Internal", "not an ip",
		"", "2001:db8::1", "100.64.0.1", "1.2.3.4.amazonaws.com",
	} {
		f.Add(s)
	}
	db := nestedDB(f)
	f.Fuzz(func(t *testing.T, addr string) {
		loc := db.Lookup(addr)
		switch loc.Kind {
		case "private", "aws-service", "invalid":
			if loc != (geo.Location{Kind: loc.Kind}) {
				t.Fatalf("Lookup(%q) = %+v: a label carries no place", addr, loc)
			}
		case "public":
			if loc.Lat < -90 || loc.Lat > 90 || loc.Lon < -180 || loc.Lon > 180 {
				t.Fatalf("Lookup(%q) = %+v: coordinates out of range", addr, loc)
			}
		default:
			t.Fatalf("Lookup(%q) kind %q", addr, loc.Kind)
		}
		_ = loc.String()
	})
}
