#!/usr/bin/env bash
# Issue 7 (East Asian accuracy): every figure of docs/accuracy.md's "Improving East Asian accuracy"
# section, and the shipped fusion models.
#   bash tools/fusion/run.sh [dump|cv|fit|eval|all]   (default: all; BUILD=build-acc by default)
# dump: embeds each development set once per descriptor variant into .cache/fusion/ (~10 min);
# cv:   identity-disjoint 5-fold cross-validation of every method, each also fitted on all of
#       east-asian and applied to the other sets (.cache/fusion/cv.md and cv.json);
# fit:  fits fusion_v1 / fusion_z_v1 on all of east-asian, records them in models/manifest.json,
#       and makes their calibration tables with `simkyc calibrate`;
# eval: `simkyc eval --embedder fusion_...` on every set through the real pipeline.
# Issue 11 (the ArcFace-chip networks fr_feature_v1 and mfn_expo_v1, aligned by align_arcface):
# arc-dump: every set with the variants dlib_resnet_v1, faceres_v1:0.6, fr_feature_v1, mfn_expo_v1
#           (.cache/fusion/arc-*.desc; the 68-point landmarks run for the ArcFace chips);
# arc-cv:   cross-validation of each descriptor with and without flip and of their z-score fusions
#           (.cache/fusion/arc-cv.md / .json);
# arc-fit:  fits fusion_fr_mfn_v1 (the decision default), records it, `simkyc calibrate`s its table;
# arc-eval: `simkyc eval` (the decision default) on every set, with the straight-through rates.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${BUILD:-build-acc}
data=${DATA:-../shared/data/faces}
c=.cache/fusion
step=${1:-all}
mkdir -p "$c"
tool="$build/tools/fusion_tool"
cmake --build "$build" --target fusion_tool simkyc -j2 >/dev/null

if [[ $step == dump || $step == all ]]; then
  for s in east-asian dlib-johns face-api orl; do
    "$tool" dump --folders "$data/$s" --out "$c/$s.desc"
    "$tool" dump --folders "$data/$s" --out "$c/$s-m2.desc" --variant faceres_v1:0.6 --variant faceres_v1:0.8
  done
  "$tool" dump --pairs "$data/deepface/master.csv" --out "$c/deepface.desc"
  "$tool" dump --pairs "$data/deepface/master.csv" --out "$c/deepface-m2.desc" --variant faceres_v1:0.6 --variant faceres_v1:0.8
fi
others=()
for s in orl dlib-johns face-api deepface; do others+=(--other "$s=$c/$s.desc,$c/$s-m2.desc"); done
if [[ $step == cv || $step == all ]]; then
  "$tool" cv --data "$c/east-asian.desc" --extra "$c/east-asian-m2.desc" "${others[@]}" --json "$c/cv.json" | tee "$c/cv.md"
fi
if [[ $step == fit || $step == all ]]; then
  "$tool" fit --data "$c/east-asian.desc" --extra "$c/east-asian-m2.desc" --method 'lda(concat)+flip, nested' \
    --id fusion_v1 --out models/fusion/fusion_v1.json
  "$tool" fit --data "$c/east-asian.desc" --extra "$c/east-asian-m2.desc" --method 'z(dlib,faceres)+flip, margin nested' \
    --id fusion_z_v1 --out models/fusion/fusion_z_v1.json
  for id in fusion_v1 fusion_z_v1; do node tools/fusion/register.js models/manifest.json "$id" "fusion/$id.json"; done
  # fusion_v1's projection is fitted on east-asian, so its table comes from out-of-fold scores (the
  # method `fit` chose, cross-validated); fusion_z_v1 fits two weights only: simkyc calibrate.
  chosen=$(node -e "console.log(require('./models/fusion/fusion_v1.json').provenance.fitted_as)")
  "$tool" calibrate-cv --data "$c/east-asian.desc" --extra "$c/east-asian-m2.desc" --method "$chosen" \
    --id fusion_v1 --out models/calibration/fusion_v1.json
  "$build/simkyc" calibrate --folders "$data/east-asian" --embedder fusion_z_v1 \
    --out models/calibration/fusion_z_v1.json --json > "$c/calibrate-fusion_z_v1.json"
fi
if [[ $step == eval || $step == all ]]; then
  for id in fusion_v1 fusion_z_v1; do
    for s in dlib-johns face-api orl east-asian; do
      "$build/simkyc" eval --folders "$data/$s" --embedder "$id" --json > "$c/eval-$id-$s.json"
    done
    "$build/simkyc" eval "$data/deepface/master.csv" --embedder "$id" --json > "$c/eval-$id-deepface.json"
  done
fi
arc_variants=(--variant dlib_resnet_v1 --variant faceres_v1:0.6 --variant fr_feature_v1 --variant mfn_expo_v1)
if [[ $step == arc-dump ]]; then
  for s in east-asian orl dlib-johns face-api; do "$tool" dump --folders "$data/$s" --out "$c/arc-$s.desc" "${arc_variants[@]}"; done
  "$tool" dump --pairs "$data/deepface/master.csv" --out "$c/arc-deepface.desc" "${arc_variants[@]}"
fi
if [[ $step == arc-cv ]]; then
  methods=()
  for m in dlib dlib+flip faceres_m0.6 faceres_m0.6+flip 'z(dlib,faceres_m0.6)+flip' fr fr+flip 'z(dlib,fr)' \
           'z(dlib,fr)+flip' 'z(fr,faceres_m0.6)+flip' 'z(dlib,fr,faceres_m0.6)+flip' mfn mfn+flip 'z(fr,mfn)' \
           'z(fr,mfn)+flip' 'z(dlib,mfn)+flip' 'z(dlib,fr,mfn)+flip' 'z(fr,mfn,faceres_m0.6)+flip' \
           'z(dlib,fr,mfn,faceres_m0.6)+flip'; do methods+=(--method "$m"); done
  arc_others=()
  for s in orl dlib-johns face-api deepface; do arc_others+=(--other "$s=$c/arc-$s.desc"); done
  "$tool" cv --data "$c/arc-east-asian.desc" "${methods[@]}" "${arc_others[@]}" --json "$c/arc-cv.json" | tee "$c/arc-cv.md"
fi
if [[ $step == arc-fit ]]; then
  "$tool" fit --data "$c/arc-east-asian.desc" --method 'z(fr,mfn)' --id fusion_fr_mfn_v1 --out models/fusion/fusion_fr_mfn_v1.json
  node tools/fusion/register.js models/manifest.json fusion_fr_mfn_v1 fusion/fusion_fr_mfn_v1.json 11
  "$build/simkyc" calibrate --folders "$data/east-asian" --embedder fusion_fr_mfn_v1 \
    --out models/calibration/fusion_fr_mfn_v1.json --json > "$c/calibrate-fusion_fr_mfn_v1.json"
fi
if [[ $step == arc-eval ]]; then
  for s in dlib-johns face-api orl; do "$build/simkyc" eval --folders "$data/$s" --json > "$c/eval-default-$s.json"; done
  "$build/simkyc" eval "$data/deepface/master.csv" --json > "$c/eval-default-deepface.json"
  cp "$c/calibrate-fusion_fr_mfn_v1.json" "$c/eval-default-east-asian.json"   # calibrate printed the same evaluation
fi
if [[ $step == arc-eval ]]; then
  args=()
  for s in east-asian orl dlib-johns face-api deepface; do args+=("$s=$c/eval-default-$s.json"); done
  node tools/fusion/straight_through.js "${args[@]}" | tee "$c/straight-through.md"
fi
