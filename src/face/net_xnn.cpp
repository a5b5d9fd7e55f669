// TF.js graph model -> XNNPACK subgraph.  Only the nodes the requested outputs need are built.
// Translation, op by op (NHWC throughout, as TF):
//   Conv2D, _FusedConv2D (BiasAdd [, Relu]), DepthwiseConv2dNative  -> convolution (depthwise:
//       groups = channels); SAME padding computed as TF does, EXPLICIT / VALID as given;
//   a Mul / Add of a per-channel (or scalar) constant right after a convolution whose output has no
//       other use (batch norm, dlib's affine) -> folded into the filter and bias (w' = w * g,
//       b' = b * g + beta: one float rounding more than TF.js);
//   Relu, and Minimum / Maximum with a scalar constant (ReLU6) right after a convolution or add
//       -> its output bounds;
//   AddV2 / Add of two activations -> add; MaxPool, AvgPool -> pooling; Pad (zeros) -> constant
//       pad; Mean over H, W -> global average pooling; MatMul / _FusedMatMul (BiasAdd [, Relu])
//       -> fully connected; Reshape, Identity -> the same memory (NHWC order is TF's order).
// Weights are decoded as TF.js's io.decodeWeights does: float32, int32, float16 (exact), and
// uint8/uint16 affine quantisation (v * scale + min).  Anything else is a kModelError at load.
#include "face/net_xnn.h"

#include <pthreadpool.h>
#include <sodium.h>
#include <xnnpack.h>

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "core/model_manifest.h"
#include "face/net_xnn_graph.h"

namespace simkyc {

using nlohmann::json;

struct XnnNet::Runtime {
  pthreadpool_t pool = nullptr;
  xnn_runtime_t runtime = nullptr;
  std::vector<float> input;
  std::vector<std::vector<float>> outputs;
  ~Runtime() {
    if (runtime) xnn_delete_runtime(runtime);
    if (pool) pthreadpool_destroy(pool);
  }
};

namespace {

const std::set<std::string> kAliasOps = {"Identity", "Reshape"};

Error fail(const std::string& graph, const std::string& what) {
  return make_error(Reason::kModelError, graph + " (XNNPACK): " + what);
}

std::string b64(const std::string& s) {
  std::string out(s.size(), '\0');
  std::size_t n = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), s.c_str(), s.size(), nullptr, &n,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return {};
  out.resize(n);
  return out;
}

const json* attr(const json& n, const char* k) {
  if (!n.contains("attr") || !n["attr"].contains(k)) return nullptr;
  return &n["attr"][k];
}
std::string attr_str(const json& n, const char* k) {
  const json* a = attr(n, k);
  return a && a->contains("s") ? b64((*a)["s"].get<std::string>()) : std::string();
}
std::vector<long> attr_ints(const json& n, const char* k) {
  std::vector<long> v;
  const json* a = attr(n, k);
  if (a && a->contains("list") && (*a)["list"].contains("i"))
    for (const auto& x : (*a)["list"]["i"]) v.push_back(std::stol(x.get<std::string>()));
  return v;
}
std::vector<std::string> attr_strs(const json& n, const char* k) {
  std::vector<std::string> v;
  const json* a = attr(n, k);
  if (a && a->contains("list") && (*a)["list"].contains("s"))
    for (const auto& x : (*a)["list"]["s"]) v.push_back(b64(x.get<std::string>()));
  return v;
}
bool attr_bool(const json& n, const char* k) {
  const json* a = attr(n, k);
  return a && a->contains("b") && (*a)["b"].get<bool>();
}

struct Const {
  std::vector<std::size_t> shape;
  std::vector<float> f;   // every constant as float (int32 ones exactly: they are small)
};

// A convolution or add not yet given to XNNPACK, so that what follows can still be folded in.
struct Pending {
  bool add = false;                  // else a convolution
  std::string in, in2;
  std::vector<float> filter, bias;   // OHWI, or [1, H, W, C] for depthwise
  bool depthwise = false;
  std::size_t kh = 0, kw = 0, ic = 0, oc = 0, sh = 1, sw = 1;
  std::size_t pad[4] = {0, 0, 0, 0};   // top right bottom left
  float lo = -INFINITY, hi = INFINITY;
};

class Builder {
 public:
  Builder(XnnGraph& g, std::string id) : g_(g), id_(std::move(id)) {}

