// src/face/net_dnn.h — internal to the OpenCV-dnn backends (face, liveness): one ONNX network,
// found by model id through models/manifest.json (the converted files, see docs/inference.md).
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "core/model_manifest.h"
#include "core/result.h"
#include "face/types.h"

namespace simkyc {

class DnnNet {
 public:
  // Errors: kModelError when the model is not in the manifest, missing, or OpenCV cannot read it.
  static Result<DnnNet> load(const std::filesystem::path& model_dir, const std::string& id);
  // A network of its own (cv::dnn::Net copies share state): for clone() of the backends.
  Result<DnnNet> fresh() const;

  // Requires: blob is the network's NCHW float input.  Ensures: one Mat per name, in order.
  // Errors: kModelError.  Not safe for concurrent calls.
  Result<std::vector<cv::Mat>> run(const cv::Mat& blob, const std::vector<std::string>& outputs);

  const ModelFile& file() const { return file_; }
  ModelInfo info(int input_size, int dims) const {
    return ModelInfo{file_.id, file_.package_version, file_.sha256, input_size, dims};
  }

 private:
  ModelFile file_;
  std::shared_ptr<const std::vector<uchar>> bytes_;   // the ONNX file, shared by clones
  cv::dnn::Net net_;
};

// A float NCHW blob (1 x 3 x H x W) from an 8UC3 image: per channel (value - mean[c]) * scale,
// channels in the image's own order, or swapped (BGR <-> RGB) when swap_rb.
cv::Mat make_blob(const cv::Mat& bgr, cv::Scalar mean, double scale, bool swap_rb);

}  // namespace simkyc
