#!/usr/bin/env node
// Converts a TensorFlow.js graph model (model.json + weight shards) to an ONNX model that
// OpenCV's dnn module (4.6) runs.  Run at set-up by scripts/models.js; see docs/inference.md.
//   node convert.js MODEL.json OUT.onnx [--modules DIR] [--proto FILE] [--output NAME]...
//     --modules  node_modules holding protobufjs (default: models/tools/node_modules)
//     --proto    ONNX schema (default: Debian libonnx-dev's /usr/include/onnx/onnx.proto)
//     --output   extra graph output (a TF node name); the signature's outputs are always kept
//
// What it promises: the ONNX graph computes what TF.js computes for this graph, op for op,
// defects included (e.g. mobilefacenet's PReLUs that its converter fused into ReLUs stay so).
// Weights are copied bit for bit; fp16 / uint8 / uint16-quantised weights are dequantised as
// TF.js's io.decodeWeights does (fp16 -> fp32 is exact; affine: v * scale + min, rounded to
// fp32).  Activations are NCHW in ONNX (NHWC in TF): 4-D filters are transposed, per-channel
// constants reshaped to [1,C,1,1], and a Transpose is put before any Reshape of a 4-D tensor so
// that flattening order stays TF's.  TF 'SAME' padding becomes explicit (asymmetric) pads.
// The only rewrites that are not one op for one op are exact: Minimum/Maximum with a scalar
// constant become Clip (opset 10), Square becomes Mul(x, x), a [1,M] * [1,1] product of two
// variables becomes MatMul([1,1], [1,M]), and Rsqrt becomes Reciprocal(Sqrt) (this last one can
// differ from TF.js by an ulp).  Deterministic: the same input gives the same bytes.
'use strict';
const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const a = { pos: [], outputs: [], modules: path.resolve(__dirname, '../../models/tools/node_modules'),
    proto: '/usr/include/onnx/onnx.proto' };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--modules') a.modules = argv[++i];
    else if (argv[i] === '--proto') a.proto = argv[++i];
    else if (argv[i] === '--output') a.outputs.push(argv[++i]);
    else a.pos.push(argv[i]);
  }
  if (a.pos.length !== 2) {
    console.error('usage: convert.js MODEL.json OUT.onnx [--modules DIR] [--proto FILE] [--output NAME]...');
    process.exit(2);
  }
  return a;
}

// ---- weights ---------------------------------------------------------------------------------

// IEEE 754 half -> double; every half is exactly representable in float32.
function halfToFloat(h) {
  const s = h >> 15;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  let v;
  if (e === 0) v = m * 2 ** -24;
  else if (e === 31) v = m ? NaN : Infinity;
  else v = (1 + m / 1024) * 2 ** (e - 15);
  return s ? -v : v;
}

const DTYPE_BYTES = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

// Returns { name -> { dtype: 'float32'|'int32'|'bool', shape, data (typed array) } }.
function readWeights(modelJson, dir) {
  const out = {};
  for (const group of modelJson.weightsManifest) {
    const buf = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
    let off = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((x, y) => x * y, 1);
      const q = w.quantization;
      const stored = q ? q.dtype : w.dtype;
      const bytes = n * DTYPE_BYTES[stored];
      const view = new DataView(buf.buffer, buf.byteOffset + off, bytes);
      let data;
      if (q && q.dtype === 'float16') {
        data = new Float32Array(n);
        for (let i = 0; i < n; ++i) data[i] = halfToFloat(view.getUint16(2 * i, true));
      } else if (q) {   // affine uint8/uint16: value * scale + min, as TF.js computes it
        data = w.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
        for (let i = 0; i < n; ++i) {
          const v = q.dtype === 'uint8' ? view.getUint8(i) : view.getUint16(2 * i, true);
          data[i] = w.dtype === 'int32' ? Math.round(v * q.scale + q.min) : v * q.scale + q.min;
        }
      } else if (w.dtype === 'float32') {
        data = new Float32Array(n);
        for (let i = 0; i < n; ++i) data[i] = view.getFloat32(4 * i, true);
      } else if (w.dtype === 'int32') {
        data = new Int32Array(n);
        for (let i = 0; i < n; ++i) data[i] = view.getInt32(4 * i, true);
      } else if (w.dtype === 'bool') {
        data = new Uint8Array(n);
        for (let i = 0; i < n; ++i) data[i] = view.getUint8(i);
      } else {
        throw new Error(`weight ${w.name}: dtype ${w.dtype} not supported`);
      }
      out[w.name] = { dtype: w.dtype === 'bool' ? 'bool' : w.dtype, shape: w.shape.slice(), data };
      off += bytes;
    }
  }
  return out;
}