  Status build(const json& model, const std::string& bin, const std::vector<std::string>& outputs) {
    if (auto st = weights(model, bin); !st) return st;
    const json& nodes = model["modelTopology"]["node"];
    std::map<std::string, const json*> by_name;
    for (const auto& n : nodes) by_name[n.at("name").get<std::string>()] = &n;
    // Outputs, through aliases, to the nodes that make them.
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      std::string o = outputs[k];
      while (by_name.count(o) && kAliasOps.count((*by_name[o])["op"].get<std::string>())) o = input0(*by_name[o]);
      if (!by_name.count(o)) return fail(id_, "no node " + outputs[k]);
      if (external_.count(o)) return fail(id_, "two outputs are the same tensor: " + outputs[k]);
      external_[o] = static_cast<uint32_t>(k + 1);
    }
    // What the outputs need.
    std::vector<std::string> stack(outputs.begin(), outputs.end());
    while (!stack.empty()) {
      const std::string s = stack.back();
      stack.pop_back();
      if (!needed_.insert(s).second || !by_name.count(s)) continue;
      for (const auto& in : by_name[s]->value("input", json::array())) stack.push_back(strip(in.get<std::string>()));
    }
    for (const auto& n : nodes)
      if (needed_.count(n["name"].get<std::string>()))
        for (const auto& in : n.value("input", json::array())) ++uses_[strip(in.get<std::string>())];
    for (const auto& n : nodes)
      if (needed_.count(n["name"].get<std::string>()))
        if (auto st = node(n); !st) return st;
    for (const auto& o : outputs) {
      std::string p = o;
      while (alias_.count(p)) p = alias_[p];
      auto id = value(p);
      if (!id) return id.error();
      std::size_t count = 1;
      for (auto d : shapes_[p]) count *= d;
      g_.out_sizes.push_back(count);
    }
    if (g_.in_h == 0) return fail(id_, "no input");
    return ok_status();
  }

 private:
  static std::string strip(const std::string& s) {   // "node:1" -> "node" (outputs used here are :0)
    const auto c = s.find(':');
    return c == std::string::npos ? s : s.substr(0, c);
  }
  static std::string input0(const json& n) { return strip(n.at("input").at(0).get<std::string>()); }

  Status weights(const json& model, const std::string& bin) {
    std::size_t off = 0;
    for (const auto& group : model.at("weightsManifest"))
      for (const auto& w : group.at("weights")) {
        Const c;
        std::size_t count = 1;
        for (const auto& d : w.at("shape")) {
          c.shape.push_back(d.get<std::size_t>());
          count *= c.shape.back();
        }
        const std::string dtype = w.value("dtype", "float32");
        std::string q = w.contains("quantization") ? w["quantization"].value("dtype", "") : "";
        const std::size_t width = q == "float16" || q == "uint16" ? 2 : q == "uint8" ? 1 : 4;
        if (!q.empty() && q != "float16" && q != "uint8" && q != "uint16") return fail(id_, "quantisation " + q);
        if (dtype != "float32" && dtype != "int32") return fail(id_, "weight dtype " + dtype);
        if (off + count * width > bin.size()) return fail(id_, "weights file too short");
        const char* p = bin.data() + off;
        c.f.resize(count);
        if (q == "float16") {
          cv::Mat half(1, static_cast<int>(count), CV_16F, const_cast<char*>(p)), f;
          half.convertTo(f, CV_32F);
          std::memcpy(c.f.data(), f.ptr<float>(), count * 4);
        } else if (q == "uint8" || q == "uint16") {
          const float scale = w["quantization"].value("scale", 1.f), mn = w["quantization"].value("min", 0.f);
          for (std::size_t i = 0; i < count; ++i) {
            const unsigned v = q == "uint8" ? static_cast<unsigned char>(p[i])
                                            : static_cast<unsigned>(static_cast<unsigned char>(p[2 * i])) |
                                                  static_cast<unsigned>(static_cast<unsigned char>(p[2 * i + 1])) << 8;
            c.f[i] = static_cast<float>(v) * scale + mn;
          }
        } else if (dtype == "int32") {
          for (std::size_t i = 0; i < count; ++i) {
            std::int32_t v;
            std::memcpy(&v, p + 4 * i, 4);
            c.f[i] = static_cast<float>(v);
          }
        } else {
          std::memcpy(c.f.data(), p, count * 4);
        }
        off += count * width;
        consts_[w.at("name").get<std::string>()] = std::move(c);
      }
    if (off != bin.size()) return fail(id_, "weights file longer than its manifest");
    return ok_status();
  }

