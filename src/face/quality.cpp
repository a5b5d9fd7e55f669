#include "face/quality.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <opencv2/imgproc.hpp>

namespace simkyc {
namespace {
constexpr float kDeg = 180.f / std::numbers::pi_v<float>;
// Geometry of an average frontal face, in units of the inter-eye distance, measured on the
// development photos with `simkyc quality --json` (docs/quality.md): the base of the nose sits
// kNoseDrop below the eye line and about kNoseDepth in front of the eye plane.
constexpr float kNoseDrop = 0.78f;
constexpr float kNoseDepth = 0.45f;
}  // namespace

HeadPose estimate_pose(const Landmarks& lm) {
  HeadPose p;
  if (lm.points.size() != 5) return p;
  const cv::Point2f l = lm.left_eye(), r = lm.right_eye(), nose = lm.points[4];
  const float d = std::max(1e-3f, static_cast<float>(cv::norm(r - l)));
  const float roll = std::atan2(r.y - l.y, r.x - l.x);
  const cv::Point2f m = (l + r) * 0.5f, v = nose - m;
  // Nose position in the roll-corrected frame, in units of the (projected) inter-eye distance.
  const float nx = (std::cos(roll) * v.x + std::sin(roll) * v.y) / d;
  const float ny = (-std::sin(roll) * v.x + std::cos(roll) * v.y) / d;
  // Turning the head by yaw moves the nose sideways by depth*sin(yaw) while the eyes' projected
  // distance shrinks by cos(yaw): nx = depth * tan(yaw).
  p.yaw = std::atan2(nx, kNoseDepth) * kDeg;
  // Nodding moves the nose base along the vertical: ny ~ drop*cos(pitch) + depth*sin(pitch).
  const float amp = std::hypot(kNoseDrop, kNoseDepth), phase = std::atan2(kNoseDepth, kNoseDrop);
  p.pitch = (std::asin(std::clamp(ny / amp, -1.f, 1.f)) - (std::numbers::pi_v<float> / 2 - phase)) * kDeg;
  p.pitch = -p.pitch;
  p.roll = roll * kDeg;
  return p;
}

QualityReport assess_quality(const cv::Mat& bgr, const FaceBox& box, const Landmarks& landmarks,
                             const FaceChip& chip, const QualityConfig& cfg) {
  QualityReport q;
  q.inter_eye_px = landmarks.inter_eye_distance();
  const cv::Rect2f img(0.f, 0.f, static_cast<float>(bgr.cols), static_cast<float>(bgr.rows));
  const float area = std::max(1.f, box.rect.area());
  q.outside_fraction = 1.f - (box.rect & img).area() / area;
  q.pose = estimate_pose(landmarks);

  if (!chip.bgr.empty()) {
    cv::Mat gray, lap;
    cv::cvtColor(chip.bgr, gray, cv::COLOR_BGR2GRAY);
    // The centre of the chip: eyes, nose and mouth, little background.
    const int s = gray.cols, c0 = s / 6;
    const cv::Mat centre = gray(cv::Rect(c0, c0, s - 2 * c0, s - 2 * c0));
    cv::Laplacian(centre, lap, CV_32F);
    cv::Scalar mean, stddev;
    cv::meanStdDev(lap, mean, stddev);
    q.sharpness = static_cast<float>(stddev[0] * stddev[0]);
    q.brightness = static_cast<float>(cv::mean(centre)[0]);
  }

  if (q.inter_eye_px < cfg.min_inter_eye_px) q.reasons.push_back(Reason::kFaceTooSmall);
  if (q.outside_fraction > cfg.max_outside_fraction) q.reasons.push_back(Reason::kFaceCutOff);
  if (std::abs(q.pose.yaw) > cfg.max_yaw_deg || std::abs(q.pose.pitch) > cfg.max_pitch_deg ||
      std::abs(q.pose.roll) > cfg.max_roll_deg)
    q.reasons.push_back(Reason::kFaceTurned);
  if (q.sharpness < cfg.min_sharpness) q.reasons.push_back(Reason::kFaceBlurred);
  if (q.brightness < cfg.min_brightness) q.reasons.push_back(Reason::kFaceTooDark);
  if (q.brightness > cfg.max_brightness) q.reasons.push_back(Reason::kFaceTooBright);
  return q;
}

}  // namespace simkyc
