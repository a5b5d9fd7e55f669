// src/face/fr_geometry.h — internal to the fr_* backends: fr_detect's boxes are mapped to the
// geometry of dlib's HOG boxes (which the dlib landmarkers and the box-chip embedders were made
// for), and fr_landmark takes them back to fr_detect's own geometry.  The constants were measured
// with `simkyc detect-eval --detector fr_detect_raw --reference hog` (docs/accuracy.md, detectors).
#pragma once
#include <opencv2/core.hpp>

namespace simkyc {

struct FrBoxMap {
  float size = 1.f;     // dlib side / fr box height
  float dx = 0.f;       // (dlib centre x - fr centre x) / fr box height
  float dy = 0.f;       // (dlib centre y - fr centre y) / fr box height
};
inline constexpr FrBoxMap kFrToDlib{1.f, 0.f, 0.f};

// fr_detect's native box (x1, y1, x2, y2 in pixels) -> a square box in dlib HOG geometry.
inline cv::Rect2f fr_to_dlib_box(const cv::Rect2f& fr, const FrBoxMap& m = kFrToDlib) {
  const float cx = fr.x + fr.width / 2 + m.dx * fr.height, cy = fr.y + fr.height / 2 + m.dy * fr.height;
  const float side = m.size * fr.height;
  return {cx - side / 2, cy - side / 2, side, side};
}

// The inverse for a square box: fr_detect's square box (side = its height, as fr_landmark's
// crop takes it) from a dlib-geometry box.
inline cv::Rect2f dlib_to_fr_square(const cv::Rect2f& d, const FrBoxMap& m = kFrToDlib) {
  const float side = d.height / m.size;
  const float cx = d.x + d.width / 2 - m.dx * side, cy = d.y + d.height / 2 - m.dy * side;
  return {cx - side / 2, cy - side / 2, side, side};
}

}  // namespace simkyc
