#!/usr/bin/env node
// Converts a TensorFlow Lite flatbuffer (.tflite) to an ONNX model that OpenCV's dnn module (4.6)
// runs, with batch 1.  Run at set-up by scripts/models.js; see docs/inference.md.
//   node convert.js MODEL.tflite OUT.onnx [--modules DIR] [--proto FILE] [--input NAME] [--output NAME]
//     --modules  node_modules holding protobufjs (default: models/tools/node_modules)
//     --proto    ONNX schema (default: Debian libonnx-dev's /usr/include/onnx/onnx.proto)
//     --input / --output  names of the ONNX graph's input and output (default: input, output)
//
// What it promises: the ONNX graph computes what the TFLite graph computes for one image, op for
// op.  The TFLite file is read by tflite.js (the schema's tables, bounds-checked).  Weights are
// copied bit for bit; float16 weights (behind DEQUANTIZE) become float32 exactly, int8/uint8
// weights with scale and zero point are dequantised to float32 ((q - zero_point) * scale, per
// channel where given).  Activations are NCHW in ONNX (NHWC in TFLite): filters are transposed
// (OHWI -> OIHW; depthwise [1,H,W,C*M] -> [C*M,1,H,W] with group C), per-channel constants
// become [1,C,1,1] (or [C,1,1]), and TFLite's SAME padding becomes explicit pads.  The batch
// dimension is 1 whatever the file says (MobileFaceNet.tflite is fixed at 2).  Fused activations
// become Relu / Clip nodes.  One pattern is rewritten, exactly: relu(x) + c * (x - |x|), how
// TensorFlow's converter writes a PReLU, becomes PRelu(x, 2c) (x - |x| = 2x for x < 0 and 0
// otherwise, and doubling is exact in binary floating point).  Any other op is an error naming it.
// Deterministic: the same input gives the same bytes.
'use strict';
const fs = require('fs');
const path = require('path');
const { readTflite } = require('./tflite');

function parseArgs(argv) {
  const a = { pos: [], modules: path.resolve(__dirname, '../../models/tools/node_modules'),
    proto: '/usr/include/onnx/onnx.proto', input: 'input', output: 'output' };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--modules') a.modules = argv[++i];
    else if (argv[i] === '--proto') a.proto = argv[++i];
    else if (argv[i] === '--input') a.input = argv[++i];
    else if (argv[i] === '--output') a.output = argv[++i];
    else a.pos.push(argv[i]);
  }
  if (a.pos.length !== 2) {
    console.error('usage: convert.js MODEL.tflite OUT.onnx [--modules DIR] [--proto FILE] [--input NAME] [--output NAME]');
    process.exit(2);
  }
  return a;
}

function halfToFloat(h) {
  const s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  let v;
  if (e === 0) v = m * 2 ** -24;
  else if (e === 31) v = m ? NaN : Infinity;
  else v = (1 + m / 1024) * 2 ** (e - 15);
  return s ? -v : v;
}

// The values of a constant tensor as float32 (or int32 for int32/int64 shapes and indices).
function constValues(t) {
  const n = t.shape.reduce((x, y) => x * y, 1);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const get = {
    float32: (i) => dv.getFloat32(4 * i, true), float16: (i) => halfToFloat(dv.getUint16(2 * i, true)),
    int32: (i) => dv.getInt32(4 * i, true), int64: (i) => Number(dv.getBigInt64(8 * i, true)),
    int8: (i) => dv.getInt8(i), uint8: (i) => dv.getUint8(i), int16: (i) => dv.getInt16(2 * i, true),
  }[t.type];
  if (!get) throw new Error(`tensor ${t.name}: constant of type ${t.type}`);
  if ((t.type === 'int32' || t.type === 'int64') && !t.quant) return Int32Array.from({ length: n }, (_, i) => get(i));
  const out = new Float32Array(n);
  if (t.quant && t.type !== 'float32' && t.type !== 'float16') {
    const { scale, zeroPoint, dim } = t.quant;
    const inner = t.shape.slice(dim + 1).reduce((x, y) => x * y, 1);
    const along = t.shape[dim] || 1;
    for (let i = 0; i < n; ++i) {
      const c = scale.length === 1 ? 0 : Math.floor(i / inner) % along;
      out[i] = (get(i) - (zeroPoint[c] ?? zeroPoint[0] ?? 0)) * scale[c];
    }
  } else {
    for (let i = 0; i < n; ++i) out[i] = get(i);
  }
  return out;
}