  const float* keep(std::vector<float> v) {
    g_.data.push_back(std::make_unique<std::vector<float>>(std::move(v)));
    return g_.data.back()->data();
  }

  Result<uint32_t> define(const std::string& name, const std::vector<std::size_t>& shape, const float* data) {
    uint32_t id = XNN_INVALID_VALUE_ID;
    uint32_t ext = XNN_INVALID_VALUE_ID, flags = 0;
    if (!data && external_.count(name)) {
      ext = external_[name];
      flags = XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    }
    if (xnn_define_tensor_value(g_.subgraph, xnn_datatype_fp32, shape.size(), shape.data(), data, ext, flags, &id) !=
        xnn_status_success)
      return fail(id_, "tensor " + name);
    return id;
  }

  // A new activation `name` of `shape`.
  Result<uint32_t> fresh(const std::string& name, std::vector<std::size_t> shape) {
    shapes_[name] = shape;
    auto id = define(name, shape, nullptr);
    if (id) ids_[name] = *id;
    return id;
  }

  // The XNNPACK value of an activation; pending work is given to XNNPACK now.
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
    const std::vector<std::size_t> fshape = pd.depthwise ? std::vector<std::size_t>{1, pd.kh, pd.kw, pd.oc}
                                                         : std::vector<std::size_t>{pd.oc, pd.kh, pd.kw, pd.ic};
    auto f = define(name + "/filter", fshape, keep(std::move(pd.filter)));
    if (!f) return f.error();
    auto b = define(name + "/bias", {pd.oc}, keep(std::move(pd.bias)));
    if (!b) return b.error();
    const auto u = [](std::size_t v) { return static_cast<uint32_t>(v); };
    const xnn_status r =
        pd.depthwise
            ? xnn_define_depthwise_convolution_2d(g_.subgraph, u(pd.pad[0]), u(pd.pad[1]), u(pd.pad[2]), u(pd.pad[3]), u(pd.kh),
                                                  u(pd.kw), u(pd.sh), u(pd.sw), 1, 1, u(pd.oc / pd.ic), pd.ic, pd.lo, pd.hi,
                                                  *in, *f, *b, *out, 0)
            : xnn_define_convolution_2d(g_.subgraph, u(pd.pad[0]), u(pd.pad[1]), u(pd.pad[2]), u(pd.pad[3]), u(pd.kh),
                                        u(pd.kw), u(pd.sh), u(pd.sw), 1, 1, 1, pd.ic, pd.oc, pd.lo, pd.hi, *in, *f, *b, *out, 0);
    if (r != xnn_status_success) return fail(id_, "convolution " + name);
    return out;
  }

  const Const* constant(const std::string& name) {
    auto it = consts_.find(name);
    return it == consts_.end() ? nullptr : &it->second;
  }
  bool activation(const std::string& name) const { return shapes_.count(name) > 0; }
  // A pending node `name` that the node using it may absorb: used once, not an output.
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

  // TF's output size and padding (top/bottom or left/right) for one spatial dimension.
  static std::size_t out_dim(std::size_t in, std::size_t k, std::size_t s, const std::string& padding, std::size_t& before,
                             std::size_t& after) {
    if (padding == "SAME") {
      const std::size_t out = (in + s - 1) / s;
      const std::size_t need = (out - 1) * s + k;
      const std::size_t total = need > in ? need - in : 0;
      before = total / 2;
      after = total - before;
      return out;
    }
    const std::size_t span = in + before + after;   // VALID (0, 0) or EXPLICIT (as given)
    return span < k ? 0 : (span - k) / s + 1;
  }

  Status conv(const json& n, const std::string& name, const std::vector<std::string>& in, bool depthwise) {
    const Const* w = constant(in.at(1));
    if (!w || w->shape.size() != 4 || !activation(in[0])) return fail(id_, "convolution without a constant filter: " + name);
    auto fused = attr_strs(n, "fused_ops");
    const std::string padding = attr_str(n, "padding");
    const auto strides = attr_ints(n, "strides"), explicit_pads = attr_ints(n, "explicit_paddings"),
               dil = attr_ints(n, "dilations");
    for (long d : dil)
      if (d != 1) return fail(id_, "dilated convolution " + name);
    if (strides.size() != 4 || (padding != "SAME" && padding != "VALID" && padding != "EXPLICIT") ||
        (padding == "EXPLICIT" && explicit_pads.size() != 8))
      return fail(id_, "convolution attributes of " + name);
    Pending p;
    p.in = in[0];
    p.depthwise = depthwise;
    p.kh = w->shape[0], p.kw = w->shape[1], p.ic = w->shape[2];
    p.oc = depthwise ? w->shape[2] * w->shape[3] : w->shape[3];
    p.sh = static_cast<std::size_t>(strides[1]), p.sw = static_cast<std::size_t>(strides[2]);
    const auto& s = shapes_[in[0]];
    if (s.size() != 4 || s[3] != p.ic) return fail(id_, "input channels of " + name);
    if (padding == "EXPLICIT") {
      p.pad[0] = static_cast<std::size_t>(explicit_pads[2]), p.pad[2] = static_cast<std::size_t>(explicit_pads[3]);
      p.pad[3] = static_cast<std::size_t>(explicit_pads[4]), p.pad[1] = static_cast<std::size_t>(explicit_pads[5]);
    }
    const std::size_t oh = out_dim(s[1], p.kh, p.sh, padding, p.pad[0], p.pad[2]);
    const std::size_t ow = out_dim(s[2], p.kw, p.sw, padding, p.pad[3], p.pad[1]);
    if (oh == 0 || ow == 0) return fail(id_, "empty output of " + name);
    if (depthwise) {
      p.filter = w->f;   // TF [H, W, C, M] is XNNPACK's [1, H, W, C * M]
    } else {
      p.filter.resize(p.oc * p.kh * p.kw * p.ic);   // HWIO -> OHWI
      for (std::size_t y = 0; y < p.kh; ++y)
        for (std::size_t x = 0; x < p.kw; ++x)
          for (std::size_t i = 0; i < p.ic; ++i)
            for (std::size_t o = 0; o < p.oc; ++o)
              p.filter[((o * p.kh + y) * p.kw + x) * p.ic + i] = w->f[((y * p.kw + x) * p.ic + i) * p.oc + o];
    }
    p.bias.assign(p.oc, 0.f);
    if (!fused.empty()) {
      const Const* b = in.size() > 2 ? constant(in[2]) : nullptr;
      if (fused[0] != "BiasAdd" || !b || b->f.size() != p.oc) return fail(id_, "fused ops of " + name);
      p.bias = b->f;
      if (fused.size() == 2 && fused[1] == "Relu") p.lo = 0;
      else if (fused.size() == 2 && fused[1] == "Relu6") p.lo = 0, p.hi = 6;
      else if (fused.size() > 1) return fail(id_, "fused " + fused[1] + " in " + name);
    }
    shapes_[name] = {1, oh, ow, p.oc};
    pending_[name] = std::move(p);
    return ok_status();
  }

  Status node(const json& n) {
    const std::string op = n.at("op"), name = n.at("name");
    std::vector<std::string> in;
    for (const auto& x : n.value("input", json::array())) in.push_back(strip(x.get<std::string>()));
    if (op == "Const") return ok_status();
    if (op == "Placeholder") {
      const json* a = attr(n, "shape");
      std::vector<long> dims;
      if (a && a->contains("shape") && (*a)["shape"].contains("dim"))
        for (const auto& d : (*a)["shape"]["dim"]) dims.push_back(std::stol(d.value("size", "-1")));
      if (dims.size() != 4 || dims[1] <= 0 || dims[2] <= 0 || dims[3] <= 0 || g_.in_h) return fail(id_, "input " + name);
      g_.in_h = static_cast<std::size_t>(dims[1]), g_.in_w = static_cast<std::size_t>(dims[2]), g_.in_c = static_cast<std::size_t>(dims[3]);
      shapes_[name] = {1, g_.in_h, g_.in_w, g_.in_c};
      uint32_t id = XNN_INVALID_VALUE_ID;
      if (xnn_define_tensor_value(g_.subgraph, xnn_datatype_fp32, 4, shapes_[name].data(), nullptr, 0,
                                  XNN_VALUE_FLAG_EXTERNAL_INPUT, &id) != xnn_status_success)
        return fail(id_, "input " + name);
      ids_[name] = id;
      return ok_status();
    }
    if (op == "Conv2D" || op == "_FusedConv2D") return conv(n, name, in, false);
    if (op == "DepthwiseConv2dNative") return conv(n, name, in, true);
    if ((op == "Mul" || op == "Add" || op == "AddV2") && in.size() == 2 && constant(in[1]) && activation(in[0])) {
      // A per-channel (or scalar) constant after a convolution: folded into it.
      Pending* p = foldable(in[0]);
      const Const* c = constant(in[1]);
      if (!p || p->add || p->lo != -INFINITY || p->hi != INFINITY || (c->f.size() != p->oc && c->f.size() != 1))
        return fail(id_, op + " of a constant not right after a convolution: " + name);
      const auto at = [&](std::size_t o) { return c->f.size() == 1 ? c->f[0] : c->f[o]; };
      for (std::size_t o = 0; o < p->oc; ++o) {
        if (op == "Mul") {
          if (p->depthwise)
            for (std::size_t k = 0; k < p->kh * p->kw; ++k) p->filter[k * p->oc + o] *= at(o);
          else
            for (std::size_t k = 0; k < p->kh * p->kw * p->ic; ++k) p->filter[o * p->kh * p->kw * p->ic + k] *= at(o);
          p->bias[o] *= at(o);
        } else {
          p->bias[o] += at(o);
        }
      }
      rename(in[0], name);
      return ok_status();
    }
    if (op == "AddV2" || op == "Add") {
      if (in.size() != 2 || !activation(in[0]) || !activation(in[1]) || shapes_[in[0]] != shapes_[in[1]])
        return fail(id_, "add of different shapes: " + name);
      Pending p;
      p.add = true;
      p.in = in[0], p.in2 = in[1];
      shapes_[name] = shapes_[in[0]];
      pending_[name] = std::move(p);
      return ok_status();
    }
    if (op == "Relu" || op == "Relu6" || op == "Minimum" || op == "Maximum") {
      Pending* p = activation(in.at(0)) ? foldable(in[0]) : nullptr;
      const Const* c = in.size() > 1 ? constant(in[1]) : nullptr;
      if (!p || ((op == "Minimum" || op == "Maximum") && (!c || c->f.size() != 1)))
        return fail(id_, op + " not right after a convolution or add: " + name);
      if (op == "Relu") p->lo = std::max(p->lo, 0.f);
      if (op == "Relu6") p->lo = std::max(p->lo, 0.f), p->hi = std::min(p->hi, 6.f);
      if (op == "Minimum") p->hi = std::min(p->hi, c->f[0]);
      if (op == "Maximum") p->lo = std::max(p->lo, c->f[0]);
      if (p->lo > p->hi) return fail(id_, "empty output range at " + name);
      rename(in[0], name);
      return ok_status();
    }
    if (op == "MaxPool" || op == "AvgPool") {
      const auto k = attr_ints(n, "ksize"), st = attr_ints(n, "strides");
      const std::string padding = attr_str(n, "padding");
      if (k.size() != 4 || st.size() != 4 || !activation(in.at(0)) || (padding != "VALID" && padding != "SAME"))
        return fail(id_, "pooling attributes of " + name);
      auto x = value(in[0]);
      if (!x) return x.error();
      const auto s = shapes_[in[0]];
      const auto kh = static_cast<std::size_t>(k[1]), kw = static_cast<std::size_t>(k[2]);
      const auto sh = static_cast<std::size_t>(st[1]), sw = static_cast<std::size_t>(st[2]);
      std::size_t pad[4] = {0, 0, 0, 0};
      const std::size_t oh = out_dim(s[1], kh, sh, padding, pad[0], pad[2]);
      const std::size_t ow = out_dim(s[2], kw, sw, padding, pad[3], pad[1]);
      // TF's SAME average pooling divides by the window inside the image; XNNPACK's by the whole
      // window: only unpadded average pooling is translated.
      if (oh == 0 || ow == 0 || (op == "AvgPool" && (pad[0] | pad[1] | pad[2] | pad[3])))
        return fail(id_, "pooling of " + name);
      auto out = fresh(name, {1, oh, ow, s[3]});
      if (!out) return out.error();
      const auto u = [](std::size_t v) { return static_cast<uint32_t>(v); };
      const xnn_status r =
          op == "MaxPool"
              ? xnn_define_max_pooling_2d(g_.subgraph, u(pad[0]), u(pad[1]), u(pad[2]), u(pad[3]), u(kh), u(kw), u(sh), u(sw),
                                          1, 1, -INFINITY, INFINITY, *x, *out, 0)
              : xnn_define_average_pooling_2d(g_.subgraph, 0, 0, 0, 0, u(kh), u(kw), u(sh), u(sw), -INFINITY, INFINITY, *x,
                                              *out, 0);
      return r == xnn_status_success ? ok_status() : Status(fail(id_, "pooling " + name));
    }
    if (op == "Pad") {
      const Const* pads = constant(in.at(1));
      if (!pads || pads->f.size() != 8 || !activation(in[0])) return fail(id_, "pad of " + name);
      auto x = value(in[0]);
      if (!x) return x.error();
      std::vector<std::size_t> pre(4), post(4), shape = shapes_[in[0]];
      for (std::size_t d = 0; d < 4; ++d) {
        if (pads->f[2 * d] < 0 || pads->f[2 * d + 1] < 0) return fail(id_, "negative pad in " + name);
        pre[d] = static_cast<std::size_t>(pads->f[2 * d]);
        post[d] = static_cast<std::size_t>(pads->f[2 * d + 1]);
        shape[d] += pre[d] + post[d];
      }
      if (pre[0] || post[0]) return fail(id_, "pad of the batch in " + name);
      auto out = fresh(name, shape);
      if (!out) return out.error();
      return xnn_define_static_constant_pad(g_.subgraph, pre.data(), post.data(), 0.f, *x, *out, 0) == xnn_status_success
                 ? ok_status()
                 : Status(fail(id_, "pad " + name));
    }
    if (op == "Mean") {
      const Const* axes = constant(in.at(1));
      if (!axes || axes->f != std::vector<float>{1, 2} || !activation(in[0]) || attr_bool(n, "keep_dims"))
        return fail(id_, "mean other than over height and width: " + name);
      auto x = value(in[0]);
      if (!x) return x.error();
      const std::size_t c = shapes_[in[0]][3];
      auto out = fresh(name, {1, c});
      if (!out) return out.error();
      return xnn_define_global_average_pooling_2d(g_.subgraph, -INFINITY, INFINITY, *x, *out, 0) == xnn_status_success
                 ? ok_status()
                 : Status(fail(id_, "mean " + name));
    }
    if (op == "MatMul" || op == "_FusedMatMul") {
      const Const* w = constant(in.at(1));
      if (!w || w->shape.size() != 2 || !activation(in[0]) || shapes_[in[0]].back() != w->shape[0] ||
          attr_bool(n, "transpose_a") || attr_bool(n, "transpose_b"))
        return fail(id_, "matmul " + name);
      auto x = value(in[0]);
      if (!x) return x.error();
      const std::size_t k = w->shape[0], m = w->shape[1];
      std::vector<float> t(k * m);   // [K, M] -> XNNPACK's [M, K]
      for (std::size_t a = 0; a < k; ++a)
        for (std::size_t b = 0; b < m; ++b) t[b * k + a] = w->f[a * m + b];
      float lo = -INFINITY;
      uint32_t bias = XNN_INVALID_VALUE_ID;
      const auto fused = attr_strs(n, "fused_ops");
      if (!fused.empty()) {
        const Const* b = in.size() > 2 ? constant(in[2]) : nullptr;
        if (fused[0] != "BiasAdd" || !b || b->f.size() != m || fused.size() > 2 || (fused.size() == 2 && fused[1] != "Relu"))
          return fail(id_, "fused ops of " + name);
        auto bid = define(name + "/bias", {m}, keep(b->f));
        if (!bid) return bid.error();
        bias = *bid;
        if (fused.size() == 2) lo = 0;
      }
      auto f = define(name + "/filter", {m, k}, keep(std::move(t)));
      if (!f) return f.error();
      auto out = fresh(name, {1, m});
      if (!out) return out.error();
      return xnn_define_fully_connected(g_.subgraph, lo, INFINITY, *x, *f, bias, *out, 0) == xnn_status_success
                 ? ok_status()
                 : Status(fail(id_, "fully connected " + name));
    }
    if (kAliasOps.count(op)) {
      if (!activation(in.at(0))) return fail(id_, op + " of a constant: " + name);
      std::vector<std::size_t> shape = shapes_[in[0]];
      if (op == "Reshape") {   // the same elements in the same (NHWC = TF) order, another shape
        const Const* target = in.size() > 1 ? constant(in[1]) : nullptr;
        std::size_t total = 1, known = 1;
        for (auto d : shape) total *= d;
        if (!target) return fail(id_, "reshape to a computed shape: " + name);
        int unknown = 0;
        for (float d : target->f) d < 0 ? ++unknown : known *= static_cast<std::size_t>(d);
        if (unknown > 1 || known == 0 || (unknown ? total % known : total != known)) return fail(id_, "reshape of " + name);
        shape.clear();
        for (float d : target->f) shape.push_back(d < 0 ? total / known : static_cast<std::size_t>(d));
      }
      alias_[name] = in[0];
      shapes_[name] = shape;
      return ok_status();
    }
    return fail(id_, "op " + op + " (" + name + ") is not translated");
  }

  XnnGraph& g_;
  std::string id_;
  std::map<std::string, Const> consts_;
  std::map<std::string, int> uses_;
  std::set<std::string> needed_;
  std::map<std::string, uint32_t> external_;   // node -> external id
  std::map<std::string, std::vector<std::size_t>> shapes_;
  std::map<std::string, uint32_t> ids_;
  std::map<std::string, Pending> pending_;
  std::map<std::string, std::string> alias_;
};

