// src/face/analyzer.h — the whole face-analysis step for one image: detect, landmarks, align,
// quality, embed, with per-step timings.  One FaceAnalyzer per thread (clone() for more).
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "core/result.h"
#include "face/detector.h"
#include "face/embedder.h"
#include "face/landmarks.h"
#include "face/quality.h"

namespace simkyc {

// The detector (cascade) every command and the service use unless told otherwise (issue 12; the
// figures that chose it: docs/accuracy.md, "Detectors").
inline constexpr const char* kDefaultDetector = "fr_hog+mmod";

struct AnalyzerConfig {
  DetectorConfig detector;
  std::string detector_id = kDefaultDetector;  // make_detector's names
  std::string embedder_id = "dlib_resnet_v1";  // make_embedder's ids
  QualityConfig quality;
  // Faces narrower than this fraction of the main (largest) face are treated as background
  // and ignored; a larger second face gives MULTIPLE_FACES.
  float other_face_min_fraction = 0.5f;
  // Also locate the 68-point landmarks and fill FaceAnalysis::landmarks.arcface even when the
  // embedder does not need them (it does when its info().needs_arcface_points).
  bool arcface_points = false;
  // Images whose longer side is above this are scaled down (INTER_AREA) before any detector,
  // landmarker or alignment sees them, so that memory and time stay bounded whatever the guard
  // lets through (up to 40 MP); boxes and landmarks are mapped back to the input's coordinates.
  int max_analysis_side_px = 2048;
};

struct FaceAnalysis {
  FaceBox box;                  // the main (largest) face
  Landmarks landmarks;          // 5 points (+ landmarks.arcface when the embedder or the config asks)
  FaceChip chip;                // aligned, padding 0.25: the embedder's size if it takes such chips, else 150 px
  QualityReport quality;        // quality.reasons may also hold kMultipleFaces
  Descriptor descriptor;        // empty when analyze() was asked not to embed
  int faces_found = 0;          // faces above the background size rule
  std::map<std::string, double> timings_ms;   // "detect", "landmarks", "landmarks68", "align", "quality", "embed"
};

class FaceAnalyzer {
 public:
  // Errors: kModelError when a model cannot be loaded.
  static Result<FaceAnalyzer> load(const std::filesystem::path& model_dir, const AnalyzerConfig& cfg);
  FaceAnalyzer clone() const;

  // Requires: bgr non-empty 8UC3.
  // Ensures: the main face analysed.  Errors: kNoFace when no face is found; kModelError.
  Result<FaceAnalysis> analyze(const cv::Mat& bgr, bool embed = true);

  // Detection only: every face, largest first (on the bounded copy, in bgr's coordinates).
  Result<std::vector<FaceBox>> detect(const cv::Mat& bgr);
  ModelInfo embedder_info() const { return embedder_->info(); }
  const AnalyzerConfig& config() const { return cfg_; }

 private:
  FaceAnalyzer() = default;
  Result<FaceAnalysis> analyze_bounded(const cv::Mat& bgr, bool embed);
  AnalyzerConfig cfg_;
  std::unique_ptr<Detector> detector_;
  std::unique_ptr<Landmarker> landmarker_;
  std::unique_ptr<Landmarker> landmarker68_;   // when ArcFace points are needed
  std::unique_ptr<Embedder> embedder_;
};

}  // namespace simkyc
