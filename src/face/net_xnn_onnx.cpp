// ONNX model -> XNNPACK subgraph: the one translation every model brought to ONNX at set-up can
// take (docs/inference.md).  The file is read by a small bounds-checked reader of protobuf's wire
// format (only the ModelProto / GraphProto / NodeProto / AttributeProto / TensorProto /
// ValueInfoProto fields used here; field numbers from onnx.proto), so no protobuf library is linked.
// Only the nodes the requested outputs need are built.  ONNX activations are NCHW; XNNPACK's are
// NHWC, so 4-D values are defined as [N, H, W, C] and filters and per-channel constants are
// rearranged to match.  Translation, node by node:
//   Conv (group 1, or depthwise: group = input channels) -> convolution / depthwise convolution
//       (pads, strides, dilations as given; auto_pad VALID, SAME_UPPER, SAME_LOWER computed);
//   BatchNormalization, and Mul / Add / Sub of a per-channel or scalar constant, right after a
//       convolution whose output has no other use -> folded into its filter and bias
//       (one float rounding more than running them one after the other);
//   Relu, Clip (constant bounds) right after a convolution or add -> its output bounds; elsewhere
//       -> clamp;
//   PRelu (per-channel or scalar slope) -> prelu; Add of two activations of one shape -> add;
//   Mul / Add / Sub of a constant elsewhere -> multiply / add / subtract with a broadcast constant;
//   MaxPool, AveragePool (average only unpadded or count_include_pad = 1), GlobalAveragePool ->
//       pooling; Pad (constant 0) -> constant pad; Gemm (alpha = beta = 1, no transA) and MatMul of
//       a constant -> fully connected; Sigmoid, Softmax (of a [1, N] value) -> the same;
//   Concat of images along the channels -> each input zero-padded to all the channels, then added
//       (exact: x + 0 = x; this XNNPACK has no concatenation node);
//   Transpose NCHW -> NHWC of an image -> the same memory, held row-major from then on;
//   Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout -> the same memory, where the held order
//       is ONNX's order (row-major, or not 4-D, or H = W = 1, or C = 1); this XNNPACK (Debian's,
//       2022) has no transpose, so any other reshape of an image is refused.
// Weights: float, float16 (exact), double, int32, int64.  Anything else — another op, attribute or
// data type, a pattern the folding does not cover — is a kModelError naming the node, at load.
// Outputs: one 1 x N float Mat each (XnnNet::run); a 4-D output comes in NHWC order.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>

#include <opencv2/core.hpp>

#include "face/net_xnn_graph.h"

