// ArcFace alignment: 5 points onto the standard 112x112 template by a least-squares similarity.
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "face/landmarks.h"

namespace simkyc {

const std::vector<cv::Point2f>& arcface_template() {
  static const std::vector<cv::Point2f> t = {{38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f},
                                             {41.5493f, 92.3655f}, {70.7299f, 92.2041f}};
  return t;
}

std::vector<cv::Point2f> arcface_points(const Landmarks& lm) {
  const auto& p = lm.points;
  if (p.size() != 68) return {};
  cv::Point2f a, b;
  for (int i = 36; i < 42; ++i) a += p[static_cast<std::size_t>(i)] / 6.f;
  for (int i = 42; i < 48; ++i) b += p[static_cast<std::size_t>(i)] / 6.f;
  return {a, b, p[30], (p[48] + p[60]) * 0.5f, (p[54] + p[64]) * 0.5f};
}

cv::Matx23d similarity_transform(const std::vector<cv::Point2f>& from, const std::vector<cv::Point2f>& to) {
  const cv::Matx23d identity(1, 0, 0, 0, 1, 0);
  const std::size_t n = from.size();
  if (n < 2 || to.size() != n) return identity;
  // Umeyama (1991) in 2-D: with centred points x_i, y_i, the best rotation+scale is
  // [a -b; b a] with a = sum(x.y) / sum|x|^2, b = sum(x cross y) / sum|x|^2.
  double mx = 0, my = 0, nx = 0, ny = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mx += from[i].x; my += from[i].y;
    nx += to[i].x; ny += to[i].y;
  }
  mx /= static_cast<double>(n); my /= static_cast<double>(n);
  nx /= static_cast<double>(n); ny /= static_cast<double>(n);
  double sxx = 0, dot = 0, cross = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = from[i].x - mx, y = from[i].y - my, u = to[i].x - nx, v = to[i].y - ny;
    sxx += x * x + y * y;
    dot += x * u + y * v;
    cross += x * v - y * u;
  }
  if (!(sxx > 1e-12)) return identity;
  const double a = dot / sxx, b = cross / sxx;
  return cv::Matx23d(a, -b, nx - (a * mx - b * my), b, a, ny - (b * mx + a * my));
}

FaceChip align_arcface(const cv::Mat& bgr, const std::vector<cv::Point2f>& points, int size) {
  if (points.size() != 5 || bgr.empty() || size <= 0) return {};
  std::vector<cv::Point2f> dst = arcface_template();
  const float k = static_cast<float>(size) / 112.f;
  for (auto& d : dst) d *= k;
  const cv::Matx23d m = similarity_transform(points, dst);
  FaceChip chip;
  cv::warpAffine(bgr, chip.bgr, cv::Mat(m), cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 cv::Scalar::all(0));
  return chip;
}

}  // namespace simkyc
