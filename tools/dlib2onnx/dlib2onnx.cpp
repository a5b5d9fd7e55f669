// dlib2onnx — writes dlib's ResNet-29 face descriptor network (dlib_face_recognition_resnet_model_v1.dat)
// as a TensorFlow.js graph model (model.json + one float32 weight file), which
// tools/tfjs2onnx/convert.js then turns into ONNX: one converter, one ONNX writer.
//   dlib2onnx MODEL.dat OUT.json        (writes OUT.json and OUT.bin)
// Weights are read with dlib itself and copied bit for bit (filters transposed from dlib's
// OIHW to TF's HWIO).  The graph is dlib's, op for op: conv (+bias), affine (x * gamma + beta),
// relu, max/avg pooling without padding, and add_prev, which in dlib sums tensors of different
// sizes by taking the missing elements as 0 — written as a zero Pad (channels, and rows/columns
// at the end) before the Add.  Input: RGB, (value - dlib's channel mean) / 256, 150x150, NHWC.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "face/resnet_dlib.h"

namespace {

using nlohmann::json;

struct Shape4 {
  long h, w, c;
};

class GraphWriter {
 public:
  json nodes = json::array();
  json weights = json::array();
  std::vector<float> data;
  int uniq = 0;

  std::string name(const std::string& base) { return base + "_" + std::to_string(++uniq); }

  std::string constant(const std::string& base, const std::vector<long>& shape, const std::vector<float>& v) {
    const std::string n = name(base);
    nodes.push_back({{"name", n}, {"op", "Const"}, {"attr", {{"dtype", {{"type", "DT_FLOAT"}}}}}});
    weights.push_back({{"name", n}, {"shape", shape}, {"dtype", "float32"}});
    data.insert(data.end(), v.begin(), v.end());
    return n;
  }
  std::string int_constant(const std::string& base, const std::vector<long>& shape, const std::vector<int>& v) {
    const std::string n = name(base);
    nodes.push_back({{"name", n}, {"op", "Const"}, {"attr", {{"dtype", {{"type", "DT_INT32"}}}}}});
    weights.push_back({{"name", n}, {"shape", shape}, {"dtype", "int32"}});
    for (int x : v) {
      float f;
      static_assert(sizeof f == sizeof x);
      std::memcpy(&f, &x, sizeof f);
      data.push_back(f);
    }
    return n;
  }
  std::string op(const std::string& type, const std::vector<std::string>& inputs, json attr = json::object(),
                 std::string out = "") {
    if (out.empty()) out = name(type);
    nodes.push_back({{"name", out}, {"op", type}, {"input", inputs}, {"attr", attr}});
    return out;
  }
};

json ints(const std::vector<long>& v) {
  json l = json::array();
  for (long x : v) l.push_back(std::to_string(x));
  return {{"list", {{"i", l}}}};
}
json str(const std::string& s) {
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  unsigned val = 0;
  int bits = -6;
  for (unsigned char c : s) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) { o.push_back(b64[(val >> bits) & 0x3F]); bits -= 6; }
  }
  if (bits > -6) o.push_back(b64[((val << 8) >> (bits + 8)) & 0x3F]);
  while (o.size() % 4) o.push_back('=');
  return {{"s", o}};
}
json strs(const std::vector<std::string>& v) {
  json l = json::array();
  for (const auto& s : v) l.push_back(str(s)["s"]);
  return {{"list", {{"s", l}}}};
}

// The layers with parameters (con, affine, fc) in input-to-output order.
struct Layer {
  enum Kind { kCon, kAffine, kFc } kind;
  long num_filters = 0, nr = 0, nc = 0, stride = 0, pad_y = 0, pad_x = 0;
  std::vector<float> params, gamma, beta;
  bool bias = false;
};

std::vector<float> to_vec(const dlib::tensor& t) { return std::vector<float>(t.begin(), t.end()); }

