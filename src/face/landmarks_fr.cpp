// fr_landmark_v1 (faceplugin's fr_landmark.onnx): 68 points (iBUG layout) from a 64x64 grey crop
// of fr_detect's square face box, values / 256; outputs x, y as fractions of the crop.
#include <algorithm>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "face/fr_geometry.h"
#include "face/landmarks_fr.h"
#include "face/net_dnn.h"

namespace simkyc {
namespace {

constexpr int kIn = 64;

class FrLandmarker final : public Landmarker {
 public:
  explicit FrLandmarker(DnnNet net) : net_(std::move(net)) {}
  Result<Landmarks> locate(const cv::Mat& bgr, const FaceBox& box) override {
    if (bgr.empty() || bgr.type() != CV_8UC3) return make_error(Reason::kInternal, "landmarks need 8UC3");
    // fr_detect's own square box, moved (and if need be shrunk) to lie inside the image, as
    // faceplugin's JS crops it.
    const cv::Rect2f sq = dlib_to_fr_square(box.rect);
    const float side = std::min({sq.width, static_cast<float>(bgr.cols - 1), static_cast<float>(bgr.rows - 1)});
    if (side < 4.f) return make_error(Reason::kNoFace, "face box too small for landmarks");
    const cv::Point2f c = (sq.tl() + sq.br()) / 2;
    const float x0 = std::clamp(c.x - side / 2, 0.f, static_cast<float>(bgr.cols) - side);
    const float y0 = std::clamp(c.y - side / 2, 0.f, static_cast<float>(bgr.rows) - side);
    const cv::Rect crop(static_cast<int>(x0), static_cast<int>(y0), std::max(1, static_cast<int>(side)), std::max(1, static_cast<int>(side)));
    const cv::Rect roi = crop & cv::Rect(0, 0, bgr.cols, bgr.rows);
    cv::Mat small, grey;
    cv::resize(bgr(roi), small, cv::Size(kIn, kIn), 0, 0, roi.width > kIn ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
    auto out = net_.run(cv::dnn::blobFromImage(grey, 1.0 / 256), {"output"});
    if (!out) return out.error();
    if ((*out)[0].total() != 136) return make_error(Reason::kModelError, "fr_landmark: unexpected output size");
    const float* p = (*out)[0].ptr<float>();
    Landmarks lm;
    for (int i = 0; i < 68; ++i)
      lm.points.emplace_back(static_cast<float>(roi.x) + p[2 * i] * static_cast<float>(roi.width),
                             static_cast<float>(roi.y) + p[2 * i + 1] * static_cast<float>(roi.height));
    return lm;
  }
  int num_points() const override { return 68; }
  std::unique_ptr<Landmarker> clone() const override {
    auto n = net_.fresh();
    if (!n) return nullptr;
    return std::make_unique<FrLandmarker>(std::move(n.value()));
  }

 private:
  DnnNet net_;
};

}  // namespace

Result<std::unique_ptr<Landmarker>> make_fr_landmarker(const std::filesystem::path& model_dir) {
  auto net = DnnNet::load(model_dir, "fr_landmark_v1");
  if (!net) return net.error();
  return std::unique_ptr<Landmarker>(std::make_unique<FrLandmarker>(std::move(net.value())));
}

Landmarks five_from_68(const Landmarks& lm68) {
  Landmarks five;
  if (lm68.points.size() != 68) return five;
  for (int i : {45, 42, 36, 39, 33}) five.points.push_back(lm68.points[static_cast<std::size_t>(i)]);
  return five;
}

}  // namespace simkyc
