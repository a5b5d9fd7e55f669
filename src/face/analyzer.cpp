#include "face/analyzer.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/clock.h"

// OpenBLAS (which dlib's networks call for their matrix products).
extern "C" void openblas_set_num_threads(int num_threads);

namespace simkyc {

Result<FaceAnalyzer> FaceAnalyzer::load(const std::filesystem::path& model_dir, const AnalyzerConfig& cfg) {
  // simkyc runs faces in parallel itself (two faces per verification, many requests); OpenBLAS's
  // own threads would then compete for the same cores and spin.  One BLAS thread per caller.
  openblas_set_num_threads(1);
  FaceAnalyzer a;
  a.cfg_ = cfg;
  auto det = make_detector(model_dir, cfg.detector_id, cfg.detector);
  if (!det) return det.error();
  auto lm = make_dlib_landmarker(model_dir, 5);
  if (!lm) return lm.error();
  auto emb = make_embedder(model_dir, cfg.embedder_id);
  if (!emb) return emb.error();
  a.detector_ = std::move(det.value());
  a.landmarker_ = std::move(lm.value());
  a.embedder_ = std::move(emb.value());
  if (cfg.arcface_points || a.embedder_->info().needs_arcface_points) {
    auto lm68 = make_dlib_landmarker(model_dir, 68);
    if (!lm68) return lm68.error();
    a.landmarker68_ = std::move(lm68.value());
  }
  return a;
}

FaceAnalyzer FaceAnalyzer::clone() const {
  FaceAnalyzer a;
  a.cfg_ = cfg_;
  a.detector_ = detector_->clone();
  a.landmarker_ = landmarker_->clone();
  a.embedder_ = embedder_->clone();
  if (landmarker68_) a.landmarker68_ = landmarker68_->clone();
  return a;
}

namespace {

// The copy of `bgr` that analysis works on: bgr itself, or scaled so that its longer side is
// max_side.  Ensures: scale = working / original.
cv::Mat bounded(const cv::Mat& bgr, int max_side, double& scale) {
  scale = 1.0;
  const int side = std::max(bgr.cols, bgr.rows);
  if (max_side <= 0 || side <= max_side) return bgr;
  scale = static_cast<double>(max_side) / side;
  cv::Mat small;
  cv::resize(bgr, small, cv::Size(std::max(1, static_cast<int>(std::lround(bgr.cols * scale))),
                                  std::max(1, static_cast<int>(std::lround(bgr.rows * scale)))),
             0, 0, cv::INTER_AREA);
  return small;
}

cv::Rect2f unscale(const cv::Rect2f& r, double scale) {
  const auto k = static_cast<float>(1.0 / scale);
  return {r.x * k, r.y * k, r.width * k, r.height * k};
}

}  // namespace

Result<std::vector<FaceBox>> FaceAnalyzer::detect(const cv::Mat& input) {
  double scale = 1.0;
  const cv::Mat bgr = bounded(input, cfg_.max_analysis_side_px, scale);
  auto boxes = detector_->detect(bgr);
  if (boxes && scale != 1.0)
    for (auto& b : *boxes) b.rect = unscale(b.rect, scale);
  return boxes;
}

Result<FaceAnalysis> FaceAnalyzer::analyze(const cv::Mat& input, bool embed) {
  double scale = 1.0;
  Stopwatch sw;
  const cv::Mat bgr = bounded(input, cfg_.max_analysis_side_px, scale);
  const double downscale_ms = sw.elapsed_ms();
  auto fa = analyze_bounded(bgr, embed);
  if (!fa || scale == 1.0) return fa;
  fa->timings_ms["downscale"] = downscale_ms;
  fa->box.rect = unscale(fa->box.rect, scale);
  for (auto& p : fa->landmarks.points) p *= static_cast<float>(1.0 / scale);
  return fa;
}

Result<FaceAnalysis> FaceAnalyzer::analyze_bounded(const cv::Mat& bgr, bool embed) {
  FaceAnalysis fa;
  Stopwatch sw;
  auto boxes = detector_->detect(bgr);
  fa.timings_ms["detect"] = sw.elapsed_ms();
  if (!boxes) return boxes.error();
  if (boxes->empty()) return make_error(Reason::kNoFace);
  fa.box = boxes->front();
  for (const auto& b : *boxes)
    if (b.rect.width >= cfg_.other_face_min_fraction * fa.box.rect.width) ++fa.faces_found;

  sw.restart();
  auto lm = landmarker_->locate(bgr, fa.box);
  fa.timings_ms["landmarks"] = sw.elapsed_ms();
  if (!lm) return lm.error();
  fa.landmarks = std::move(lm.value());
  if (landmarker68_) {
    sw.restart();
    auto lm68 = landmarker68_->locate(bgr, fa.box);
    fa.timings_ms["landmarks68"] = sw.elapsed_ms();
    if (!lm68) return lm68.error();
    fa.landmarks.arcface = arcface_points(*lm68);
  }

  sw.restart();
  const ModelInfo info = embedder_->info();
  const bool own_chip = info.chip == "aligned" && info.chip_padding == 0.25;   // the quality chip is the embedder's
  fa.chip = align_face(bgr, fa.landmarks, own_chip ? info.input_size : 150);
  fa.timings_ms["align"] = sw.elapsed_ms();

  sw.restart();
  fa.quality = assess_quality(bgr, fa.box, fa.landmarks, fa.chip, cfg_.quality);
  if (fa.faces_found > 1) fa.quality.reasons.insert(fa.quality.reasons.begin(), Reason::kMultipleFaces);
  fa.timings_ms["quality"] = sw.elapsed_ms();

  if (embed) {
    sw.restart();
    auto d = own_chip ? embedder_->embed(fa.chip) : embedder_->embed_face(bgr, fa.box, fa.landmarks);
    fa.timings_ms["embed"] = sw.elapsed_ms();
    if (!d) return d.error();
    fa.descriptor = std::move(d.value());
  }
  return fa;
}

}  // namespace simkyc