// ---- attributes of TF nodes ------------------------------------------------------------------

const attrInts = (n, k) => ((n.attr && n.attr[k] && n.attr[k].list && n.attr[k].list.i) || []).map(Number);
const attrStr = (n, k) => (n.attr && n.attr[k] && n.attr[k].s ? Buffer.from(n.attr[k].s, 'base64').toString() : '');
const attrStrs = (n, k) => ((n.attr && n.attr[k] && n.attr[k].list && n.attr[k].list.s) || [])
  .map((s) => Buffer.from(s, 'base64').toString());
const attrBool = (n, k) => !!(n.attr && n.attr[k] && n.attr[k].b);
const attrFloat = (n, k, d) => (n.attr && n.attr[k] && n.attr[k].f !== undefined ? Number(n.attr[k].f) : d);

// ---- the converter ---------------------------------------------------------------------------

const AXIS_NHWC_TO_NCHW = [0, 2, 3, 1];   // TF (NHWC) axis a is ONNX (NCHW) axis AXIS_NHWC_TO_NCHW[a]

class Converter {
  constructor(model, weights) {
    this.model = model;
    this.weights = weights;
    this.nodes = [];
    this.inits = [];
    this.inputs = [];
    this.vals = {};   // TF tensor name -> { name (ONNX), shape (ONNX layout), nchw, konst }
    this.uniq = 0;
    this.flops = 0;   // multiply-adds of convolutions and matrix products, x 2
  }

  fresh(base) { return `${base}__${++this.uniq}`; }

  init(name, dims, data, dtype = 'float32') {
    const enumOf = { float32: 1, int32: 6, int64: 7, bool: 9 };
    let raw;
    if (dtype === 'int64') raw = Buffer.from(new BigInt64Array(Array.from(data, (v) => BigInt(v))).buffer);
    else raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.inits.push({ name, dims, dataType: enumOf[dtype], rawData: Buffer.from(raw) });
    return name;
  }

  node(op, inputs, outputs, attrs = {}) {
    const attribute = [];
    for (const [k, v] of Object.entries(attrs)) {
      if (Array.isArray(v)) attribute.push({ name: k, type: 7, ints: v });           // INTS
      else if (typeof v === 'string') attribute.push({ name: k, type: 3, s: Buffer.from(v) });
      else if (Number.isInteger(v) && !['min', 'max', 'alpha', 'value'].includes(k)) attribute.push({ name: k, type: 2, i: v });
      else attribute.push({ name: k, type: 1, f: v });                             // FLOAT
    }
    this.nodes.push({ opType: op, input: inputs, output: outputs, name: outputs[0], attribute });
  }

  // The value for a TF input reference ("name", "name:0"; control inputs "^x" are dropped).
  val(ref) {
    const name = ref.replace(/:0$/, '');
    const v = this.vals[name];
    if (!v) throw new Error(`unknown tensor ${ref}`);
    return v;
  }

  // An ONNX name for a constant as it is used next to a tensor in `layoutOf` (NCHW or not).
  constFor(k, other) {
    if (!k.name) {
      let shape = k.konst.shape.slice();
      let data = k.konst.data;
      if (other && other.nchw && shape.length >= 1) {
        // Broadcast against NCHW: a trailing-channel constant ([C], [1,1,1,C], [1,1,C]) -> [1,C,1,1];
        // a full 4-D constant is transposed.
        const total = shape.reduce((x, y) => x * y, 1);
        if (shape.length === 4 && total !== shape[3]) {
          data = transpose(data, shape, [0, 3, 1, 2]);
          shape = [shape[0], shape[3], shape[1], shape[2]];
        } else if (total > 1) {
          shape = [1, total, 1, 1];
        }
      }
      return this.init(this.fresh(k.tfName), shape, data, k.konst.dtype);
    }
    return k.name;
  }

  set(tfName, v) { this.vals[tfName] = v; }

