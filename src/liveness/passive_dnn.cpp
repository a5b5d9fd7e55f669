// Passive attack detection run by OpenCV dnn on the converted "antispoof" network.
#include <algorithm>

#include <opencv2/imgproc.hpp>

#include "face/net_dnn.h"
#include "liveness/passive.h"

namespace simkyc {
namespace {

constexpr int kInput = 128;

class DnnLivenessModel final : public LivenessModel {
 public:
  explicit DnnLivenessModel(DnnNet net) : net_(std::move(net)) {}

  Result<float> attack_score(const cv::Mat& face_bgr) override {
    if (face_bgr.empty() || face_bgr.type() != CV_8UC3) return make_error(Reason::kInternal, "attack_score needs 8UC3");
    cv::Mat in;
    cv::resize(face_bgr, in, cv::Size(kInput, kInput), 0, 0,
               face_bgr.cols > kInput ? cv::INTER_AREA : cv::INTER_LINEAR);
    auto out = net_.run(make_blob(in, cv::Scalar::all(0), 1.0 / 255.0, true), {"Identity"});
    if (!out) return out.error();
    const float real = out->front().ptr<float>()[0];
    return std::clamp(1.f - real, 0.f, 1.f);
  }

  ModelInfo info() const override { return net_.info(kInput, 1); }

  std::unique_ptr<LivenessModel> clone() const override {
    auto n = net_.fresh();
    if (!n) return nullptr;
    return std::make_unique<DnnLivenessModel>(std::move(n.value()));
  }

 private:
  DnnNet net_;
};

}  // namespace

Result<std::unique_ptr<LivenessModel>> make_dnn_liveness_model(const std::filesystem::path& model_dir,
                                                               const std::string& id) {
  if (id != "antispoof_v1") return make_error(Reason::kModelError, "unknown liveness model '" + id + "'");
  auto net = DnnNet::load(model_dir, id);
  if (!net) return net.error();
  return std::unique_ptr<LivenessModel>(std::make_unique<DnnLivenessModel>(std::move(net.value())));
}

cv::Mat face_crop(const cv::Mat& bgr, const FaceBox& box) {
  cv::Rect r(box.rect);
  r &= cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (r.width < 1 || r.height < 1) return bgr;
  return bgr(r).clone();
}

}  // namespace simkyc