namespace simkyc {
namespace {

// ---- protobuf wire format ------------------------------------------------------------------

struct BadFile : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Pb {
 public:
  explicit Pb(std::string_view s) : p_(reinterpret_cast<const uint8_t*>(s.data())), end_(p_ + s.size()) {}
  bool done() const { return p_ >= end_; }
  bool next(uint32_t& field, uint32_t& wire) {
    if (p_ >= end_) return false;
    const uint64_t key = varint();
    field = static_cast<uint32_t>(key >> 3);
    wire = static_cast<uint32_t>(key & 7);
    if (field == 0) throw BadFile("field number 0");
    return true;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) throw BadFile("truncated varint");
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw BadFile("varint too long");
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end_ - p_)) throw BadFile("length past the end");
    std::string_view s(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
    p_ += n;
    return s;
  }
  uint32_t fixed32() {
    if (end_ - p_ < 4) throw BadFile("truncated fixed32");
    uint32_t v;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    return v;
  }
  void skip(uint32_t wire) {
    if (wire == 0) varint();
    else if (wire == 1) {
      if (end_ - p_ < 8) throw BadFile("truncated fixed64");
      p_ += 8;
    } else if (wire == 2) bytes();
    else if (wire == 5) fixed32();
    else throw BadFile("wire type " + std::to_string(wire));
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};


float as_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Repeated integers: packed (wire 2) or one varint.
void read_ints(Pb& pb, uint32_t wire, std::vector<int64_t>& out) {
  if (wire == 0) {
    out.push_back(static_cast<int64_t>(pb.varint()));
    return;
  }
  if (wire != 2) throw BadFile("integers of wire type " + std::to_string(wire));
  Pb in(pb.bytes());
  while (!in.done()) out.push_back(static_cast<int64_t>(in.varint()));
}
// Repeated floats: packed (wire 2) or one fixed32.
void read_floats(Pb& pb, uint32_t wire, std::vector<float>& out) {
  if (wire == 5) {
    out.push_back(as_float(pb.fixed32()));
    return;
  }
  if (wire != 2) throw BadFile("floats of wire type " + std::to_string(wire));
  Pb in(pb.bytes());
  while (!in.done()) out.push_back(as_float(in.fixed32()));
}

struct Tensor {
  std::vector<int64_t> dims;
  std::vector<float> f;     // float values (float, float16, double)
  std::vector<int64_t> i;   // integer values (int32, int64)
  bool is_int = false;
  std::size_t count() const {
    std::size_t n = 1;
    for (auto d : dims) n *= static_cast<std::size_t>(d);
    return n;
  }
  std::size_t size() const { return is_int ? i.size() : f.size(); }
  float at(std::size_t k) const { return is_int ? static_cast<float>(i[k]) : f[k]; }
};

// TensorProto: dims 1, data_type 2, float_data 4, int32_data 5, int64_data 7, name 8, raw_data 9,
// double_data 10, external_data 13 (refused).
Tensor read_tensor(std::string_view s, std::string* name) {
  Pb pb(s);
  Tensor t;
  int64_t type = 0;
  std::string_view raw;
  bool has_raw = false;
  std::vector<float> fdata;
  std::vector<int64_t> idata;
  std::vector<double> ddata;
  uint32_t f, w;
  while (pb.next(f, w)) {
    if (f == 1) read_ints(pb, w, t.dims);
    else if (f == 2 && w == 0) type = static_cast<int64_t>(pb.varint());
    else if (f == 4) read_floats(pb, w, fdata);
    else if (f == 5 || f == 7) read_ints(pb, w, idata);
    else if (f == 8 && w == 2 && name) *name = std::string(pb.bytes());
    else if (f == 9 && w == 2) raw = pb.bytes(), has_raw = true;
    else if (f == 10) {
      if (w != 2) throw BadFile("double_data");
      Pb in(pb.bytes());
      while (!in.done()) {
        const uint64_t lo = in.fixed32(), hi = in.fixed32();
        const uint64_t bits = lo | hi << 32;
        double d;
        std::memcpy(&d, &bits, 8);
        ddata.push_back(d);
      }
    } else if (f == 13 || f == 14) throw BadFile("external tensor data");
    else pb.skip(w);
  }
  std::size_t n = 1;   // at most 64 Mi values, so no product below overflows
  for (auto d : t.dims) {
    if (d < 0 || d > (64 << 20)) throw BadFile("tensor dimension");
    n *= static_cast<std::size_t>(d);
    if (n > (64u << 20)) throw BadFile("tensor too large");
  }
  const auto need = [&](std::size_t width) {
    if (raw.size() != n * width) throw BadFile("raw tensor data of " + std::to_string(raw.size()) + " bytes for " + std::to_string(n) + " values");
  };
  switch (type) {
    case 1:   // FLOAT
      if (has_raw) {
        need(4);
        t.f.resize(n);
        std::memcpy(t.f.data(), raw.data(), n * 4);
      } else {
        t.f = std::move(fdata);
      }
      break;
    case 10: {   // FLOAT16: raw, or in int32_data as the bits
      std::vector<uint16_t> h(n);
      if (has_raw) {
        need(2);
        std::memcpy(h.data(), raw.data(), n * 2);
      } else {
        if (idata.size() != n) throw BadFile("float16 data");
        for (std::size_t k = 0; k < n; ++k) h[k] = static_cast<uint16_t>(idata[k]);
      }
      cv::Mat half(1, static_cast<int>(n), CV_16F, h.data()), fl;
      half.convertTo(fl, CV_32F);
      t.f.assign(fl.ptr<float>(), fl.ptr<float>() + n);
      break;
    }
    case 11:   // DOUBLE
      if (has_raw) {
        need(8);
        for (std::size_t k = 0; k < n; ++k) {
          double d;
          std::memcpy(&d, raw.data() + 8 * k, 8);
          t.f.push_back(static_cast<float>(d));
        }
      } else {
        for (double d : ddata) t.f.push_back(static_cast<float>(d));
      }
      break;
    case 6:   // INT32
    case 7:   // INT64
      t.is_int = true;
      if (has_raw) {
        need(type == 6 ? 4 : 8);
        for (std::size_t k = 0; k < n; ++k) {
          if (type == 6) {
            int32_t v;
            std::memcpy(&v, raw.data() + 4 * k, 4);
            t.i.push_back(v);
          } else {
            int64_t v;
            std::memcpy(&v, raw.data() + 8 * k, 8);
            t.i.push_back(v);
          }
        }
      } else {
        t.i = std::move(idata);
        if (type == 6)
          for (auto& v : t.i) v = static_cast<int32_t>(static_cast<uint32_t>(v));
      }
      break;
    default:
      throw BadFile("tensor data type " + std::to_string(type));
  }
  if (t.size() != n) throw BadFile("tensor has " + std::to_string(t.size()) + " values for " + std::to_string(n));
  return t;
}

struct Attr {
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  Tensor t;
  bool has_t = false;
};

struct Node {
  std::vector<std::string> in, out;
  std::string name, op, domain;
  std::map<std::string, Attr> attr;
  const Attr* get(const char* k) const {
    auto it = attr.find(k);
    return it == attr.end() ? nullptr : &it->second;
  }
  int64_t geti(const char* k, int64_t d) const { return get(k) ? get(k)->i : d; }
  float getf(const char* k, float d) const { return get(k) ? get(k)->f : d; }
  std::string gets(const char* k, const std::string& d) const { return get(k) ? get(k)->s : d; }
  std::vector<int64_t> getints(const char* k) const { return get(k) ? get(k)->ints : std::vector<int64_t>{}; }
};

// AttributeProto: name 1, f 2, i 3, s 4, t 5, floats 7, ints 8.
std::pair<std::string, Attr> read_attr(std::string_view s) {
  Pb pb(s);
  std::string name;
  Attr a;
  uint32_t f, w;
  while (pb.next(f, w)) {
    if (f == 1 && w == 2) name = std::string(pb.bytes());
    else if (f == 2 && w == 5) a.f = as_float(pb.fixed32());
    else if (f == 3 && w == 0) a.i = static_cast<int64_t>(pb.varint());
    else if (f == 4 && w == 2) a.s = std::string(pb.bytes());
    else if (f == 5 && w == 2) a.t = read_tensor(pb.bytes(), nullptr), a.has_t = true;
    else if (f == 7) read_floats(pb, w, a.floats);
    else if (f == 8) read_ints(pb, w, a.ints);
    else pb.skip(w);
  }
  return {name, a};
}

// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7.
Node read_node(std::string_view s) {
  Pb pb(s);
  Node n;
  uint32_t f, w;
  while (pb.next(f, w)) {
    if (f == 1 && w == 2) n.in.emplace_back(pb.bytes());
    else if (f == 2 && w == 2) n.out.emplace_back(pb.bytes());
    else if (f == 3 && w == 2) n.name = std::string(pb.bytes());
    else if (f == 4 && w == 2) n.op = std::string(pb.bytes());
    else if (f == 5 && w == 2) n.attr.insert(read_attr(pb.bytes()));
    else if (f == 7 && w == 2) n.domain = std::string(pb.bytes());
    else pb.skip(w);
  }
  if (n.out.empty()) throw BadFile("node without an output");
  if (n.name.empty()) n.name = n.out[0];
  return n;
}

// ValueInfoProto name 1, type 2 -> TypeProto tensor_type 1 -> shape 2 -> dim 1 -> dim_value 1.
std::pair<std::string, std::vector<int64_t>> read_value_info(std::string_view s) {
  Pb pb(s);
  std::string name;
  std::vector<int64_t> dims;
  uint32_t f, w;
  while (pb.next(f, w)) {
    if (f == 1 && w == 2) {
      name = std::string(pb.bytes());
    } else if (f == 2 && w == 2) {
      Pb type(pb.bytes());
      while (type.next(f, w)) {
        if (f != 1 || w != 2) {
          type.skip(w);
          continue;
        }
        Pb tt(type.bytes());
        while (tt.next(f, w)) {
          if (f != 2 || w != 2) {
            tt.skip(w);
            continue;
          }
          Pb shape(tt.bytes());
          while (shape.next(f, w)) {
            if (f != 1 || w != 2) {
              shape.skip(w);
              continue;
            }
            Pb dim(shape.bytes());
            int64_t v = -1;
            while (dim.next(f, w)) {
              if (f == 1 && w == 0) v = static_cast<int64_t>(dim.varint());
              else dim.skip(w);
            }
            dims.push_back(v);
          }
        }
      }
    } else {
      pb.skip(w);
    }
  }
  return {name, dims};
}

struct Graph {
  std::vector<Node> nodes;
  std::map<std::string, Tensor> init;
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputs;
  int64_t opset = 0;
};

// ModelProto: opset_import 8 (domain 1, version 2), graph 7 -> GraphProto: node 1,
// initializer 5, input 11.
Graph read_model(const std::string& bytes) {
  Pb pb(bytes);
  Graph g;
  std::string_view graph;
  uint32_t f, w;
  while (pb.next(f, w)) {
    if (f == 7 && w == 2) {
      graph = pb.bytes();
    } else if (f == 8 && w == 2) {
      Pb op(pb.bytes());
      std::string domain;
      int64_t v = 0;
      while (op.next(f, w)) {
        if (f == 1 && w == 2) domain = std::string(op.bytes());
        else if (f == 2 && w == 0) v = static_cast<int64_t>(op.varint());
        else op.skip(w);
      }
      if (domain.empty() || domain == "ai.onnx") g.opset = v;
    } else {
      pb.skip(w);
    }
  }
  if (graph.empty()) throw BadFile("no graph");
  Pb gp(graph);
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputs;
  while (gp.next(f, w)) {
    if (f == 1 && w == 2) g.nodes.push_back(read_node(gp.bytes()));
    else if (f == 5 && w == 2) {
      std::string name;
      Tensor t = read_tensor(gp.bytes(), &name);
      g.init[name] = std::move(t);
    } else if (f == 11 && w == 2) inputs.push_back(read_value_info(gp.bytes()));
    else gp.skip(w);
  }
  for (auto& in : inputs)
    if (!g.init.count(in.first)) g.inputs.push_back(std::move(in));   // initializers may be listed as inputs
  return g;
}

// ---- the translation -----------------------------------------------------------------------

Error fail(const std::string& id, const std::string& what) { return make_error(Reason::kModelError, id + " (XNNPACK, ONNX): " + what); }

const std::set<std::string> kAliasOps = {"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout"};

using Shape = std::vector<std::size_t>;   // ONNX (NCHW) shape of an activation

// XNNPACK's shape of an activation: NHWC for 4-D.
Shape xnn_shape(const Shape& s) { return s.size() == 4 ? Shape{s[0], s[2], s[3], s[1]} : s; }
// Whether the NHWC element order of a value of ONNX shape `s` is its ONNX element order.
bool flat_order(const Shape& s) { return s.size() != 4 || (s[2] == 1 && s[3] == 1) || s[1] == 1; }

struct Pending {   // a convolution or add not given to XNNPACK yet, so that what follows can fold in
  bool add = false;
  std::string in, in2;
  std::vector<float> filter, bias;   // OHWI, or [1, H, W, C] for depthwise
  bool depthwise = false;
  std::size_t kh = 0, kw = 0, ic = 0, oc = 0, sh = 1, sw = 1, dh = 1, dw = 1;
  std::size_t pad[4] = {0, 0, 0, 0};   // top right bottom left
  float lo = -INFINITY, hi = INFINITY;
};

class OnnxBuilder {
 public:
  OnnxBuilder(XnnGraph& g, std::string id, Graph& model) : g_(g), id_(std::move(id)), m_(model) {}

