// src/cli/bench_detect.h — `simkyc bench` rows for the detectors (issue 12): each detector at
// 640x480 and 1280x960, and end-to-end verify of the two bench photos with the default pipeline
// against the plain dlib recipe (face_recognition's: HOG x1, MMOD x2, dlib ResNet), measured
// alternately in the same run so that the shared machine's load affects both alike.
#pragma once
#include "cli/bench_inference.h"

namespace simkyc::cli {

struct DetectorBench {
  std::vector<TimedRow> rows;
  double verify_ratio = 0;   // median dlib recipe / median default pipeline
};

// Requires: live is the bench's live photo (8UC3); n >= 1.  Errors: kModelError, kNoFace.
Result<DetectorBench> detector_bench_rows(const std::filesystem::path& model_dir, const cv::Mat& live,
                                          std::span<const std::uint8_t> id_bytes,
                                          std::span<const std::uint8_t> live_bytes, int n);

}  // namespace simkyc::cli
