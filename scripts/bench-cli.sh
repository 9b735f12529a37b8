#!/usr/bin/env bash
# bench-cli.sh measures `cairn ingest` end to end on a directory in
# CloudTrail's S3 layout plus Tetragon export files, as a user runs it:
# wall time, events/s and peak resident memory (GNU time's maximum RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for seed in 1 2 3 4 5 6 7 8; do
  bin/cairn demo --seed "$seed" --export "$dir/in/s$seed" >/dev/null
done
files=$(find "$dir/in" -type f ! -name truth.json | wc -l)
bytes=$(du -sb "$dir/in" | cut -f1)
# truth.json files are ground truth, not records: ingest only the records.
mapfile -t inputs < <(find "$dir/in" -type f ! -name truth.json | sort)
start=$(date +%s.%N)
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f '%M' -o "$dir/rss" bin/cairn ingest --db "$dir/b.db" -o json "${inputs[@]}" >"$dir/report.json"
else
  bin/cairn ingest --db "$dir/b.db" -o json "${inputs[@]}" >"$dir/report.json"
  echo 0 >"$dir/rss"
fi
end=$(date +%s.%N)
accepted=$(grep -m1 '"accepted"' "$dir/report.json" | tr -dc 0-9)
awk -v s="$start" -v e="$end" -v n="$accepted" -v f="$files" -v b="$bytes" -v rss="$(cat "$dir/rss")" 'BEGIN {
  t = e - s
  printf "cairn ingest (CLI): %d files, %.1f MB, %d events in %.2f s = %.0f events/s, peak RSS %.0f MiB\n", f, b/1e6, n, t, n/t, rss/1024
}'
