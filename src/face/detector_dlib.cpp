// dlib detectors: HOG (frontal_face_detector) and MMOD CNN, and the HOG->MMOD cascade.
#include <algorithm>

#include <dlib/dnn.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv.h>
#include <opencv2/imgproc.hpp>

#include "core/model_manifest.h"
#include "face/detector.h"

namespace simkyc {
namespace {

// The MMOD network layout that dlib's mmod_human_face_detector.dat was trained with
// (batch-norm layers replaced by their test-time affine form).
template <long N, typename S> using con5d = dlib::con<N, 5, 5, 2, 2, S>;
template <long N, typename S> using con5 = dlib::con<N, 5, 5, 1, 1, S>;
template <typename S>
using downsampler = dlib::relu<dlib::affine<con5d<32, dlib::relu<dlib::affine<con5d<32,
                    dlib::relu<dlib::affine<con5d<16, S>>>>>>>>>;
template <typename S> using rcon5 = dlib::relu<dlib::affine<con5<45, S>>>;
using MmodNet = dlib::loss_mmod<dlib::con<1, 9, 9, 1, 1, rcon5<rcon5<rcon5<downsampler<
    dlib::input_rgb_image_pyramid<dlib::pyramid_down<6>>>>>>>>;

// Detection runs on a rescaled copy; `scale` maps detection coordinates back to the input.
struct Scaled {
  cv::Mat img;
  double scale = 1.0;   // original = detected / scale
};

Scaled rescale_for_detection(const cv::Mat& bgr, const DetectorConfig& cfg) {
  Scaled s{bgr, 1.0};
  const int long_side = std::max(bgr.cols, bgr.rows);
  if (cfg.fixed_upsample >= 0) {   // the plain dlib recipe: no downscaling, fixed upsampling
    for (int i = 0; i < cfg.fixed_upsample && 2 * std::max(s.img.cols, s.img.rows) <= cfg.max_upsampled_side_px; ++i) {
      cv::Mat up;
      cv::resize(s.img, up, cv::Size(), 2.0, 2.0, cv::INTER_LINEAR);
      s.img = up;
      s.scale *= 2.0;
    }
    return s;
  }
  if (long_side > cfg.downscale_above_px) {
    s.scale = static_cast<double>(cfg.downscale_to_px) / long_side;
    cv::resize(bgr, s.img, cv::Size(), s.scale, s.scale, cv::INTER_AREA);
    return s;
  }
  for (int i = 0; i < 2 && std::min(s.img.cols, s.img.rows) < cfg.upsample_below_px; ++i) {
    cv::Mat up;
    cv::resize(s.img, up, cv::Size(), 2.0, 2.0, cv::INTER_LINEAR);
    s.img = up;
    s.scale *= 2.0;
  }
  return s;
}

FaceBox to_box(const dlib::rectangle& r, double scale, float confidence, const char* source) {
  const auto inv = static_cast<float>(1.0 / scale);
  return FaceBox{cv::Rect2f(static_cast<float>(r.left()) * inv, static_cast<float>(r.top()) * inv,
                            static_cast<float>(r.width()) * inv, static_cast<float>(r.height()) * inv),
                 confidence, source};
}

void sort_largest_first(std::vector<FaceBox>& boxes) {
  std::sort(boxes.begin(), boxes.end(),
            [](const FaceBox& a, const FaceBox& b) { return a.rect.area() > b.rect.area(); });
}

class HogDetector final : public Detector {
 public:
  explicit HogDetector(const DetectorConfig& cfg) : cfg_(cfg), det_(dlib::get_frontal_face_detector()) {}
  Result<std::vector<FaceBox>> detect(const cv::Mat& bgr) override {
    const Scaled s = rescale_for_detection(bgr, cfg_);
    cv::Mat gray;
    cv::cvtColor(s.img, gray, cv::COLOR_BGR2GRAY);
    dlib::cv_image<unsigned char> img(gray);
    std::vector<dlib::rect_detection> dets;
    try {
      det_(img, dets, 0.0);
    } catch (const std::exception& e) {
      return make_error(Reason::kModelError, e.what());
    }
    std::vector<FaceBox> out;
    for (const auto& d : dets) out.push_back(to_box(d.rect, s.scale, static_cast<float>(d.detection_confidence), "hog"));
    sort_largest_first(out);
    return out;
  }
  std::unique_ptr<Detector> clone() const override { return std::make_unique<HogDetector>(*this); }
  std::string name() const override { return "hog"; }

