// src/face/landmarks.h — facial landmarks and alignment.
#pragma once
#include <filesystem>
#include <memory>

#include "core/result.h"
#include "face/types.h"

namespace simkyc {

class Landmarker {
 public:
  virtual ~Landmarker() = default;
  // Requires: bgr non-empty 8UC3; box from a Detector on the same image.
  // Ensures: points().size() == num_points().  Not safe for concurrent calls: clone() per thread.
  virtual Result<Landmarks> locate(const cv::Mat& bgr, const FaceBox& box) = 0;
  virtual int num_points() const = 0;
  virtual std::unique_ptr<Landmarker> clone() const = 0;
};

// dlib shape predictor, 5 points ("dlib_shape5_v1") or 68 points ("dlib_shape68_v1").
// Errors: kModelError.
Result<std::unique_ptr<Landmarker>> make_dlib_landmarker(const std::filesystem::path& model_dir,
                                                         int num_points);

// Aligns the face to a square chip (eyes level, fixed scale), as the embedders expect.
// Requires: landmarks with 5 or 68 points; size > 0; padding >= 0 (fraction of the face size).
// Ensures: chip.bgr is size x size 8UC3.
FaceChip align_face(const cv::Mat& bgr, const Landmarks& landmarks, int size = 150,
                    double padding = 0.25);

}  // namespace simkyc