  Status build(const std::vector<std::string>& outputs) {
    for (const auto& n : m_.nodes)
      for (const auto& o : n.out) producer_[o] = &n;
    for (const auto& n : m_.nodes)
      if (n.op == "Constant") {
        const Attr* v = n.get("value");
        if (!v || !v->has_t) return fail(id_, "Constant " + n.name + " without a tensor value");
        m_.init[n.out[0]] = v->t;
      }
    // Outputs, through aliases, to the nodes that make them.
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      std::string o = outputs[k];
      while (producer_.count(o) && (kAliasOps.count(producer_[o]->op) || producer_[o]->op == "Transpose") && !producer_[o]->in.empty())
        o = producer_[o]->in[0];
      if (!producer_.count(o)) return fail(id_, "no node makes " + outputs[k]);
      if (external_.count(o)) return fail(id_, "two outputs are the same tensor: " + outputs[k]);
      external_[o] = static_cast<uint32_t>(k + 1);
    }
    std::vector<std::string> stack(outputs.begin(), outputs.end());
    std::set<const Node*> needed;
    std::set<std::string> seen;
    while (!stack.empty()) {
      const std::string s = stack.back();
      stack.pop_back();
      if (!seen.insert(s).second || !producer_.count(s)) continue;
      needed.insert(producer_[s]);
      for (const auto& in : producer_[s]->in) stack.push_back(in);
    }
    for (const auto& n : m_.nodes)
      if (needed.count(&n))
        for (const auto& in : n.in) ++uses_[in];
    // The input.
    if (m_.inputs.size() != 1) return fail(id_, std::to_string(m_.inputs.size()) + " graph inputs, want 1");
    const auto& [in_name, dims] = m_.inputs[0];
    if (dims.size() != 4 || dims[0] != 1 || dims[1] <= 0 || dims[2] <= 0 || dims[3] <= 0 || dims[1] > 64 || dims[2] > 8192 ||
        dims[3] > 8192)
      return fail(id_, "input " + in_name + " is not [1, C, H, W]");
    g_.in_c = static_cast<std::size_t>(dims[1]), g_.in_h = static_cast<std::size_t>(dims[2]), g_.in_w = static_cast<std::size_t>(dims[3]);
    shapes_[in_name] = {1, g_.in_c, g_.in_h, g_.in_w};
    const Shape xs = xnn_shape(shapes_[in_name]);
    uint32_t id = XNN_INVALID_VALUE_ID;
    if (xnn_define_tensor_value(g_.subgraph, xnn_datatype_fp32, 4, xs.data(), nullptr, 0, XNN_VALUE_FLAG_EXTERNAL_INPUT, &id) !=
        xnn_status_success)
      return fail(id_, "input " + in_name);
    ids_[in_name] = id;
    for (const auto& n : m_.nodes)
      if (needed.count(&n) && n.op != "Constant")
        if (auto st = node(n); !st) return st;
    for (const auto& o : outputs) {
      std::string p = o;
      while (alias_.count(p)) p = alias_[p];
      auto v = value(p);
      if (!v) return v.error();
      std::size_t count = 1;
      for (auto d : shapes_[o]) count *= d;
      g_.out_sizes.push_back(count);
    }
    return ok_status();
  }

