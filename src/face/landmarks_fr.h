// src/face/landmarks_fr.h — the fr_landmark_v1 landmarker (issue 12).
#pragma once
#include "face/landmarks.h"

namespace simkyc {

// fr_landmark_v1 (faceplugin fr_landmark.onnx) on OpenCV dnn: 68 points in the iBUG layout (as
// dlib_shape68_v1) from a 64x64 grey crop of the face box (boxes of any Detector, in dlib HOG
// geometry; fr_geometry.h maps them to fr_detect's own).  Errors: kModelError.
Result<std::unique_ptr<Landmarker>> make_fr_landmarker(const std::filesystem::path& model_dir);

// dlib's 5-point layout (eye corners 45, 42, 36, 39 and nose base 33) from 68 points.
// Ensures: empty when landmarks68 has not 68 points.
Landmarks five_from_68(const Landmarks& landmarks68);

}  // namespace simkyc
