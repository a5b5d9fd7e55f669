// src/liveness/passive.h — passive presentation-attack detection on one face: is this face a
// print, a screen or a replay?  Backends behind one interface; today a converted network run by
// OpenCV dnn ("antispoof_v1", docs/inference.md).
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "core/result.h"
#include "face/types.h"

namespace simkyc {

class LivenessModel {
 public:
  virtual ~LivenessModel() = default;
  // Requires: face_bgr non-empty 8UC3: the face's detector box (see face_crop), any size.
  // Ensures: a score in [0, 1]; higher means more likely an attack.  Not calibrated: thresholds
  // come from an evaluation on labelled data.
  // Errors: kModelError on backend failure.  Not safe for concurrent calls: clone() per thread.
  virtual Result<float> attack_score(const cv::Mat& face_bgr) = 0;
  virtual ModelInfo info() const = 0;
  virtual std::unique_ptr<LivenessModel> clone() const = 0;
};

// "antispoof_v1": a small CNN (128x128 RGB in [0, 1]) whose output is the probability of a real
// face; attack_score is 1 minus that.  Errors: kModelError (unknown id, missing model).
Result<std::unique_ptr<LivenessModel>> make_dnn_liveness_model(const std::filesystem::path& model_dir,
                                                               const std::string& id = "antispoof_v1");

// The crop a LivenessModel takes: the box, clipped to the image.  Requires: bgr non-empty.
cv::Mat face_crop(const cv::Mat& bgr, const FaceBox& box);

}  // namespace simkyc
