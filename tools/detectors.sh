#!/usr/bin/env bash
# Issue 12: every detector on every development set, as the photos are, as 102x126 chip copies
# and as small faces in a large frame (`simkyc detect-eval`), then the whole pipeline's accuracy
# with each (`simkyc eval --detector D`).  Writes .cache/detect/*.json and the markdown table
# .cache/detect/table.md (docs/accuracy.md, "Detectors").
#   bash tools/detectors.sh [detect|eval|table]...   (default: all three; BUILD=build, DATA=../shared/data/faces)
#   DETECTORS, EVAL_DETECTORS, EMBEDDER, SETS, VARIANTS (full chip small), EVAL_VARIANTS override the lists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
data=${DATA:-../shared/data/faces}
out=.cache/detect
mkdir -p "$out"
read -r -a sets <<< "${SETS:-deepface face-api dlib-johns orl east-asian}"
variants=${VARIANTS:-"full chip small"}
eval_variants=${EVAL_VARIANTS:-"full chip"}
detectors=${DETECTORS:-"fr_detect fr_detect+mmod fr_hog+mmod hog+mmod dlib_recipe"}
eval_detectors=${EVAL_DETECTORS:-"fr_hog+mmod fr_detect+mmod hog+mmod"}
embedder=${EMBEDDER:-dlib_resnet_xnn_v1}
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(detect eval table)
src() { if [ "$1" = deepface ]; then echo "$data/deepface/master.csv"; else echo "--folders $data/$1"; fi; }
for step in "${steps[@]}"; do
  case $step in
  detect)
    for s in "${sets[@]}"; do
      for v in $variants; do
        args=()
        for d in $detectors; do args+=(--detector "$d"); done
        echo "[detectors] detect-eval $s ($v)" >&2
        nice -n 5 "$build/simkyc" detect-eval "$data/$s" "${args[@]}" --variant "$v" --json > "$out/detect-$s-$v.json.tmp" && mv "$out/detect-$s-$v.json.tmp" "$out/detect-$s-$v.json"
      done
    done ;;
  eval)
    for d in $eval_detectors; do
      for s in "${sets[@]}"; do
        for v in $eval_variants; do
          f="$out/eval-$d-$embedder-$s-$v.json"
          extra=(); [ "$v" = chip ] && extra=(--id-portrait)
          echo "[detectors] eval $s ($v) with $d + $embedder" >&2
          start=$(date +%s.%N)
          # shellcheck disable=SC2046
          nice -n 5 "$build/simkyc" eval $(src "$s") --detector "$d" --embedder "$embedder" "${extra[@]}" --json > "$f.tmp" 2>/dev/null
          mv "$f.tmp" "$f"
          awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' > "$f.seconds"
        done
      done
    done ;;
  table)
    node - "$out" "$embedder" "${sets[*]}" "$detectors" "$eval_detectors" <<'JS'
const fs = require('fs');
const [out, embedder, sets, dets, evalDets] = process.argv.slice(2).map((x, i) => i >= 2 ? x.split(' ') : x);
const load = (f) => fs.existsSync(`${out}/${f}`) ? JSON.parse(fs.readFileSync(`${out}/${f}`, 'utf8')) : null;
const pct = (n, d) => `${n} (${(100 * n / d).toFixed(2)}%)`;
let md = '### Detection: photos with no face found (detect-eval; every photo of each folder)\n\n';
md += '| detector | ' + sets.map((s) => `${s} full / chip / small`).join(' | ') + ' | median ms a photo (east-asian full / chip / small) |\n';
md += '|---|' + sets.map(() => '---|').join('') + '---|\n';
for (const d of dets) {
  const cells = sets.map((s) => ['full', 'chip', 'small'].map((v) => {
    const j = load(`detect-${s}-${v}.json`); if (!j) return '-';
    const r = j.detectors.find((x) => x.detector === d); return r ? `${r.no_face}/${r.images}` : '-';
  }).join(' / '));
  const ms = ['full', 'chip', 'small'].map((v) => {
    const j = load(`detect-east-asian-${v}.json`); const r = j && j.detectors.find((x) => x.detector === d);
    return r ? r.ms_median.toFixed(1) : '-';
  }).join(' / ');
  md += `| ${d} | ${cells.join(' | ')} | ${ms} |\n`;
}
md += `\n### Whole pipeline (simkyc eval --detector D --embedder ${embedder}; chip: --id-portrait)\n\n`;
md += '| detector | set | FTE full | FTE chip copies | EER full / chip | TAR@1e-2 full / chip | TAR@1e-3 full / chip | MULTIPLE_FACES flags | wall s full |\n|---|---|---|---|---|---|---|---|---|\n';
for (const d of evalDets) for (const s of sets) {
  const f = load(`eval-${d}-${embedder}-${s}-full.json`), c = load(`eval-${d}-${embedder}-${s}-chip.json`);
  if (!f) continue;
  const t = (j, k) => !j ? '-' : j.tar_at_far[k].supported ? j.tar_at_far[k].tar.toFixed(4) : 'n/s';
  const sec = fs.existsSync(`${out}/eval-${d}-${embedder}-${s}-full.json.seconds`) ? fs.readFileSync(`${out}/eval-${d}-${embedder}-${s}-full.json.seconds`, 'utf8').trim() : '-';
  md += `| ${d} | ${s} | ${pct(f.fte.count, f.images)} | ${c ? c.fte_chip_copies : '-'} | ${f.eer.toFixed(4)} / ${c ? c.eer.toFixed(4) : '-'} | ${t(f, '1e-2')} / ${t(c, '1e-2')} | ${t(f, '1e-3')} / ${t(c, '1e-3')} | ${f.quality.by_reason.MULTIPLE_FACES || 0} | ${sec} |\n`;
}
fs.writeFileSync(`${out}/table.md`, md);
process.stdout.write(md);
JS
    ;;
  *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
