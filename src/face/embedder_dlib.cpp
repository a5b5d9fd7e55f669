// dlib ResNet-29 face descriptor (dlib_face_recognition_resnet_model_v1).
#include <cmath>

#include <dlib/dnn.h>
#include <dlib/opencv.h>
#include <opencv2/imgproc.hpp>

#include "core/model_manifest.h"
#include "face/embedder.h"

namespace simkyc {
namespace {

// The network layout the published weights were trained with (batch norm in affine form).
template <template <int, template <typename> class, int, typename> class Block, int N,
          template <typename> class BN, typename S>
using residual = dlib::add_prev1<Block<N, BN, 1, dlib::tag1<S>>>;
template <template <int, template <typename> class, int, typename> class Block, int N,
          template <typename> class BN, typename S>
using residual_down = dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<Block<N, BN, 2, dlib::tag1<S>>>>>>;
template <int N, template <typename> class BN, int stride, typename S>
using block = BN<dlib::con<N, 3, 3, 1, 1, dlib::relu<BN<dlib::con<N, 3, 3, stride, stride, S>>>>>;
template <int N, typename S> using ares = dlib::relu<residual<block, N, dlib::affine, S>>;
template <int N, typename S> using ares_down = dlib::relu<residual_down<block, N, dlib::affine, S>>;
template <typename S> using alevel0 = ares_down<256, S>;
template <typename S> using alevel1 = ares<256, ares<256, ares_down<256, S>>>;
template <typename S> using alevel2 = ares<128, ares<128, ares_down<128, S>>>;
template <typename S> using alevel3 = ares<64, ares<64, ares<64, ares_down<64, S>>>>;
template <typename S> using alevel4 = ares<32, ares<32, ares<32, S>>>;
using ResNet = dlib::loss_metric<dlib::fc_no_bias<128, dlib::avg_pool_everything<
    alevel0<alevel1<alevel2<alevel3<alevel4<dlib::max_pool<3, 3, 2, 2, dlib::relu<dlib::affine<
    dlib::con<32, 7, 7, 2, 2, dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;

class DlibResnetEmbedder final : public Embedder {
 public:
  DlibResnetEmbedder(ResNet net, ModelInfo info) : net_(std::move(net)), info_(std::move(info)) {}
  Result<Descriptor> embed(const FaceChip& chip) override {
    if (chip.bgr.empty() || chip.bgr.type() != CV_8UC3 || chip.bgr.cols != info_.input_size ||
        chip.bgr.rows != info_.input_size)
      return make_error(Reason::kInternal, "chip must be 150x150 8UC3");
    cv::Mat rgb;
    cv::cvtColor(chip.bgr, rgb, cv::COLOR_BGR2RGB);
    dlib::matrix<dlib::rgb_pixel> img;
    dlib::assign_image(img, dlib::cv_image<dlib::rgb_pixel>(rgb));
    Descriptor d;
    try {
      const dlib::matrix<float, 0, 1> v = net_(img);
      d.assign(v.begin(), v.end());
    } catch (const std::exception& e) {
      return make_error(Reason::kModelError, e.what());
    }
    double n = 0;
    for (float x : d) n += static_cast<double>(x) * x;
    n = std::sqrt(n);
    if (!(n > 0)) return make_error(Reason::kModelError, "zero descriptor");
    for (float& x : d) x = static_cast<float>(x / n);
    return d;
  }
  ModelInfo info() const override { return info_; }
  std::unique_ptr<Embedder> clone() const override { return std::make_unique<DlibResnetEmbedder>(*this); }

 private:
  ResNet net_;
  ModelInfo info_;
};

}  // namespace

Result<std::unique_ptr<Embedder>> make_dlib_resnet_embedder(const std::filesystem::path& model_dir) {
  auto file = find_model(model_dir, "dlib_resnet_v1");
  if (!file) return file.error();
  ResNet net;
  try {
    dlib::deserialize(file->path.string()) >> net;
  } catch (const std::exception& e) {
    return make_error(Reason::kModelError, std::string("ResNet: ") + e.what());
  }
  ModelInfo info{file->id, file->package_version, file->sha256, 150, 128};
  return std::unique_ptr<Embedder>(std::make_unique<DlibResnetEmbedder>(std::move(net), std::move(info)));
}

}  // namespace simkyc