  convert(extraOutputs) {
    const byName = {};
    const consumers = {};
    for (const n of this.model.modelTopology.node) {
      byName[n.name] = n;
      for (const i of n.input || []) consumers[i.replace(/^\^/, '').replace(/:\d+$/, '')] = true;
    }
    this.tf = byName;
    for (const n of this.model.modelTopology.node) this.convertNode(n);
    // Graph outputs: the signature's, nodes nobody consumes, and those asked for.
    const sig = this.model.signature || (this.model.userDefinedMetadata && this.model.userDefinedMetadata.signature) || {};
    const names = new Set();
    for (const o of Object.values(sig.outputs || {})) names.add(o.name.replace(/:0$/, ''));
    for (const n of this.model.modelTopology.node)
      if (n.op !== 'Const' && n.op !== 'Placeholder' && !consumers[n.name]) names.add(n.name);
    for (const o of extraOutputs) names.add(o);
    const outputs = [];
    for (const name of [...names].sort()) {
      if (!byName[name]) throw new Error(`no node ${name}`);
      let v = this.val(name);
      if (v.nchw) {   // present 4-D outputs in TF's NHWC layout
        const t = name;
        const from = this.fresh(`${name}/nchw`);
        this.renameOutput(v.name, from);
        this.node('Transpose', [from], [t], { perm: [0, 2, 3, 1] });
        v = { name: t, shape: [v.shape[0], v.shape[2], v.shape[3], v.shape[1]], nchw: false };
      } else if (v.name !== name) {
        this.node('Identity', [v.name], [name]);
      }
      outputs.push({ name, type: { tensorType: { elemType: 1, shape: { dim: v.shape.map((d) => ({ dimValue: d })) } } } });
    }
    this.prune(outputs.map((o) => o.name));
    return outputs;
  }

  renameOutput(oldName, newName) {
    for (const n of this.nodes) {
      n.output = n.output.map((o) => (o === oldName ? newName : o));
      n.input = n.input.map((o) => (o === oldName ? newName : o));
      if (n.name === oldName) n.name = newName;
    }
  }

