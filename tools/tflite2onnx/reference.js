#!/usr/bin/env node
// Runs a .tflite model with the TensorFlow Lite runtime itself — @tensorflow/tfjs-tflite's WASM
// build of TFLite (with its XNNPACK delegate, one thread), in Debian's headless Chromium driven
// by playwright-core — on input tensors: the reference that tests/test_dnn.cpp compares the
// converted ONNX model (tools/tflite2onnx) against.  Offline: every file the page loads
// (tfjs-core, tf-tflite, the WASM module, the model) is answered from local files by a request
// route on a made-up origin; any other request is refused and fails the run.
//   node reference.js MODEL.tflite INPUT.f32... [--modules DIR] [--chromium PATH]
//     INPUT.f32   raw little-endian float32 values of one input tensor in the model's own shape
//                 (e.g. [2,112,112,3] NHWC), one tensor a file
//     --modules   node_modules holding playwright-core, @tensorflow/tfjs, @tensorflow/tfjs-tflite
//                 (default: models/tools/node_modules)
// Prints, as its last line, a JSON array with one object per input file:
//   [{ "shape": [...], "data": [...] }, ...]  (the model's first output)
// Exit: 0, 1 on an error, 77 when chromium or a module is missing.
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const argv = process.argv.slice(2);
  let modules = path.resolve(__dirname, '../../models/tools/node_modules');
  let chromium = '/usr/bin/chromium';
  const pos = [];
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--modules') modules = path.resolve(argv[++i]);
    else if (argv[i] === '--chromium') chromium = argv[++i];
    else pos.push(argv[i]);
  }
  if (pos.length < 2) {
    console.error('usage: reference.js MODEL.tflite INPUT.f32... [--modules DIR] [--chromium PATH]');
    process.exit(2);
  }
  const [modelPath, ...inputs] = pos;
  const files = {
    '/tf-core.js': path.join(modules, '@tensorflow/tfjs-core/dist/tf-core.min.js'),
    '/tf-backend-cpu.js': path.join(modules, '@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.min.js'),
    '/tf-tflite.js': path.join(modules, '@tensorflow/tfjs-tflite/dist/tf-tflite.min.js'),
    '/model.tflite': modelPath,
  };
  const wasmDir = path.join(modules, '@tensorflow/tfjs-tflite/wasm');
  let playwright;
  try { playwright = require(path.join(modules, 'playwright-core')); } catch { /* below */ }
  const missing = Object.values(files).filter((f) => !fs.existsSync(f));
  if (!playwright || !fs.existsSync(chromium) || missing.length || !fs.existsSync(wasmDir)) {
    console.error(`[tflite-reference] SKIP: needs ${chromium}, playwright-core and ${missing.concat(fs.existsSync(wasmDir) ? [] : [wasmDir]).join(', ') || 'the tfjs modules'} (bash scripts/setup.sh)`);
    process.exit(77);
  }
  for (const f of fs.readdirSync(wasmDir)) files[`/${f}`] = path.join(wasmDir, f);
  const ORIGIN = 'http://tflite-reference.invalid';
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.tflite': 'application/octet-stream', '.html': 'text/html' };
  const browser = await playwright.chromium.launch({
    executablePath: chromium, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const refused = [];
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(120000);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== ORIGIN) { refused.push(url.href); return route.abort(); }
      if (url.pathname === '/') return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>tflite</title>' });
      const f = files[url.pathname];
      if (!f) { refused.push(url.href); return route.fulfill({ status: 404, body: '' }); }
      return route.fulfill({ status: 200, contentType: types[path.extname(f)] || 'application/octet-stream', body: fs.readFileSync(f) });
    });
    await page.goto(`${ORIGIN}/`);
    for (const s of ['/tf-core.js', '/tf-backend-cpu.js', '/tf-tflite.js']) await page.addScriptTag({ url: s });
    const results = [];
    for (const input of inputs) {
      const buf = fs.readFileSync(input);
      const data = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
      const out = await page.evaluate(async ({ data }) => {
        /* global tf, tflite */
        if (!window.model) {
          tflite.setWasmPath(`${location.origin}/`);
          window.model = await tflite.loadTFLiteModel('/model.tflite', { numThreads: 1 });
        }
        const shape = window.model.inputs[0].shape;
        const x = tf.tensor(data, shape, 'float32');
        const y = window.model.predict(x);
        const t = y instanceof tf.Tensor ? y : Object.values(y)[0];
        return { shape: t.shape, data: Array.from(await t.data()) };
      }, { data });
      results.push(out);
    }
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    if (refused.length) throw new Error(`the page asked for files it was not given: ${refused.join(', ')}`);
    console.log(JSON.stringify(results));
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error(`[tflite-reference] ${e.stack || e.message}`); process.exit(1); });