 private:
  const float* keep(std::vector<float> v) {
    g_.data.push_back(std::make_unique<std::vector<float>>(std::move(v)));
    return g_.data.back()->data();
  }
  Result<uint32_t> define(const std::string& name, const Shape& xshape, const float* data) {
    uint32_t id = XNN_INVALID_VALUE_ID, ext = XNN_INVALID_VALUE_ID, flags = 0;
    if (!data && external_.count(name)) ext = external_[name], flags = XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    if (xnn_define_tensor_value(g_.subgraph, xnn_datatype_fp32, xshape.size(), xshape.data(), data, ext, flags, &id) !=
        xnn_status_success)
      return fail(id_, "tensor " + name);
    return id;
  }
  // A new activation of ONNX shape `shape`; XNNPACK's dims: NHWC for an image, else `xdims` or
  // the shape itself.
  Result<uint32_t> fresh(const std::string& name, const Shape& shape, const Shape& xdims = {}) {
    shapes_[name] = shape;
    auto id = define(name, !xdims.empty() ? xdims : xnn_shape(shape), nullptr);
    if (id) ids_[name] = *id;
    return id;
  }
  // A 4-D value held in NHWC order (an image): what convolutions, pooling and per-channel ops take.
  bool image(const std::string& name) const {
    auto it = shapes_.find(name);
    return it != shapes_.end() && it->second.size() == 4 && !plain_.count(name);
  }
  // Whether the value's memory is in ONNX's (row-major) element order.
  bool row_major(const std::string& name) const { return plain_.count(name) || flat_order(shapes_.at(name)); }
  const Tensor* constant(const std::string& name) const {
    auto it = m_.init.find(name);
    return it == m_.init.end() ? nullptr : &it->second;
  }
  bool activation(const std::string& name) const { return shapes_.count(name) > 0; }
  Pending* foldable(const std::string& name) {
    auto it = pending_.find(name);
    if (it == pending_.end() || uses_[name] != 1 || external_.count(name)) return nullptr;
    return &it->second;
  }
  void rename(const std::string& from, const std::string& to) {
    pending_[to] = std::move(pending_[from]);
    pending_.erase(from);
    shapes_[to] = shapes_[from];
  }
  // A per-channel constant for C channels: [C], [C,1,1], [1,C,1,1] or one value.  Empty if not.
  static std::vector<float> per_channel(const Tensor& t, std::size_t c) {
    const std::size_t n = t.size();
    if (n == 1) return std::vector<float>(c, t.at(0));
    if (n != c) return {};
    std::size_t big = 0;   // the one dimension that is not 1 must be the channel one
    for (std::size_t k = 0; k < t.dims.size(); ++k)
      if (t.dims[k] != 1) ++big;
    if (big != 1) return {};
    const std::size_t rank = t.dims.size();
    const bool ok = rank == 1 || (rank == 3 && t.dims[0] == static_cast<int64_t>(c)) || (rank == 4 && t.dims[1] == static_cast<int64_t>(c));
    if (!ok) return {};
    std::vector<float> v(c);
    for (std::size_t k = 0; k < c; ++k) v[k] = t.at(k);
    return v;
  }

  Result<uint32_t> value(std::string name) {
    while (alias_.count(name)) name = alias_[name];
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    auto p = pending_.find(name);
    if (p == pending_.end()) return fail(id_, "value " + name + " is not an activation this translation made");
    Pending pd = std::move(p->second);
    pending_.erase(p);
    auto in = value(pd.in);
    if (!in) return in.error();
    auto out = fresh(name, shapes_[name]);
    if (!out) return out.error();
    if (pd.add) {
      auto in2 = value(pd.in2);
      if (!in2) return in2.error();
      if (xnn_define_add2(g_.subgraph, pd.lo, pd.hi, *in, *in2, *out, 0) != xnn_status_success) return fail(id_, "add " + name);
      return out;
    }
    const Shape fshape = pd.depthwise ? Shape{1, pd.kh, pd.kw, pd.oc} : Shape{pd.oc, pd.kh, pd.kw, pd.ic};
    auto f = define(name + "/filter", fshape, keep(std::move(pd.filter)));
    if (!f) return f.error();
    auto b = define(name + "/bias", {pd.oc}, keep(std::move(pd.bias)));
    if (!b) return b.error();
    const auto u = [](std::size_t v) { return static_cast<uint32_t>(v); };
    const xnn_status r =
        pd.depthwise
            ? xnn_define_depthwise_convolution_2d(g_.subgraph, u(pd.pad[0]), u(pd.pad[1]), u(pd.pad[2]), u(pd.pad[3]), u(pd.kh),
                                                  u(pd.kw), u(pd.sh), u(pd.sw), u(pd.dh), u(pd.dw), u(pd.oc / pd.ic), pd.ic,
                                                  pd.lo, pd.hi, *in, *f, *b, *out, 0)
            : xnn_define_convolution_2d(g_.subgraph, u(pd.pad[0]), u(pd.pad[1]), u(pd.pad[2]), u(pd.pad[3]), u(pd.kh), u(pd.kw),
                                        u(pd.sh), u(pd.sw), u(pd.dh), u(pd.dw), 1, pd.ic, pd.oc, pd.lo, pd.hi, *in, *f, *b, *out, 0);
    if (r != xnn_status_success) return fail(id_, "convolution " + name);
    return out;
  }

