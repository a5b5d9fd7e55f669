// dlib shape predictors and dlib's face-chip alignment.
#include <cmath>

#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv.h>
#include <opencv2/imgproc.hpp>

#include "core/model_manifest.h"
#include "face/landmarks.h"

namespace simkyc {
namespace {

cv::Point2f mid(const cv::Point2f& a, const cv::Point2f& b) { return (a + b) * 0.5f; }

// Eye centres for 5-point (0-1, 2-3) and 68-point (36-41, 42-47) layouts.
std::pair<cv::Point2f, cv::Point2f> eyes(const std::vector<cv::Point2f>& p) {
  cv::Point2f a, b;
  if (p.size() == 5) {
    a = mid(p[0], p[1]);
    b = mid(p[2], p[3]);
  } else if (p.size() == 68) {
    for (int i = 36; i < 42; ++i) a += p[static_cast<std::size_t>(i)] / 6.f;
    for (int i = 42; i < 48; ++i) b += p[static_cast<std::size_t>(i)] / 6.f;
  }
  if (a.x > b.x) std::swap(a, b);
  return {a, b};
}

dlib::full_object_detection to_dlib(const Landmarks& lm) {
  std::vector<dlib::point> pts;
  pts.reserve(lm.points.size());
  for (const auto& p : lm.points) pts.emplace_back(std::lround(p.x), std::lround(p.y));
  long l = pts.empty() ? 0 : pts[0].x(), t = pts.empty() ? 0 : pts[0].y(), r = l, b = t;
  for (const auto& p : pts) {
    l = std::min(l, p.x()); r = std::max(r, p.x());
    t = std::min(t, p.y()); b = std::max(b, p.y());
  }
  return dlib::full_object_detection(dlib::rectangle(l, t, r, b), pts);
}

class DlibLandmarker final : public Landmarker {
 public:
  DlibLandmarker(std::shared_ptr<const dlib::shape_predictor> sp, int n) : sp_(std::move(sp)), n_(n) {}
  Result<Landmarks> locate(const cv::Mat& bgr, const FaceBox& box) override {
    cv::Mat gray;
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    dlib::cv_image<unsigned char> img(gray);
    const dlib::drectangle rect(box.rect.x, box.rect.y, box.rect.x + box.rect.width, box.rect.y + box.rect.height);
    Landmarks lm;
    try {
      const auto shape = (*sp_)(img, dlib::rectangle(std::lround(rect.left()), std::lround(rect.top()),
                                                 std::lround(rect.right()), std::lround(rect.bottom())));
      for (unsigned long i = 0; i < shape.num_parts(); ++i)
        lm.points.emplace_back(static_cast<float>(shape.part(i).x()), static_cast<float>(shape.part(i).y()));
    } catch (const std::exception& e) {
      return make_error(Reason::kModelError, e.what());
    }
    return lm;
  }
  int num_points() const override { return n_; }
  std::unique_ptr<Landmarker> clone() const override { return std::make_unique<DlibLandmarker>(*this); }

 private:
  // Shared by clones: the 68-point model is ~100 MB, and shape_predictor's operator() is const and
  // keeps its state in locals (safe for concurrent calls).
  std::shared_ptr<const dlib::shape_predictor> sp_;
  int n_;
};

}  // namespace

cv::Point2f Landmarks::left_eye() const { return eyes(points).first; }
cv::Point2f Landmarks::right_eye() const { return eyes(points).second; }
float Landmarks::inter_eye_distance() const {
  const auto [a, b] = eyes(points);
  return static_cast<float>(cv::norm(b - a));
}

Result<std::unique_ptr<Landmarker>> make_dlib_landmarker(const std::filesystem::path& model_dir,
                                                         int num_points) {
  if (num_points != 5 && num_points != 68)
    return make_error(Reason::kConfigError, "landmarks: 5 or 68 points");
  auto file = find_model(model_dir, num_points == 5 ? "dlib_shape5_v1" : "dlib_shape68_v1");
  if (!file) return file.error();
  dlib::shape_predictor sp;
  try {
    dlib::deserialize(file->path.string()) >> sp;
  } catch (const std::exception& e) {
    return make_error(Reason::kModelError, std::string("shape predictor: ") + e.what());
  }
  if (static_cast<int>(sp.num_parts()) != num_points)
    return make_error(Reason::kModelError, "shape predictor has wrong number of points");
  return std::unique_ptr<Landmarker>(
      std::make_unique<DlibLandmarker>(std::make_shared<const dlib::shape_predictor>(std::move(sp)), num_points));
}

FaceChip align_face(const cv::Mat& bgr, const Landmarks& landmarks, int size, double padding) {
  const auto det = to_dlib(landmarks);
  const auto details = dlib::get_face_chip_details(det, static_cast<unsigned long>(size), padding);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  dlib::matrix<dlib::rgb_pixel> chip;
  dlib::extract_image_chip(dlib::cv_image<dlib::rgb_pixel>(rgb), details, chip);
  cv::Mat out;
  cv::cvtColor(dlib::toMat(chip), out, cv::COLOR_RGB2BGR);
  return FaceChip{out};
}

}  // namespace simkyc
