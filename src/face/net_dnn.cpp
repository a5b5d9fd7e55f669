#include "face/net_dnn.h"

#include <fstream>
#include <iterator>

namespace simkyc {

Result<DnnNet> DnnNet::load(const std::filesystem::path& model_dir, const std::string& id) {
  auto file = find_model(model_dir, id);
  if (!file) return file.error();
  std::ifstream in(file->path, std::ios::binary);
  auto bytes = std::make_shared<std::vector<uchar>>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return make_error(Reason::kModelError, "cannot read " + file->path.string());
  DnnNet d;
  d.file_ = std::move(file.value());
  d.bytes_ = std::move(bytes);
  return d.fresh();
}

Result<DnnNet> DnnNet::fresh() const {
  DnnNet d;
  d.file_ = file_;
  d.bytes_ = bytes_;
  try {
    d.net_ = cv::dnn::readNetFromONNX(*bytes_);
    d.net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    d.net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const std::exception& e) {
    return make_error(Reason::kModelError, file_.id + ": " + e.what());
  }
  if (d.net_.empty()) return make_error(Reason::kModelError, file_.id + ": empty network");
  return d;
}

Result<std::vector<cv::Mat>> DnnNet::run(const cv::Mat& blob, const std::vector<std::string>& outputs) {
  std::vector<cv::Mat> out;
  try {
    net_.setInput(blob);
    std::vector<cv::String> names(outputs.begin(), outputs.end());
    net_.forward(out, names);
  } catch (const std::exception& e) {
    return make_error(Reason::kModelError, file_.id + ": " + e.what());
  }
  return out;
}

cv::Mat make_blob(const cv::Mat& bgr, cv::Scalar mean, double scale, bool swap_rb) {
  const int sz[] = {1, 3, bgr.rows, bgr.cols};
  cv::Mat blob(4, sz, CV_32F);
  const std::size_t plane = static_cast<std::size_t>(bgr.rows) * static_cast<std::size_t>(bgr.cols);
  auto* dst = blob.ptr<float>();
  for (int y = 0; y < bgr.rows; ++y) {
    const auto* p = bgr.ptr<cv::Vec3b>(y);
    for (int x = 0; x < bgr.cols; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(bgr.cols) + static_cast<std::size_t>(x);
      for (int c = 0; c < 3; ++c) {
        const int src = swap_rb ? 2 - c : c;
        dst[static_cast<std::size_t>(c) * plane + i] =
            static_cast<float>((static_cast<double>(p[x][src]) - mean[c]) * scale);
      }
    }
  }
  return blob;
}

}  // namespace simkyc
