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

// Runs `first`; only when it finds no face (and did not fail), runs `fallback` (may be null).
// Requires: first != nullptr.  Ensures: name() is "first+fallback" (or first's name).
std::unique_ptr<Detector> make_cascade_detector(std::unique_ptr<Detector> first, std::unique_ptr<Detector> fallback);

// Any detector by name: "hog", "mmod", "blazeface" (= "blazeface_v1"), "blazeface_xnn_v1", or a cascade of two
// "FIRST+FALLBACK" ("hog+mmod", "hog+blazeface").
Result<std::unique_ptr<Detector>> make_detector(const std::filesystem::path& model_dir, const std::string& id,
                                                const DetectorConfig& cfg);

}  // namespace simkyc
