// src/document/portrait.h — the face on an identity document: a chip portrait (often ~102x126,
// BMP/JPEG/JPEG 2000) or a scan of the whole card.  Exactly one usable face, or a clear reason.
#pragma once
#include <opencv2/core.hpp>

#include "core/result.h"
#include "face/analyzer.h"

namespace simkyc::document {

struct PortraitConfig {
  float margin = 0.4f;             // crop margin around the face box, as a fraction of its size
  float min_inter_eye_px = 12.f;   // chip portraits have ~25 px between the eyes; below 12 no match is reliable
};

struct Portrait {
  cv::Mat crop;         // the face with margin, clipped to the image
  FaceAnalysis face;    // box, landmarks, chip, quality and descriptor in the input's coordinates
};

// Requires: bgr non-empty 8UC3 (from the image guard).
// Ensures: exactly one face (faces smaller than half the main one count as background, e.g. the
//   small ghost portrait printed on many cards is ignored only if it is that small).
// Errors: kNoFace, kMultipleFaces, kFaceTooSmall, kModelError.
Result<Portrait> extract_portrait(const cv::Mat& bgr, FaceAnalyzer& analyzer, const PortraitConfig& cfg = {});

}  // namespace simkyc::document
