#!/usr/bin/env bash
# Runs `simkyc eval` on every development set and writes docs/accuracy.md with ROC plots.
#   bash tools/accuracy.sh [--data DIR]   (default ../shared/data/faces)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/../shared/data/faces"
[ "${1:-}" = "--data" ] && data=$2
data=$(cd "$data" && pwd)
"$root/scripts/setup.sh" >/dev/null
out="$root/docs/accuracy.md"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sets=(
  "deepface|$data/deepface/master.csv"
  "face-api|--folders $data/face-api"
  "dlib-johns|--folders $data/dlib-johns"
  "orl|--folders $data/orl"
  "east-asian|--folders $data/east-asian"
)
for s in "${sets[@]}"; do
  name=${s%%|*}; src=${s#*|}
  echo "[accuracy] $name" >&2
  # shellcheck disable=SC2086
  "$root/build/simkyc" eval $src --json --plot "$root/docs/img/roc-$name.svg" > "$tmp/$name.json"
done
node - "$tmp" "$out" "$data" "$root/models/manifest.json" "${sets[@]}" <<'JS'
const fs = require('fs');
const [tmp, out, data, manifestPath, ...sets] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const pct = (x) => (100 * x).toFixed(2) + '%';
let md = `# Accuracy\n\nMade by \`bash tools/accuracy.sh\` (each row is \`simkyc eval ... --json\`) on ${new Date().toISOString().slice(0, 10)}.\n`;
md += `Data: \`${data.replace(/.*\/shared\//, '../shared/')}\`. Models: ` +
  Object.entries(manifest.packages).map(([n, p]) => `npm \`${n}\` ${p.version}`).join(', ') +
  `; descriptor \`dlib_resnet_v1\` (cosine similarity), detector dlib HOG with MMOD fallback.\n\n`;
md += 'TAR at a FAR is measured at the threshold that reaches that FAR on the set itself; "n/s" means the set has too few impostor pairs to measure that FAR (fewer than 1/FAR).\n\n';
md += '| set | images | FTE | genuine pairs | impostor pairs | EER | TAR @ FAR 1e-2 | TAR @ 1e-3 | TAR @ 1e-4 | best accuracy |\n|---|---|---|---|---|---|---|---|---|---|\n';
for (const s of sets) {
  const name = s.split('|')[0];
  const j = JSON.parse(fs.readFileSync(`${tmp}/${name}.json`, 'utf8'));
  const t = (k) => j.tar_at_far[k].supported ? j.tar_at_far[k].tar.toFixed(4) : 'n/s';
  md += `| ${name} | ${j.images} | ${j.fte.count} (${pct(j.fte.rate)}) | ${j.pairs.genuine} | ${j.pairs.impostor} | ${j.eer.toFixed(4)} | ${t('1e-2')} | ${t('1e-3')} | ${t('1e-4')} | ${j.best_accuracy.toFixed(4)} |\n`;
}
md += '\n## ROC curves\n\n' + sets.map((s) => { const n = s.split('|')[0]; return `![${n}](img/roc-${n}.svg)`; }).join('\n') + '\n';
fs.writeFileSync(out, md);
console.error(`[accuracy] wrote ${out}`);
JS
