// fr_detect_v1 (faceplugin's fr_detect.onnx, an Ultra-Light-Fast-Generic-Face-Detector RFB-320
// SSD) run by OpenCV dnn.  The ONNX graph already decodes its 4,420 priors: `boxes` are corner
// form (x1, y1, x2, y2) as fractions of the 320x240 input, `scores` softmax (background, face).
#include <algorithm>
#include <cmath>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv.h>
#include <opencv2/imgproc.hpp>

#include "face/detector.h"
#include "face/fr_geometry.h"
#include "face/net.h"

namespace simkyc {
namespace {

constexpr int kInW = 320, kInH = 240;
constexpr int kPriors = 4420;

struct Candidate {
  cv::Rect2f box;   // image pixels (native fr_detect geometry)
  float score;
};

float iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.f;
}

// Greedy NMS by score; a box also goes when it lies mostly inside a kept one (a face cut by a
// tile border, or a part of a face found at another scale).
std::vector<Candidate> nms(std::vector<Candidate> c, float max_iou) {
  std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  std::vector<Candidate> out;
  for (const auto& x : c) {
    bool keep = true;
    for (const auto& k : out) {
      const float inter = (x.box & k.box).area();
      if (iou(x.box, k.box) > max_iou || inter > 0.7f * std::min(x.box.area(), k.box.area())) {
        keep = false;
        break;
      }
    }
    if (keep) out.push_back(x);
  }
  return out;
}

class FrDetector final : public Detector {
 public:
  FrDetector(FaceNet net, const DetectorConfig& cfg, bool raw, bool refine)
      : net_(std::move(net)), cfg_(cfg), raw_(raw), refine_(refine) {
    if (refine_) hog_ = dlib::get_frontal_face_detector();
  }

  Result<std::vector<FaceBox>> detect(const cv::Mat& bgr) override {
    if (bgr.empty() || bgr.type() != CV_8UC3) return make_error(Reason::kInternal, "detect needs 8UC3");
    const cv::Rect whole(0, 0, bgr.cols, bgr.rows);
    std::vector<Candidate> cand;
    if (auto r = run_region(bgr, whole, cand); !r) return r.error();
    // Small faces in a large photo: the whole image at 320x240 leaves them under ~15 px.  Only
    // when the fast pass found nothing: overlapping tiles, 2x2 then 3x3, each at 320x240.
    for (int n = 2; cand.empty() && n <= cfg_.fr_max_tile_grid; ++n) {
      const double full = std::min(static_cast<double>(kInW) / bgr.cols, static_cast<double>(kInH) / bgr.rows);
      if (full >= 1.0) break;   // the whole pass already saw every pixel
      const double overlap = 0.25;
      const double frac = 1.0 / (n - (n - 1) * overlap);   // tile side as a fraction of the image side
      const int tw = static_cast<int>(std::ceil(bgr.cols * frac)), th = static_cast<int>(std::ceil(bgr.rows * frac));
      for (int ty = 0; ty < n; ++ty)
        for (int tx = 0; tx < n; ++tx) {
          const int x0 = n == 1 ? 0 : static_cast<int>(std::lround((bgr.cols - tw) * tx / static_cast<double>(n - 1)));
          const int y0 = n == 1 ? 0 : static_cast<int>(std::lround((bgr.rows - th) * ty / static_cast<double>(n - 1)));
          const cv::Rect tile = cv::Rect(x0, y0, tw, th) & whole;
          if (auto r = run_region(bgr, tile, cand); !r) return r.error();
        }
      if (full / frac >= 1.0) break;   // tiles at full resolution: finer ones would only upsample
    }
    std::vector<FaceBox> boxes;
    for (const auto& c : nms(std::move(cand), kNmsIou))
      boxes.push_back(FaceBox{raw_ ? c.box : fr_to_dlib_box(c.box), c.score, "fr_detect"});
    std::sort(boxes.begin(), boxes.end(), [](const FaceBox& a, const FaceBox& b) { return a.rect.area() > b.rect.area(); });
    if (refine_)
      for (std::size_t i = 0; i < boxes.size() && i < 3; ++i) refine_with_hog(bgr, boxes[i]);
    return boxes;
  }

  std::unique_ptr<Detector> clone() const override {
    auto n = net_.fresh();
    if (!n) return nullptr;
    return std::make_unique<FrDetector>(std::move(n.value()), cfg_, raw_, refine_);
  }
  std::string name() const override { return raw_ ? "fr_detect_raw" : refine_ ? "fr_hog" : "fr_detect"; }

  static constexpr float kNmsIou = 0.4f;

