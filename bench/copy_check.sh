#!/usr/bin/env bash
# The document-copy check (LIVE_IS_DOCUMENT_COPY, src/match/copy_check.h) on real photos:
#   copies: every photo of tests/data/faces against resized, JPEG re-encoded and cropped copies
#           of itself (simkyc copy-check --variants);
#   genuine: different photos of one person (must NOT be copies): all ORL pairs within a subject
#           (same session, same light: the hardest), deepface's same-person pairs, the first two
#           photos of each east-asian identity.
# Usage: bash bench/copy_check.sh [DATA_DIR (default ../shared/data)]   Prints min/max per set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-$root/../shared/data}
bin="$root/build/simkyc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
summary() {   # $1 label; JSON of `copy-check --json` on stdin
  cat > "$tmp/s.json"
  python3 - "$1" "$tmp/s.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[2]))
print(f"{sys.argv[1]}: {j['compared']} compared, {j['copies']} at or above {j['threshold']}, "
      f"min {j['min']:.4f}, max {j['max']:.4f}")
PY
}
for f in "$root"/tests/data/faces/*; do
  "$bin" copy-check --variants "$f" --json > "$tmp/v.json" || true
  python3 -c 'import json,sys; print("\n".join(str(p.get("correlation","")) for p in json.load(open(sys.argv[1]))["pairs"]))' "$tmp/v.json" >> "$tmp/variants.txt"
done
python3 -c 'import sys; v=[float(x) for x in open(sys.argv[1]) if x.strip()]; print(f"copies (tests/data/faces x 11 variants): {len(v)} compared, {sum(x>=0.95 for x in v)} at or above 0.95, min {min(v):.4f}, max {max(v):.4f}")' "$tmp/variants.txt"
if [ -d "$data/faces/orl" ]; then
  for s in $(seq 1 40); do for i in $(seq 1 9); do for j in $(seq $((i+1)) 10); do
    echo "$data/faces/orl/s$s/$i.pgm $data/faces/orl/s$s/$j.pgm"; done; done; done > "$tmp/orl.txt"
  "$bin" copy-check --pairs "$tmp/orl.txt" --json | summary "genuine ORL pairs"
fi
if [ -f "$data/faces/deepface/face-recognition-pivot.csv" ]; then
  grep ",Yes," "$data/faces/deepface/face-recognition-pivot.csv" | cut -d, -f1,2 |
    sed "s|deepface/tests/dataset/|$data/faces/deepface/|g; s|,| |" > "$tmp/deepface.txt"
  "$bin" copy-check --pairs "$tmp/deepface.txt" --json | summary "genuine deepface pairs"
fi
if [ -d "$data/faces/east-asian" ]; then
  for p in "$data"/faces/east-asian/*/; do
    mapfile -t f < <(ls "$p" | head -2)
    [ "${#f[@]}" -ge 2 ] && echo "$p${f[0]} $p${f[1]}"
  done > "$tmp/ea.txt"
  "$bin" copy-check --pairs "$tmp/ea.txt" --json | summary "genuine east-asian pairs"
fi
