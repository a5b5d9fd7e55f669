// src/face/fr_geometry.h — internal to the fr_* backends: fr_detect's boxes are mapped to the
// geometry of dlib's HOG boxes (which the dlib landmarkers and the box-chip embedders were made
// for), and fr_landmark takes them back to fr_detect's own geometry.  The constants were measured
// with `simkyc detect-eval --detector fr_detect_raw --reference hog` (docs/accuracy.md, detectors).
#pragma once
#include <opencv2/core.hpp>

#include "face/detector.h"

namespace simkyc {

struct FrBoxMap {
  float size = 1.f;     // dlib side / fr box height
  float dx = 0.f;       // (dlib centre x - fr centre x) / fr box height
  float dy = 0.f;       // (dlib centre y - fr centre y) / fr box height
};
// Medians over the 1,245 photos of ../shared/data/faces (deepface, face-api, dlib-johns, east-asian)
// where both found the same face: HOG's side is 0.826 of fr_detect's box height, its centre 0.054
// of that height lower (fr_detect's box, 0.75 as wide as high, also holds the forehead).
inline constexpr FrBoxMap kFrToDlib{0.826f, -0.010f, 0.054f};

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

// make_detector's "fr_hog": fr_detect whose boxes are refined by dlib HOG run on a small crop
// around each of the 3 largest faces: where HOG finds the same face its box is used (source
// "fr_detect/hog"), the geometry the dlib landmarkers were made for; elsewhere the mapped box.
Result<std::unique_ptr<Detector>> make_fr_hog_detector(const std::filesystem::path& model_dir, const DetectorConfig& cfg);

}  // namespace simkyc
