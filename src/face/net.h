// src/face/net.h — internal to the face backends: one network on one runtime, OpenCV dnn or
// XNNPACK, both on the same ONNX file (shipped, or converted at set-up), behind one call.  The embedders and BlazeFace take a FaceNet and do not care which runtime runs it.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "face/net_dnn.h"
#include "face/net_xnn.h"

namespace simkyc {

class FaceNet {
 public:
  // OpenCV dnn on the ONNX model `onnx_id`; outputs: ONNX output names.  Errors: kModelError.
  static Result<FaceNet> onnx(const std::filesystem::path& model_dir, const std::string& onnx_id,
                              std::vector<std::string> outputs);
  // XNNPACK on the ONNX model `onnx_id`; outputs: ONNX value names.  Errors: kModelError.
  static Result<FaceNet> xnn(const std::filesystem::path& model_dir, const std::string& onnx_id,
                             std::vector<std::string> outputs, int threads);
  Result<FaceNet> fresh() const;

  // Requires: bgr 8UC3 of the network's input size.  Input per channel (value - mean[c]) * scale,
  // BGR -> RGB when swap_rb.  Ensures: one float Mat per output, in the ONNX element order on
  // both runtimes (XNNPACK: 4-D image outputs in NHWC order, see XnnNet::run).  Errors: kInternal, kModelError.  Not safe for concurrent calls.
  Result<std::vector<cv::Mat>> run(const cv::Mat& bgr, cv::Scalar mean, double scale, bool swap_rb);

  // `name` is the id the caller knows the model by (e.g. "faceres_xnn_v1"); file facts are the
  // network file's.
  ModelInfo info(const std::string& name, int input_size, int dims) const;

 private:
  std::optional<DnnNet> dnn_;
  std::optional<XnnNet> xnn_;
  std::vector<std::string> outputs_;
};

}  // namespace simkyc