  // SAME / VALID / EXPLICIT padding of a window op on an NCHW input -> ONNX pads [t, l, b, r].
  pads(n, inShape, kh, kw, sh, sw, dh = 1, dw = 1) {
    const mode = attrStr(n, 'padding');
    if (mode === 'VALID') return [0, 0, 0, 0];
    if (mode === 'EXPLICIT') {
      const e = attrInts(n, 'explicit_paddings');   // NHWC pairs
      return [e[2], e[4], e[3], e[5]];
    }
    const one = (inp, k, s, d) => {
      const ek = (k - 1) * d + 1;
      const out = Math.ceil(inp / s);
      const total = Math.max((out - 1) * s + ek - inp, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    };
    const [t, b] = one(inShape[2], kh, sh, dh);
    const [l, r] = one(inShape[3], kw, sw, dw);
    return [t, l, b, r];
  }

  windowOut(inShape, k, s, p, d = [1, 1]) {
    return [0, 1].map((i) => Math.floor((inShape[2 + i] + p[i] + p[i + 2] - ((k[i] - 1) * d[i] + 1)) / s[i]) + 1);
  }

  // Applies TF's fused activations after a fused conv / matmul; returns the final ONNX name.
  fusedTail(n, x, shape, ops, extraArgs) {
    let cur = x;
    for (const op of ops.slice(1)) {
      const out = this.fresh(`${n.name}/${op}`);
      if (op === 'Relu') this.node('Relu', [cur], [out]);
      else if (op === 'Relu6') this.node('Clip', [cur], [out], { min: 0, max: 6 });
      else if (op === 'Sigmoid') this.node('Sigmoid', [cur], [out]);
      else if (op === 'Elu') this.node('Elu', [cur], [out], { alpha: 1.0 });
      else if (op === 'LeakyRelu') this.node('LeakyRelu', [cur], [out], { alpha: attrFloat(n, 'leakyrelu_alpha', 0.2) });
      else if (op === 'Prelu') {
        const alpha = this.val(extraArgs[0]);
        this.node('PRelu', [cur, this.constFor(alpha, { nchw: shape.length === 4 })], [out]);
      } else throw new Error(`${n.name}: fused op ${op} not supported`);
      cur = out;
    }
    return cur;
  }

  // Drops nodes and initializers no graph output depends on.
  prune(outputNames) {
    const live = new Set(outputNames);
    const keep = [];
    for (let i = this.nodes.length - 1; i >= 0; --i) {
      const nd = this.nodes[i];
      if (!nd.output.some((o) => live.has(o))) continue;
      keep.push(nd);
      for (const x of nd.input) live.add(x);
    }
    this.nodes = keep.reverse();
    this.inits = this.inits.filter((t) => live.has(t.name));
  }

  convertNode(n) {
    const ins = (n.input || []).filter((i) => !i.startsWith('^'));
    const out = n.name;
    const binary = { Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Div: 'Div',
      Minimum: 'Min', Maximum: 'Max' };
    const unary = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Abs: 'Abs', Exp: 'Exp', Neg: 'Neg',
      Sqrt: 'Sqrt', Log: 'Log', Elu: 'Elu' };
    switch (n.op) {
      case 'Placeholder': {
        const dims = n.attr.shape.shape.dim.map((d) => Math.max(1, Number(d.size)));
        const nchw = dims.length === 4;
        const shape = nchw ? [dims[0], dims[3], dims[1], dims[2]] : dims;
        this.inputs.push({ name: out, type: { tensorType: { elemType: 1, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } });
        this.set(out, { name: out, shape, nchw });
        return;
      }
      case 'Const': {
        const w = this.weights[out];
        if (!w) throw new Error(`no weights for ${out}`);
        this.set(out, { konst: w, tfName: out, shape: w.shape, nchw: false });
        return;
      }
      case 'Identity': {
        const x = this.val(ins[0]);
        if (x.konst) { this.set(out, x); return; }
        this.node('Identity', [x.name], [out]);
        this.set(out, { ...x, name: out });
        return;
      }
      case 'Conv2D': case '_FusedConv2D': case 'DepthwiseConv2dNative': case 'FusedDepthwiseConv2dNative': {
        const x = this.val(ins[0]);
        const f = this.val(ins[1]).konst;
        if (!x.nchw || attrStr(n, 'data_format') === 'NCHW') throw new Error(`${out}: needs an NHWC 4-D input`);
        const [kh, kw, ci, co] = f.shape;
        const depthwise = n.op.includes('Depthwise');
        const s = attrInts(n, 'strides');
        const d = attrInts(n, 'dilations').length ? attrInts(n, 'dilations') : [1, 1, 1, 1];
        const p = this.pads(n, x.shape, kh, kw, s[1], s[2], d[1], d[2]);
        // HWIO -> OIHW; depthwise HW C M -> (C*M) 1 H W, group C.
        const wData = transpose(f.data, f.shape, [3, 2, 0, 1]);
        let wShape = [co, ci, kh, kw];
        let wFinal = wData;
        if (depthwise) {
          wShape = [ci * co, 1, kh, kw];
          wFinal = transpose(f.data, [kh, kw, ci * co], [2, 0, 1]);
        }
        const inputs = [x.name, this.init(this.fresh(`${out}/W`), wShape, wFinal)];
        const fused = n.op.startsWith('_Fused') || n.op.startsWith('Fused') ? attrStrs(n, 'fused_ops') : [];
        if (fused.length && fused[0] !== 'BiasAdd') throw new Error(`${out}: fused ${fused[0]} not supported`);
        if (fused.length) inputs.push(this.constFor(this.val(ins[2]), null));
        const oc = wShape[0];
        const [oh, ow] = this.windowOut(x.shape, [kh, kw], [s[1], s[2]], p, [d[1], d[2]]);
        const shape = [x.shape[0], oc, oh, ow];
        this.flops += 2 * oc * oh * ow * (depthwise ? 1 : ci) * kh * kw;
        const convOut = fused.length > 1 ? this.fresh(`${out}/conv`) : out;
        this.node('Conv', inputs, [convOut], { kernel_shape: [kh, kw], strides: [s[1], s[2]], pads: p,
          dilations: [d[1], d[2]], group: depthwise ? ci : 1 });
        const last = fused.length > 1 ? this.fusedTail(n, convOut, shape, fused, ins.slice(3)) : convOut;
        if (last !== out) this.node('Identity', [last], [out]);
        this.set(out, { name: out, shape, nchw: true });
        return;
      }
      case 'MaxPool': case 'AvgPool': {
        const x = this.val(ins[0]);
        const k = attrInts(n, 'ksize');
        const s = attrInts(n, 'strides');
        const p = this.pads(n, x.shape, k[1], k[2], s[1], s[2]);
        const [oh, ow] = this.windowOut(x.shape, [k[1], k[2]], [s[1], s[2]], p);
        const attrs = { kernel_shape: [k[1], k[2]], strides: [s[1], s[2]], pads: p };
        if (n.op === 'AvgPool') attrs.count_include_pad = 0;
        this.node(n.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [x.name], [out], attrs);
        this.set(out, { name: out, shape: [x.shape[0], x.shape[1], oh, ow], nchw: true });
        return;
      }
      case 'Pad': case 'PadV2': case 'MirrorPad': {
        const x = this.val(ins[0]);
        const pk = this.val(ins[1]).konst;
        const pairs = [];
        for (let i = 0; i < pk.shape[0]; ++i) pairs.push([pk.data[2 * i], pk.data[2 * i + 1]]);
        const order = x.nchw ? [0, 3, 1, 2] : pairs.map((_, i) => i);
        const begins = order.map((a) => pairs[a][0]);
        const ends = order.map((a) => pairs[a][1]);
        const value = n.op === 'PadV2' ? this.val(ins[2]).konst.data[0] : 0;
        const mode = n.op === 'MirrorPad' ? (attrStr(n, 'mode') === 'REFLECT' ? 'reflect' : 'edge') : 'constant';
        this.node('Pad', [x.name], [out], mode === 'constant' ? { mode, pads: [...begins, ...ends], value } : { mode, pads: [...begins, ...ends] });
        this.set(out, { name: out, shape: x.shape.map((dd, i) => dd + begins[i] + ends[i]), nchw: x.nchw });
        return;
      }
      case 'Mean': case 'Sum': case 'Max': case 'Min': case 'Prod': {
        const x = this.val(ins[0]);
        const axesTf = Array.from(this.val(ins[1]).konst.data).map((a) => (a < 0 ? a + x.shape.length : a));
        const axes = axesTf.map((a) => (x.nchw ? AXIS_NHWC_TO_NCHW[a] : a)).sort();
        const keep = attrBool(n, 'keep_dims');
        const op = { Mean: 'ReduceMean', Sum: 'ReduceSum', Max: 'ReduceMax', Min: 'ReduceMin', Prod: 'ReduceProd' }[n.op];
        this.node(op, [x.name], [out], { axes, keepdims: keep ? 1 : 0 });
        let shape = x.shape.map((dd, i) => (axes.includes(i) ? 1 : dd));
        let nchw = x.nchw;
        if (!keep) {
          shape = shape.filter((_, i) => !axes.includes(i));
          // Reducing H and W of NCHW leaves [N, C], the same order as TF's [N, C].
          if (x.nchw && !(axes.length === 2 && axes[0] === 2 && axes[1] === 3)) throw new Error(`${out}: reduction not supported`);
          nchw = false;
        }
        this.set(out, { name: out, shape, nchw });
        return;
      }
      case 'MatMul': case '_FusedMatMul': {
        const a = this.val(ins[0]);
        const b = this.val(ins[1]);
        if (!b.konst || a.shape.length !== 2) throw new Error(`${out}: only [N,K] x constant`);
        const fused = n.op === '_FusedMatMul' ? attrStrs(n, 'fused_ops') : [];
        // OpenCV 4.6 reads Gemm's constant B right only as [M, K] with transB = 1: store it so.
        const bT = attrBool(n, 'transpose_b') ? b.konst.data : transpose(b.konst.data, b.shape, [1, 0]);
        const inputs = [a.name, this.init(this.fresh(`${out}/B`), attrBool(n, 'transpose_b') ? b.shape : [b.shape[1], b.shape[0]], bT)];
        const m = attrBool(n, 'transpose_b') ? b.shape[0] : b.shape[1];
        if (fused.length) {
          if (fused[0] !== 'BiasAdd') throw new Error(`${out}: fused ${fused[0]} not supported`);
          inputs.push(this.constFor(this.val(ins[2]), null));
        } else {
          // Gemm before opset 11 must have its C input (ONNX checkers and other runtimes refuse a
          // Gemm without it): a zero bias, which adds exactly nothing.
          inputs.push(this.init(this.fresh(`${out}/C`), [m], new Float32Array(m)));
        }
        const shape = [a.shape[0], m];
        this.flops += 2 * a.shape[1] * m;
        const gemmOut = fused.length > 1 ? this.fresh(`${out}/gemm`) : out;
        if (attrBool(n, 'transpose_a')) throw new Error(`${out}: transpose_a not supported`);
        this.node('Gemm', inputs, [gemmOut], { transB: 1 });
        const last = fused.length > 1 ? this.fusedTail(n, gemmOut, shape, fused, ins.slice(3)) : gemmOut;
        if (last !== out) this.node('Identity', [last], [out]);
        this.set(out, { name: out, shape, nchw: false });
        return;
      }
      case 'Reshape': {
        let x = this.val(ins[0]);
        const target = Array.from(this.val(ins[1]).konst.data);
        let xName = x.name;
        if (x.nchw) {
          xName = this.fresh(`${out}/nhwc`);
          this.node('Transpose', [x.name], [xName], { perm: [0, 2, 3, 1] });
          x = { shape: [x.shape[0], x.shape[2], x.shape[3], x.shape[1]] };
        }
        const total = x.shape.reduce((p, q) => p * q, 1);
        const known = target.filter((t) => t !== -1).reduce((p, q) => p * q, 1);
        const shape = target.map((t) => (t === -1 ? total / known : t));
        if (shape.length === 4) {   // keep 4-D activations NCHW
          const tmp = this.fresh(`${out}/nhwc`);
          this.node('Reshape', [xName, this.init(this.fresh(`${out}/shape`), [4], shape, 'int64')], [tmp]);
          this.node('Transpose', [tmp], [out], { perm: [0, 3, 1, 2] });
          this.set(out, { name: out, shape: [shape[0], shape[3], shape[1], shape[2]], nchw: true });
        } else {
          this.node('Reshape', [xName, this.init(this.fresh(`${out}/shape`), [shape.length], shape, 'int64')], [out]);
          this.set(out, { name: out, shape, nchw: false });
        }
        return;
      }
      case 'Squeeze': {
        const x = this.val(ins[0]);
        let axesTf = attrInts(n, 'squeeze_dims');
        if (!axesTf.length) axesTf = x.shape.map((dd, i) => i).filter((i) => x.shape[i] === 1);
        const axes = axesTf.map((a) => (x.nchw ? AXIS_NHWC_TO_NCHW[a] : a)).sort();
        const shape = x.shape.filter((_, i) => !axes.includes(i));
        if (x.nchw && !(axes.length === 2 && axes[0] === 2 && axes[1] === 3)) throw new Error(`${out}: squeeze not supported`);
        this.node('Squeeze', [x.name], [out], { axes });
        this.set(out, { name: out, shape, nchw: false });
        return;
      }
      case 'Softmax': {
        const x = this.val(ins[0]);
        if (x.nchw) throw new Error(`${out}: softmax of a 4-D tensor`);
        this.node('Softmax', [x.name], [out], { axis: x.shape.length - 1 });
        this.set(out, { name: out, shape: x.shape, nchw: false });
        return;
      }
      case 'Square': {
        const x = this.val(ins[0]);
        this.node('Mul', [x.name, x.name], [out]);
        this.set(out, { ...x, name: out });
        return;
      }
      case 'Rsqrt': {
        const x = this.val(ins[0]);
        const sq = this.fresh(`${out}/sqrt`);
        this.node('Sqrt', [x.name], [sq]);
        this.node('Reciprocal', [sq], [out]);
        this.set(out, { ...x, name: out });
        return;
      }
      case 'Relu6': {
        const x = this.val(ins[0]);
        this.node('Clip', [x.name], [out], { min: 0, max: 6 });
        this.set(out, { ...x, name: out });
        return;
      }
      case 'Prelu': {
        const x = this.val(ins[0]);
        this.node('PRelu', [x.name, this.constFor(this.val(ins[1]), x)], [out]);
        this.set(out, { ...x, name: out });
        return;
      }
      default:
        break;
    }
    if (unary[n.op]) {
      const x = this.val(ins[0]);
      this.node(unary[n.op], [x.name], [out]);
      this.set(out, { ...x, name: out });
      return;
    }
    if (binary[n.op]) {
      const a = this.val(ins[0]);
      const b = this.val(ins[1]);
      if (a.konst && b.konst) throw new Error(`${out}: constant folding not supported`);
      const t = a.konst ? b : a;
      const k = a.konst ? a : b.konst ? b : null;
      // min/max with a scalar constant: a clip (exact).
      if ((n.op === 'Minimum' || n.op === 'Maximum') && k && k.konst.data.length === 1) {
        const c = k.konst.data[0];
        const lo = n.op === 'Maximum' ? c : -3.4028234663852886e38;
        const hi = n.op === 'Minimum' ? c : 3.4028234663852886e38;
        this.node('Clip', [t.name], [out], { min: lo, max: hi });
        this.set(out, { ...t, name: out });
        return;
      }
      // [1, M] * [1, 1] of two variables (e.g. an L2 normalisation's scale): OpenCV 4.6 cannot
      // broadcast an all-ones shape in Mul, but MatMul([1,1], [1,M]) is the same products, exactly.
      const isOne = (v) => v.shape.length === 2 && v.shape[0] === 1 && v.shape[1] === 1;
      if (n.op === 'Mul' && !k && !a.nchw && !b.nchw && a.shape.length === 2 && b.shape.length === 2 &&
          a.shape[0] === 1 && b.shape[0] === 1 && (isOne(a) !== isOne(b))) {
        const [f, x] = isOne(a) ? [a, b] : [b, a];
        this.node('MatMul', [f.name, x.name], [out]);
        this.set(out, { name: out, shape: x.shape, nchw: false });
        return;
      }
      const an = a.konst ? this.constFor(a, b) : a.name;
      const bn = b.konst ? this.constFor(b, a) : b.name;
      this.node(binary[n.op], [an, bn], [out]);
      this.set(out, { name: out, shape: k ? t.shape : broadcastShape(a.shape, b.shape), nchw: t.nchw });
      return;
    }
    throw new Error(`${out}: op ${n.op} not supported`);
  }
}

function broadcastShape(a, b) {
  const n = Math.max(a.length, b.length);
  const out = [];
  for (let i = 0; i < n; ++i) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(Math.max(x, y));
  }
  return out;
}