// Row-major transpose (out axis i = in axis perm[i]).
function transpose(data, shape, perm) {
  const n = data.length, rank = shape.length;
  const out = new data.constructor(n);
  const st = new Array(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; --i) { st[i] = s; s *= shape[i]; }
  const os = perm.map((p) => shape[p]);
  const idx = new Array(rank).fill(0);
  for (let o = 0; o < n; ++o) {
    let src = 0;
    for (let i = 0; i < rank; ++i) src += idx[i] * st[perm[i]];
    out[o] = data[src];
    for (let i = rank - 1; i >= 0; --i) { if (++idx[i] < os[i]) break; idx[i] = 0; }
  }
  return out;
}

// TFLite's SAME padding (as the TFLite kernels compute it): [before, after] for one dimension.
function samePad(inSize, k, s, dil) {
  const ek = (k - 1) * dil + 1;
  const out = Math.ceil(inSize / s);
  const total = Math.max(0, (out - 1) * s + ek - inSize);
  return [Math.floor(total / 2), total - Math.floor(total / 2), out];
}

class Converter {
  constructor(g, args) {
    this.g = g;
    this.args = args;
    this.nodes = [];
    this.inits = [];
    this.uniq = 0;
    this.flops = 0;
    this.names = new Map();   // tensor index -> ONNX name (activations)
    this.shapes = new Map();  // tensor index -> TFLite (NHWC) shape with batch 1
    this.consts = new Map();  // tensor index -> float values (constants, after DEQUANTIZE)
    this.uses = new Map();
    for (const o of g.operators) for (const i of o.inputs) if (i >= 0) this.uses.set(i, (this.uses.get(i) || 0) + 1);
    for (const i of g.outputs) this.uses.set(i, (this.uses.get(i) || 0) + 1);
  }
  fresh(base) { return `${base}__${++this.uniq}`; }
  tensor(i) { return this.g.tensors[i]; }
  isConst(i) { return this.consts.has(i) || !!this.tensor(i).data; }
  constOf(i) {
    if (!this.consts.has(i)) {
      const t = this.tensor(i);
      if (!t.data) throw new Error(`tensor ${t.name} is not a constant`);
      this.consts.set(i, constValues(t));
    }
    return this.consts.get(i);
  }
  init(base, dims, data, dataType = 1) {
    const name = this.fresh(base);
    let raw;
    if (dataType === 7) raw = Buffer.from(new BigInt64Array(Array.from(data, (v) => BigInt(v))).buffer);
    else raw = Buffer.from(Float32Array.from(data).buffer);
    this.inits.push({ name, dims, dataType, rawData: raw });
    return name;
  }
  node(op, inputs, outputs, attrs = {}) {
    const attribute = [];
    for (const [k, v] of Object.entries(attrs)) {
      if (Array.isArray(v)) attribute.push({ name: k, type: 7, ints: v });
      else if (typeof v === 'string') attribute.push({ name: k, type: 3, s: Buffer.from(v) });
      else if (Number.isInteger(v) && !['min', 'max', 'alpha'].includes(k)) attribute.push({ name: k, type: 2, i: v });
      else attribute.push({ name: k, type: 1, f: v });
    }
    this.nodes.push({ opType: op, input: inputs, output: outputs, name: outputs[0], attribute });
  }
  act(i) {
    const n = this.names.get(i);
    if (!n) throw new Error(`tensor ${this.tensor(i).name} is used before it is made`);
    return n;
  }
  // Output tensor `i` of an op: its ONNX name (the graph output's name for the graph's output).
  out(i, shape) {
    const t = this.tensor(i);
    const name = this.g.outputs.includes(i) ? this.args.output : t.name;
    this.names.set(i, name);
    this.shapes.set(i, shape);
    return name;
  }
  // A fused activation after the op writing `raw` into tensor `i`.
  withAct(act, i, shape, emit) {
    if (act === 'NONE' || !act) { emit(this.out(i, shape)); return; }
    const tmp = this.fresh(this.tensor(i).name);
    emit(tmp);
    const name = this.out(i, shape);
    if (act === 'RELU') this.node('Relu', [tmp], [name]);
    else if (act === 'RELU6') this.node('Clip', [tmp], [name], { min: 0, max: 6 });
    else if (act === 'RELU_N1_TO_1') this.node('Clip', [tmp], [name], { min: -1, max: 1 });
    else if (act === 'TANH') this.node('Tanh', [tmp], [name]);
    else throw new Error(`fused activation ${act}`);
  }
  // A constant next to an NHWC activation of rank `rank`, in ONNX layout.
  constLike(i, rank) {
    const t = this.tensor(i);
    const v = this.constOf(i);
    const shape = t.shape.length ? t.shape.slice() : [1];
    if (rank === 4 && v.length > 1) {
      if (shape.length === 4 && v.length !== shape[3]) return this.init(t.name, [shape[0], shape[3], shape[1], shape[2]], transpose(v, shape, [0, 3, 1, 2]));
      if (v.length !== shape[shape.length - 1]) throw new Error(`constant ${t.name} [${shape}] does not broadcast per channel`);
      return this.init(t.name, [1, v.length, 1, 1], v);
    }
    return this.init(t.name, v.length === 1 ? [1] : shape, v);
  }

