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

// ArcFace alignment (src/face/align.cpp).  The standard 112x112 template of the 5 points
// (insightface's): image-left eye (38.2946, 51.6963), image-right eye (73.5318, 51.5014), nose tip
// (56.0252, 71.7366), mouth corners (41.5493, 92.3655), (70.7299, 92.2041).
const std::vector<cv::Point2f>& arcface_template();

// The 5 ArcFace points from 68-point landmarks (iBUG layout, as dlib's shape68 gives them): eye
// centres = mean of 36-41 and of 42-47, nose tip = 30, mouth corners = mean of the outer and inner
// lip corners (48, 60) and (54, 64).  Requires: 68 points.  Ensures: 5 points (else empty).
std::vector<cv::Point2f> arcface_points(const Landmarks& landmarks68);

// Least-squares similarity transform (rotation, uniform scale, translation; Umeyama's closed
// form) taking `from` onto `to`: the 2x3 matrix M minimising sum |M [from_i; 1] - to_i|^2.
// Requires: from.size() == to.size() >= 2, not all `from` points equal.  Else: identity.
cv::Matx23d similarity_transform(const std::vector<cv::Point2f>& from, const std::vector<cv::Point2f>& to);

// The ArcFace chip: the image warped (bilinear, black outside) by similarity_transform(points,
// template scaled by size / 112).  Requires: 5 points (Landmarks::arcface), bgr 8UC3, size > 0.
// Ensures: size x size 8UC3; empty chip when the points are not 5.
FaceChip align_arcface(const cv::Mat& bgr, const std::vector<cv::Point2f>& points, int size = 112);

}  // namespace simkyc
