// src/face/quality.h — is a detected face usable for comparison?  Each failed check gives a
// Reason with a customer hint ("move closer", "face the camera", ...).
#pragma once
#include <vector>

#include "core/reason.h"
#include "face/types.h"

namespace simkyc {

// All quality thresholds in one place.  Defaults were chosen on the development photos
// (see docs/quality.md for how; `simkyc quality` prints the measured values for any photo).
struct QualityConfig {
  float min_inter_eye_px = 20.f;    // eye-centre distance in the original image (FACE_TOO_SMALL)
  float min_sharpness = 40.f;       // variance of the Laplacian on the grey 150 px chip (FACE_BLURRED)
  float min_brightness = 50.f;      // mean grey level of the face centre, 0..255 (FACE_TOO_DARK)
  float max_brightness = 210.f;     // (FACE_TOO_BRIGHT)
  float max_yaw_deg = 30.f;         // |yaw| above this: FACE_TURNED
  float max_pitch_deg = 35.f;       // |pitch| above this: FACE_TURNED (pitch is the roughest estimate)
  float max_roll_deg = 25.f;        // |roll| above this: FACE_TURNED
  float max_outside_fraction = 0.35f;  // part of the detector box outside the image (FACE_CUT_OFF);
                                       // tight portrait crops often have 10-30%
};

// Head pose estimated from 5-point landmarks (geometry of eyes and nose base), degrees.
// Positive yaw: the face turned towards the image's right; positive pitch: chin down;
// positive roll: clockwise in the image.  Accuracy is rough (about +-10 degrees): good enough to
// tell "facing the camera" from "turned".
struct HeadPose {
  float yaw = 0.f, pitch = 0.f, roll = 0.f;
};
// Requires: 5-point landmarks.
HeadPose estimate_pose(const Landmarks& landmarks);

struct QualityReport {
  float inter_eye_px = 0.f;
  float sharpness = 0.f;
  float brightness = 0.f;
  float outside_fraction = 0.f;
  HeadPose pose;
  std::vector<Reason> reasons;   // empty when the face is usable
  bool ok() const { return reasons.empty(); }
};

// Requires: box/landmarks/chip from the same face of `bgr`; chip from align_face (5 points).
// Ensures: every measured value filled; reasons in a fixed order (size, cut-off, pose, blur, light).
QualityReport assess_quality(const cv::Mat& bgr, const FaceBox& box, const Landmarks& landmarks,
                             const FaceChip& chip, const QualityConfig& cfg);

}  // namespace simkyc