struct Collector {
  std::vector<Layer>* out;
  template <class T>
  void operator()(T& l) {
    Layer x{};
    if constexpr (requires { l.bias_is_disabled(); l.stride_y(); }) {
      x.kind = Layer::kCon;
      x.num_filters = l.num_filters();
      x.nr = l.nr();
      x.nc = l.nc();
      x.stride = l.stride_y();
      x.pad_y = l.padding_y();
      x.pad_x = l.padding_x();
      x.params = to_vec(l.get_layer_params());
      x.bias = !l.bias_is_disabled();
    } else if constexpr (requires { l.get_gamma(); }) {
      x.kind = Layer::kAffine;
      x.gamma = to_vec(l.get_gamma());
      x.beta = to_vec(l.get_beta());
    } else if constexpr (requires { l.get_num_outputs(); }) {
      x.kind = Layer::kFc;
      x.num_filters = static_cast<long>(l.get_num_outputs());
      x.params = to_vec(l.get_layer_params());
    } else {
      return;   // relu, pooling, add_prev: no parameters; their places are in Builder::build
    }
    out->push_back(std::move(x));
  }
};

class Builder {
 public:
  Builder(GraphWriter& g, std::vector<Layer> layers) : g_(g), layers_(std::move(layers)) {}

  const Layer& next(Layer::Kind k) {
    if (pos_ >= layers_.size() || layers_[pos_].kind != k) throw std::runtime_error("network layout differs");
    return layers_[pos_++];
  }

  // dlib con (+ bias): filters O x I x H x W -> TF H x W x I x O.
  std::string con(const std::string& x, Shape4& s) {
    const Layer& l = next(Layer::kCon);
    const long o = l.num_filters, i = s.c, kh = l.nr, kw = l.nc;
    if (static_cast<long>(l.params.size()) != o * i * kh * kw + (l.bias ? o : 0)) throw std::runtime_error("con size");
    std::vector<float> hwio(static_cast<std::size_t>(o * i * kh * kw));
    for (long a = 0; a < o; ++a)
      for (long b = 0; b < i; ++b)
        for (long y = 0; y < kh; ++y)
          for (long z = 0; z < kw; ++z)
            hwio[static_cast<std::size_t>(((y * kw + z) * i + b) * o + a)] = l.params[static_cast<std::size_t>(((a * i + b) * kh + y) * kw + z)];
    const std::string f = g_.constant("filter", {kh, kw, i, o}, hwio);
    json attr = {{"strides", ints({1, l.stride, l.stride, 1})}, {"padding", str("EXPLICIT")},
                 {"explicit_paddings", ints({0, 0, l.pad_y, l.pad_y, l.pad_x, l.pad_x, 0, 0})},
                 {"dilations", ints({1, 1, 1, 1})}, {"data_format", str("NHWC")}};
    std::string out;
    if (l.bias) {
      const std::vector<float> bias(l.params.end() - o, l.params.end());
      attr["fused_ops"] = strs({"BiasAdd"});
      attr["num_args"] = {{"i", "1"}};
      out = g_.op("_FusedConv2D", {x, f, g_.constant("bias", {o}, bias)}, attr);
    } else {
      out = g_.op("Conv2D", {x, f}, attr);
    }
    s = {(s.h + 2 * l.pad_y - kh) / l.stride + 1, (s.w + 2 * l.pad_x - kw) / l.stride + 1, o};
    return out;
  }

  std::string affine(const std::string& x, const Shape4& s) {
    const Layer& l = next(Layer::kAffine);
    if (static_cast<long>(l.gamma.size()) != s.c) throw std::runtime_error("affine must be per channel");
    const std::string m = g_.op("Mul", {x, g_.constant("gamma", {s.c}, l.gamma)});
    return g_.op("Add", {m, g_.constant("beta", {s.c}, l.beta)});
  }

  std::string relu(const std::string& x) { return g_.op("Relu", {x}); }

  std::string pool(const std::string& type, const std::string& x, Shape4& s, long k, long stride) {
    const std::string out = g_.op(type, {x}, {{"ksize", ints({1, k, k, 1})}, {"strides", ints({1, stride, stride, 1})},
                                              {"padding", str("VALID")}, {"data_format", str("NHWC")}});
    s = {(s.h - k) / stride + 1, (s.w - k) / stride + 1, s.c};
    return out;
  }

