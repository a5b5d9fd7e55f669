// Colour-texture LBP features and the linear PAD model ("lbp_svm_v1").
#include "liveness/passive_lbp.h"


#include <array>
#include <cmath>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/file.h"
#include "core/model_manifest.h"

namespace simkyc {
namespace {

constexpr int kSize = 64;        // the crop is resized to kSize x kSize
constexpr int kGrid = 3;         // grey LBP histograms per cell of a kGrid x kGrid grid, plus one global
constexpr int kBins = 59;        // uniform LBP(8): 58 uniform patterns + 1 for all others
constexpr int kColourChannels = 5;   // Cr, Cb, H, S, V

// Uniform-pattern map for 8-bit LBP codes: codes with at most two 0/1 transitions (circularly)
// get their own bin 0..57, all others bin 58.
const std::array<std::uint8_t, 256>& uniform_map() {
  static const std::array<std::uint8_t, 256> map = [] {
    std::array<std::uint8_t, 256> m{};
    std::uint8_t next = 0;
    for (int c = 0; c < 256; ++c) {
      int transitions = 0;
      for (int b = 0; b < 8; ++b) transitions += ((c >> b) & 1) != ((c >> ((b + 1) % 8)) & 1);
      m[static_cast<std::size_t>(c)] = transitions <= 2 ? next++ : static_cast<std::uint8_t>(kBins - 1);
    }
    return m;
  }();
  return map;
}

// Uniform-LBP bin of every pixel at least `r` from the border (8 neighbours on the square of
// radius r); the border is marked 255 (not counted).
cv::Mat lbp_bins(const cv::Mat& g, int r) {
  cv::Mat out(g.size(), CV_8U, cv::Scalar(255));
  const auto& map = uniform_map();
  static constexpr int dx[8] = {-1, 0, 1, 1, 1, 0, -1, -1};
  static constexpr int dy[8] = {-1, -1, -1, 0, 1, 1, 1, 0};
  for (int y = r; y < g.rows - r; ++y) {
    auto* o = out.ptr<std::uint8_t>(y);
    for (int x = r; x < g.cols - r; ++x) {
      const std::uint8_t c = g.at<std::uint8_t>(y, x);
      int code = 0;
      for (int k = 0; k < 8; ++k) code |= (g.at<std::uint8_t>(y + dy[k] * r, x + dx[k] * r) >= c) << k;
      o[x] = map[static_cast<std::size_t>(code)];
    }
  }
  return out;
}

// Appends the L1-normalised, square-rooted histogram of `bins` inside `roi`.
void append_hist(const cv::Mat& bins, cv::Rect roi, std::vector<float>& out) {
  std::array<float, kBins> h{};
  float n = 0;
  for (int y = roi.y; y < roi.y + roi.height; ++y)
    for (int x = roi.x; x < roi.x + roi.width; ++x) {
      const std::uint8_t b = bins.at<std::uint8_t>(y, x);
      if (b < kBins) {
        h[b] += 1.f;
        n += 1.f;
      }
    }
  for (float v : h) out.push_back(n > 0 ? std::sqrt(v / n) : 0.f);
}

std::vector<float> floats(const nlohmann::json& j, const char* key) {
  return j.at(key).get<std::vector<float>>();
}

class LbpLivenessModel final : public LivenessModel {
 public:
  explicit LbpLivenessModel(LinearPadWeights w, std::string sha256 = {}) : w_(std::move(w)), sha256_(std::move(sha256)) {}
  Result<float> attack_score(const cv::Mat& face_bgr) override {
    if (face_bgr.empty() || face_bgr.type() != CV_8UC3) return make_error(Reason::kInternal, "attack_score needs 8UC3");
    return w_.attack_probability(lbp_features(face_bgr));
  }
  ModelInfo info() const override {
    return ModelInfo{w_.id, w_.version, sha256_, kSize, static_cast<int>(lbp_feature_length())};
  }
  std::unique_ptr<LivenessModel> clone() const override { return std::make_unique<LbpLivenessModel>(*this); }

