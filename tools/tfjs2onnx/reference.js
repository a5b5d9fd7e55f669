#!/usr/bin/env node
// Runs a TensorFlow.js graph model with TF.js itself (CPU backend) on one input tensor: the
// reference that tests/test_dnn.cpp compares the converted ONNX models against.
//   node reference.js MODEL.json N,H,W,C OUTPUT_NODE[,OUTPUT_NODE...] INPUT.f32... [--modules DIR]
//     INPUT.f32   raw little-endian float32 values in TF's NHWC order, one tensor a file
//     --modules   node_modules holding @tensorflow/tfjs (default: models/tools/node_modules)
// Prints, as its last line, a JSON array with one object per input file:
//   [{ "OUTPUT_NODE": { "shape": [...], "data": [...] }, ... }, ...]
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const argv = process.argv.slice(2);
  let modules = path.resolve(__dirname, '../../models/tools/node_modules');
  const pos = [];
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--modules') modules = path.resolve(argv[++i]);
    else pos.push(argv[i]);
  }
  if (pos.length < 4) {
    console.error('usage: reference.js MODEL.json N,H,W,C OUTPUT_NODE[,...] INPUT.f32... [--modules DIR]');
    process.exit(2);
  }
  const [modelPath, shapeArg, outputArg, ...inputs] = pos;
  const outputs = outputArg.split(',');
  const tf = require(path.join(modules, '@tensorflow/tfjs'));
  await tf.setBackend('cpu');
  const model = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const dir = path.dirname(modelPath);
  const specs = [];
  const shards = [];
  for (const g of model.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) shards.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const graph = await tf.loadGraphModel({
    load: async () => ({ modelTopology: model.modelTopology, weightSpecs: specs, weightData,
      format: model.format, generatedBy: model.generatedBy, convertedBy: model.convertedBy,
      signature: model.signature, userDefinedMetadata: model.userDefinedMetadata }),
  });
  const shape = shapeArg.split(',').map(Number);
  const results = [];
  for (const inputPath of inputs) {
    const raw = fs.readFileSync(inputPath);
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`${inputPath}: size does not match the shape`);
    const x = tf.tensor(values, shape, 'float32');
    const res = graph.execute(x, outputs);
    const list = Array.isArray(res) ? res : [res];
    const out = {};
    for (let i = 0; i < outputs.length; ++i) out[outputs[i]] = { shape: list[i].shape, data: Array.from(list[i].dataSync()) };
    results.push(out);
    tf.dispose([x, ...list]);
  }
  process.stdout.write(`\n${JSON.stringify(results)}\n`);
}

main().catch((e) => { console.error(`reference: ${e.message}`); process.exit(1); });
