#include "liveness/engine.h"

#include <algorithm>
#include <set>

#include <opencv2/imgproc.hpp>

#include "core/clock.h"

namespace simkyc {
namespace {

// Faces narrower than this fraction of the main face are background (as in FaceAnalyzer).
constexpr float kOtherFaceFraction = 0.5f;
// Tracking: search the next frame around the last face, scaled so the face is about this wide.
constexpr float kTrackFacePx = 140.f;
constexpr float kTrackMargin = 0.6f;   // of the face size, on each side

}  // namespace

Result<std::unique_ptr<LivenessEngine>> LivenessEngine::load(const std::filesystem::path& model_dir, LivenessConfig cfg) {
  std::unique_ptr<LivenessEngine> e(new LivenessEngine());
  auto det = make_cascade_detector(model_dir, cfg.detector);
  if (!det) return det.error();
  auto lm = make_dlib_landmarker(model_dir, 68);
  if (!lm) return lm.error();
  // The dlib ResNet on its fastest runtime (same descriptors: fastest_runtime, src/face/embedder.h).
  auto emb = make_embedder(model_dir, fastest_runtime("dlib_resnet_v1"));
  if (!emb) return emb.error();
  auto model = make_liveness_model(model_dir, cfg.passive.model);
  if (!model) return model.error();
  auto t = passive_threshold(model_dir, cfg.passive);
  if (!t) return t.error();
  e->threshold_ = *t;
  e->model_info_ = (*model)->info();
  e->landmarks68_ = std::move(lm.value());
  e->prototype_ = std::make_unique<Worker>(Worker{std::move(det.value()), std::move(emb.value()), std::move(model.value())});
  e->cfg_ = std::move(cfg);
  return e;
}

std::unique_ptr<LivenessEngine::Worker> LivenessEngine::acquire() {
  std::lock_guard lock(pool_mu_);
  if (!pool_.empty()) {
    auto w = std::move(pool_.back());
    pool_.pop_back();
    return w;
  }
  return std::make_unique<Worker>(
      Worker{prototype_->detector->clone(), prototype_->embedder->clone(), prototype_->model->clone()});
}

void LivenessEngine::release(std::unique_ptr<Worker> w) {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(std::move(w));
}

Result<PassiveResult> LivenessEngine::check_passive(const cv::Mat& bgr, const FaceBox& box) {
  auto w = acquire();
  auto s = w->model->attack_score(face_crop(bgr, box));
  release(std::move(w));
  if (!s) return s.error();
  return PassiveResult{*s, threshold_, *s >= threshold_, 1};
}

Result<float> LivenessEngine::attack_score(const cv::Mat& bgr) {
  auto w = acquire();
  auto boxes = w->detector->detect(bgr);
  Result<float> s = make_error(Reason::kNoFace);
  if (!boxes) s = boxes.error();
  else if (!boxes->empty()) s = w->model->attack_score(face_crop(bgr, boxes->front()));
  release(std::move(w));
  return s;
}

Result<PassiveResult> LivenessEngine::check_passive(const cv::Mat& bgr) {
  auto s = attack_score(bgr);
  if (!s) return s.error();
  return PassiveResult{*s, threshold_, *s >= threshold_, 1};
}

Result<FrameMeasure> LivenessEngine::measure(Worker& w, const cv::Mat& bgr, std::optional<cv::Rect2f>& track, bool embed,
                                             FaceBox& box) {
  FrameMeasure m;
  std::vector<FaceBox> boxes;
  if (track) {
    // Search around the last face, scaled so the face is about kTrackFacePx wide.
    const float margin = kTrackMargin * std::max(track->width, track->height);
    cv::Rect roi(cv::Rect2f(track->x - margin, track->y - margin, track->width + 2 * margin, track->height + 2 * margin));
    roi &= cv::Rect(0, 0, bgr.cols, bgr.rows);
    if (roi.width > 16 && roi.height > 16) {
      const double scale = std::min(1.0, static_cast<double>(kTrackFacePx) / std::max(1.f, track->width));
      cv::Mat crop;
      if (scale < 1.0) cv::resize(bgr(roi), crop, cv::Size(), scale, scale, cv::INTER_AREA);
      else crop = bgr(roi).clone();
      auto found = w.detector->detect(crop);
      if (!found) return found.error();
      for (auto b : *found) {
        b.rect = cv::Rect2f(static_cast<float>(b.rect.x / scale + roi.x), static_cast<float>(b.rect.y / scale + roi.y),
                            static_cast<float>(b.rect.width / scale), static_cast<float>(b.rect.height / scale));
        boxes.push_back(b);
      }
    }
  }
  if (boxes.empty()) {
    auto found = w.detector->detect(bgr);
    if (!found) return found.error();
    boxes = std::move(found.value());
  }
  if (boxes.empty()) return m;   // no face: measured as such
  box = boxes.front();
  m.face = true;
  for (const auto& b : boxes) m.faces += b.rect.width >= kOtherFaceFraction * box.rect.width ? 1 : 0;
  Result<Landmarks> lm = make_error(Reason::kInternal);
  {
    std::lock_guard lock(landmarks_mu_);
    lm = landmarks68_->locate(bgr, box);
  }
  if (!lm) return lm.error();
  m.ear = eye_aspect_ratio(*lm);
  m.pose = pose_from_68(*lm);
  track = box.rect;
  if (embed) {
    auto d = w.embedder->embed(align_face(bgr, *lm, w.embedder->info().input_size));
    if (!d) return d.error();
    m.descriptor = std::move(d.value());
  }
  return m;
}

Result<Descriptor> LivenessEngine::describe(const cv::Mat& bgr) {
  auto w = acquire();
  std::optional<cv::Rect2f> no_track;
  FaceBox box;
  auto m = measure(*w, bgr, no_track, /*embed=*/true, box);
  release(std::move(w));
  if (!m) return m.error();
  if (!m->face) return make_error(Reason::kNoFace);
  return std::move(m->descriptor);
}

Result<ChallengeReport> LivenessEngine::check_challenge(std::span<const TimedFrame> frames, const ChallengeSpec& spec) {
  Stopwatch sw;
  ChallengeReport rep;
  const int n = static_cast<int>(frames.size());
  if (n > cfg_.challenge.max_frames) {   // refuse before any work
    rep.result.reasons.push_back(Reason::kLivenessFramesInvalid);
    rep.result.action_frames.assign(spec.actions.size(), -1);
    return rep;
  }
  auto w = acquire();
  std::optional<cv::Rect2f> track;
  std::vector<FaceBox> boxes(frames.size());
  const int every = std::max(1, cfg_.challenge.embed_every);
  for (int i = 0; i < n; ++i) {
    const auto ui = static_cast<std::size_t>(i);
    const bool embed = i == 0 || i == n - 1 || i % every == 0;
    auto m = measure(*w, frames[ui].bgr, track, embed, boxes[ui]);
    if (!m) {
      release(std::move(w));
      return m.error();
    }
    m->ts_ms = frames[ui].ts_ms;
    rep.frames.push_back(std::move(m.value()));
  }
  // Passive: evenly spaced frames with a face.
  std::vector<int> with_face;
  for (int i = 0; i < n; ++i)
    if (rep.frames[static_cast<std::size_t>(i)].face) with_face.push_back(i);
  const int k = std::min(static_cast<int>(with_face.size()), std::max(1, cfg_.passive_frames));
  double sum = 0;
  for (int j = 0; j < k; ++j) {
    const int i = with_face[static_cast<std::size_t>(j * static_cast<int>(with_face.size()) / k)];
    auto s = w->model->attack_score(face_crop(frames[static_cast<std::size_t>(i)].bgr, boxes[static_cast<std::size_t>(i)]));
    if (!s) {
      release(std::move(w));
      return s.error();
    }
    sum += *s;
  }
  release(std::move(w));
  rep.passive.frames = k;
  rep.passive.threshold = threshold_;
  rep.passive.score = k > 0 ? static_cast<float>(sum / k) : 0.f;
  rep.passive.attack = k > 0 && rep.passive.score >= threshold_;
  rep.result = evaluate_challenge(rep.frames, spec, cfg_.challenge);
  if (rep.passive.attack) {
    rep.result.reasons.push_back(Reason::kLivenessAttackSuspected);
    rep.result.passed = false;
  }
  rep.ms = sw.elapsed_ms();
  return rep;
}

Result<ChallengeReport> LivenessEngine::check_challenge(std::span<const EncodedFrame> frames, const ChallengeSpec& spec) {
  if (static_cast<int>(frames.size()) > cfg_.challenge.max_frames) {
    ChallengeReport rep;
    rep.result.reasons.push_back(Reason::kLivenessFramesInvalid);
    rep.result.action_frames.assign(spec.actions.size(), -1);
    return rep;
  }
  std::vector<TimedFrame> decoded;
  std::vector<std::string> digests;
  for (const auto& f : frames) {
    auto img = decode_image(f.bytes, cfg_.limits);
    if (!img) return img.error();
    decoded.push_back({std::move(img->bgr), f.ts_ms});
    digests.push_back(frame_digest(f.bytes));
  }
  auto rep = check_challenge(std::span<const TimedFrame>(decoded), spec);
  if (!rep) return rep;
  rep->digests = std::move(digests);
  if (std::set<std::string>(rep->digests.begin(), rep->digests.end()).size() != rep->digests.size()) {
    rep->result.reasons.push_back(Reason::kLivenessFramesReused);
    rep->result.passed = false;
  }
  return rep;
}

}  // namespace simkyc