Status init_xnnpack() {
  static std::once_flag once;
  static xnn_status status = xnn_status_uninitialized;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  if (status != xnn_status_success) return make_error(Reason::kModelError, "XNNPACK does not run on this CPU");
  if (sodium_init() < 0) return make_error(Reason::kInternal, "libsodium");
  return ok_status();
}

}  // namespace

XnnNet::XnnNet(XnnNet&&) noexcept = default;
XnnNet& XnnNet::operator=(XnnNet&&) noexcept = default;
XnnNet::~XnnNet() = default;

Result<XnnNet> XnnNet::load(const std::filesystem::path& model_dir, const std::string& graph_id,
                            const std::vector<std::string>& outputs, int threads) {
  if (auto st = init_xnnpack(); !st) return st.error();
  auto gf = find_model(model_dir, graph_id);
  if (!gf) return gf.error();
  if (gf->path.extension() == ".onnx") {   // the ONNX front-end (net_xnn_onnx.cpp)
    auto bytes = read_checked_model_file(*gf, 256u << 20);
    if (!bytes) return bytes.error();
    auto graph = std::make_shared<XnnGraph>();
    graph->file = *gf;
    if (xnn_create_subgraph(static_cast<uint32_t>(outputs.size() + 1), 0, &graph->subgraph) != xnn_status_success)
      return make_error(Reason::kModelError, "XNNPACK cannot create a subgraph");
    if (auto st = build_onnx_subgraph(*graph, graph_id, *bytes, outputs); !st) return st.error();
    XnnNet net;
    net.graph_ = std::move(graph);
    net.threads_ = std::max(1, threads);
    return net.fresh();
  }
  auto bf = find_model(model_dir, graph_id + "_bin");
  if (!bf) return bf.error();
  auto text = read_checked_model_file(*gf, 16u << 20);
  if (!text) return text.error();
  auto bin = read_checked_model_file(*bf, 256u << 20);
  if (!bin) return bin.error();
  const json model = json::parse(*text, nullptr, false);
  if (model.is_discarded() || !model.contains("modelTopology") || !model["modelTopology"].contains("node") ||
      !model.contains("weightsManifest"))
    return make_error(Reason::kModelError, gf->path.string() + ": not a TF.js graph model");
  if (model["weightsManifest"].size() != 1 || model["weightsManifest"][0].value("paths", json::array()).size() != 1 ||
      model["weightsManifest"][0]["paths"][0].get<std::string>() != bf->path.filename().string())
    return make_error(Reason::kModelError, gf->path.string() + ": weights are not the one file " + bf->path.filename().string());
  auto graph = std::make_shared<XnnGraph>();
  graph->file = *gf;
  if (xnn_create_subgraph(static_cast<uint32_t>(outputs.size() + 1), 0, &graph->subgraph) != xnn_status_success)
    return make_error(Reason::kModelError, "XNNPACK cannot create a subgraph");
  try {
    Builder b(*graph, graph_id);
    if (auto st = b.build(model, *bin, outputs); !st) return st.error();
  } catch (const json::exception& e) {
    return make_error(Reason::kModelError, gf->path.string() + ": " + e.what());
  }
  XnnNet net;
  net.graph_ = std::move(graph);
  net.threads_ = std::max(1, threads);
  return net.fresh();
}

