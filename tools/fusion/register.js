// Records a fitted fusion model in models/manifest.json ("in_repo": true, its SHA-256), so that
// scripts/models.js verify checks it and the C++ code (find_model) finds it.
//   node tools/fusion/register.js MANIFEST ID FILE_RELATIVE_TO_MODELS_DIR [ISSUE]   (default issue 7)
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const [manifestPath, id, file, issue = '7'] = process.argv.slice(2);
if (!manifestPath || !id || !file) { console.error('usage: register.js MANIFEST ID FILE'); process.exit(2); }
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const full = path.join(path.dirname(manifestPath), file);
const model = JSON.parse(fs.readFileSync(full, 'utf8'));
if (model.id !== id || model.kind !== 'fusion') { console.error(`${file} is not fusion model ${id}`); process.exit(1); }
const p = model.provenance || {};
const parts = model.parts.map((x) => `${x.embedder}${x.box_margin >= 0 ? ` (box + ${x.box_margin})` : ''}${x.flip ? ' + mirror' : ''}`).join(', ');
manifest.models[id] = {
  in_repo: true,
  file,
  sha256: crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex'),
  version: model.version,
  kind: 'embedder',
  licence: `this project's; fitted by tools/fusion (fusion_tool fit) on ${p.data} (${p.people} people), see docs/accuracy.md`,
  description: `fusion of ${parts}: ${p.fitted_as}, ${model.dims}-d, cosine (issue ${issue})`,
};
fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
console.error(`[register] ${id} ${manifest.models[id].sha256}`);
