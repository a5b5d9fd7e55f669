// src/face/types.h — plain values passed between face-analysis steps.
#pragma once
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace simkyc {

struct FaceBox {
  cv::Rect2f rect;          // in the coordinates of the image given to the detector
  float confidence = 0.f;   // detector-specific score; higher is more certain
  std::string source;       // which detector found it ("hog", "mmod")
};

// Landmark points in image coordinates.  5-point layout (dlib): 0-1 one eye's corners,
// 2-3 the other eye's corners, 4 the base of the nose.
struct Landmarks {
  std::vector<cv::Point2f> points;
  cv::Point2f left_eye() const;    // centre of the eye with the smaller x in the image
  cv::Point2f right_eye() const;   // centre of the eye with the larger x
  float inter_eye_distance() const;
  // The 5 ArcFace points (image-left eye centre, image-right eye centre, nose tip, image-left and
  // image-right mouth corners), in the order of arcface_template(); empty unless the analysis was
  // asked for them (an embedder with chip "arcface"): they come from the 68-point landmarks.
  std::vector<cv::Point2f> arcface;
};

struct FaceChip {
  cv::Mat bgr;   // aligned, square, 8UC3
};

using Descriptor = std::vector<float>;

struct ModelInfo {
  std::string name;        // model id in models/manifest.json, e.g. "dlib_resnet_v1"
  std::string version;     // package version
  std::string sha256;
  int input_size = 0;      // chip side in pixels (embedders)
  int dims = 0;            // descriptor length (embedders)
  // Embedders: the chip they expect (see make_embedder_chip).  "aligned": align_face with
  // chip_padding; "box": the detector box widened by box_margin of its side, stretched square;
  // "arcface": align_arcface on Landmarks::arcface (least-squares similarity onto the ArcFace
  // 112x112 template).
  std::string chip = "aligned";
  double chip_padding = 0.25;
  double box_margin = 0.0;
  // embed_face() needs Landmarks::arcface (the chip, or a fusion part's chip, is "arcface"): the
  // analyzer then also runs the 68-point landmarker.
  bool needs_arcface_points = false;
};

}  // namespace simkyc
