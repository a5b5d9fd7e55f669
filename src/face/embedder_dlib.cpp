// dlib ResNet-29 face descriptor (dlib_face_recognition_resnet_model_v1).
#include <cmath>

#include <dlib/dnn.h>
#include <dlib/opencv.h>
#include <opencv2/imgproc.hpp>

#include "core/model_manifest.h"
#include "face/embedder.h"
#include "face/resnet_dlib.h"

namespace simkyc {
namespace {

using dlib_resnet::ResNet;

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
