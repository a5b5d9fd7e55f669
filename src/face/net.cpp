#include "face/net.h"

namespace simkyc {

Result<FaceNet> FaceNet::onnx(const std::filesystem::path& model_dir, const std::string& onnx_id,
                              std::vector<std::string> outputs) {
  auto n = DnnNet::load(model_dir, onnx_id);
  if (!n) return n.error();
  FaceNet f;
  f.dnn_ = std::move(n.value());
  f.outputs_ = std::move(outputs);
  return f;
}

Result<FaceNet> FaceNet::xnn(const std::filesystem::path& model_dir, const std::string& onnx_id,
                             std::vector<std::string> outputs, int threads) {
  auto n = XnnNet::load(model_dir, onnx_id, outputs, threads);
  if (!n) return n.error();
  FaceNet f;
  f.xnn_ = std::move(n.value());
  f.outputs_ = std::move(outputs);
  return f;
}

Result<FaceNet> FaceNet::fresh() const {
  FaceNet f;
  f.outputs_ = outputs_;
  if (dnn_) {
    auto n = dnn_->fresh();
    if (!n) return n.error();
    f.dnn_ = std::move(n.value());
  } else {
    auto n = xnn_->fresh();
    if (!n) return n.error();
    f.xnn_ = std::move(n.value());
  }
  return f;
}

Result<std::vector<cv::Mat>> FaceNet::run(const cv::Mat& bgr, cv::Scalar mean, double scale, bool swap_rb) {
  if (xnn_) return xnn_->run(bgr, mean, scale, swap_rb);
  if (bgr.empty() || bgr.type() != CV_8UC3) return make_error(Reason::kInternal, "network input must be 8UC3");
  return dnn_->run(make_blob(bgr, mean, scale, swap_rb), outputs_);
}

ModelInfo FaceNet::info(const std::string& name, int input_size, int dims) const {
  const ModelFile& f = dnn_ ? dnn_->file() : xnn_->file();
  return ModelInfo{name, f.package_version, f.sha256, input_size, dims};
}

}  // namespace simkyc
