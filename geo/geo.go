// Package geo places source addresses on the map for cairn's identity
// insights, offline: it reads a MaxMind-format database (GeoLite2, DB-IP or
// an @ip-location-db package fetched once by `make geoip`) and never calls
// out at run time.
//
// Addresses that no database can place honestly are labelled instead of
// looked up: private, loopback, link-local and carrier-grade NAT addresses
// ("private"), the AWS service names CloudTrail writes where an address
// would be ("aws-service"), and strings that are no address at all
// ("invalid").
package geo

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/cairn-cdr/cairn"
)

// Kinds of address a Location can describe.
const (
	KindPrivate    = "private"     // never routed on the internet: not looked up
	KindAWSService = "aws-service" // an AWS service acted, e.g. ec2.amazonaws.com
	KindPublic     = "public"      // a routable address; located if the database knows it
	KindInvalid    = "invalid"     // neither an address nor an AWS service name
)

// Location is what is known of one source address. Country, City, the
// coordinates, ASN and Org are empty when the database (or a nil *DB) does
// not know the address; Lat and Lon are both 0 when there are no
// coordinates, since no database in use places an address at exactly 0,0.
type Location struct {
	Kind        string
	Country     string // ISO 3166-1 alpha-2 code, e.g. "FR"
	CountryName string // English name, when the database has one
	City        string
	Lat, Lon    float64
	ASN         uint
	Org         string
	// Source is the database's own description (its metadata), so the UI
	// can say where a location came from; "" when nothing was looked up.
	Source string
}

// DB reads one or more MaxMind-format databases. A nil *DB is valid and
// knows no public address, so callers without a database need no special
// case.
type DB struct {
	dbs []reader
}

// reader is one open database file.
type reader struct {
	r      *maxminddb.Reader
	source string
}

// Open opens the MaxMind-format database at path or, when path is a
// directory such as the ./geoip/ that `make geoip` fills, every *.mmdb file
// in it: the free packages ship IPv4 and IPv6 as separate files, and an
// ASN database can sit beside a city one. It returns ENOTFOUND when there
// is no file and EINVALID when a file is not a readable database. It does not run the reader's strict Verify: the
// @ip-location-db files fail it (their metadata description is empty),
// and the reader bounds-checks every lookup on its own.
func Open(path string) (*DB, error) {
	files := []string{path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		files, err = filepath.Glob(filepath.Join(path, "*.mmdb"))
		if err != nil || len(files) == 0 {
			return nil, cairn.Errorf(cairn.ENOTFOUND, "no geoip database (*.mmdb) in %s (make geoip fetches one)", path)
		}
		sort.Strings(files)
	}
	d := &DB{}
	for _, f := range files {
		r, err := openFile(f)
		if err != nil {
			_ = d.Close()
			return nil, err
		}
		d.dbs = append(d.dbs, r)
	}
	return d, nil
}

func openFile(path string) (reader, error) {
	r, err := maxminddb.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return reader{}, cairn.Errorf(cairn.ENOTFOUND, "geoip database %s not found (make geoip fetches one)", path)
	}
	if err != nil {
		return reader{}, cairn.Errorf(cairn.EINVALID, "geoip database %s is not a MaxMind DB file: %v", path, err)
	}
	src := describe(r.Metadata)
	if src == "" {
		src = filepath.Base(path)
	}
	return reader{r: r, source: src}, nil
}