  // Output size and pads (before, after) of one spatial dimension.
  static std::size_t out_dim(std::size_t in, std::size_t k, std::size_t s, std::size_t d, const std::string& auto_pad,
                             std::size_t& before, std::size_t& after) {
    const std::size_t ek = (k - 1) * d + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const std::size_t out = (in + s - 1) / s;
      const std::size_t need = (out - 1) * s + ek;
      const std::size_t total = need > in ? need - in : 0;
      before = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      after = total - before;
      return out;
    }
    if (auto_pad == "VALID") before = after = 0;
    const std::size_t span = in + before + after;
    return span < ek ? 0 : (span - ek) / s + 1;
  }

  // The 2-D window attributes of Conv / MaxPool / AveragePool.  Errors name the node.
  Status window(const Node& n, std::size_t kh, std::size_t kw, const Shape& in, std::size_t st[2], std::size_t dil[2],
                std::size_t pad[4], std::size_t& oh, std::size_t& ow) {
    const auto strides = n.getints("strides"), dils = n.getints("dilations"), pads = n.getints("pads");
    const std::string auto_pad = n.gets("auto_pad", "NOTSET");
    if ((!strides.empty() && strides.size() != 2) || (!dils.empty() && dils.size() != 2) || (!pads.empty() && pads.size() != 4) ||
        (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER"))
      return fail(id_, n.op + " attributes of " + n.name);
    for (auto v : strides)
      if (v < 1 || v > 4096) return fail(id_, n.op + " strides of " + n.name);
    for (auto v : dils)
      if (v < 1 || v > 4096) return fail(id_, n.op + " dilations of " + n.name);
    for (auto v : pads)
      if (v < 0 || v > 4096) return fail(id_, n.op + " pads of " + n.name);
    st[0] = strides.empty() ? 1 : static_cast<std::size_t>(strides[0]), st[1] = strides.empty() ? 1 : static_cast<std::size_t>(strides[1]);
    dil[0] = dils.empty() ? 1 : static_cast<std::size_t>(dils[0]), dil[1] = dils.empty() ? 1 : static_cast<std::size_t>(dils[1]);
    // ONNX pads: [top, left, bottom, right]; XNNPACK's order here: top right bottom left.
    std::size_t t = 0, l = 0, b = 0, r = 0;
    if (!pads.empty()) t = static_cast<std::size_t>(pads[0]), l = static_cast<std::size_t>(pads[1]), b = static_cast<std::size_t>(pads[2]), r = static_cast<std::size_t>(pads[3]);
    oh = out_dim(in[2], kh, st[0], dil[0], auto_pad, t, b);
    ow = out_dim(in[3], kw, st[1], dil[1], auto_pad, l, r);
    pad[0] = t, pad[1] = r, pad[2] = b, pad[3] = l;
    if (oh == 0 || ow == 0) return fail(id_, "empty output of " + n.name);
    return ok_status();
  }

  Status conv(const Node& n) {
    if (n.in.size() < 2 || !activation(n.in[0])) return fail(id_, "Conv " + n.name + " of a value this translation did not make");
    const Tensor* w = constant(n.in[1]);
    const Tensor* b = n.in.size() > 2 && !n.in[2].empty() ? constant(n.in[2]) : nullptr;
    const Shape& s = shapes_[n.in[0]];
    if (!w || w->is_int || w->dims.size() != 4 || !image(n.in[0])) return fail(id_, "Conv " + n.name + " without a constant 4-D filter or an image input");
    if (n.in.size() > 2 && !n.in[2].empty() && !b) return fail(id_, "Conv " + n.name + " with a computed bias");
    const int64_t group = n.geti("group", 1);
    Pending p;
    p.in = n.in[0];
    p.oc = static_cast<std::size_t>(w->dims[0]), p.kh = static_cast<std::size_t>(w->dims[2]), p.kw = static_cast<std::size_t>(w->dims[3]);
    p.ic = s[1];
    const auto ks = n.getints("kernel_shape");
    if (!ks.empty() && (ks.size() != 2 || ks[0] != w->dims[2] || ks[1] != w->dims[3])) return fail(id_, "Conv kernel_shape of " + n.name);
    if (group == 1) {
      if (static_cast<std::size_t>(w->dims[1]) != p.ic) return fail(id_, "Conv input channels of " + n.name);
    } else if (group == static_cast<int64_t>(p.ic) && w->dims[1] == 1 && p.oc % p.ic == 0) {
      p.depthwise = true;
    } else {
      return fail(id_, "grouped Conv (group " + std::to_string(group) + ") " + n.name);
    }
    std::size_t st[2], dil[2], oh, ow;
    if (auto r = window(n, p.kh, p.kw, s, st, dil, p.pad, oh, ow); !r) return r;
    p.sh = st[0], p.sw = st[1], p.dh = dil[0], p.dw = dil[1];
    const std::size_t k2 = p.kh * p.kw;
    if (p.depthwise) {   // [OC, 1, KH, KW] -> [1, KH, KW, OC]
      p.filter.resize(k2 * p.oc);
      for (std::size_t o = 0; o < p.oc; ++o)
        for (std::size_t k = 0; k < k2; ++k) p.filter[k * p.oc + o] = w->f[o * k2 + k];
    } else {   // OIHW -> OHWI
      p.filter.resize(p.oc * k2 * p.ic);
      for (std::size_t o = 0; o < p.oc; ++o)
        for (std::size_t i = 0; i < p.ic; ++i)
          for (std::size_t k = 0; k < k2; ++k) p.filter[(o * k2 + k) * p.ic + i] = w->f[(o * p.ic + i) * k2 + k];
    }
    p.bias.assign(p.oc, 0.f);
    if (b) {
      if (b->is_int || b->size() != p.oc) return fail(id_, "Conv bias of " + n.name);
      p.bias = b->f;
    }
    shapes_[n.out[0]] = {1, p.oc, oh, ow};
    pending_[n.out[0]] = std::move(p);
    return ok_status();
  }

  // y = x * g + beta per output channel, into the pending convolution.
  static void fold(Pending& p, const std::vector<float>& g, const std::vector<float>& beta) {
    for (std::size_t o = 0; o < p.oc; ++o) {
      if (!g.empty()) {
        if (p.depthwise)
          for (std::size_t k = 0; k < p.kh * p.kw; ++k) p.filter[k * p.oc + o] *= g[o];
        else
          for (std::size_t k = 0; k < p.kh * p.kw * p.ic; ++k) p.filter[o * p.kh * p.kw * p.ic + k] *= g[o];
        p.bias[o] *= g[o];
      }
      if (!beta.empty()) p.bias[o] += beta[o];
    }
  }

  Status elementwise_const(const Node& n, const std::string& x, const Tensor& c, bool const_first) {
    const Shape& s = shapes_[x];
    const std::size_t ch = s.size() >= 2 ? s[1] : 1;
    const std::string& out = n.out[0];
    // Folded into a convolution right before it.
    if (Pending* p = foldable(x); p && !p->add && p->lo == -INFINITY && p->hi == INFINITY && !(n.op == "Sub" && const_first)) {
      const auto v = per_channel(c, p->oc);
      if (!v.empty()) {
        if (n.op == "Mul") fold(*p, v, {});
        else if (n.op == "Add") fold(*p, {}, v);
        else {
          std::vector<float> neg(v);
          for (float& a : neg) a = -a;
          fold(*p, {}, neg);
        }
        rename(x, out);
        return ok_status();
      }
    }
    // Elsewhere: with the constant broadcast in XNNPACK's layout.
    Shape cs;
    std::vector<float> data;
    if (c.size() == 1) {
      cs = Shape(xnn_shape(s).size(), 1);
      data = {c.at(0)};
    } else if (auto v = per_channel(c, ch); !v.empty() && image(x)) {
      cs = {1, 1, 1, ch};
      data = v;
    } else if (auto v2 = per_channel(c, ch); !v2.empty() && s.size() == 2 && c.dims.size() <= 2) {
      cs = {1, ch};
      data = v2;
    } else {
      return fail(id_, n.op + " " + n.name + " of a constant that is neither scalar nor per channel");
    }
    auto xi = value(x);
    if (!xi) return xi.error();
    auto ci = define(n.name + "/const", cs, keep(std::move(data)));
    if (!ci) return ci.error();
    auto o = fresh(out, s);
    if (!o) return o.error();
    const uint32_t a = const_first ? *ci : *xi, b = const_first ? *xi : *ci;
    xnn_status r;
    if (n.op == "Mul") r = xnn_define_multiply2(g_.subgraph, -INFINITY, INFINITY, a, b, *o, 0);
    else if (n.op == "Add") r = xnn_define_add2(g_.subgraph, -INFINITY, INFINITY, a, b, *o, 0);
    else r = xnn_define_subtract(g_.subgraph, -INFINITY, INFINITY, a, b, *o, 0);
    return r == xnn_status_success ? ok_status() : Status(fail(id_, n.op + " " + n.name));
  }

  Status bounds(const Node& n, float lo, float hi) {
    const std::string& x = n.in.at(0);
    if (Pending* p = foldable(x)) {
      p->lo = std::max(p->lo, lo), p->hi = std::min(p->hi, hi);
      if (p->lo > p->hi) return fail(id_, "empty output range at " + n.name);
      rename(x, n.out[0]);
      return ok_status();
    }
    auto xi = value(x);
    if (!xi) return xi.error();
    auto o = fresh(n.out[0], shapes_[x]);
    if (!o) return o.error();
    return xnn_define_clamp(g_.subgraph, lo, hi, *xi, *o, 0) == xnn_status_success ? ok_status() : Status(fail(id_, n.op + " " + n.name));
  }

  Status node(const Node& n) {
    const std::string& op = n.op;
    if (!n.domain.empty() && n.domain != "ai.onnx") return fail(id_, "op " + n.domain + "." + op + " (" + n.name + ") is not translated");
    for (std::size_t k = 0; k < n.in.size(); ++k)
      if (!n.in[k].empty() && !activation(n.in[k]) && !constant(n.in[k]) && !pending_.count(n.in[k]))
        return fail(id_, op + " " + n.name + ": input " + n.in[k] + " is not made by a translated node");
    const auto act = [&](std::size_t k) { return k < n.in.size() && activation(n.in[k]); };
    if (op == "Conv") return conv(n);
    if (op == "BatchNormalization") {
      if (n.in.size() != 5 || !act(0)) return fail(id_, "BatchNormalization " + n.name);
      Pending* p = foldable(n.in[0]);
      const Tensor *sc = constant(n.in[1]), *bb = constant(n.in[2]), *mean = constant(n.in[3]), *var = constant(n.in[4]);
      if (!p || p->add || p->lo != -INFINITY || p->hi != INFINITY || !sc || !bb || !mean || !var)
        return fail(id_, "BatchNormalization " + n.name + " not right after a convolution");
      const float eps = n.getf("epsilon", 1e-5f);
      const auto g = per_channel(*sc, p->oc), beta = per_channel(*bb, p->oc), mu = per_channel(*mean, p->oc), v = per_channel(*var, p->oc);
      if (g.empty() || beta.empty() || mu.empty() || v.empty()) return fail(id_, "BatchNormalization parameters of " + n.name);
      std::vector<float> scale(p->oc), shift(p->oc);
      for (std::size_t o = 0; o < p->oc; ++o) {
        scale[o] = g[o] / std::sqrt(v[o] + eps);
        shift[o] = beta[o] - mu[o] * scale[o];
      }
      fold(*p, scale, shift);
      rename(n.in[0], n.out[0]);
      return ok_status();
    }
    if ((op == "Mul" || op == "Add" || op == "Sub") && n.in.size() == 2 && (constant(n.in[0]) || constant(n.in[1]))) {
      const bool first = constant(n.in[0]) != nullptr;
      if (!act(first ? 1 : 0)) return fail(id_, op + " " + n.name + " of two constants");
      return elementwise_const(n, n.in[first ? 1 : 0], *constant(n.in[first ? 0 : 1]), first);
    }
    if (op == "Add") {
      if (n.in.size() != 2 || !act(0) || !act(1) || shapes_[n.in[0]] != shapes_[n.in[1]] || image(n.in[0]) != image(n.in[1]))
        return fail(id_, "Add of different shapes: " + n.name);
      Pending p;
      p.add = true;
      p.in = n.in[0], p.in2 = n.in[1];
      shapes_[n.out[0]] = shapes_[n.in[0]];
      pending_[n.out[0]] = std::move(p);
      return ok_status();
    }
    if (op == "Relu") return act(0) ? bounds(n, 0.f, INFINITY) : Status(fail(id_, "Relu " + n.name));
    if (op == "Clip") {
      float lo = n.getf("min", -INFINITY), hi = n.getf("max", INFINITY);
      for (std::size_t k = 1; k < 3 && k < n.in.size(); ++k) {
        if (n.in[k].empty()) continue;
        const Tensor* c = constant(n.in[k]);
        if (!c || c->size() != 1) return fail(id_, "Clip " + n.name + " with computed bounds");
        (k == 1 ? lo : hi) = c->at(0);
      }
      return act(0) ? bounds(n, lo, hi) : Status(fail(id_, "Clip " + n.name));
    }
    if (op == "PRelu") {
      const Tensor* slope = n.in.size() == 2 ? constant(n.in[1]) : nullptr;
      if (!act(0) || !slope || !image(n.in[0])) return fail(id_, "PRelu " + n.name + " (4-D input, constant slope)");
      const Shape s = shapes_[n.in[0]];
      auto v = per_channel(*slope, s[1]);
      if (v.empty()) return fail(id_, "PRelu slope of " + n.name + " is not per channel");
      auto xi = value(n.in[0]);
      if (!xi) return xi.error();
      auto si = define(n.name + "/slope", {s[1]}, keep(std::move(v)));
      if (!si) return si.error();
      auto o = fresh(n.out[0], s);
      if (!o) return o.error();
      return xnn_define_prelu(g_.subgraph, *xi, *si, *o, 0) == xnn_status_success ? ok_status() : Status(fail(id_, "PRelu " + n.name));
    }
    if (op == "MaxPool" || op == "AveragePool") {
      const auto ks = n.getints("kernel_shape");
      if (!act(0) || ks.size() != 2 || ks[0] < 1 || ks[1] < 1 || ks[0] > 4096 || ks[1] > 4096 || n.geti("ceil_mode", 0) != 0 || n.out.size() != 1 ||
          !image(n.in[0]))
        return fail(id_, op + " attributes of " + n.name);
      const Shape s = shapes_[n.in[0]];
      std::size_t st[2], dil[2], pad[4], oh, ow;
      if (auto r = window(n, static_cast<std::size_t>(ks[0]), static_cast<std::size_t>(ks[1]), s, st, dil, pad, oh, ow); !r) return r;
      const bool padded = pad[0] | pad[1] | pad[2] | pad[3];
      // XNNPACK's average pooling divides by the whole window: ONNX's count_include_pad = 1.
      if ((dil[0] != 1 || dil[1] != 1) || (op == "AveragePool" && padded && n.geti("count_include_pad", 0) == 0))
        return fail(id_, op + " " + n.name + " (padded average without count_include_pad, or dilated)");
      auto xi = value(n.in[0]);
      if (!xi) return xi.error();
      auto o = fresh(n.out[0], {1, s[1], oh, ow});
      if (!o) return o.error();
      const auto u = [](std::size_t v) { return static_cast<uint32_t>(v); };
      const xnn_status r =
          op == "MaxPool" ? xnn_define_max_pooling_2d(g_.subgraph, u(pad[0]), u(pad[1]), u(pad[2]), u(pad[3]), u(ks[0]), u(ks[1]),
                                                      u(st[0]), u(st[1]), 1, 1, -INFINITY, INFINITY, *xi, *o, 0)
                          : xnn_define_average_pooling_2d(g_.subgraph, u(pad[0]), u(pad[1]), u(pad[2]), u(pad[3]), u(ks[0]),
                                                          u(ks[1]), u(st[0]), u(st[1]), -INFINITY, INFINITY, *xi, *o, 0);
      return r == xnn_status_success ? ok_status() : Status(fail(id_, op + " " + n.name));
    }
    if (op == "GlobalAveragePool" || op == "ReduceMean") {
      const bool keep = op == "GlobalAveragePool" || n.geti("keepdims", 1) != 0;
      std::vector<int64_t> axes = n.getints("axes");
      for (auto& a : axes) a = a < 0 ? a + 4 : a;
      std::sort(axes.begin(), axes.end());
      if (!act(0) || !image(n.in[0]) || (op == "ReduceMean" && axes != std::vector<int64_t>{2, 3}))
        return fail(id_, op + " " + n.name + " other than over height and width of an image");
      const Shape s = shapes_[n.in[0]];
      auto xi = value(n.in[0]);
      if (!xi) return xi.error();
      auto o = fresh(n.out[0], keep ? Shape{1, s[1], 1, 1} : Shape{1, s[1]}, {1, 1, 1, s[1]});
      if (!o) return o.error();
      return xnn_define_global_average_pooling_2d(g_.subgraph, -INFINITY, INFINITY, *xi, *o, 0) == xnn_status_success
                 ? ok_status()
                 : Status(fail(id_, "GlobalAveragePool " + n.name));
    }
    if (op == "Pad") {
      std::vector<int64_t> pads = n.getints("pads");
      if (n.in.size() > 1 && !n.in[1].empty()) {
        const Tensor* t = constant(n.in[1]);
        if (!t || !t->is_int) return fail(id_, "Pad " + n.name + " with computed pads");
        pads = t->i;
      }
      float v = n.getf("value", 0.f);
      if (n.in.size() > 2 && !n.in[2].empty()) {
        const Tensor* t = constant(n.in[2]);
        if (!t || t->size() != 1) return fail(id_, "Pad " + n.name + " with a computed value");
        v = t->at(0);
      }
      if (!act(0) || !image(n.in[0]) || pads.size() != 8 || n.gets("mode", "constant") != "constant")
        return fail(id_, "Pad " + n.name + " (constant, 4-D)");
      for (auto p : pads)
        if (p < 0 || p > 4096) return fail(id_, "Pad of " + std::to_string(p) + " in " + n.name);
      if (pads[0] || pads[4]) return fail(id_, "Pad of the batch in " + n.name);
      Shape s = shapes_[n.in[0]];
      auto xi = value(n.in[0]);
      if (!xi) return xi.error();
      const auto z = [&](int k) { return static_cast<std::size_t>(pads[static_cast<std::size_t>(k)]); };
      const std::size_t pre[4] = {0, z(2), z(3), z(1)}, post[4] = {0, z(6), z(7), z(5)};   // NCHW pads -> NHWC
      s[1] += z(1) + z(5), s[2] += z(2) + z(6), s[3] += z(3) + z(7);
      auto o = fresh(n.out[0], s);
      if (!o) return o.error();
      return xnn_define_static_constant_pad(g_.subgraph, pre, post, v, *xi, *o, 0) == xnn_status_success ? ok_status()
                                                                                                          : Status(fail(id_, "Pad " + n.name));
    }
    if (op == "Gemm" || op == "MatMul") {
      const Tensor* w = n.in.size() >= 2 ? constant(n.in[1]) : nullptr;
      if (!act(0) || !w || w->is_int || w->dims.size() != 2) return fail(id_, op + " " + n.name + " of a constant 2-D matrix");
      if (op == "Gemm" && (n.getf("alpha", 1.f) != 1.f || n.getf("beta", 1.f) != 1.f || n.geti("transA", 0) != 0))
        return fail(id_, "Gemm attributes of " + n.name);
      const Shape s = shapes_[n.in[0]];
      std::size_t count = 1;
      for (auto d : s) count *= d;
      const bool tb = op == "Gemm" && n.geti("transB", 0) != 0;
      const std::size_t k = static_cast<std::size_t>(tb ? w->dims[1] : w->dims[0]), m = static_cast<std::size_t>(tb ? w->dims[0] : w->dims[1]);
      if (s.empty() || s[0] != 1 || count != k || !row_major(n.in[0]))
        return fail(id_, op + " input shape of " + n.name);
      std::vector<float> t(k * m);   // XNNPACK's [M, K]
      for (std::size_t a = 0; a < k; ++a)
        for (std::size_t b = 0; b < m; ++b) t[b * k + a] = tb ? w->f[b * k + a] : w->f[a * m + b];
      uint32_t bias = XNN_INVALID_VALUE_ID;
      if (op == "Gemm" && n.in.size() > 2 && !n.in[2].empty()) {
        const Tensor* c = constant(n.in[2]);
        if (!c || c->is_int || c->size() != m) return fail(id_, "Gemm bias of " + n.name);
        auto bid = define(n.name + "/bias", {m}, keep(c->f));
        if (!bid) return bid.error();
        bias = *bid;
      }
      auto xi = value(n.in[0]);
      if (!xi) return xi.error();
      auto f = define(n.name + "/filter", {m, k}, keep(std::move(t)));
      if (!f) return f.error();
      auto o = fresh(n.out[0], {1, m});
      if (!o) return o.error();
      return xnn_define_fully_connected(g_.subgraph, -INFINITY, INFINITY, *xi, *f, bias, *o, 0) == xnn_status_success
                 ? ok_status()
                 : Status(fail(id_, op + " " + n.name));
    }
    if (op == "Sigmoid" || op == "Softmax") {
      if (!act(0)) return fail(id_, op + " " + n.name);
      const Shape s = shapes_[n.in[0]];
      if (op == "Softmax" && (s.size() != 2 || s[0] != 1)) return fail(id_, "Softmax " + n.name + " of a value that is not [1, N]");
      auto xi = value(n.in[0]);
      if (!xi) return xi.error();
      auto o = fresh(n.out[0], s);
      if (!o) return o.error();
      const xnn_status r = op == "Sigmoid" ? xnn_define_sigmoid(g_.subgraph, *xi, *o, 0) : xnn_define_softmax(g_.subgraph, *xi, *o, 0);
      return r == xnn_status_success ? ok_status() : Status(fail(id_, op + " " + n.name));
    }
    if (op == "Concat") {   // along the channels of images: each input zero-padded to all channels, then added (exact: x + 0 = x)
      int64_t axis = n.geti("axis", 1);
      if (n.in.size() < 2 || (axis != 1 && axis != -3)) return fail(id_, "Concat " + n.name + " other than along the channels of images");
      Shape out;
      std::size_t total = 0;
      for (std::size_t k = 0; k < n.in.size(); ++k) {
        if (!act(k) || !image(n.in[k])) return fail(id_, "Concat " + n.name + " of a value that is not an image");
        const Shape& s = shapes_[n.in[k]];
        if (k && (s[0] != out[0] || s[2] != out[2] || s[3] != out[3])) return fail(id_, "Concat " + n.name + " of different sizes");
        if (!k) out = s;
        total += s[1];
      }
      out[1] = total;
      std::size_t before = 0;
      uint32_t acc = XNN_INVALID_VALUE_ID;
      for (std::size_t k = 0; k < n.in.size(); ++k) {
        const std::size_t c = shapes_[n.in[k]][1];
        auto xi = value(n.in[k]);
        if (!xi) return xi.error();
        const std::size_t pre[4] = {0, 0, 0, before}, post[4] = {0, 0, 0, total - before - c};
        before += c;
        const std::string padded = n.name + "/pad" + std::to_string(k);
        auto pi = define(padded, xnn_shape(out), nullptr);
        if (!pi) return pi.error();
        if (xnn_define_static_constant_pad(g_.subgraph, pre, post, 0.f, *xi, *pi, 0) != xnn_status_success)
          return fail(id_, "Concat " + n.name);
        if (k == 0) {
          acc = *pi;
          continue;
        }
        auto sum = k + 1 == n.in.size() ? fresh(n.out[0], out) : define(n.name + "/sum" + std::to_string(k), xnn_shape(out), nullptr);
        if (!sum) return sum.error();
        if (xnn_define_add2(g_.subgraph, -INFINITY, INFINITY, acc, *pi, *sum, 0) != xnn_status_success) return fail(id_, "Concat " + n.name);
        acc = *sum;
      }
      return ok_status();
    }
    if (op == "Transpose") {   // NCHW -> NHWC of an image is its memory as it is: row-major [N, H, W, C]
      if (!act(0) || !image(n.in[0]) || n.getints("perm") != std::vector<int64_t>{0, 2, 3, 1})
        return fail(id_, "Transpose " + n.name + " other than NCHW -> NHWC of an image");
      const Shape s = shapes_[n.in[0]];
      alias_[n.out[0]] = n.in[0];
      shapes_[n.out[0]] = {s[0], s[2], s[3], s[1]};
      plain_.insert(n.out[0]);
      return ok_status();
    }
    if (kAliasOps.count(op)) {
      if (!act(0)) return fail(id_, op + " " + n.name + " of a constant");
      const Shape s = shapes_[n.in[0]];
      std::size_t total = 1;
      for (auto d : s) total *= d;
      Shape out;
      if (op == "Flatten") {
        const int64_t axis = n.geti("axis", 1);
        if (axis < 0 || axis > static_cast<int64_t>(s.size())) return fail(id_, "Flatten axis of " + n.name);
        std::size_t a = 1;
        for (int64_t k = 0; k < axis; ++k) a *= s[static_cast<std::size_t>(k)];
        out = {a, total / a};
      } else if (op == "Reshape") {
        const Tensor* t = n.in.size() > 1 ? constant(n.in[1]) : nullptr;
        if (!t || !t->is_int) return fail(id_, "Reshape " + n.name + " to a computed shape");
        std::size_t known = 1;
        int unknown = -1;
        for (std::size_t k = 0; k < t->i.size(); ++k) {
          const int64_t d = t->i[k] == 0 && k < s.size() ? static_cast<int64_t>(s[k]) : t->i[k];
          if (d == -1 && unknown < 0) unknown = static_cast<int>(k), out.push_back(0);
          else if (d <= 0 || static_cast<std::size_t>(d) > total) return fail(id_, "Reshape " + n.name + " to [" + std::to_string(d) + "]");
          else out.push_back(static_cast<std::size_t>(d)), known *= static_cast<std::size_t>(d);
        }
        if (unknown >= 0) {
          if (total % known) return fail(id_, "Reshape of " + n.name);
          out[static_cast<std::size_t>(unknown)] = total / known;
        }
      } else if (op == "Squeeze" || op == "Unsqueeze") {
        std::vector<int64_t> axes = n.getints("axes");
        if (n.in.size() > 1 && !n.in[1].empty()) {
          const Tensor* t = constant(n.in[1]);
          if (!t || !t->is_int) return fail(id_, op + " " + n.name + " with computed axes");
          axes = t->i;
        }
        if (op == "Squeeze") {
          for (std::size_t k = 0; k < s.size(); ++k) {
            bool drop = axes.empty() ? s[k] == 1 : false;
            for (auto a : axes) drop |= (a < 0 ? a + static_cast<int64_t>(s.size()) : a) == static_cast<int64_t>(k);
            if (drop && s[k] != 1) return fail(id_, "Squeeze of a dimension that is not 1 in " + n.name);
            if (!drop) out.push_back(s[k]);
          }
        } else {
          out = s;
          const int64_t r = static_cast<int64_t>(s.size() + axes.size());
          std::vector<int64_t> sorted;
          for (auto a : axes) sorted.push_back(a < 0 ? a + r : a);
          std::sort(sorted.begin(), sorted.end());
          for (auto a : sorted) {
            if (a < 0 || a > static_cast<int64_t>(out.size())) return fail(id_, "Unsqueeze axes of " + n.name);
            out.insert(out.begin() + a, 1);
          }
        }
      } else {
        out = s;   // Identity, Dropout (inference: the same)
      }
      std::size_t check = 1;
      for (auto d : out) check *= d;
      if (check != total) return fail(id_, op + " " + n.name + " changes the number of elements");
      if (out != s && !row_major(n.in[0]))
        return fail(id_, op + " " + n.name + " reorders an image (would need a transpose, which this XNNPACK has not)");
      alias_[n.out[0]] = n.in[0];
      shapes_[n.out[0]] = out;
      // The same memory: an unchanged shape keeps its layout; a new 4-D shape of row-major memory
      // is row-major, not an image, unless both orders are the same (H = W = 1 or C = 1).
      if (out == s ? plain_.count(n.in[0]) > 0 : out.size() == 4 && !flat_order(out)) plain_.insert(n.out[0]);
      return ok_status();
    }
    return fail(id_, "op " + op + " (" + n.name + ") is not translated");
  }

  XnnGraph& g_;
  std::string id_;
  Graph& m_;
  std::map<std::string, const Node*> producer_;
  std::map<std::string, int> uses_;
  std::map<std::string, uint32_t> external_;
  std::map<std::string, Shape> shapes_;   // ONNX (NCHW) shapes of activations
  std::map<std::string, uint32_t> ids_;
  std::map<std::string, Pending> pending_;
  std::map<std::string, std::string> alias_;
  std::set<std::string> plain_;   // 4-D activations held row-major (after a Transpose to NHWC), not as images
};

}  // namespace

Status build_onnx_subgraph(XnnGraph& g, const std::string& id, const std::string& onnx, const std::vector<std::string>& outputs) {
  try {
    Graph model = read_model(onnx);
    OnnxBuilder b(g, id, model);
    return b.build(outputs);
  } catch (const BadFile& e) {
    return fail(id, std::string("not a readable ONNX file: ") + e.what());
  } catch (const std::bad_alloc&) {
    return fail(id, "ONNX file too large to translate");
  }
}

}  // namespace simkyc
