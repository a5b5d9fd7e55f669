#!/usr/bin/env bash
# Issue 6: `simkyc eval` of the XNNPACK backends next to the defaults on every development set
# (docs/inference.md, "Accuracy").  Writes .cache/xnn/eval-DETECTOR-EMBEDDER-SET.json and, in the
# .log beside it, the wall time.
#   bash tools/runtime_eval.sh            (BUILD=build by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
data=${DATA:-../shared/data/faces}
out=.cache/xnn
mkdir -p "$out"
for cfg in "hog+mmod dlib_resnet_xnn_v1" "blazeface_xnn_v1 dlib_resnet_xnn_v1" "hog+mmod fusion_z_v1"; do
  set -- $cfg
  for s in east-asian orl face-api dlib-johns; do
    start=$(date +%s.%N)
    "$build/simkyc" eval --folders "$data/$s" --detector "$1" --embedder "$2" --json \
      > "$out/eval-$1-$2-$s.json" 2> "$out/eval-$1-$2-$s.log"
    awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f s\n", b - a }' >> "$out/eval-$1-$2-$s.log"
    echo "$1 + $2 on $s: $(tail -1 "$out/eval-$1-$2-$s.log")"
  done
done