// describe picks the database's English description, else the first one
// by language code (for a stable answer), else its database type; Open
// falls back to the file name.
func describe(m maxminddb.Metadata) string {
	if d := m.Description["en"]; d != "" {
		return d
	}
	langs := make([]string, 0, len(m.Description))
	for l := range m.Description {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, l := range langs {
		if d := m.Description[l]; d != "" {
			return d
		}
	}
	return m.DatabaseType
}

// Close releases the databases. Closing a nil *DB does nothing.
func (d *DB) Close() error {
	if d == nil {
		return nil
	}
	var errs []error
	for _, r := range d.dbs {
		errs = append(errs, r.r.Close())
	}
	d.dbs = nil
	return errors.Join(errs...)
}

// Source returns the descriptions of the open databases, joined by "; ",
// or "" for a nil *DB.
func (d *DB) Source() string {
	if d == nil {
		return ""
	}
	srcs := make([]string, 0, len(d.dbs))
	for _, r := range d.dbs {
		srcs = append(srcs, r.source)
	}
	return strings.Join(srcs, "; ")
}

// cgnat is the shared address space of RFC 6598, which netip does not
// count as private but which is just as unroutable.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Lookup describes addr, a CloudTrail sourceIPAddress or any other source
// address as an event gave it. It never fails: what it cannot place is
// labelled (see the Kind constants) or left without a country.
func (d *DB) Lookup(addr string) Location {
	s := strings.TrimSpace(addr)
	ip, err := netip.ParseAddr(s)
	if err != nil {
		if isAWSService(s) {
			return Location{Kind: KindAWSService}
		}
		return Location{Kind: KindInvalid}
	}
	ip = ip.WithZone("").Unmap()
	if isPrivate(ip) {
		return Location{Kind: KindPrivate}
	}
	loc := Location{Kind: KindPublic}
	if d == nil {
		return loc
	}
	// Each database fills only what the ones before it left empty, so a
	// city database and an ASN database combine; an IPv4-only file simply
	// errors on an IPv6 address and adds nothing.
	for _, r := range d.dbs {
		var rec map[string]any
		if err := r.r.Lookup(ip).Decode(&rec); err != nil || len(rec) == 0 {
			continue
		}
		before := loc
		fill(&loc, rec)
		if loc != before && loc.Source == "" {
			loc.Source = r.source
		}
	}
	return loc
}

// isPrivate reports whether ip never leaves a private network, so that no
// database is asked (some place such ranges in the registrant's country).
func isPrivate(ip netip.Addr) bool {
	return ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsUnspecified() || cgnat.Contains(ip)
}

// isAWSService reports whether s is what CloudTrail writes in
// sourceIPAddress when an AWS service, not a client, made the call:
// "AWS Internal" or a service principal such as ec2.amazonaws.com.
func isAWSService(s string) bool {
	if strings.EqualFold(s, "AWS Internal") {
		return true
	}
	host := strings.ToLower(s)
	var name string
	switch {
	case strings.HasSuffix(host, ".amazonaws.com"):
		name = strings.TrimSuffix(host, ".amazonaws.com")
	case strings.HasSuffix(host, ".amazonaws.com.cn"):
		name = strings.TrimSuffix(host, ".amazonaws.com.cn")
	default:
		return false
	}
	if name == "" || len(name) > 200 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// fill copies into loc the fields of rec it recognises. Records come in
// two shapes: MaxMind's nested one (GeoLite2, DB-IP: country.iso_code,
// country.names.en, city.names.en, location.latitude, and for ISP
// databases traits.autonomous_system_number) and the flat one of the
// @ip-location-db packages (country_code, city, latitude, longitude).
// Both ASN shapes use autonomous_system_number and
// autonomous_system_organization at the top level.
// Fields already set in loc are kept.
func fill(loc *Location, rec map[string]any) {
	if loc.Country == "" {
		loc.Country = firstString(path(rec, "country", "iso_code"), rec["country_code"])
	}
	if loc.CountryName == "" {
		loc.CountryName = firstString(path(rec, "country", "names", "en"))
	}
	if loc.City == "" {
		loc.City = firstString(path(rec, "city", "names", "en"), rec["city"])
	}
	lat, okLat := number(firstOf(path(rec, "location", "latitude"), rec["latitude"]))
	lon, okLon := number(firstOf(path(rec, "location", "longitude"), rec["longitude"]))
	if loc.Lat == 0 && loc.Lon == 0 && okLat && okLon && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
		loc.Lat, loc.Lon = lat, lon
	}
	asn, ok := number(firstOf(rec["autonomous_system_number"], path(rec, "traits", "autonomous_system_number")))
	if loc.ASN == 0 && ok && asn > 0 && asn <= math.MaxUint32 && asn == math.Trunc(asn) {
		loc.ASN = uint(asn)
	}
	if loc.Org == "" {
		loc.Org = firstString(rec["autonomous_system_organization"], path(rec, "traits", "autonomous_system_organization"))
	}
}

// path walks nested maps by key and returns nil where a step is missing
// or not a map.
func path(rec map[string]any, keys ...string) any {
	var v any = rec
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// firstOf returns the first non-nil value.
func firstOf(vs ...any) any {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

// firstString returns the first value that is a non-empty string.
func firstString(vs ...any) string {
	for _, v := range vs {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// number converts any numeric MMDB value to float64; databases differ in
// whether they store coordinates as double or float and numbers as
// uint16, uint32 or signed integers. NaN and infinities are refused.
func number(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case float32:
		// Via its shortest decimal form, so a stored 48.8566 reads as
		// 48.8566 and not 48.85660171508789.
		f, _ = strconv.ParseFloat(strconv.FormatFloat(float64(n), 'g', -1, 32), 64)
	case int:
		f = float64(n)
	case int32:
		f = float64(n)
	case int64:
		f = float64(n)
	case uint:
		f = float64(n)
	case uint16:
		f = float64(n)
	case uint32:
		f = float64(n)
	case uint64:
		f = float64(n)
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Project maps a latitude and longitude onto a width×height equirectangular
// map whose top-left corner is 90°N 180°W, so a page can place a point on
// a plain lat/lon grid. Out-of-range values are clamped to the map's edge
// and NaN is treated as 0, so the result is always inside the map.
func Project(lat, lon float64, width, height float64) (x, y float64) {
	lat = clamp(lat, -90, 90)
	lon = clamp(lon, -180, 180)
	return (lon + 180) / 360 * width, (90 - lat) / 180 * height
}

func clamp(v, lo, hi float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v < lo:
		return lo
	case v > hi:
		return hi
	}
	return v
}

// String returns a short human description, e.g. "Paris, FR (AS64500 Example)".
func (l Location) String() string {
	switch l.Kind {
	case KindPrivate, KindAWSService, KindInvalid:
		return l.Kind
	}
	var b strings.Builder
	if l.City != "" {
		b.WriteString(l.City)
		b.WriteString(", ")
	}
	if l.Country != "" {
		b.WriteString(l.Country)
	} else {
		b.WriteString("unknown")
	}
	if l.ASN != 0 {
		fmt.Fprintf(&b, " (AS%d", l.ASN)
		if l.Org != "" {
			b.WriteString(" " + l.Org)
		}
		b.WriteString(")")
	}
	return b.String()
}