  // relu(x) + c * (x - |x|) with every intermediate used once: the operators and x, c.
  prelu(k) {
    const ops = this.g.operators;
    const add = ops[k];
    if (add.op !== 'ADD' || add.options.act !== 'NONE') return null;
    const maker = new Map();
    for (let j = 0; j < ops.length; ++j) for (const o of ops[j].outputs) maker.set(o, j);
    const once = (i) => this.uses.get(i) === 1 && !this.g.outputs.includes(i);
    for (const [ri, mi] of [[add.inputs[0], add.inputs[1]], [add.inputs[1], add.inputs[0]]]) {
      const relu = ops[maker.get(ri)], mul = ops[maker.get(mi)];
      if (!relu || !mul || relu.op !== 'RELU' || mul.op !== 'MUL' || mul.options.act !== 'NONE' || !once(ri) || !once(mi)) continue;
      const x = relu.inputs[0];
      for (const [ci, si] of [[mul.inputs[0], mul.inputs[1]], [mul.inputs[1], mul.inputs[0]]]) {
        const sub = ops[maker.get(si)];
        if (!this.isConst(ci) || !sub || sub.op !== 'SUB' || sub.options.act !== 'NONE' || !once(si) || sub.inputs[0] !== x) continue;
        const abs = ops[maker.get(sub.inputs[1])];
        if (!abs || abs.op !== 'ABS' || abs.inputs[0] !== x || !once(sub.inputs[1])) continue;
        return { x, c: ci, skip: [maker.get(ri), maker.get(mi), maker.get(si), maker.get(sub.inputs[1])] };
      }
    }
    return null;
  }

  convert() {
    const g = this.g;
    if (g.inputs.length !== 1 || g.outputs.length !== 1) throw new Error('one input and one output expected');
    const inT = this.tensor(g.inputs[0]);
    if (inT.shape.length !== 4 || inT.type !== 'float32') throw new Error(`input ${inT.name}: [${inT.shape}] ${inT.type}, want 4-D float32`);
    const inShape = [1, inT.shape[1], inT.shape[2], inT.shape[3]];
    this.names.set(g.inputs[0], this.args.input);
    this.shapes.set(g.inputs[0], inShape);
    const inputs = [{ name: this.args.input, type: { tensorType: { elemType: 1, shape: { dim: [1, inShape[3], inShape[1], inShape[2]].map((d) => ({ dimValue: d })) } } } }];
    // The PReLU patterns first: their ADD is where PRelu is written, the other four are skipped.
    const skip = new Set(), preluAt = new Map();
    for (let k = 0; k < g.operators.length; ++k) {
      const p = this.prelu(k);
      if (p) { preluAt.set(k, p); for (const s of p.skip) skip.add(s); }
    }
    for (let k = 0; k < g.operators.length; ++k) {
      if (skip.has(k)) continue;
      const o = g.operators[k];
      if (preluAt.has(k)) {
        const { x, c } = preluAt.get(k);
        const v = this.constOf(c);
        const shape = this.shapes.get(x);
        const slope = Float32Array.from(v, (a) => 2 * a);
        const dims = shape.length === 4 ? (v.length === 1 ? [1, 1, 1] : [v.length, 1, 1]) : [v.length];
        this.node('PRelu', [this.act(x), this.init(this.tensor(c).name, dims, slope)], [this.out(o.outputs[0], shape)]);
        continue;
      }
      this.op(o);
    }
    const outT = g.outputs[0];
    if (!this.names.has(outT) || this.names.get(outT) !== this.args.output) throw new Error('the graph output is not made by an op');
    const os = this.shapes.get(outT);
    const onnxShape = os.length === 4 ? [os[0], os[3], os[1], os[2]] : os;
    return { inputs, outputs: [{ name: this.args.output, type: { tensorType: { elemType: 1, shape: { dim: onnxShape.map((d) => ({ dimValue: d })) } } } }] };
  }

