// src/policy/verifier.h — one-shot verification of a live photo against a document portrait:
// decode and analyse both photos (in parallel, one per thread), compare, decide.  Used by `simkyc verify`,
// the benchmark and the service.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "face/analyzer.h"
#include "image/image.h"
#include "match/match.h"
#include "policy/decision.h"

namespace simkyc {

// The embedder decisions are made with unless configured otherwise (`simkyc verify`, `compare`,
// `serve`, the load test, and `eval` / `calibrate`, so that one command measures what ships): the
// z-score fusion of the two ArcFace-chip networks fr_feature_v1 and mfn_expo_v1, chosen by the
// cross-validated figures in docs/accuracy.md (issue 11; before it: fusion_z_v1, issue 7); its
// calibration table is models/calibration/fusion_fr_mfn_v1.json.  AnalyzerConfig's own default
// (dlib_resnet_v1) stays the baseline of bench and the liveness engine.
inline constexpr const char* kDecisionEmbedder = "fusion_fr_mfn_v1";

struct VerifierConfig {
  AnalyzerConfig analyzer;
  PolicyConfig policy;
  ImageLimits limits;
  // Calibration table; empty path means the shipped default for the embedder.
  std::filesystem::path calibration;
  // Analyse the two faces on two threads (true) or one after the other (false; the baseline).
  bool parallel = true;
};

struct VerifyOutcome {
  Decision decision = Decision::kFail;
  std::vector<Reason> reasons;
  std::optional<float> score;          // absent when a face could not be compared
  float threshold = 0;                 // PASS threshold for the target FMR
  double target_fmr = 0;
  std::optional<FaceAnalysis> document; // absent when no face was found
  std::optional<FaceAnalysis> live;
  std::map<std::string, double> timings_ms;   // "decode", "detect", ..., "compare", "total"
};

class Verifier {
 public:
  // Errors: kModelError, kCalibrationMissing / kConfigError (bad table or FMR out of range).
  static Result<Verifier> load(const std::filesystem::path& model_dir, const VerifierConfig& cfg);

  // Requires: encoded image bytes (untrusted).
  // Ensures: a decision with reasons.  A face that cannot be found gives FAIL with NO_FACE.
  // Errors: the image guard's codes (bad or oversized image) — an input error, not a decision.
  Result<VerifyOutcome> verify(std::span<const std::uint8_t> document_image,
                               std::span<const std::uint8_t> live_image);
  // Same on decoded images (timings then have no "decode").
  VerifyOutcome verify(const Image& document_image, const Image& live_image);

  const CalibrationTable& calibration() const { return calibration_; }
  const VerifierConfig& config() const { return cfg_; }

 private:
  Verifier() = default;
  VerifierConfig cfg_;
  CalibrationTable calibration_;
  float pass_threshold_ = 0, review_threshold_ = 0;
  std::optional<FaceAnalyzer> doc_analyzer_, live_analyzer_;
  // Compare and decide on the two analyses; `out` already holds their timings.
  VerifyOutcome decide_on(Result<FaceAnalysis> doc, Result<FaceAnalysis> live, VerifyOutcome out) const;
};

}  // namespace simkyc
