// src/face/embedder.h — turns an aligned face chip into a descriptor.
#pragma once
#include <filesystem>
#include <memory>

#include "core/result.h"
#include "face/types.h"

namespace simkyc {

// The chip `info` asks for, from the image, the detector box and the landmarks.
// Ensures: info.input_size square 8UC3; for info.chip "arcface" an empty chip when
// landmarks.arcface is not 5 points (embed() then refuses it).
FaceChip make_embedder_chip(const cv::Mat& bgr, const FaceBox& box, const Landmarks& landmarks, const ModelInfo& info);

class Embedder {
 public:
  virtual ~Embedder() = default;
  // Requires: chip.bgr is info().input_size square 8UC3 (from align_face).
  // Ensures: unit-length descriptor with info().dims floats.
  // Errors: kModelError on backend failure.  Not safe for concurrent calls: clone() per thread.
  virtual Result<Descriptor> embed(const FaceChip& chip) = 0;
  // The descriptor of the face at `box` / `landmarks` in the whole image: by default embed() of
  // the chip make_embedder_chip() makes for info(); embedders that combine several chips
  // (fusion models, info().chip == "face") override it.  Same contract as embed().
  virtual Result<Descriptor> embed_face(const cv::Mat& bgr, const FaceBox& box, const Landmarks& landmarks) {
    return embed(make_embedder_chip(bgr, box, landmarks, info()));
  }
  virtual ModelInfo info() const = 0;
  virtual std::unique_ptr<Embedder> clone() const = 0;
};

// dlib ResNet-29 metric network ("dlib_resnet_v1"): 150x150 chip, 128 dims.
Result<std::unique_ptr<Embedder>> make_dlib_resnet_embedder(const std::filesystem::path& model_dir);

// Converted networks run by OpenCV dnn (docs/inference.md):
//   "faceres_v1"          HSE faceres, 224x224 box chip (detector box + 5% a side), BGR minus the
//                         VGG means, 1024 dims
//   "mobilefacenet_v1"    MobileFaceNet, 112x112 aligned chip, (RGB - 127.5) / 128, 192 dims
//   "dlib_resnet_onnx_v1" the dlib ResNet above converted to ONNX: same chip, same descriptor
//   "fr_feature_v1"       faceplugin fr_feature (issue 11), 112x112 ArcFace chip (align_arcface:
//                         needs Landmarks::arcface), (BGR - 127) / 128, 512 dims
//   "mfn_expo_v1"         the expo package's MobileFaceNet (TFLite converted by tools/tflite2onnx),
//                         112x112 ArcFace chip, (RGB - 127.5) / 128, 192 dims
// and the same networks run by XNNPACK on the TF.js graphs (src/face/net_xnn.h): "faceres_xnn_v1",
// "dlib_resnet_xnn_v1".
// Errors: kModelError (unknown id, missing or unreadable model).
// xnn_threads: XNNPACK worker threads of the *_xnn_v1 ones (default 1: simkyc runs faces in
// parallel itself); OpenCV dnn uses its own pool.
Result<std::unique_ptr<Embedder>> make_dnn_embedder(const std::filesystem::path& model_dir, const std::string& id,
                                                    int xnn_threads = 1);

// Fusion models ("fusion_..."; src/face/fusion_model.h, issue 7): an in-repo model file listed in
// models/manifest.json, checked against its SHA-256, whose parts are other embedders here.  Only
// embed_face() works (info().chip == "face": it needs the whole image, not one chip).
// Errors: kModelError (not in the manifest, checksum mismatch, bad file, a part missing).
Result<std::unique_ptr<Embedder>> make_fusion_embedder(const std::filesystem::path& model_dir, const std::string& id);

// The id whose runtime computes the same descriptors as `id` fastest: the same network on XNNPACK
// ("dlib_resnet_xnn_v1" for "dlib_resnet_v1", "faceres_xnn_v1" for "faceres_v1"; tests
// Dnn.DlibResnetOnnxAndXnnpackMatchDlib and Dnn.FaceresOnXnnpackMatchesTfjs check cosine >= 0.9999
// on real photos, measured 1 - cosine < 1e-7; 2-3x faster than OpenCV dnn, docs/inference.md),
// else `id`.  Used where only the descriptor matters (fusion parts); ids in records and
// calibration tables stay the model's own.
std::string fastest_runtime(const std::string& id);

// The model whose scores `id` gives (so whose calibration table applies): "dlib_resnet_v1" for
// its other runtimes ("dlib_resnet_onnx_v1", "dlib_resnet_xnn_v1"), "faceres_v1" for
// "faceres_xnn_v1", else `id`.
std::string scores_model(const std::string& id);

// Any embedder by model id: "dlib_resnet_v1", one of make_dnn_embedder's, or "fusion_...".
Result<std::unique_ptr<Embedder>> make_embedder(const std::filesystem::path& model_dir, const std::string& id);

}  // namespace simkyc