  // dlib add_prev: the missing elements of the smaller tensor count as 0.
  std::string add(std::string a, const Shape4& sa, std::string b, const Shape4& sb, Shape4& out) {
    out = {std::max(sa.h, sb.h), std::max(sa.w, sb.w), std::max(sa.c, sb.c)};
    auto pad = [&](const std::string& x, const Shape4& s) {
      if (s.h == out.h && s.w == out.w && s.c == out.c) return x;
      const std::string p = g_.int_constant("paddings", {4, 2},
          {0, 0, 0, static_cast<int>(out.h - s.h), 0, static_cast<int>(out.w - s.w), 0, static_cast<int>(out.c - s.c)});
      return g_.op("Pad", {x, p});
    };
    return g_.op("AddV2", {pad(a, sa), pad(b, sb)});
  }

  // relu(add_prev(block(x), x)) or, downsampling, relu(add_prev(block(x), avg_pool(x))).
  std::string residual(const std::string& x, Shape4& s, bool down) {
    Shape4 sb = s;
    std::string y = relu(affine(con(x, sb), sb));
    y = affine(con(y, sb), sb);
    Shape4 sk = s;
    const std::string skip = down ? pool("AvgPool", x, sk, 2, 2) : x;
    Shape4 so{};
    const std::string sum = add(y, sb, skip, sk, so);
    s = so;
    return relu(sum);
  }

  void build() {
    const std::string in = g_.op("Placeholder", {}, {{"dtype", {{"type", "DT_FLOAT"}}},
        {"shape", {{"shape", {{"dim", json::array({{{"size", "1"}}, {{"size", "150"}}, {{"size", "150"}}, {{"size", "3"}}})}}}}}}, "input");
    Shape4 s{150, 150, 3};
    std::string x = relu(affine(con(in, s), s));
    x = pool("MaxPool", x, s, 3, 2);
    const std::pair<int, int> levels[] = {{0, 3}, {1, 3}, {1, 2}, {1, 2}, {1, 0}};   // {down?, plain blocks}
    for (auto [down, plain] : levels) {
      if (down) x = residual(x, s, true);
      for (int i = 0; i < plain; ++i) x = residual(x, s, false);
    }
    const std::string axes = g_.int_constant("axes", {2}, {1, 2});
    x = g_.op("Mean", {x, axes}, {{"keep_dims", {{"b", false}}}});
    const Layer& fc = next(Layer::kFc);
    if (static_cast<long>(fc.params.size()) != s.c * fc.num_filters) throw std::runtime_error("fc size");
    x = g_.op("MatMul", {x, g_.constant("fc", {s.c, fc.num_filters}, fc.params)},
              {{"transpose_a", {{"b", false}}}, {"transpose_b", {{"b", false}}}});
    g_.op("Identity", {x}, json::object(), "descriptor");
    if (pos_ != layers_.size()) throw std::runtime_error("layers left over");
  }

 private:
  GraphWriter& g_;
  std::vector<Layer> layers_;
  std::size_t pos_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: dlib2onnx MODEL.dat OUT.json\n";
    return 2;
  }
  try {
    simkyc::dlib_resnet::ResNet net;
    dlib::deserialize(argv[1]) >> net;
    std::vector<Layer> layers;
    dlib::visit_computational_layers(net, Collector{&layers});   // output first
    std::reverse(layers.begin(), layers.end());
    GraphWriter g;
    Builder(g, std::move(layers)).build();
    const std::string json_path = argv[2];
    std::string bin_path = json_path.substr(0, json_path.rfind('.')) + ".bin";
    const std::string bin_name = bin_path.substr(bin_path.find_last_of('/') + 1);
    json model = {{"format", "graph-model"}, {"generatedBy", "dlib dlib_face_recognition_resnet_model_v1"},
                  {"convertedBy", "simkyc tools/dlib2onnx"}, {"modelTopology", {{"node", g.nodes}}},
                  {"signature", {{"outputs", {{"descriptor", {{"name", "descriptor"}}}}}}},
                  {"weightsManifest", json::array({{{"paths", json::array({bin_name})}, {"weights", g.weights}}})}};
    std::ofstream(bin_path, std::ios::binary)
        .write(reinterpret_cast<const char*>(g.data.data()), static_cast<std::streamsize>(g.data.size() * sizeof(float)));
    std::ofstream(json_path) << model.dump() << "\n";
    std::cerr << "[dlib2onnx] " << argv[1] << " -> " << json_path << " (" << g.nodes.size() << " nodes)\n";
  } catch (const std::exception& e) {
    std::cerr << "dlib2onnx: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
