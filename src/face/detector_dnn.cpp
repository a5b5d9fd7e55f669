// BlazeFace (MediaPipe, 256x256 "back camera" model) run by OpenCV dnn on the converted network.
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "face/detector.h"
#include "face/fr_geometry.h"
#include "face/net.h"

namespace simkyc {
namespace {

constexpr int kInput = 256;

struct Anchor {
  float x, y;   // centre, in input pixels
};

// The model's anchors: a 16x16 grid (stride 16) with 2 anchors a cell, then an 8x8 grid
// (stride 32) with 6; every anchor of a cell has the cell's centre and unit size.
std::vector<Anchor> make_anchors() {
  std::vector<Anchor> a;
  for (auto [stride, per_cell] : {std::pair{16, 2}, std::pair{32, 6}}) {
    const int cells = kInput / stride;
    for (int y = 0; y < cells; ++y)
      for (int x = 0; x < cells; ++x)
        for (int k = 0; k < per_cell; ++k)
          a.push_back({static_cast<float>(stride) * (static_cast<float>(x) + 0.5f),
                       static_cast<float>(stride) * (static_cast<float>(y) + 0.5f)});
  }
  return a;
}

struct Candidate {
  cv::Rect2f box;   // input pixels
  float score;
};

float iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.f;
}

// MediaPipe's weighted non-maximum suppression: each kept box is the score-weighted mean of the
// boxes that overlap the best remaining one by more than `threshold`.
std::vector<Candidate> weighted_nms(std::vector<Candidate> c, float threshold) {
  std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  std::vector<Candidate> out;
  std::vector<bool> used(c.size(), false);
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (used[i]) continue;
    float w = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    for (std::size_t j = i; j < c.size(); ++j) {
      if (used[j] || iou(c[i].box, c[j].box) <= threshold) continue;
      used[j] = true;
      const float s = c[j].score;
      w += s;
      x0 += s * c[j].box.x;
      y0 += s * c[j].box.y;
      x1 += s * (c[j].box.x + c[j].box.width);
      y1 += s * (c[j].box.y + c[j].box.height);
    }
    out.push_back({cv::Rect2f(x0 / w, y0 / w, (x1 - x0) / w, (y1 - y0) / w), c[i].score});
  }
  return out;
}

class BlazeFaceDetector final : public Detector {
 public:
  BlazeFaceDetector(FaceNet net, const DetectorConfig& cfg) : net_(std::move(net)), cfg_(cfg), anchors_(make_anchors()) {}

  Result<std::vector<FaceBox>> detect(const cv::Mat& bgr) override {
    if (bgr.empty() || bgr.type() != CV_8UC3) return make_error(Reason::kInternal, "detect needs 8UC3");
    // Letterbox: scale the longer side to 256, pad right and bottom with black.
    const double scale = static_cast<double>(kInput) / std::max(bgr.cols, bgr.rows);
    const int w = std::max(1, static_cast<int>(std::lround(bgr.cols * scale)));
    const int h = std::max(1, static_cast<int>(std::lround(bgr.rows * scale)));
    cv::Mat input(kInput, kInput, CV_8UC3, cv::Scalar::all(0));
    cv::resize(bgr, input(cv::Rect(0, 0, w, h)), cv::Size(w, h), 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    // RGB scaled to [-1, 1].
    auto out = net_.run(input, cv::Scalar::all(127.5), 1.0 / 127.5, true);
    if (!out) return out.error();
    const float* scores[2] = {(*out)[0].ptr<float>(), (*out)[1].ptr<float>()};
    const float* regs[2] = {(*out)[2].ptr<float>(), (*out)[3].ptr<float>()};
    const int counts[2] = {static_cast<int>((*out)[0].total()), static_cast<int>((*out)[1].total())};
    if (counts[0] + counts[1] != static_cast<int>(anchors_.size()))
      return make_error(Reason::kModelError, "blazeface: unexpected output size");
    std::vector<Candidate> cand;
    const float logit_min = std::log(kMinScore / (1.f - kMinScore));
    for (int part = 0, base = 0; part < 2; base += counts[part], ++part) {
      for (int i = 0; i < counts[part]; ++i) {
        const float logit = std::clamp(scores[part][i], -100.f, 100.f);
        if (logit < logit_min) continue;
        const float* r = regs[part] + 16 * i;
        const Anchor& a = anchors_[static_cast<std::size_t>(base + i)];
        const float cx = a.x + r[0], cy = a.y + r[1];
        cand.push_back({cv::Rect2f(cx - r[2] / 2, cy - r[3] / 2, r[2], r[3]), 1.f / (1.f + std::exp(-logit))});
      }
    }
    std::vector<FaceBox> boxes;
    for (const auto& c : weighted_nms(std::move(cand), kNmsIou)) {
      // BlazeFace's boxes already have dlib HOG's geometry, which the dlib landmarkers were trained
      // on: over 445 photos of shared/data/faces that both detect, the median HOG / BlazeFace size
      // ratio is 1.01 and the median centre offset under 1% of the side (docs/inference.md).
      const auto inv = static_cast<float>(1.0 / scale);
      boxes.push_back(FaceBox{cv::Rect2f(c.box.x * inv, c.box.y * inv, c.box.width * inv, c.box.height * inv), c.score, "blazeface"});
    }
    std::sort(boxes.begin(), boxes.end(), [](const FaceBox& a, const FaceBox& b) { return a.rect.area() > b.rect.area(); });
    return boxes;
  }

  std::unique_ptr<Detector> clone() const override {
    auto n = net_.fresh();
    if (!n) return nullptr;
    return std::make_unique<BlazeFaceDetector>(std::move(n.value()), cfg_);
  }
  std::string name() const override { return "blazeface"; }

  static constexpr float kMinScore = 0.6f;
  static constexpr float kNmsIou = 0.3f;

 private:
  FaceNet net_;
  DetectorConfig cfg_;
  std::vector<Anchor> anchors_;
};

}  // namespace