 private:
  // Runs the network on `region` of bgr, letterboxed (aspect kept, padded right and bottom with
  // grey) into 320x240; appends the faces above the threshold in image coordinates.  Boxes that
  // touch a side of the region that is not the image's own border are dropped (a face cut by
  // the tile; the overlapping tile holds it whole).
  Status run_region(const cv::Mat& bgr, const cv::Rect& region, std::vector<Candidate>& out) {
    const double scale = std::min(static_cast<double>(kInW) / region.width, static_cast<double>(kInH) / region.height);
    const int w = std::clamp(static_cast<int>(std::lround(region.width * scale)), 1, kInW);
    const int h = std::clamp(static_cast<int>(std::lround(region.height * scale)), 1, kInH);
    cv::Mat input(kInH, kInW, CV_8UC3, cv::Scalar::all(127));
    cv::resize(bgr(region), input(cv::Rect(0, 0, w, h)), cv::Size(w, h), 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    // (x - 127) / 128 per channel; the network was trained on RGB.
    auto res = net_.run(input, cv::Scalar::all(127), 1.0 / 128, cfg_.fr_rgb);
    if (!res) return res.error();
    const cv::Mat& boxes = (*res)[0];
    const cv::Mat& scores = (*res)[1];
    if (boxes.total() != 4u * kPriors || scores.total() != 2u * kPriors)
      return make_error(Reason::kModelError, "fr_detect: unexpected output size");
    const float* b = boxes.ptr<float>();
    const float* s = scores.ptr<float>();
    const bool cut_l = region.x > 0, cut_t = region.y > 0;
    const bool cut_r = region.x + region.width < bgr.cols, cut_b = region.y + region.height < bgr.rows;
    const float edge = 2.f;   // input pixels
    for (int i = 0; i < kPriors; ++i) {
      const float score = s[2 * i + 1];
      if (score < cfg_.fr_min_score) continue;
      const float x1 = b[4 * i] * kInW, y1 = b[4 * i + 1] * kInH, x2 = b[4 * i + 2] * kInW, y2 = b[4 * i + 3] * kInH;
      if (x2 - x1 < 1.f || y2 - y1 < 1.f) continue;
      if ((cut_l && x1 < edge) || (cut_t && y1 < edge) || (cut_r && x2 > w - edge) || (cut_b && y2 > h - edge)) continue;
      const auto inv = static_cast<float>(1.0 / scale);
      out.push_back({cv::Rect2f(region.x + x1 * inv, region.y + y1 * inv, (x2 - x1) * inv, (y2 - y1) * inv), score});
    }
    return ok_status();
  }

  // HOG on a small crop around the face (the box side brought to 100 px, HOG's window is 80):
  // where HOG finds the same face, its box replaces the mapped one, so that the dlib landmarkers
  // get exactly the boxes they were made for; elsewhere the mapped box stays.
  void refine_with_hog(const cv::Mat& bgr, FaceBox& box) {
    const cv::Rect2f& r = box.rect;
    const cv::Rect crop = cv::Rect(cv::Point(static_cast<int>(r.x - r.width * 0.6f), static_cast<int>(r.y - r.height * 0.6f)),
                                   cv::Point(static_cast<int>(r.x + r.width * 1.6f), static_cast<int>(r.y + r.height * 1.6f))) &
                          cv::Rect(0, 0, bgr.cols, bgr.rows);
    if (crop.width < 8 || crop.height < 8) return;
    const double k = 100.0 / std::max(1.f, r.width);
    cv::Mat grey, small;
    cv::cvtColor(bgr(crop), grey, cv::COLOR_BGR2GRAY);
    cv::resize(grey, small, cv::Size(), k, k, k < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    std::vector<dlib::rect_detection> dets;
    try {
      hog_(dlib::cv_image<unsigned char>(small), dets, 0.0);
    } catch (const std::exception&) {
      return;
    }
    const auto inv = static_cast<float>(1.0 / k);
    float best = 0.3f;
    for (const auto& d : dets) {
      const cv::Rect2f h(crop.x + static_cast<float>(d.rect.left()) * inv, crop.y + static_cast<float>(d.rect.top()) * inv,
                         static_cast<float>(d.rect.width()) * inv, static_cast<float>(d.rect.height()) * inv);
      if (const float o = iou(h, r); o > best) {
        best = o;
        box.rect = h;
        box.source = "fr_detect/hog";
      }
    }
  }

  FaceNet net_;
  DetectorConfig cfg_;
  bool raw_;
  bool refine_;
  dlib::frontal_face_detector hog_;
};

}  // namespace

Result<std::unique_ptr<Detector>> make_fr_detector(const std::filesystem::path& model_dir, const DetectorConfig& cfg,
                                                   bool raw) {
  auto net = FaceNet::onnx(model_dir, "fr_detect_v1", {"boxes", "scores"});
  if (!net) return net.error();
  return std::unique_ptr<Detector>(std::make_unique<FrDetector>(std::move(net.value()), cfg, raw, false));
}

Result<std::unique_ptr<Detector>> make_fr_hog_detector(const std::filesystem::path& model_dir, const DetectorConfig& cfg) {
  auto net = FaceNet::onnx(model_dir, "fr_detect_v1", {"boxes", "scores"});
  if (!net) return net.error();
  return std::unique_ptr<Detector>(std::make_unique<FrDetector>(std::move(net.value()), cfg, false, true));
}

}  // namespace simkyc