// Row-major transpose of `data` with `shape` by `perm` (out axis i = in axis perm[i]).
function transpose(data, shape, perm) {
  const n = data.length;
  const out = new data.constructor(n);
  const rank = shape.length;
  const inStrides = new Array(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; --i) { inStrides[i] = s; s *= shape[i]; }
  const outShape = perm.map((p) => shape[p]);
  const idx = new Array(rank).fill(0);
  for (let o = 0; o < n; ++o) {
    let src = 0;
    for (let i = 0; i < rank; ++i) src += idx[i] * inStrides[perm[i]];
    out[o] = data[src];
    for (let i = rank - 1; i >= 0; --i) { if (++idx[i] < outShape[i]) break; idx[i] = 0; }
  }
  return out;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const [modelPath, outPath] = args.pos;
  const model = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  if (model.format && model.format !== 'graph-model') throw new Error(`${modelPath}: not a graph model`);
  const weights = readWeights(model, path.dirname(modelPath));
  const c = new Converter(model, weights);
  const outputs = c.convert(args.outputs);
  const protobuf = require(path.resolve(args.modules, 'protobufjs'));
  const root = protobuf.loadSync(args.proto);
  const ModelProto = root.lookupType('onnx.ModelProto');
  const modelProto = {
    irVersion: 7,
    producerName: 'simkyc tfjs2onnx',
    producerVersion: '1',
    docString: `converted from ${path.basename(modelPath)} (${model.generatedBy || ''}; ${model.convertedBy || ''})`,
    opsetImport: [{ domain: '', version: 10 }],   // OpenCV 4.6 reads Clip's bounds as attributes only
    graph: {
      name: path.basename(modelPath, '.json'),
      node: c.nodes,
      initializer: c.inits,
      input: c.inputs,
      output: outputs,
    },
  };
  const err = ModelProto.verify(modelProto);
  if (err) throw new Error(`ONNX message: ${err}`);
  const bytes = ModelProto.encode(ModelProto.fromObject(modelProto)).finish();
  const tmp = `${outPath}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, outPath);
  console.error(`[tfjs2onnx] ${path.basename(modelPath)} -> ${outPath}: ${c.nodes.length} nodes, ${c.inits.length} initializers, ${(c.flops / 1e9).toFixed(3)} GFLOP`);
}

if (require.main === module) main();
module.exports = { halfToFloat, readWeights, transpose };
