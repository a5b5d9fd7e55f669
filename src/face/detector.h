// src/face/detector.h — finds faces.  Backends: dlib HOG (fast), dlib MMOD CNN (slow, more
// robust), and a cascade that runs HOG and falls back to MMOD when HOG finds nothing.
#pragma once
#include <filesystem>
#include <memory>
#include <vector>

#include "core/result.h"
#include "face/types.h"

namespace simkyc {

struct DetectorConfig {
  // Images whose shorter side is below this are upsampled x2 (at most twice) before detection,
  // so that faces in small chip photos (e.g. 102x126) are big enough for the detector.
  int upsample_below_px = 200;
  // Images whose longer side is above this are downscaled for detection only (speed).
  int downscale_above_px = 800;
  int downscale_to_px = 640;
  bool mmod_fallback = true;   // cascade only: run MMOD when HOG finds no face
  // dlib detectors: when >= 0, no downscaling and exactly this many x2 upsamplings (the plain
  // dlib recipe of face_recognition: HOG x1, MMOD x2), as long as the longer side stays within
  // max_upsampled_side_px (bounded memory).
  int fixed_upsample = -1;
  int max_upsampled_side_px = 4096;
  // fr_detect: score threshold, and the finest grid of tiles its second pass may use (2: 2x2)
  // when the whole image at 320x240 shows no face; 1: no second pass.
  float fr_min_score = 0.7f;
  int fr_max_tile_grid = 3;
  bool fr_rgb = true;   // RGB planes as the network was trained (faceplugin's JS feeds B,G,R: 11 misses vs 7)
};

class Detector {
 public:
  virtual ~Detector() = default;
  // Requires: bgr is non-empty 8UC3.
  // Ensures: boxes in bgr's coordinates, largest first; empty when no face.
  // Errors: kModelError on backend failure.  Not safe for concurrent calls: clone() per thread.
  virtual Result<std::vector<FaceBox>> detect(const cv::Mat& bgr) = 0;
  virtual std::unique_ptr<Detector> clone() const = 0;
  virtual std::string name() const = 0;
};

// Errors: kModelError when the model file cannot be found or loaded.
Result<std::unique_ptr<Detector>> make_hog_detector(const DetectorConfig& cfg);
Result<std::unique_ptr<Detector>> make_mmod_detector(const std::filesystem::path& model_dir,
                                                     const DetectorConfig& cfg);
Result<std::unique_ptr<Detector>> make_cascade_detector(const std::filesystem::path& model_dir,
                                                        const DetectorConfig& cfg);

// Converted networks run by OpenCV dnn (docs/inference.md): "blazeface_v1" (MediaPipe BlazeFace,
// 256x256 letterboxed, any image size; boxes mapped to dlib's HOG box geometry so that the dlib
// landmarkers fit them); "blazeface_xnn_v1", the same network run by XNNPACK on its TF.js graph
// (2x faster, outputs equal to TF.js: Dnn.BlazefaceOnXnnpackMatchesTfjs).  Errors: kModelError.
Result<std::unique_ptr<Detector>> make_dnn_detector(const std::filesystem::path& model_dir, const std::string& id,
                                                    const DetectorConfig& cfg);

// fr_detect_v1 (faceplugin fr_detect.onnx, Ultra-Light RFB-320 SSD) on OpenCV dnn: the whole image
// letterboxed into 320x240; when that finds nothing in an image larger than the input, overlapping
// tiles (2x2, then 3x3) for small faces.  Boxes mapped to dlib HOG's geometry (fr_geometry.h);
// raw: fr_detect's own boxes (for measuring that mapping).  Errors: kModelError.
Result<std::unique_ptr<Detector>> make_fr_detector(const std::filesystem::path& model_dir, const DetectorConfig& cfg,
                                                   bool raw = false);

// Runs `first`; only when it finds no face (and did not fail), runs `fallback` (may be null).
// Requires: first != nullptr.  Ensures: name() is "first+fallback" (or first's name).
std::unique_ptr<Detector> make_cascade_detector(std::unique_ptr<Detector> first, std::unique_ptr<Detector> fallback);

// Any detector by name: "hog", "mmod", "blazeface" (= "blazeface_v1"), "blazeface_xnn_v1", "fr_detect"
// (= "fr_detect_v1"), "fr_detect_raw", "fr_hog" (fr_detect, boxes refined by HOG on the face's crop: fr_geometry.h), "hog_up1" / "mmod_up2" (fixed upsampling, no downscaling), or
// a cascade of two "FIRST+FALLBACK" ("hog+mmod", "fr_detect+mmod"); "dlib_recipe" = "hog_up1+mmod_up2",
// the plain dlib recipe of face_recognition (the baseline).
Result<std::unique_ptr<Detector>> make_detector(const std::filesystem::path& model_dir, const std::string& id,
                                                const DetectorConfig& cfg);

}  // namespace simkyc
