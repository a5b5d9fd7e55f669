#!/usr/bin/env bash
# Issue 7: fine-tuning the dlib ResNet's last layers on East Asian identities (CPU, dlib loss_metric),
# cross-validated on the same identity-disjoint folds as tools/fusion (docs/accuracy.md,
# "Fine-tuning the dlib ResNet's last layers").  Needs tools/fusion/run.sh dump's .cache/fusion/*.desc.
#   bash tools/finetune/run.sh [features|train|cv|all]   (default: all; BUILD=build-acc by default)
# features: frozen trunk output (input of alevel0) of every image: chip, mirror, 6 jitter copies for
#           east-asian (~5 min on 2 cores); chip and mirror for the other sets;
# train:    per fold, alevel0 + fc (dlib_ft) and fc only (dlib_ftfc) trained from the pretrained
#           weights; out-of-fold descriptors -> .cache/finetune/east-asian-<variant>.desc, the model
#           trained on all 442 people -> the other sets' descriptors;
# cv:       fusion_tool cv of the fine-tuned variants next to dlib and fusion_z_v1 (.cache/finetune/cv.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${BUILD:-build-acc}
c=.cache/fusion
ft=.cache/finetune
step=${1:-all}
mkdir -p "$ft"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
run() { nice -n 19 "$@"; }
run cmake --build "$build" --target finetune_tool fusion_tool -j2 >/dev/null
tool="$build/tools/finetune_tool"
others="orl dlib-johns face-api deepface"
if [[ $step == features || $step == all ]]; then
  run "$tool" features --desc "$c/east-asian.desc" --out "$ft/east-asian.feat" --jitter 6
  for s in $others; do run "$tool" features --desc "$c/$s.desc" --out "$ft/$s.feat" --jitter 0; done
fi
# variant name, mode, learning rate
configs=("dlib_ft top 0.001" "dlib_ftfc fc 0.001" "dlib_ftfc3 fc 0.003")
if [[ $step == train || $step == all ]]; then
  for cfg in "${configs[@]}"; do
    read -r v mode lr <<<"$cfg"
    o=(); for s in $others; do o+=(--other "$ft/$s.feat=$ft/$s-$v.desc"); done
    run "$tool" train --desc "$c/east-asian.desc" --feat "$ft/east-asian.feat" --out "$ft/east-asian-$v.desc" \
      --variant "$v" --mode "$mode" --lr "$lr" --max-steps 600 --eval-every 50 "${o[@]}" \
      --model-out "$ft/$v-all.dat" --list tools/finetune/east-asian-folds.tsv --log "$ft/train-$v.log"
  done
fi
if [[ $step == cv || $step == all ]]; then
  extra=(--extra "$c/east-asian-m2.desc"); o=()
  for cfg in "${configs[@]}"; do read -r v _ <<<"$cfg"; extra+=(--extra "$ft/east-asian-$v.desc"); done
  for s in $others; do
    files="$c/$s.desc,$c/$s-m2.desc"
    for cfg in "${configs[@]}"; do read -r v _ <<<"$cfg"; files+=",$ft/$s-$v.desc"; done
    o+=(--other "$s=$files")
  done
  methods=(--method dlib --method dlib+flip --method 'z(dlib,faceres_m0.6)+flip')
  for cfg in "${configs[@]}"; do
    read -r v _ <<<"$cfg"
    for m in "$v" "$v+flip" "z($v,faceres_m0.6)+flip" "z(dlib,$v)+flip" "z(dlib,$v,faceres_m0.6)+flip" \
      "z($v,faceres_m0.6)+flip+asnorm50"; do methods+=(--method "$m"); done
  done
  run "$build/tools/fusion_tool" cv --data "$c/east-asian.desc" "${extra[@]}" "${o[@]}" "${methods[@]}" \
    --json "$ft/cv.json" | tee "$ft/cv.md"
fi