Result<std::unique_ptr<Detector>> make_dnn_detector(const std::filesystem::path& model_dir, const std::string& id,
                                                    const DetectorConfig& cfg) {
  // blazeface_xnn_v1: the same network (the same ONNX file) on XNNPACK.
  const std::vector<std::string> outputs = {"Identity", "Identity_1", "Identity_2", "Identity_3"};
  Result<FaceNet> net = id == "blazeface_v1"       ? FaceNet::onnx(model_dir, id, outputs)
                        : id == "blazeface_xnn_v1" ? FaceNet::xnn(model_dir, "blazeface_v1", outputs, 1)
                                                   : Result<FaceNet>(make_error(Reason::kModelError, "unknown detector '" + id + "'"));
  if (!net) return net.error();
  return std::unique_ptr<Detector>(std::make_unique<BlazeFaceDetector>(std::move(net.value()), cfg));
}

Result<std::unique_ptr<Detector>> make_detector(const std::filesystem::path& model_dir, const std::string& id,
                                                const DetectorConfig& cfg) {
  if (id == "hog") return make_hog_detector(cfg);
  if (id == "dlib_recipe") return make_detector(model_dir, "hog_up1+mmod_up2", cfg);
  if (id == "hog_up1" || id == "mmod_up2") {
    DetectorConfig c = cfg;
    c.fixed_upsample = id == "hog_up1" ? 1 : 2;
    return id == "hog_up1" ? make_hog_detector(c) : make_mmod_detector(model_dir, c);
  }
  if (id == "fr_detect" || id == "fr_detect_v1" || id == "fr_detect_raw") return make_fr_detector(model_dir, cfg, id == "fr_detect_raw");
  if (id == "fr_hog") return make_fr_hog_detector(model_dir, cfg);
  if (id == "mmod") return make_mmod_detector(model_dir, cfg);
  if (id == "hog+mmod") return make_cascade_detector(model_dir, cfg);
  if (const auto plus = id.find('+'); plus != std::string::npos) {
    const std::string second = id.substr(plus + 1);
    if (second.find('+') != std::string::npos) return make_error(Reason::kModelError, "a cascade has two detectors: '" + id + "'");
    auto a = make_detector(model_dir, id.substr(0, plus), cfg);
    if (!a) return a.error();
    if (second == "mmod" && !cfg.mmod_fallback) return a;   // `simkyc detect --no-fallback`
    auto b = make_detector(model_dir, second, cfg);
    if (!b) return b.error();
    return make_cascade_detector(std::move(a.value()), std::move(b.value()));
  }
  if (id == "blazeface") return make_dnn_detector(model_dir, "blazeface_v1", cfg);
  return make_dnn_detector(model_dir, id, cfg);
}

}  // namespace simkyc