  op(o) {
    const name = o.op, opt = o.options, t = (i) => this.tensor(i);
    const outIx = o.outputs[0];
    if (name === 'DEQUANTIZE') {   // of a constant (float16 or int8 weights): the float values
      if (!this.isConst(o.inputs[0])) throw new Error(`DEQUANTIZE of an activation (${t(outIx).name}) is not supported`);
      this.consts.set(outIx, this.constOf(o.inputs[0]));
      return;
    }
    if (name === 'CONV_2D' || name === 'DEPTHWISE_CONV_2D') {
      const [x, wi, bi] = o.inputs;
      const s = this.shapes.get(x);
      const ws = t(wi).shape, w = this.constOf(wi);
      if (s.length !== 4 || ws.length !== 4) throw new Error(`${name} ${t(outIx).name}: shapes`);
      const dw = name === 'DEPTHWISE_CONV_2D';
      const kh = ws[1], kw = ws[2];
      const oc = dw ? ws[3] : ws[0];
      const ic = s[3];
      if (!dw && ws[3] !== ic) throw new Error(`${name} ${t(outIx).name}: filter [${ws}] for ${ic} channels`);
      if (dw && oc !== ic * (opt.multiplier || oc / ic)) throw new Error(`${name} ${t(outIx).name}: depth multiplier`);
      let pads = [0, 0, 0, 0], oh, ow;
      if (opt.padding === 'SAME') {
        const [t0, b0, h] = samePad(s[1], kh, opt.strideH, opt.dilH);
        const [l0, r0, wd] = samePad(s[2], kw, opt.strideW, opt.dilW);
        pads = [t0, l0, b0, r0]; oh = h; ow = wd;
      } else {
        oh = Math.floor((s[1] - ((kh - 1) * opt.dilH + 1)) / opt.strideH) + 1;
        ow = Math.floor((s[2] - ((kw - 1) * opt.dilW + 1)) / opt.strideW) + 1;
      }
      // OHWI -> OIHW; depthwise [1,H,W,C*M] -> [C*M,1,H,W]
      const filt = dw ? transpose(w, [kh, kw, oc], [2, 0, 1]) : transpose(w, ws, [0, 3, 1, 2]);
      const fdims = dw ? [oc, 1, kh, kw] : [oc, ic, kh, kw];
      const ins = [this.act(x), this.init(t(wi).name, fdims, filt)];
      if (bi >= 0) ins.push(this.init(t(bi).name, [oc], this.constOf(bi)));
      this.flops += 2 * oh * ow * oc * kh * kw * (dw ? 1 : ic);
      this.withAct(opt.act, outIx, [1, oh, ow, oc], (out) => this.node('Conv', ins, [out], {
        dilations: [opt.dilH, opt.dilW], group: dw ? ic : 1, kernel_shape: [kh, kw], pads, strides: [opt.strideH, opt.strideW] }));
      return;
    }
    if (name === 'ADD' || name === 'SUB' || name === 'MUL' || name === 'DIV') {
      const onnxOp = { ADD: 'Add', SUB: 'Sub', MUL: 'Mul', DIV: 'Div' }[name];
      const [a, b] = o.inputs;
      const ca = this.isConst(a), cb = this.isConst(b);
      if (ca && cb) throw new Error(`${name} of two constants (${t(outIx).name})`);
      const shape = this.shapes.get(ca ? b : a);
      const other = ca ? b : a;
      if (!ca && !cb && JSON.stringify(this.shapes.get(a)) !== JSON.stringify(this.shapes.get(b))) throw new Error(`${name} ${t(outIx).name}: different shapes`);
      const ins = [ca ? this.constLike(a, shape.length) : this.act(a), cb ? this.constLike(b, shape.length) : this.act(b)];
      void other;
      this.withAct(opt.act, outIx, shape, (out) => this.node(onnxOp, ins, [out]));
      return;
    }
    if (['RELU', 'RELU6', 'ABS', 'LOGISTIC', 'TANH'].includes(name)) {
      const x = o.inputs[0];
      const out = this.out(outIx, this.shapes.get(x));
      if (name === 'RELU6') this.node('Clip', [this.act(x)], [out], { min: 0, max: 6 });
      else this.node({ RELU: 'Relu', ABS: 'Abs', LOGISTIC: 'Sigmoid', TANH: 'Tanh' }[name], [this.act(x)], [out]);
      return;
    }
    if (name === 'PRELU') {
      const [x, ai] = o.inputs;
      const v = this.constOf(ai);
      const shape = this.shapes.get(x);
      const dims = shape.length === 4 ? (v.length === 1 ? [1, 1, 1] : [v.length, 1, 1]) : [v.length];
      this.node('PRelu', [this.act(x), this.init(t(ai).name, dims, v)], [this.out(outIx, shape)]);
      return;
    }
    if (name === 'MAX_POOL_2D' || name === 'AVERAGE_POOL_2D') {
      const x = o.inputs[0];
      const s = this.shapes.get(x);
      let pads = [0, 0, 0, 0], oh, ow;
      if (opt.padding === 'SAME') {
        const [t0, b0, h] = samePad(s[1], opt.filterH, opt.strideH, 1);
        const [l0, r0, wd] = samePad(s[2], opt.filterW, opt.strideW, 1);
        pads = [t0, l0, b0, r0]; oh = h; ow = wd;
        // TFLite's padded average pooling divides by the cells inside the image (count_include_pad 0,
        // ONNX's default).
      } else {
        oh = Math.floor((s[1] - opt.filterH) / opt.strideH) + 1;
        ow = Math.floor((s[2] - opt.filterW) / opt.strideW) + 1;
      }
      this.withAct(opt.act, outIx, [1, oh, ow, s[3]], (out) => this.node(name === 'MAX_POOL_2D' ? 'MaxPool' : 'AveragePool', [this.act(x)], [out],
        { kernel_shape: [opt.filterH, opt.filterW], pads, strides: [opt.strideH, opt.strideW] }));
      return;
    }
    if (name === 'MEAN') {
      const [x, ai] = o.inputs;
      const axes = Array.from(this.constOf(ai)).sort();
      const s = this.shapes.get(x);
      if (s.length !== 4 || JSON.stringify(axes) !== '[1,2]') throw new Error(`MEAN ${t(outIx).name} over axes other than height and width`);
      if (opt.keepDims) { this.node('GlobalAveragePool', [this.act(x)], [this.out(outIx, [1, 1, 1, s[3]])]); return; }
      const tmp = this.fresh(t(outIx).name);
      this.node('GlobalAveragePool', [this.act(x)], [tmp]);
      this.node('Flatten', [tmp], [this.out(outIx, [1, s[3]])], { axis: 1 });
      return;
    }
    if (name === 'RESHAPE' || name === 'SQUEEZE') {
      const x = o.inputs[0];
      const s = this.shapes.get(x);
      const total = s.reduce((p, q) => p * q, 1);
      let target = t(outIx).shape.slice();
      if (!target.length) throw new Error(`${name} ${t(outIx).name}: unknown output shape`);
      target[0] = 1;   // batch 1
      if (target.reduce((p, q) => p * q, 1) !== total) {
        target = target.map((d, i) => (i === 0 ? 1 : d));
        if (target.reduce((p, q) => p * q, 1) !== total) throw new Error(`${name} ${t(outIx).name}: [${s}] to [${t(outIx).shape}]`);
      }
      let src = this.act(x);
      // TFLite's element order is NHWC: unless H = W = 1 (or C = 1) go back to NHWC first.
      if (s.length === 4 && !((s[1] === 1 && s[2] === 1) || s[3] === 1)) {
        const tr = this.fresh(`${t(outIx).name}/nhwc`);
        this.node('Transpose', [src], [tr], { perm: [0, 2, 3, 1] });
        src = tr;
      }
      let outShape = target;
      let onnxTarget = target;
      if (target.length === 4) {   // another 4-D NHWC shape: back to NCHW after the reshape
        if (s.length === 4 && !((s[1] === 1 && s[2] === 1) || s[3] === 1)) throw new Error(`${name} ${t(outIx).name}: 4-D to 4-D`);
        onnxTarget = [target[0], target[3], target[1], target[2]];
        if (!((target[1] === 1 && target[2] === 1) || target[3] === 1)) throw new Error(`${name} ${t(outIx).name}: to a 4-D image`);
      }
      this.node('Reshape', [src, this.init(`${t(outIx).name}/shape`, [onnxTarget.length], onnxTarget, 7)], [this.out(outIx, outShape)]);
      return;
    }
    if (name === 'FULLY_CONNECTED') {
      const [x, wi, bi] = o.inputs;
      const ws = t(wi).shape;
      const s = this.shapes.get(x);
      if (ws.length !== 2) throw new Error(`FULLY_CONNECTED ${t(outIx).name}: weights [${ws}]`);
      let src = this.act(x);
      if (s.length !== 2 || s[1] !== ws[1]) {
        const total = s.reduce((p, q) => p * q, 1);
        if (total !== ws[1]) throw new Error(`FULLY_CONNECTED ${t(outIx).name}: input [${s}] for weights [${ws}]`);
        if (s.length === 4 && !((s[1] === 1 && s[2] === 1) || s[3] === 1)) {
          const tr = this.fresh(`${t(outIx).name}/nhwc`);
          this.node('Transpose', [src], [tr], { perm: [0, 2, 3, 1] });
          src = tr;
        }
        const fl = this.fresh(`${t(outIx).name}/flat`);
        this.node('Flatten', [src], [fl], { axis: 1 });
        src = fl;
      }
      const ins = [src, this.init(t(wi).name, ws, this.constOf(wi))];
      ins.push(bi >= 0 ? this.init(t(bi).name, [ws[0]], this.constOf(bi)) : this.init(`${t(outIx).name}/zero_bias`, [ws[0]], new Float32Array(ws[0])));
      this.flops += 2 * ws[0] * ws[1];
      this.withAct(opt.act, outIx, [1, ws[0]], (out) => this.node('Gemm', ins, [out], { transB: 1 }));
      return;
    }
    throw new Error(`op ${name}${o.custom ? ` (${o.custom})` : ''} of ${t(outIx).name} is not converted`);
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const [modelPath, outPath] = args.pos;
  const buf = fs.readFileSync(modelPath);
  if (buf.length > (512 << 20)) throw new Error(`${modelPath}: larger than 512 MiB`);
  const model = readTflite(buf);
  if (model.subgraphs.length !== 1) throw new Error(`${modelPath}: ${model.subgraphs.length} subgraphs, want 1`);
  const c = new Converter(model.subgraphs[0], args);
  const io = c.convert();
  const protobuf = require(path.resolve(args.modules, 'protobufjs'));
  const root = protobuf.loadSync(args.proto);
  const ModelProto = root.lookupType('onnx.ModelProto');
  const modelProto = {
    irVersion: 7,
    producerName: 'simkyc tflite2onnx',
    producerVersion: '1',
    docString: `converted from ${path.basename(modelPath)} (TFLite schema version ${model.version}; ${model.description})`,
    opsetImport: [{ domain: '', version: 10 }],   // as tfjs2onnx: OpenCV 4.6 reads Clip's bounds as attributes only
    graph: { name: path.basename(modelPath, '.tflite'), node: c.nodes, initializer: c.inits, input: io.inputs, output: io.outputs },
  };
  const err = ModelProto.verify(modelProto);
  if (err) throw new Error(`ONNX message: ${err}`);
  const bytes = ModelProto.encode(ModelProto.fromObject(modelProto)).finish();
  const tmp = `${outPath}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, outPath);
  console.error(`[tflite2onnx] ${path.basename(modelPath)} -> ${outPath}: ${c.nodes.length} nodes, ${c.inits.length} initializers, ${(c.flops / 1e9).toFixed(3)} GFLOP`);
}

if (require.main === module) {
  try { main(); } catch (e) { console.error(`[tflite2onnx] ${e.message}`); process.exit(1); }
}
module.exports = { Converter, constValues, transpose, samePad };
