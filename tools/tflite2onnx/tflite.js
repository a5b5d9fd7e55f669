// A reader of the few TFLite flatbuffer tables a converter needs (Model, OperatorCode, SubGraph,
// Tensor, QuantizationParameters, Operator, Buffer and the builtin option tables of the ops the
// converter knows), written from TensorFlow's published schema (tensorflow/lite/schema/schema.fbs).
// Every offset is bounds-checked: a malformed file is an Error, never a read outside the buffer.
'use strict';

class FlatReader {
  constructor(buf) {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  check(pos, n) {
    if (!Number.isInteger(pos) || pos < 0 || pos + n > this.buf.length) throw new Error(`tflite: offset ${pos} outside the file`);
  }
  u8(p) { this.check(p, 1); return this.dv.getUint8(p); }
  i8(p) { this.check(p, 1); return this.dv.getInt8(p); }
  u16(p) { this.check(p, 2); return this.dv.getUint16(p, true); }
  i32(p) { this.check(p, 4); return this.dv.getInt32(p, true); }
  u32(p) { this.check(p, 4); return this.dv.getUint32(p, true); }
  f32(p) { this.check(p, 4); return this.dv.getFloat32(p, true); }
  i64(p) { this.check(p, 8); return Number(this.dv.getBigInt64(p, true)); }
  u64(p) { this.check(p, 8); return Number(this.dv.getBigUint64(p, true)); }
  // The position of field `slot` in the table at `t`, or 0 when absent.
  field(t, slot) {
    const vt = t - this.i32(t);
    const vsize = this.u16(vt);
    const o = 4 + 2 * slot;
    if (o + 2 > vsize) return 0;
    const off = this.u16(vt + o);
    return off ? t + off : 0;
  }
  deref(p) { return p + this.u32(p); }
  table(t, slot) { const p = this.field(t, slot); return p ? this.deref(p) : 0; }
  scalar(t, slot, kind, dflt) { const p = this.field(t, slot); return p ? this[kind](p) : dflt; }
  str(t, slot) {
    const p = this.field(t, slot);
    if (!p) return '';
    const s = this.deref(p);
    const n = this.u32(s);
    this.check(s + 4, n);
    return this.buf.subarray(s + 4, s + 4 + n).toString('utf8');
  }
  // [start, length] of the vector at field `slot` (elements of `esize` bytes).
  vec(t, slot, esize) {
    const p = this.field(t, slot);
    if (!p) return [0, 0];
    const v = this.deref(p);
    const n = this.u32(v);
    this.check(v + 4, n * esize);
    return [v + 4, n];
  }
  ints(t, slot) { const [s, n] = this.vec(t, slot, 4); return Array.from({ length: n }, (_, i) => this.i32(s + 4 * i)); }
  floats(t, slot) { const [s, n] = this.vec(t, slot, 4); return Array.from({ length: n }, (_, i) => this.f32(s + 4 * i)); }
  longs(t, slot) { const [s, n] = this.vec(t, slot, 8); return Array.from({ length: n }, (_, i) => this.i64(s + 8 * i)); }
  tables(t, slot) { const [s, n] = this.vec(t, slot, 4); return Array.from({ length: n }, (_, i) => this.deref(s + 4 * i)); }
  bytes(t, slot) { const [s, n] = this.vec(t, slot, 1); return this.buf.subarray(s, s + n); }
}

// BuiltinOperator codes (schema.fbs) of the ops this reader names; others print as their number.
const OPS = {
  0: 'ADD', 1: 'AVERAGE_POOL_2D', 2: 'CONCATENATION', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D',
  6: 'DEQUANTIZE', 9: 'FULLY_CONNECTED', 11: 'L2_NORMALIZATION', 14: 'LOGISTIC', 17: 'MAX_POOL_2D',
  18: 'MUL', 19: 'RELU', 21: 'RELU6', 22: 'RESHAPE', 25: 'SOFTMAX', 28: 'TANH', 32: 'CUSTOM',
  34: 'PAD', 39: 'TRANSPOSE', 40: 'MEAN', 41: 'SUB', 42: 'DIV', 43: 'SQUEEZE', 45: 'STRIDED_SLICE',
  54: 'PRELU', 55: 'MAXIMUM', 57: 'MINIMUM', 74: 'SUM', 75: 'SQRT', 76: 'RSQRT', 83: 'PACK',
  92: 'SQUARE', 98: 'LEAKY_RELU', 101: 'ABS', 114: 'QUANTIZE', 125: 'BATCH_MATMUL',
};
// TensorType -> [name, bytes per element]
const TYPES = { 0: ['float32', 4], 1: ['float16', 2], 2: ['int32', 4], 3: ['uint8', 1], 4: ['int64', 8],
  6: ['bool', 1], 7: ['int16', 2], 9: ['int8', 1] };
const ACT = { 0: 'NONE', 1: 'RELU', 2: 'RELU_N1_TO_1', 3: 'RELU6', 4: 'TANH', 5: 'SIGN_BIT' };
const PAD = { 0: 'SAME', 1: 'VALID' };

// Builtin options of the ops the converter translates: field slots as in schema.fbs.
function options(r, op, t) {
  if (!t) return {};
  const i = (s, d = 0) => r.scalar(t, s, 'i32', d);
  const b = (s, d = 0) => r.scalar(t, s, 'i8', d);
  switch (op) {
    case 'CONV_2D': return { padding: PAD[b(0)], strideW: i(1), strideH: i(2), act: ACT[b(3)], dilW: i(4, 1), dilH: i(5, 1) };
    case 'DEPTHWISE_CONV_2D': return { padding: PAD[b(0)], strideW: i(1), strideH: i(2), multiplier: i(3), act: ACT[b(4)], dilW: i(5, 1), dilH: i(6, 1) };
    case 'FULLY_CONNECTED': return { act: ACT[b(0)], weightsFormat: b(1), keepNumDims: !!b(2) };
    case 'ADD': case 'SUB': case 'MUL': case 'DIV': case 'L2_NORMALIZATION': return { act: ACT[b(0)] };
    case 'CONCATENATION': return { axis: i(0), act: ACT[b(1)] };
    case 'RESHAPE': return { newShape: r.ints(t, 0) };
    case 'AVERAGE_POOL_2D': case 'MAX_POOL_2D':
      return { padding: PAD[b(0)], strideW: i(1), strideH: i(2), filterW: i(3), filterH: i(4), act: ACT[b(5)] };
    case 'MEAN': case 'SUM': return { keepDims: !!b(0) };
    case 'SQUEEZE': return { squeezeDims: r.ints(t, 0) };
    case 'LEAKY_RELU': return { alpha: r.scalar(t, 0, 'f32', 0) };
    case 'SOFTMAX': return { beta: r.scalar(t, 0, 'f32', 0) };
    default: return {};
  }
}

// Decodes a .tflite file: { version, description, subgraphs: [{ tensors, inputs, outputs, operators }] }.
// Tensors: { name, shape, type, data (Buffer view or null), quant ({ scale, zeroPoint, dim } or null) }.
// Operators: { op (name or 'OP_<code>'), version, inputs, outputs (tensor indices, -1 = none), options }.
function readTflite(buf) {
  if (buf.length < 8) throw new Error('tflite: file too short');
  const ident = buf.subarray(4, 8).toString('latin1');
  if (ident !== 'TFL3') throw new Error(`tflite: file identifier "${ident}", want "TFL3"`);
  const r = new FlatReader(buf);
  const m = r.deref(0);
  const version = r.scalar(m, 0, 'u32', 0);
  const codes = r.tables(m, 1).map((c) => {
    const dep = r.scalar(c, 0, 'i8', 0);
    const code = r.scalar(c, 3, 'i32', 0);
    const n = Math.max(dep, code);   // schema: builtin_code, or deprecated_builtin_code in old files
    return { op: OPS[n] || `OP_${n}`, custom: r.str(c, 1), version: r.scalar(c, 2, 'i32', 1) };
  });
  const buffers = r.tables(m, 4).map((b) => {
    const off = r.scalar(b, 1, 'u64', 0);
    const size = r.scalar(b, 2, 'u64', 0);
    if (off > 1) { r.check(off, size); return buf.subarray(off, off + size); }
    return r.bytes(b, 0);
  });
  const subgraphs = r.tables(m, 2).map((g) => {
    const tensors = r.tables(g, 0).map((t) => {
      const typeCode = r.scalar(t, 1, 'i8', 0);
      const type = TYPES[typeCode];
      if (!type) throw new Error(`tflite: tensor type ${typeCode} not supported`);
      const bi = r.scalar(t, 2, 'u32', 0);
      if (bi >= buffers.length) throw new Error(`tflite: buffer index ${bi} out of range`);
      const shape = r.ints(t, 0);
      let data = buffers[bi] && buffers[bi].length ? buffers[bi] : null;
      const n = shape.reduce((x, y) => x * y, 1);
      if (data && data.length !== n * type[1]) throw new Error(`tflite: tensor ${r.str(t, 3)}: ${data.length} bytes for shape [${shape}]`);
      const q = r.table(t, 4);
      let quant = null;
      if (q) {
        const scale = r.floats(q, 2);
        if (scale.length) quant = { scale, zeroPoint: r.longs(q, 3), dim: r.scalar(q, 6, 'i32', 0) };
      }
      return { name: r.str(t, 3), shape, type: type[0], data, quant };
    });
    const operators = r.tables(g, 3).map((o) => {
      const ci = r.scalar(o, 0, 'u32', 0);
      if (ci >= codes.length) throw new Error(`tflite: opcode index ${ci} out of range`);
      const { op, version: ver, custom } = codes[ci];
      const check = (ix) => { for (const x of ix) if (x < -1 || x >= tensors.length) throw new Error(`tflite: tensor index ${x} out of range`); return ix; };
      return { op, custom, version: ver, inputs: check(r.ints(o, 1)), outputs: check(r.ints(o, 2)), options: options(r, op, r.table(o, 4)) };
    });
    const chk = (ix) => { for (const x of ix) if (x < 0 || x >= tensors.length) throw new Error(`tflite: tensor index ${x} out of range`); return ix; };
    return { name: r.str(g, 4), tensors, inputs: chk(r.ints(g, 1)), outputs: chk(r.ints(g, 2)), operators };
  });
  return { version, description: r.str(m, 3), subgraphs };
}

module.exports = { readTflite, FlatReader };

if (require.main === module) {   // node tflite.js FILE: prints the graph
  const fs = require('fs');
  if (process.argv.length !== 3 || process.argv[2].startsWith('-')) {
    console.error('usage: tflite.js MODEL.tflite   (prints the graph: ops, tensors, options)');
    process.exit(2);
  }
  const model = readTflite(fs.readFileSync(process.argv[2]));
  console.log(`version ${model.version}, "${model.description}", ${model.subgraphs.length} subgraph(s)`);
  for (const g of model.subgraphs) {
    const tn = (i) => (i < 0 ? '-' : `${g.tensors[i].name}[${g.tensors[i].shape}]${g.tensors[i].type !== 'float32' ? g.tensors[i].type : ''}${g.tensors[i].data ? '*' : ''}${g.tensors[i].quant ? 'q' : ''}`);
    console.log(`inputs ${g.inputs.map(tn)} outputs ${g.outputs.map(tn)}`);
    for (const o of g.operators) console.log(`${o.op} v${o.version} (${o.inputs.map(tn).join(', ')}) -> ${o.outputs.map(tn).join(', ')} ${JSON.stringify(o.options)}`);
  }
}