 private:
  LinearPadWeights w_;
  std::string sha256_;
};

}  // namespace

std::size_t lbp_feature_length() {
  return static_cast<std::size_t>(kBins) * (kGrid * kGrid + 1 + 1 + kColourChannels);
}

std::vector<float> lbp_features(const cv::Mat& face_bgr) {
  cv::Mat img;
  cv::resize(face_bgr, img, cv::Size(kSize, kSize), 0, 0, face_bgr.cols > kSize ? cv::INTER_AREA : cv::INTER_LINEAR);
  std::vector<float> f;
  f.reserve(lbp_feature_length());
  cv::Mat grey;
  cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
  // Grey, radius 1: the layout of the texture (grid) and its overall statistics.
  const cv::Mat b1 = lbp_bins(grey, 1);
  const cv::Rect inner(1, 1, kSize - 2, kSize - 2);
  const int cell = (kSize - 2) / kGrid;
  for (int gy = 0; gy < kGrid; ++gy)
    for (int gx = 0; gx < kGrid; ++gx) append_hist(b1, cv::Rect(1 + gx * cell, 1 + gy * cell, cell, cell), f);
  append_hist(b1, inner, f);
  // Grey, radius 2: coarser texture.
  append_hist(lbp_bins(grey, 2), cv::Rect(2, 2, kSize - 4, kSize - 4), f);
  // Colour texture: prints and screens reproduce chroma differently from skin under light.
  cv::Mat ycc, hsv;
  cv::cvtColor(img, ycc, cv::COLOR_BGR2YCrCb);
  cv::cvtColor(img, hsv, cv::COLOR_BGR2HSV);
  std::vector<cv::Mat> yc, hs;
  cv::split(ycc, yc);
  cv::split(hsv, hs);
  for (const cv::Mat* ch : {&yc[1], &yc[2], &hs[0], &hs[1], &hs[2]}) append_hist(lbp_bins(*ch, 1), inner, f);
  return f;
}

double LinearPadWeights::raw_score(const std::vector<float>& x) const {
  double s = bias;
  const std::size_t n = std::min({x.size(), w.size(), mean.size(), inv_std.size()});
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(w[i]) * (x[i] - mean[i]) * inv_std[i];
  return s;
}

float LinearPadWeights::attack_probability(const std::vector<float>& x) const {
  const double z = platt_a * raw_score(x) + platt_b;
  return static_cast<float>(1.0 / (1.0 + std::exp(-z)));
}

nlohmann::json to_json(const LinearPadWeights& m) {
  return {{"id", m.id},          {"version", m.version}, {"features", "lbp_colour_v1"},
          {"trained_on", m.trained_on}, {"command", m.command}, {"bias", m.bias},
          {"platt_a", m.platt_a}, {"platt_b", m.platt_b}, {"mean", m.mean},
          {"inv_std", m.inv_std}, {"w", m.w}};
}

Result<LinearPadWeights> lbp_weights_from_json(const nlohmann::json& j) {
  try {
    LinearPadWeights m;
    if (j.at("features").get<std::string>() != "lbp_colour_v1")
      return make_error(Reason::kModelError, "unknown feature set");
    m.id = j.at("id").get<std::string>();
    m.version = j.at("version").get<std::string>();
    m.trained_on = j.value("trained_on", "");
    m.command = j.value("command", "");
    m.bias = j.at("bias").get<float>();
    m.platt_a = j.at("platt_a").get<float>();
    m.platt_b = j.at("platt_b").get<float>();
    m.mean = floats(j, "mean");
    m.inv_std = floats(j, "inv_std");
    m.w = floats(j, "w");
    const auto n = lbp_feature_length();
    if (m.mean.size() != n || m.inv_std.size() != n || m.w.size() != n)
      return make_error(Reason::kModelError, "liveness weights: wrong vector length");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::kModelError, std::string("liveness weights: ") + e.what());
  }
}

std::unique_ptr<LivenessModel> make_lbp_liveness_model(LinearPadWeights weights) {
  return std::make_unique<LbpLivenessModel>(std::move(weights));
}

Result<std::unique_ptr<LivenessModel>> make_lbp_liveness_model(const std::filesystem::path& model_dir,
                                                               const std::string& id) {
  auto file = find_model(model_dir, id);
  if (!file) return file.error();
  if (!file->package.empty()) return make_error(Reason::kModelError, "model '" + id + "' is not an in-repo liveness model");
  auto text = read_checked_model_file(*file, 8u << 20);
  if (!text) return text.error();
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return make_error(Reason::kModelError, file->path.string() + ": not JSON");
  auto w = lbp_weights_from_json(j);
  if (!w) return w.error();
  return std::unique_ptr<LivenessModel>(std::make_unique<LbpLivenessModel>(std::move(w.value()), file->sha256));
}

}  // namespace simkyc