 private:
  DetectorConfig cfg_;
  dlib::frontal_face_detector det_;
};

class MmodDetector final : public Detector {
 public:
  MmodDetector(const DetectorConfig& cfg, MmodNet net) : cfg_(cfg), net_(std::move(net)) {}
  Result<std::vector<FaceBox>> detect(const cv::Mat& bgr) override {
    const Scaled s = rescale_for_detection(bgr, cfg_);
    cv::Mat rgb;
    cv::cvtColor(s.img, rgb, cv::COLOR_BGR2RGB);
    dlib::matrix<dlib::rgb_pixel> img;
    dlib::assign_image(img, dlib::cv_image<dlib::rgb_pixel>(rgb));
    std::vector<FaceBox> out;
    try {
      for (const auto& d : net_(img)) out.push_back(to_box(d.rect, s.scale, static_cast<float>(d.detection_confidence), "mmod"));
    } catch (const std::exception& e) {
      return make_error(Reason::kModelError, e.what());
    }
    sort_largest_first(out);
    return out;
  }
  std::unique_ptr<Detector> clone() const override { return std::make_unique<MmodDetector>(*this); }
  std::string name() const override { return "mmod"; }

 private:
  DetectorConfig cfg_;
  MmodNet net_;
};

class CascadeDetector final : public Detector {
 public:
  CascadeDetector(std::unique_ptr<Detector> first, std::unique_ptr<Detector> fallback)
      : first_(std::move(first)), fallback_(std::move(fallback)) {}
  Result<std::vector<FaceBox>> detect(const cv::Mat& bgr) override {
    auto r = first_->detect(bgr);
    if (!r || !r->empty() || !fallback_) return r;
    return fallback_->detect(bgr);
  }
  std::unique_ptr<Detector> clone() const override {
    return std::make_unique<CascadeDetector>(first_->clone(), fallback_ ? fallback_->clone() : nullptr);
  }
  std::string name() const override { return fallback_ ? first_->name() + "+" + fallback_->name() : first_->name(); }

 private:
  std::unique_ptr<Detector> first_;
  std::unique_ptr<Detector> fallback_;
};

}  // namespace

Result<std::unique_ptr<Detector>> make_hog_detector(const DetectorConfig& cfg) {
  return std::unique_ptr<Detector>(std::make_unique<HogDetector>(cfg));
}

Result<std::unique_ptr<Detector>> make_mmod_detector(const std::filesystem::path& model_dir,
                                                     const DetectorConfig& cfg) {
  auto file = find_model(model_dir, "dlib_mmod_v1");
  if (!file) return file.error();
  MmodNet net;
  try {
    dlib::deserialize(file->path.string()) >> net;
  } catch (const std::exception& e) {
    return make_error(Reason::kModelError, std::string("MMOD: ") + e.what());
  }
  return std::unique_ptr<Detector>(std::make_unique<MmodDetector>(cfg, std::move(net)));
}

Result<std::unique_ptr<Detector>> make_cascade_detector(const std::filesystem::path& model_dir,
                                                        const DetectorConfig& cfg) {
  auto hog = make_hog_detector(cfg);
  if (!hog) return hog.error();
  std::unique_ptr<Detector> fallback;
  if (cfg.mmod_fallback) {
    auto mmod = make_mmod_detector(model_dir, cfg);
    if (!mmod) return mmod.error();
    fallback = std::move(mmod.value());
  }
  return make_cascade_detector(std::move(hog.value()), std::move(fallback));
}

std::unique_ptr<Detector> make_cascade_detector(std::unique_ptr<Detector> first, std::unique_ptr<Detector> fallback) {
  return std::make_unique<CascadeDetector>(std::move(first), std::move(fallback));
}

}  // namespace simkyc