Result<XnnNet> XnnNet::fresh() const {
  XnnNet n;
  n.graph_ = graph_;
  n.threads_ = threads_;
  n.rt_ = std::make_unique<Runtime>();
  Runtime& rt = *n.rt_;
  if (threads_ > 1) rt.pool = pthreadpool_create(static_cast<std::size_t>(threads_));
  if (xnn_create_runtime_v2(graph_->subgraph, rt.pool, 0, &rt.runtime) != xnn_status_success)
    return make_error(Reason::kModelError, "XNNPACK cannot create a runtime");
  rt.input.assign(graph_->in_h * graph_->in_w * graph_->in_c, 0.f);
  std::vector<xnn_external_value> ext = {{0, rt.input.data()}};
  rt.outputs.resize(graph_->out_sizes.size());
  for (std::size_t k = 0; k < rt.outputs.size(); ++k) {
    rt.outputs[k].assign(graph_->out_sizes[k], 0.f);
    ext.push_back({static_cast<uint32_t>(k + 1), rt.outputs[k].data()});
  }
  if (xnn_setup_runtime(rt.runtime, ext.size(), ext.data()) != xnn_status_success)
    return make_error(Reason::kModelError, "XNNPACK cannot set up a runtime");
  return n;
}

Result<std::vector<cv::Mat>> XnnNet::run(const cv::Mat& bgr, cv::Scalar mean, double scale, bool swap_rb) {
  if (bgr.empty() || bgr.type() != CV_8UC3 || static_cast<std::size_t>(bgr.cols) != graph_->in_w ||
      static_cast<std::size_t>(bgr.rows) != graph_->in_h || graph_->in_c != 3)
    return make_error(Reason::kInternal, "XNNPACK network: input must be " + std::to_string(graph_->in_w) + "x" +
                                             std::to_string(graph_->in_h) + " 8UC3");
  // The same float values make_blob (OpenCV dnn's input) computes, in NHWC: a 256-entry table per
  // channel instead of a double multiply per element.
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = static_cast<float>((static_cast<double>(v) - mean[c]) * scale);
  float* dst = rt_->input.data();
  const int src[3] = {swap_rb ? 2 : 0, 1, swap_rb ? 0 : 2};
  for (int y = 0; y < bgr.rows; ++y) {
    const auto* p = bgr.ptr<cv::Vec3b>(y);
    for (int x = 0; x < bgr.cols; ++x, dst += 3) {
      dst[0] = lut[0][p[x][src[0]]];
      dst[1] = lut[1][p[x][src[1]]];
      dst[2] = lut[2][p[x][src[2]]];
    }
  }
  if (xnn_invoke_runtime(rt_->runtime) != xnn_status_success) return make_error(Reason::kModelError, "XNNPACK failed to run");
  std::vector<cv::Mat> out;
  for (const auto& o : rt_->outputs) out.push_back(cv::Mat(1, static_cast<int>(o.size()), CV_32F, const_cast<float*>(o.data())).clone());
  return out;
}

int XnnNet::input_width() const { return static_cast<int>(graph_->in_w); }
int XnnNet::input_height() const { return static_cast<int>(graph_->in_h); }
const ModelFile& XnnNet::file() const { return graph_->file; }

}  // namespace simkyc
