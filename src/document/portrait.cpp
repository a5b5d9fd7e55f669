#include "document/portrait.h"

namespace simkyc::document {

Result<Portrait> extract_portrait(const cv::Mat& bgr, FaceAnalyzer& analyzer, const PortraitConfig& cfg) {
  auto fa = analyzer.analyze(bgr);
  if (!fa) return fa.error();
  if (fa->faces_found > 1) return make_error(Reason::kMultipleFaces, std::to_string(fa->faces_found) + " faces");
  if (fa->quality.inter_eye_px < cfg.min_inter_eye_px)
    return make_error(Reason::kFaceTooSmall, std::to_string(static_cast<int>(fa->quality.inter_eye_px)) + " px between the eyes");
  const cv::Rect2f& b = fa->box.rect;
  const cv::Rect2f grown(b.x - b.width * cfg.margin, b.y - b.height * cfg.margin, b.width * (1 + 2 * cfg.margin),
                         b.height * (1 + 2 * cfg.margin));
  const cv::Rect crop = cv::Rect(grown) & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (crop.area() <= 0) return make_error(Reason::kNoFace, "face outside the image");
  return Portrait{bgr(crop).clone(), std::move(fa.value())};
}

}  // namespace simkyc::document
