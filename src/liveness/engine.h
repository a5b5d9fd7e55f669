// src/liveness/engine.h — liveness on images: the passive check of one face and the active
// challenge over a sequence of frames, with the models loaded once.
//
// Thread-safe: one LivenessEngine serves many requests (it keeps a pool of per-thread models).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "face/detector.h"
#include "face/embedder.h"
#include "face/landmarks.h"
#include "image/image.h"
#include "liveness/challenge.h"
#include "liveness/pad.h"

namespace simkyc {

struct LivenessConfig {
  PassiveConfig passive;
  ChallengeConfig challenge;
  int passive_frames = 5;        // challenge: frames (evenly spaced) whose attack scores are averaged
  DetectorConfig detector;
  ImageLimits limits;            // for encoded challenge frames
};

struct PassiveResult {
  float score = 0.f;             // attack score (mean over `frames` frames)
  float threshold = 0.f;
  bool attack = false;           // score >= threshold
  int frames = 0;
};

struct TimedFrame {              // a decoded challenge frame
  cv::Mat bgr;                   // 8UC3
  std::int64_t ts_ms = 0;        // capture time, ms
};

struct EncodedFrame {            // a challenge frame as the client sent it
  std::span<const std::uint8_t> bytes;
  std::int64_t ts_ms = 0;
};

struct ChallengeReport {
  ChallengeResult result;               // the sequence logic's verdict (see challenge.h)
  PassiveResult passive;                // over the challenge frames
  std::vector<FrameMeasure> frames;     // per frame
  std::vector<std::string> digests;     // frame_digest() of each encoded frame (encoded input only)
  double ms = 0;
};

class LivenessEngine {
 public:
  // Loads the detector, 68-point landmarks, embedder and the passive model cfg.passive.model,
  // and resolves the passive threshold.  Errors: kModelError, kCalibrationMissing, kConfigError.
  static Result<std::unique_ptr<LivenessEngine>> load(const std::filesystem::path& model_dir, LivenessConfig cfg);

  // Passive check of the face in `box` (from any detector on the same image).
  // Requires: bgr non-empty 8UC3.  Errors: kModelError.
  Result<PassiveResult> check_passive(const cv::Mat& bgr, const FaceBox& box);
  // The same on the largest face.  Errors: kNoFace, kModelError.
  Result<PassiveResult> check_passive(const cv::Mat& bgr);
  // Attack score of the largest face (no threshold).  Errors: kNoFace, kModelError.
  Result<float> attack_score(const cv::Mat& bgr);

  // Descriptor of the largest face with the engine's own embedder: the space of
  // ChallengeReport::frames[i].descriptor, whatever embedder the caller matches with.
  // Requires: bgr non-empty 8UC3.  Errors: kNoFace, kModelError.
  Result<Descriptor> describe(const cv::Mat& bgr);

  // The challenge on decoded frames.  Ensures: report.result as evaluate_challenge(), plus
  // LIVENESS_ATTACK_SUSPECTED in report.result.reasons when the passive check fails.
  // Errors: kModelError only (bad frames are reasons, not errors).
  Result<ChallengeReport> check_challenge(std::span<const TimedFrame> frames, const ChallengeSpec& spec);
  // The same on encoded frames: each decoded by the image guard (its errors come back as
  // errors), digests filled, a digest repeated within the frames gives LIVENESS_FRAMES_REUSED.
  Result<ChallengeReport> check_challenge(std::span<const EncodedFrame> frames, const ChallengeSpec& spec);

  const LivenessConfig& config() const { return cfg_; }
  float threshold() const { return threshold_; }
  ModelInfo model_info() const { return model_info_; }

 private:
  struct Worker {
    std::unique_ptr<Detector> detector;
    std::unique_ptr<Embedder> embedder;
    std::unique_ptr<LivenessModel> model;
  };
  LivenessEngine() = default;
  std::unique_ptr<Worker> acquire();
  void release(std::unique_ptr<Worker> w);
  Result<FrameMeasure> measure(Worker& w, const cv::Mat& bgr, std::optional<cv::Rect2f>& track, bool embed,
                               FaceBox& box);

  LivenessConfig cfg_;
  float threshold_ = 0.5f;
  ModelInfo model_info_;
  std::mutex pool_mu_, landmarks_mu_;
  std::vector<std::unique_ptr<Worker>> pool_;
  std::unique_ptr<Worker> prototype_;
  std::unique_ptr<Landmarker> landmarks68_;   // shared: large; calls serialised by landmarks_mu_
};

}  // namespace simkyc
